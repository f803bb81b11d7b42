// Which facts are worth keeping at each node: a fact nothing later tests only
// multiplies states, so dropping it is exact for every later decision.
import { show, substitute, varsOf, type Expr } from '../ir/expr.js';
import type { FunctionCFG, FunctionIR, IRNode } from '../ir/types.js';
import type { Program } from './program.js';
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
  const gen = cfg.nodes.map((n) => {
    const texts = new Set<string>();
    const vars = new Set<string>();
    const addExpr = (e: Expr) => {
      subExprs(e).forEach((x) => texts.add(show(x)));
      varsOf(e, vars);
    };
    if (n.op === 'branch') addExpr(n.cond);
    else if (n.op === 'return' && n.value) addExpr(n.value);
    else if (n.op === 'assign' && n.value?.k === 'call') texts.add(show(n.value));
    else if (n.op === 'call' && !n.viaPointer) {
      for (const t of program.resolve(fn.file, n.callee)) {
        const sm = summaryOf(t);
        if (!sm) continue;
        const map = paramMap(t, n);
        for (const o of sm.outcomes ?? []) o.lits.forEach((l) => addExpr(substitute(l.atom, map)));
        for (const a of sm.accesses) a.lits.forEach((l) => addExpr(substitute(l.atom, map)));
        for (const a of sm.ownAccesses) a.lits.forEach((l) => addExpr(substitute(l.atom, map)));
      }
    }
    return { texts, vars };
  });
  const live = gen.map((g) => ({ texts: new Set(g.texts), vars: new Set(g.vars) }));
  // Backwards fixpoint; node order is roughly reverse-topological already.
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = cfg.nodes.length - 1; i >= 0; i--) {
      // Sets of every later condition per node: quadratic in a generated function with thousands of them.
      if ((i & 63) === 0 && performance.now() > deadline) throw new AnalysisTimeout(`analysis took longer than ${budgetMs} ms`);
      const mine = live[i];
      for (const succ of cfg.nodes[i].next) {
        if (succ < 0) continue;
        for (const t of live[succ].texts) if (!mine.texts.has(t)) (mine.texts.add(t), (changed = true));
        for (const v of live[succ].vars) if (!mine.vars.has(v)) (mine.vars.add(v), (changed = true));
      }
    }
  }
  return live;
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

/** Drop facts and bindings no later decision can read. */
export function forgetDead(s: State, live: Live, onParams: (e: Expr) => boolean): State {
  let facts: Map<string, Fact> | null = null;
  for (const [k, f] of s.facts) {
    if (live.texts.has(k) || onParams(f.atom)) continue;
    // A fact on a bound expression is read through the variable's binding.
    let viaBinding = false;
    for (const [v, b] of s.bindings) if (b.kind === 'alias' && live.vars.has(v) && show(b.expr).includes(k)) viaBinding = true;
    if (viaBinding) continue;
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
