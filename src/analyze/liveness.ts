// Which facts are worth keeping at each node: a fact nothing later reads only
// multiplies states, so dropping it is exact for every later decision. That
// is a fact no later test reads, or one every path overwrites (assigns one of
// its variables) before reading it.
import { show, substitute, varsOf, type Expr } from '../ir/expr.js';
import type { FunctionCFG, FunctionIR, IRNode } from '../ir/types.js';
import { lookupName, type Program } from './program.js';
import { RET_PREFIX, type Binding, type Fact, type State } from './state.js';
import type { Summary } from './types.js';

export interface Live {
  /** Conditions some path from the node may still test, and the variables they read. */
  texts: Set<string>;
  vars: Set<string>;
  /**
   * What some path reads before an assignment (or havoc) of one of its
   * variables kills it. Reads are tests as above, plus assignments'
   * right-hand sides and a sync's arguments (see NodeReads).
   */
  readBeforeKill: { texts: Set<string>; vars: Set<string> };
  /** What both keep (their intersection): forgetDead's quick answer. */
  both: { texts: Set<string>; vars: Set<string> };
}

/** The analysis of one function ran out of its time budget before any result. */
export class AnalysisTimeout extends Error {
  override name = 'AnalysisTimeout';
}

/**
 * For each node, the conditions some path from it may still test (its own
 * branches, and the substituted conditions of the summaries of the calls it
 * makes) and the variables they read; and what some path reads before it
 * is killed (`readBeforeKill`). A branch on a constant (`while (true)`) is
 * followed only the way the engine takes it.
 */
export function liveConditions(
  fn: FunctionIR,
  cfg: FunctionCFG,
  program: Program,
  summaryOf: (f: FunctionIR) => Summary | undefined,
  deadline: number,
  budgetMs: number,
  issuing: (callee: string) => boolean = () => true,
): Live[] {
  const index = new Names();
  const reads = cfg.nodes.map((n) => nodeReads(n, fn, program, summaryOf, issuing, index));
  const fixpoint = (seed: (i: number) => Bits, mask: (i: number) => Bits | null): Bits[] =>
    backwards(cfg, seed, mask, deadline, budgetMs);
  // What any later test reads, assignments or not (as before).
  const tested = fixpoint((i) => index.bits(reads[i].tested), () => null);
  // What is read before it is killed: a fact dies when a variable it reads is
  // assigned (state.ts assign), a binding when its variable is.
  const kills = reads.map((r) => (r.killed.size ? index.killMask(r.killed) : null));
  const beforeKill = fixpoint((i) => index.bits(reads[i].read, reads[i].argVars), (i) => kills[i]);
  // Nodes with equal live sets share one Live, so the analysis can tell
  // that forgetDead has nothing more to drop between them.
  const shared = new Map<string, Live>();
  return cfg.nodes.map((_, i) => {
    const key = `${tested[i].key()}|${beforeKill[i].key()}`;
    let live = shared.get(key);
    if (!live) {
      const t = index.namesOf(tested[i]);
      const r = index.namesOf(beforeKill[i]);
      const both = { texts: new Set([...t.texts].filter((x) => r.texts.has(x))), vars: new Set([...t.vars].filter((x) => r.vars.has(x))) };
      shared.set(key, (live = { ...t, readBeforeKill: r, both }));
    }
    return live;
  });
}

/** Conditions (texts) and variables, by their numbers in `Names`. */
interface TextsAndVars {
  texts: Set<number>;
  vars: Set<number>;
}

/**
 * What one node reads and kills. `tested`: the conditions it tests (branch,
 * returned value, the substituted conditions of the callees' summaries).
 * `read`: everything whose facts or bindings the engine may consult there —
 * `tested`, an assignment's right-hand side (resolved through bindings into
 * the new binding) and a sync's arguments (the direction it is split on:
 * `dir == DMA_NONE`, so also `argVars`, any condition reading one of their
 * variables). Other calls' arguments are read only through their summaries'
 * conditions, which `tested` has. `killed`: the variables a plain
 * assignment or havoc overwrites.
 */
interface NodeReads {
  tested: TextsAndVars;
  read: TextsAndVars;
  argVars: Set<string>;
  killed: Set<string>;
}

function nodeReads(
  n: IRNode,
  fn: FunctionIR,
  program: Program,
  summaryOf: (f: FunctionIR) => Summary | undefined,
  issuing: (callee: string) => boolean,
  index: Names,
): NodeReads {
  const tested: TextsAndVars = { texts: new Set(), vars: new Set() };
  const read: TextsAndVars = { texts: new Set(), vars: new Set() };
  const argVars = new Set<string>();
  const killed = new Set<string>();
  const addExpr = (into: TextsAndVars, e: Expr) => {
    for (const x of subExprs(e)) into.texts.add(index.text(x));
    for (const name of varsOf(e)) into.vars.add(index.variable(name));
  };
  if (n.op === 'branch') addExpr(tested, n.cond);
  else if (n.op === 'return' && n.value) addExpr(tested, n.value);
  else if (n.op === 'assign') {
    if (n.value?.k === 'call') tested.texts.add(index.text(n.value));
    if (n.value) addExpr(read, n.value);
    if (!n.lvalue) killed.add(n.target);
  } else if (n.op === 'havoc') n.vars.forEach((v) => killed.add(v));
  else if (n.op === 'call') {
    for (const target of program.resolve(fn.file, lookupName(n))) {
      const sm = summaryOf(target);
      if (!sm) continue;
      const map = paramMap(target, n);
      for (const o of sm.outcomes ?? []) o.lits.forEach((l) => addExpr(tested, substitute(l.atom, map)));
      for (const a of sm.accesses) a.lits.forEach((l) => addExpr(tested, substitute(l.atom, map)));
      for (const a of sm.ownAccesses) a.lits.forEach((l) => addExpr(tested, substitute(l.atom, map)));
    }
    if (issuing(n.callee)) {
      for (const a of n.args) {
        addExpr(read, a);
        varsOf(a, argVars);
      }
    }
  }
  tested.texts.forEach((t) => read.texts.add(t));
  tested.vars.forEach((v) => read.vars.add(v));
  return { tested, read, argVars, killed };
}

/**
 * Backward propagation to a fixpoint: a node's set is its seed, plus its
 * successors' sets less what it kills (`mask`, null: kills nothing).
 */
function backwards(cfg: FunctionCFG, seed: (i: number) => Bits, mask: (i: number) => Bits | null, deadline: number, budgetMs: number): Bits[] {
  const live = cfg.nodes.map((_, i) => seed(i));
  const preds: number[][] = cfg.nodes.map(() => []);
  cfg.nodes.forEach((n, i) => feasibleNext(n).forEach((succ) => succ >= 0 && preds[succ].push(i)));
  const queue = cfg.nodes.map((_, i) => i).reverse();
  const queued = new Uint8Array(cfg.nodes.length).fill(1);
  let steps = 0;
  while (queue.length) {
    if ((++steps & 1023) === 0 && performance.now() > deadline) throw new AnalysisTimeout(`analysis took longer than ${budgetMs} ms`);
    const i = queue.pop()!;
    queued[i] = 0;
    for (const p of preds[i]) {
      if (live[p].orFrom(live[i], mask(p)) && !queued[p]) {
        queued[p] = 1;
        queue.push(p);
      }
    }
  }
  return live;
}

/** A node's successors, less the edge a constant condition never takes (`while (true)`'s exit: the engine decides it). */
function feasibleNext(n: IRNode): number[] {
  if (n.op === 'branch' && n.cond.k === 'num') return [n.next[n.cond.v !== 0 ? 0 : 1]];
  return n.next;
}

/** Numbers for the conditions and variables of one function, and what each condition reads. */
class Names {
  private readonly textIds = new Map<string, number>();
  private readonly varIds = new Map<string, number>();
  readonly texts: string[] = [];
  readonly vars: string[] = [];
  /** The variables each condition reads (by number): assigning one kills its facts. */
  private readonly textVars: string[][] = [];

  text(e: Expr): number {
    const text = show(e);
    let id = this.textIds.get(text);
    if (id === undefined) {
      this.textIds.set(text, (id = this.texts.length));
      this.texts.push(text);
      this.textVars.push([...varsOf(e)]);
    }
    return id;
  }

  variable(name: string): number {
    let id = this.varIds.get(name);
    if (id === undefined) {
      this.varIds.set(name, (id = this.vars.length));
      this.vars.push(name);
    }
    return id;
  }

  /** A bitset of `tv`, plus the conditions that read one of `touching`. */
  bits(tv: TextsAndVars, touching?: ReadonlySet<string>): Bits {
    const out = new Bits(this.texts.length, this.vars.length);
    tv.texts.forEach((t) => out.setText(t));
    tv.vars.forEach((v) => out.setVar(v));
    if (touching?.size) this.textVars.forEach((vars, t) => vars.some((v) => touching.has(v)) && out.setText(t));
    return out;
  }

  /** What assigning `vars` kills: the conditions reading one of them, and their bindings. */
  killMask(vars: ReadonlySet<string>): Bits {
    const out = this.bits({ texts: new Set(), vars: new Set() }, vars);
    vars.forEach((v) => this.varIds.has(v) && out.setVar(this.varIds.get(v)!));
    return out;
  }

  namesOf(bits: Bits): { texts: Set<string>; vars: Set<string> } {
    return { texts: bits.textNames(this.texts), vars: bits.varNames(this.vars) };
  }
}

/** A set of conditions and a set of variables, as bits. */
class Bits {
  private readonly t: Uint32Array;
  private readonly v: Uint32Array;

  constructor(texts: number, vars: number) {
    this.t = new Uint32Array(Math.ceil(texts / 32) || 1);
    this.v = new Uint32Array(Math.ceil(vars / 32) || 1);
  }

  setText(i: number): void {
    this.t[i >>> 5] |= 1 << (i & 31);
  }

  setVar(i: number): void {
    this.v[i >>> 5] |= 1 << (i & 31);
  }

  /** `this |= from & ~kill`; whether this changed. */
  orFrom(from: Bits, kill: Bits | null): boolean {
    const a = orInto(this.t, from.t, kill?.t);
    const b = orInto(this.v, from.v, kill?.v);
    return a || b;
  }

  key(): string {
    return `${this.t.join(',')}/${this.v.join(',')}`;
  }

  textNames(names: string[]): Set<string> {
    return namesOf(this.t, names);
  }

  varNames(names: string[]): Set<string> {
    return namesOf(this.v, names);
  }
}

/** `into |= from & ~kill`; whether `into` changed. */
function orInto(into: Uint32Array, from: Uint32Array, kill: Uint32Array | undefined): boolean {
  let changed = false;
  for (let w = 0; w < into.length; w++) {
    const next = (into[w] | (kill ? from[w] & ~kill[w] : from[w])) >>> 0;
    if (next !== into[w]) {
      into[w] = next;
      changed = true;
    }
  }
  return changed;
}

/** A bitset as the names it holds (the set is read by membership, built once per node). */
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

/**
 * Drop facts and bindings no later decision can read. `onParams`: facts on
 * the function's parameters stay (summaries speak of them).
 *
 * Two reasons to drop. (1) No later test reads the condition or variable
 * (`live.texts`/`live.vars`). (2) Every path from here assigns one of its
 * variables before anything reads it (`live.readBeforeKill`): the fact or
 * binding would die unread, so dropping it now changes no evaluation, only
 * lets states that differ in nothing else be one state at once instead of
 * at the assignment (a `goto retry` brings back the facts of the last
 * iteration, which the next one overwrites before testing).
 */
export function forgetDead(s: State, live: Live, onParams: (f: Fact) => boolean): State {
  const kept = (k: string, sets: { texts: Set<string>; vars: Set<string> }) => sets.texts.has(k) || readThroughBinding(k, s.bindings, sets.vars);
  let facts: Map<string, Fact> | null = null;
  for (const [k, f] of s.facts) {
    if (live.both.texts.has(k) || onParams(f) || (kept(k, live) && kept(k, live.readBeforeKill))) continue;
    facts ??= new Map(s.facts);
    facts.delete(k);
  }
  let bindings: Map<string, Binding> | null = null;
  for (const v of s.bindings.keys()) {
    if (v.startsWith(RET_PREFIX) ? live.texts.has(v.slice(RET_PREFIX.length)) : live.both.vars.has(v)) continue;
    bindings ??= new Map(s.bindings);
    bindings.delete(v);
  }
  return facts || bindings ? { ...s, facts: facts ?? s.facts, bindings: bindings ?? s.bindings } : s;
}

/** A fact on a bound expression is read through the variable's binding (a live variable bound to a text containing it). */
function readThroughBinding(fact: string, bindings: ReadonlyMap<string, Binding>, liveVars: Set<string>): boolean {
  for (const [v, b] of bindings) if (b.kind === 'alias' && liveVars.has(v) && show(b.expr).includes(fact)) return true;
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
