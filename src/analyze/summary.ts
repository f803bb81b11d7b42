// What callers need to know of a function: under which conditions on its
// parameters it returns with what pending, built from the states at its exit.
import { show } from '../ir/expr.js';
import { sourcesOf } from '../ir/dataflow.js';
import type { FunctionIR } from '../ir/types.js';
import type { ModelOp, PathStep } from '../types.js';
import { CALLER_TOKEN, trailSteps, type ChainSite, type PendingItem, type State } from './state.js';
import type { Literal, Outcome } from './types.js';

export const MAX_OUTCOMES = 24;
export const MAX_INNER_STEPS = 40;

export function hasLocal(s: State): boolean {
  return s.pending.size > (s.pending.has(CALLER_TOKEN) ? 1 : 0);
}

/** What the path knows about the function's (never reassigned) parameters. */
export function paramLits(fn: FunctionIR, s: State): Literal[] {
  const assigned = fn.cfg().assigned;
  const stable = new Set(fn.params.filter((p) => !assigned.includes(p)));
  return [...s.facts.values()]
    .filter((f) => f.vars.length > 0 && f.vars.every((v) => stable.has(v)) && !show(f.atom).includes('@'))
    .map((f) => ({ atom: f.atom, value: f.value }));
}

/**
 * The steps from where `item` became pending in `fn` to the end of the path
 * `s` took. The trail holds them (the item's own callee steps included) when
 * this path issued it; an item that joined from another path starts from its
 * own sync. (Its callee steps must not be added to a trail that has them.)
 */
export function itemPath(fn: FunctionIR, item: PendingItem, s: State): PathStep[] {
  const steps = trailSteps(s.trail);
  // The step that made it pending (not a branch on the same line, which a
  // path that joined later may have taken instead).
  const at = steps.findIndex((st) => st.line === item.line && st.file === fn.file && (st.event.endsWith(' pending') || / issues \w+$/.test(st.event)));
  if (at >= 0) return steps.slice(at);
  const event = item.via ? `${item.via}(...) leaves ${item.callee}() (${item.effect}) pending` : `${item.callee}(...) issues ${item.effect}`;
  const op: ModelOp | undefined = item.via || item.effect === 'none' ? undefined : item.effect;
  return [{ file: fn.file, line: item.line, event, ...(op ? { op } : {}) }, ...item.inner, ...steps];
}

/** Under which parameter conditions the function returns with what pending. */
export function summarize(fn: FunctionIR, exits: State[], handoff: boolean): Outcome[] | null {
  if (exits.length === 0) return null;
  const groups = new Map<string, Outcome>();
  for (const s of exits) {
    const lits = paramLits(fn, s);
    // A flag parameter that is off decides this way out (`if (flush)` not
    // taken), or the function is a macro: leaving the maintenance pending is
    // the caller's choice. Pending because a flag is *on* is the function's
    // own doing (its test is the wrong way round).
    const deferOk = fn.isMacro || lits.some((l) => l.atom.k === 'id' && !l.value);
    const items = handoff
      ? []
      : [...s.pending.values()]
          .filter((i) => i.key !== CALLER_TOKEN)
          .map((i) => ({
            ...(i.uncertain ? { uncertain: true } : {}),
            ...(i.chain ? { chain: deferOk ? markTop(i.chain) : i.chain } : {}),
            ...addressParams(fn, i),
            callee: i.callee,
            effect: i.effect,
            inner: itemPath(fn, i, s).slice(0, MAX_INNER_STEPS),
            origin: i.origin,
          }));
    add(groups, { lits, keepsCaller: s.pending.has(CALLER_TOKEN), error: s.error, failed: !!s.failed, ret: s.ret ?? 'U', items });
  }
  let outcomes = [...groups.values()];
  if (outcomes.length > MAX_OUTCOMES) outcomes = mergeAlternatives(outcomes);
  // Identity: always keeps the caller's maintenance, adds none.
  if (outcomes.every((o) => o.keepsCaller && o.items.length === 0)) return null;
  return outcomes;
}

/** The parameters (indices) the item's buffer address is computed from, for the caller to map to its arguments. */
function addressParams(fn: FunctionIR, item: PendingItem): { addrParams?: number[] } {
  if (!item.addrRoots) return {};
  const sources = sourcesOf(fn.cfg(), item.addrRoots);
  const addrParams = fn.params.flatMap((p, i) => (sources.has(p) ? [i] : []));
  return addrParams.length ? { addrParams } : {};
}

/** The chain with its last level (this function's) allowed to defer. */
function markTop(chain: ChainSite[]): ChainSite[] {
  if (!chain.length || chain[chain.length - 1].deferOk) return chain;
  return [...chain.slice(0, -1), { ...chain[chain.length - 1], deferOk: true }];
}

/**
 * Too many ways out to list: the ways out that do the same (same items, same
 * flags) become one, under the conditions all of them share. A condition
 * only some of them had is dropped, which can only make the outcome apply
 * to more calls; the ones they share (`!flush`, `!dev_is_dma_coherent(dev)`)
 * still decide where it applies.
 */
function mergeAlternatives(outcomes: Outcome[]): Outcome[] {
  const merged = new Map<string, Outcome>();
  for (const o of outcomes) {
    const key = effectKey(o);
    const old = merged.get(key);
    if (!old) {
      merged.set(key, { ...o });
      continue;
    }
    const shared = new Set(o.lits.map(litKey));
    old.lits = old.lits.filter((l) => shared.has(litKey(l)));
  }
  return [...merged.values()];
}

/** A condition literal as text (`+flush`, `-dev_is_dma_coherent(dev)`). */
export function litKey(l: Literal): string {
  return (l.value ? '+' : '-') + show(l.atom);
}

/** What a way out does, its conditions left out: whether it keeps the caller's items, its flags, what it leaves pending. */
function effectKey(o: Outcome): string {
  return `${o.keepsCaller}|${o.error}${o.failed}${o.ret}|${o.items.map((i) => `${i.callee}:${i.effect}`).sort().join(',')}`;
}

function add(groups: Map<string, Outcome>, o: Outcome): void {
  const key = o.lits.map(litKey).sort().join('&') + '|' + effectKey(o);
  if (!groups.has(key)) groups.set(key, o);
}
