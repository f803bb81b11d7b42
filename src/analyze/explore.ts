// The abstract states kept at each CFG node, and when a state is new enough to
// explore. This is what makes the path-sensitive analysis scale.
//
// States that know the same (facts, bindings, error and return flags) are one
// state whose pending maintenance is the union of theirs: each item is pending
// on some path that knows exactly this. Up to `exactPerNode` such states are
// kept per node, so conditions tested again later correlate exactly.
//
// Past that, a node keeps one state per *property state* — what is pending
// (from the caller, from this function, or nothing) and the error/failure/
// return flags — and merges newcomers into it by keeping only the facts both
// know (Das, Lerner, Seigle: "ESP: path-sensitive program verification in
// polynomial time", PLDI 2002). The property decides every finding, so paths
// that differ in it are never merged; what is lost is only a correlation
// between two paths that agree on it. Facts only shrink and pending sets only
// grow, so exploration always ends, in time polynomial in the CFG: no
// function is left unjudged for having too many paths.
import type { Expr } from '../ir/expr.js';
import { KeyIds, stateKey, type Binding, type Fact, type State } from './state.js';
import { CALLER_TOKEN, RET_PREFIX, constKey } from './state.js';

export const DEFAULT_EXACT_STATES_PER_NODE = 48;
/** Shrinks of a merged state before it keeps only the facts that matter (see `keep`). */
const WIDEN_AFTER = 2;

export class StateSets {
  private readonly exact = new Map<number, Map<string, State>>();
  private readonly merged = new Map<number, Map<string, State>>();
  private readonly keyIds = new KeyIds();
  /** Some node went past `exactPerNode` and merged states (for statistics and tests). */
  merging = false;

  /**
   * `correlated`: what the merged state must keep apart besides what is
   * pending: the truth of the conditions that guard a completion (the
   * `need_sync && !dev_is_dma_coherent(dev)` before the flush after a loop),
   * so that the flush still correlates with the syncs it completes.
   */
  private readonly shrinks = new Map<string, number>();

  /**
   * `keep`: the facts a merged state keeps once it has shrunk a few times
   * (a widening): those the property correlates with (completion guards)
   * and those on parameters (summaries speak of them). Without it a merged
   * state could shrink one fact at a time, and be explored again each time.
   */
  constructor(
    private readonly exactPerNode: number = DEFAULT_EXACT_STATES_PER_NODE,
    private readonly correlated: (s: State) => string = () => '',
    private readonly keep: (f: Fact) => boolean = () => true,
  ) {}

  /**
   * Record `s` at `node`. Returns the state to explore from there, or null
   * when what it brings is known already.
   */
  add(node: number, s: State): State | null {
    let states = this.exact.get(node);
    if (!states) this.exact.set(node, (states = new Map()));
    const key = stateKey(s, this.keyIds);
    const old = states.get(key);
    if (old) {
      const joined = joinPending(old, s);
      if (!joined) return null;
      states.set(key, joined);
      return joined;
    }
    if (states.size < this.exactPerNode) {
      states.set(key, s);
      return s;
    }
    this.merging = true;
    return this.merge(node, s);
  }

  private merge(node: number, s: State): State | null {
    let states = this.merged.get(node);
    if (!states) this.merged.set(node, (states = new Map()));
    const key = `${propertyKey(s)}|${this.correlated(s)}`;
    const old = states.get(key);
    if (!old) {
      states.set(key, s);
      return s;
    }
    let facts = commonFacts(old.facts, s.facts);
    const bindings = commonBindings(old.bindings, s.bindings);
    const joined = joinPending(old, s);
    const shrunk = facts.size !== old.facts.size || bindings.size !== old.bindings.size;
    if (!joined && !shrunk) return null;
    if (shrunk) {
      const id = `${node}|${key}`;
      const n = (this.shrinks.get(id) ?? 0) + 1;
      this.shrinks.set(id, n);
      if (n > WIDEN_AFTER) facts = new Map([...facts].filter(([, f]) => this.keep(f)));
    }
    const next: State = { ...(joined ?? old), facts, bindings };
    states.set(key, next);
    return next;
  }
}

/**
 * What a finding depends on: which maintenance is pending (not which sync
 * issued it), the path's flags, and the known result of the last call (`if
 * (f(...)) goto fail;` right after the call that left maintenance pending
 * only when it failed; it is forgotten at the next call, so it adds little).
 */
function propertyKey(s: State): string {
  const local = s.pending.size > (s.pending.has(CALLER_TOKEN) ? 1 : 0);
  let returned = '';
  for (const [k, b] of s.bindings) if (b.kind === 'const' && k.startsWith(RET_PREFIX)) returned += `${k}=${constKey(b)};`;
  return `${s.pending.has(CALLER_TOKEN) ? 'C' : ''}${local ? 'L' : ''}|${s.error ? 'E' : ''}${s.failed ? 'F' : ''}${s.ret ?? ''}|${returned}`;
}

/** `old` with the items only `s` has added, or null when `s` brings none. */
function joinPending(old: State, s: State): State | null {
  const added = [...s.pending.keys()].filter((k) => !old.pending.has(k));
  if (!added.length) return null;
  const pending = new Map(old.pending);
  for (const k of added) pending.set(k, s.pending.get(k)!);
  return { ...old, pending };
}

function commonFacts(a: ReadonlyMap<string, Fact>, b: ReadonlyMap<string, Fact>): ReadonlyMap<string, Fact> {
  const out = new Map<string, Fact>();
  for (const [k, f] of a) if (b.get(k)?.value === f.value) out.set(k, f);
  return out.size === a.size ? a : out;
}

function commonBindings(a: ReadonlyMap<string, Binding>, b: ReadonlyMap<string, Binding>): ReadonlyMap<string, Binding> {
  const out = new Map<string, Binding>();
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w && sameBinding(v, w)) out.set(k, v);
  }
  return out.size === a.size ? a : out;
}

function sameBinding(a: Binding, b: Binding): boolean {
  if (a.kind === 'const' || b.kind === 'const') return a.kind === b.kind && (a as { value: boolean }).value === (b as { value: boolean }).value;
  return a.expr === b.expr || structure(a.expr) === structure(b.expr);
}

// A merge compares the same bound expressions again and again.
const structures = new WeakMap<Expr, string>();

/** The expression's whole structure as text (expressions are never modified). */
function structure(e: Expr): string {
  let text = structures.get(e);
  if (text === undefined) {
    text = JSON.stringify(e);
    structures.set(e, text);
  }
  return text;
}
