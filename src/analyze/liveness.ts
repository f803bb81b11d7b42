// Which facts are worth keeping at each node: a fact nothing later tests only
// multiplies states, so dropping it is exact for every later decision.
import { show, substitute, varsOf, type Expr } from '../ir/expr.js';
import type { FunctionCFG, FunctionIR, IRNode } from '../ir/types.js';
import { lookupName, type Program } from './program.js';
import { RET_PREFIX, type Binding, type Fact, type State } from './state.js';
import type { Summary } from './types.js';

export interface Live {
  texts: Set<string>;
  vars: Set<string>;
}

/** The analysis of one function ran out of its time budget before any result. */
export class AnalysisTimeout extends Error {
  override name = 'AnalysisTimeout';
}

/**
 * For each node, the conditions some path from it may still test (its own
 * branches, and the substituted conditions of the summaries of the calls it
 * makes) and the variables they read.
 */
export function liveConditions(fn: FunctionIR, cfg: FunctionCFG, program: Program, summaryOf: (f: FunctionIR) => Summary | undefined, deadline: number, budgetMs: number): Live[] {
  // Every condition and variable gets a bit; each node's live set is a
  // bitset, propagated backwards over predecessors with a worklist.
  const texts: string[] = [];
  const vars: string[] = [];
  const textBit = new Map<string, number>();
  const varBit = new Map<string, number>();
  const gen = cfg.nodes.map((n) => {
    const t = new Set<number>();
    const v = new Set<number>();
    const addExpr = (e: Expr) => {
      for (const x of subExprs(e)) t.add(bitOf(textBit, texts, show(x)));
      for (const name of varsOf(e)) v.add(bitOf(varBit, vars, name));
    };
    if (n.op === 'branch') addExpr(n.cond);
    else if (n.op === 'return' && n.value) addExpr(n.value);
    else if (n.op === 'assign' && n.value?.k === 'call') t.add(bitOf(textBit, texts, show(n.value)));
    else if (n.op === 'call') {
      for (const target of program.resolve(fn.file, lookupName(n))) {
        const sm = summaryOf(target);
        if (!sm) continue;
        const map = paramMap(target, n);
        for (const o of sm.outcomes ?? []) o.lits.forEach((l) => addExpr(substitute(l.atom, map)));
        for (const a of sm.accesses) a.lits.forEach((l) => addExpr(substitute(l.atom, map)));
        for (const a of sm.ownAccesses) a.lits.forEach((l) => addExpr(substitute(l.atom, map)));
      }
    }
    return { t, v };
  });
  const tWords = Math.ceil(texts.length / 32) || 1;
  const vWords = Math.ceil(vars.length / 32) || 1;
  const liveT = cfg.nodes.map(() => new Uint32Array(tWords));
  const liveV = cfg.nodes.map(() => new Uint32Array(vWords));
  gen.forEach((g, i) => {
    for (const b of g.t) liveT[i][b >>> 5] |= 1 << (b & 31);
    for (const b of g.v) liveV[i][b >>> 5] |= 1 << (b & 31);
  });
  const preds: number[][] = cfg.nodes.map(() => []);
  cfg.nodes.forEach((n, i) => n.next.forEach((succ) => succ >= 0 && preds[succ].push(i)));
  const queue = cfg.nodes.map((_, i) => i).reverse();
  const queued = new Uint8Array(cfg.nodes.length).fill(1);
  let steps = 0;
  while (queue.length) {
    if ((++steps & 1023) === 0 && performance.now() > deadline) throw new AnalysisTimeout(`analysis took longer than ${budgetMs} ms`);
    const i = queue.pop()!;
    queued[i] = 0;
    for (const p of preds[i]) {
      const changed = orInto(liveT[p], liveT[i]) | orInto(liveV[p], liveV[i]);
      if (changed && !queued[p]) {
        queued[p] = 1;
        queue.push(p);
      }
    }
  }
  // Nodes with equal live sets share one Live, so the analysis can tell
  // that forgetDead has nothing more to drop between them.
  const shared = new Map<string, Live>();
  return cfg.nodes.map((_, i) => {
    const key = `${liveT[i].join(',')}|${liveV[i].join(',')}`;
    let live = shared.get(key);
    if (!live) shared.set(key, (live = { texts: namesOf(liveT[i], texts), vars: namesOf(liveV[i], vars) }));
    return live;
  });
}

function bitOf(index: Map<string, number>, names: string[], name: string): number {
  let b = index.get(name);
  if (b === undefined) {
    b = names.length;
    names.push(name);
    index.set(name, b);
  }
  return b;
}

/** `into |= from`; whether `into` changed. */
function orInto(into: Uint32Array, from: Uint32Array): number {
  let changed = 0;
  for (let w = 0; w < into.length; w++) {
    const next = (into[w] | from[w]) >>> 0;
    if (next !== into[w]) {
      into[w] = next;
      changed = 1;
    }
  }
  return changed;
}

/** A live set as the names it holds (the set is read by membership, built once per node). */
function namesOf(bits: Uint32Array, names: string[]): Set<string> {
  const out = new Set<string>();
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w];
    while (word) {
      const low = word & -word;
      out.add(names[(w << 5) + 31 - Math.clz32(low)]);
      word ^= low;
    }
  }
  return out;
}

export function subExprs(e: Expr, out: Expr[] = []): Expr[] {
  out.push(e);
  switch (e.k) {
    case 'not':
      subExprs(e.e, out);
      break;
    case 'and':
    case 'or':
    case 'bin':
      subExprs(e.a, out);
      subExprs(e.b, out);
      break;
  }
  return out;
}

/** Drop facts and bindings no later decision can read. `onParams`: facts on the function's parameters stay (summaries speak of them). */
export function forgetDead(s: State, live: Live, onParams: (f: Fact) => boolean): State {
  let facts: Map<string, Fact> | null = null;
  for (const [k, f] of s.facts) {
    if (live.texts.has(k) || onParams(f) || readThroughBinding(k, s.bindings, live)) continue;
    facts ??= new Map(s.facts);
    facts.delete(k);
  }
  let bindings: Map<string, Binding> | null = null;
  for (const v of s.bindings.keys()) {
    if (v.startsWith(RET_PREFIX) ? live.texts.has(v.slice(RET_PREFIX.length)) : live.vars.has(v)) continue;
    bindings ??= new Map(s.bindings);
    bindings.delete(v);
  }
  return facts || bindings ? { ...s, facts: facts ?? s.facts, bindings: bindings ?? s.bindings } : s;
}

/** A fact on a bound expression is read through the variable's binding (a live variable bound to a text containing it). */
function readThroughBinding(fact: string, bindings: ReadonlyMap<string, Binding>, live: Live): boolean {
  for (const [v, b] of bindings) if (b.kind === 'alias' && live.vars.has(v) && show(b.expr).includes(fact)) return true;
  return false;
}

/** Every condition (and sub-condition) this function tests or stores: the facts worth keeping. */
export function conditionTexts(nodes: IRNode[]): Set<string> {
  const out = new Set<string>();
  for (const n of nodes) {
    const e = n.op === 'branch' ? n.cond : n.op === 'assign' ? n.value : null;
    if (e) for (const x of subExprs(e)) out.add(show(x));
  }
  return out;
}

/** The callee's parameters bound to the call's arguments. */
export function paramMap(target: FunctionIR, node: Extract<IRNode, { op: 'call' }>): Map<string, Expr> {
  const map = new Map<string, Expr>();
  target.params.forEach((p, i) => {
    if (i < node.args.length) map.set(p, node.args[i]);
  });
  return map;
}
