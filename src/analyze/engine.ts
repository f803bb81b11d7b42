// Path-sensitive obligation analysis of one function.
//
// Explores the CFG breadth-first with one abstract state per distinct
// (pending, facts, bindings, error) combination at each node, so loops reach a
// fixpoint and the first path found to any point is a shortest one. Every
// entry state carries the CALLER token, standing for maintenance the caller
// left pending: whether it survives to the exit tells callers if this function
// completes their maintenance.
import { show, substitute, varsOf, type Expr } from '../ir/expr.js';
import type { FunctionIR, IRNode } from '../ir/types.js';
import type { CacheEffect, DeferralContract, IssuingCall, ModelOp, PathStep, Rule } from '../types.js';
import type { Program } from './program.js';
import {
  CALLER_TOKEN,
  RET_PREFIX,
  assign,
  assignField,
  assume,
  evaluate,
  havoc,
  pushStep,
  setReturned,
  stateKey,
  trailSteps,
  type Binding,
  type EvalEnv,
  type Fact,
  type PendingItem,
  type State,
} from './state.js';

/** One way a function can return, as its callers see it. */
export interface Outcome {
  /** Conditions on the function's parameters under which it returns this way. */
  lits: { atom: Expr; value: boolean }[];
  /** Maintenance the caller had pending is still pending afterwards. */
  keepsCaller: boolean;
  /** This way out only exists after an error check (the caller's path inherits that). */
  error: boolean;
  /** Truth of the return value on this way out ('U' unknown). */
  ret: 'T' | 'F' | 'U';
  /** This way out reports failure (error label or error code). */
  failed: boolean;
  /** Maintenance this function leaves pending for its caller. */
  items: { callee: string; effect: CacheEffect; inner: PathStep[]; origin: PendingItem['origin']; uncertain?: boolean }[];
}

/** A CPU access the function makes while its caller's maintenance may still be pending. */
export interface AccessClause {
  lits: { atom: Expr; value: boolean }[];
  /** Where the access is, for the reported path. */
  steps: PathStep[];
}

export interface Summary {
  /** null: the function does nothing the rule cares about (identity). */
  outcomes: Outcome[] | null;
  accesses: AccessClause[];
  handoff: boolean;
  handoffWhy: string;
}

export interface RawFinding {
  kind: 'unflushed-return' | 'unflushed-access';
  fn: FunctionIR;
  item: PendingItem;
  at: { line: number; column: number; what: string };
  error: boolean;
  /** The path reports failure to the caller (error label or error code). */
  failed: boolean;
  path: PathStep[];
}

export interface CompletionSite {
  node: number;
  line: number;
  column: number;
  /** Some state reaching it had maintenance issued in this function. */
  sawLocal: boolean;
  /** Some state reaching it carried the caller's pending maintenance. */
  sawCaller: boolean;
  /** Nodes where the local maintenance reaching it was issued. */
  localOrigins: Set<number>;
  /** One path from a sync to this flush (for the cache-model replay). */
  samplePath?: PathStep[];
  /** The loop around the flush, read off the CFG once (see rule.ts siteLoop); null when there is none. */
  loop?: SiteLoop | null;
}

/** What the batchable note needs to know about the loop a flush sits in. */
export interface SiteLoop {
  line: number;
  /** Maintenance reaching the flush was issued inside this loop. */
  issuedInside: boolean;
  /** Later in the same iteration: does the body return, and what does it call? */
  laterReturn: boolean;
  laterCalls: string[];
}

export interface CallRecord {
  callee: string;
  targets: FunctionIR[];
  withLocal: boolean;
  withCaller: boolean;
}

export interface FunctionResult {
  summary: Summary;
  findings: RawFinding[];
  completions: CompletionSite[];
  calls: CallRecord[];
  /** The state budget ran out: results are partial. */
  truncated: boolean;
  syncSites: number;
  /** Why part of the body was not lowered (the CFG's cutShort), recorded so a cached result need not rebuild the CFG. */
  cutShort?: string;
  /** Truncated by the wall-clock budget: depends on the machine's load, so never cached. */
  timedOut?: boolean;
}

export interface RuleContext {
  rule: Rule;
  issuing: Map<string, IssuingCall>;
  completing: Set<string>;
  cpuAccess: Set<string>;
  contractDefers: Map<string, DeferralContract>;
  errorLabel: RegExp;
  env: EvalEnv;
}

const MAX_STATES_PER_NODE = Number(process.env.FLUSHCHECK_MAX_STATES ?? 48);
const MAX_VISITS = 200_000;
/**
 * Wall-clock budget per function analysis (FLUSHCHECK_FUNCTION_BUDGET_MS). The
 * visit cap bounds the steps, but a step costs more as states grow: a generated
 * function with a thousand syncs took minutes. Past the budget the result is
 * truncated like one past the visit cap. Kernel functions take milliseconds.
 */
const FUNCTION_BUDGET_MS = Number(process.env.FLUSHCHECK_FUNCTION_BUDGET_MS ?? 10_000);

/** The analysis of one function ran out of its time budget before any result (see FUNCTION_BUDGET_MS). */
export class AnalysisTimeout extends Error {
  override name = 'AnalysisTimeout';
}
const MAX_OUTCOMES = 24;
const MAX_INNER_STEPS = 40;
const DIRECTIONS = ['DMA_TO_DEVICE', 'DMA_FROM_DEVICE', 'DMA_BIDIRECTIONAL', 'DMA_NONE'] as const;

export function analyzeFunction(
  fn: FunctionIR,
  ctx: RuleContext,
  program: Program,
  summaryOf: (f: FunctionIR) => Summary | undefined,
  handoff: { handoff: boolean; why: string },
): FunctionResult {
  const findings = new Map<string, RawFinding>();
  const completions = new Map<number, CompletionSite>();
  const calls: CallRecord[] = [];
  const exitStates: State[] = [];
  const accesses = new Map<string, AccessClause>();
  const seen = new Map<number, Map<string, State>>();
  let truncated = false;
  let timedOut = false;
  let syncSites = 0;
  const cfg = fn.cfg();
  const interest = conditionTexts(cfg.nodes);
  const deadline = performance.now() + FUNCTION_BUDGET_MS;
  const live = liveConditions(fn, cfg, program, summaryOf, deadline);
  // Conditions on our own parameters go into our summary: keep those too.
  const stableParams = new Set(fn.params.filter((p) => !cfg.assigned.includes(p)));
  const onParams = (e: Expr) => {
    const vars = varsOf(e);
    return vars.size > 0 && [...vars].every((v) => stableParams.has(v));
  };
  for (const n of cfg.nodes) if (n.op === 'call' && ctx.issuing.has(n.callee)) syncSites++;

  const callerItem: PendingItem = {
    key: CALLER_TOKEN,
    callee: '(caller)',
    effect: 'none',
    node: cfg.entry,
    line: fn.line,
    column: fn.column,
    inner: [],
    origin: { file: fn.file, line: fn.line, function: fn.name },
  };
  const init: State = {
    pending: new Map([[CALLER_TOKEN, callerItem]]),
    facts: new Map(),
    bindings: new Map(),
    error: false,
    trail: null,
  };

  const queue: [number, State][] = [[cfg.entry, init]];
  let visits = 0;
  const step = (s: State, line: number, event: string): State =>
    hasLocal(s) ? pushStep(s, { file: fn.file, line, event }) : s;

  const enqueue = (node: number, s: State) => {
    if (node < 0) return;
    s = forgetDead(s, live[node], onParams);
    let states = seen.get(node);
    if (!states) seen.set(node, (states = new Map()));
    let key = stateKey(s);
    if (!states.has(key) && states.size >= MAX_STATES_PER_NODE) {
      // Too many path distinctions here: forget what the path knew. This can
      // only make more paths feasible, never hide one.
      s = { ...s, facts: new Map(), bindings: new Map() };
      key = stateKey(s);
      truncated = true;
    }
    const old = states.get(key);
    if (old) {
      // Same knowledge, different maintenance pending: join the pending sets
      // (each item is pending on some path that knows exactly this).
      const added = [...s.pending.keys()].filter((k) => !old.pending.has(k));
      if (!added.length) return;
      const pending = new Map(old.pending);
      for (const k of added) pending.set(k, s.pending.get(k)!);
      s = { ...old, pending };
    }
    states.set(key, s);
    queue.push([node, s]);
  };

  while (queue.length) {
    if (++visits > MAX_VISITS || ((visits & 255) === 0 && performance.now() > deadline)) {
      truncated = true;
      timedOut = visits <= MAX_VISITS;
      break;
    }
    const [id, popped] = queue.shift()!;
    let s = popped;
    const node = cfg.nodes[id];
    switch (node.op) {
      case 'exit':
        exitStates.push(s);
        break;
      case 'return': {
        // Returning an error code: the caller does not get the buffer.
        if (node.errorValue && hasLocal(s)) s = { ...s, error: true, failed: true };
        s = { ...s, ret: node.errorValue ? 'T' : node.value ? evaluate(node.value, s, ctx.env) : 'U' };
        if (handoff.handoff) {
          for (const item of s.pending.values()) {
            if (item.key === CALLER_TOKEN) continue;
            const end = step(s, node.line, `return from ${fn.name}() (hand-off: ${handoff.why})`);
            record(findings, {
              kind: 'unflushed-return',
              fn,
              item,
              at: { line: node.line, column: node.column, what: `return at line ${node.line}` },
              error: s.error,
              failed: !!s.failed,
              path: buildPath(item, end),
            });
          }
        }
        node.next.forEach((n) => enqueue(n, s));
        break;
      }
      case 'assign': {
        const next = node.lvalue ? assignField(s, node.target, node.lvalue) : assign(s, node.target, node.value, String(id));
        node.next.forEach((n) => enqueue(n, next));
        break;
      }
      case 'havoc':
        node.next.forEach((n) => enqueue(n, havoc(s, node.vars)));
        break;
      case 'branch': {
        const v = evaluate(node.cond, s, ctx.env);
        for (const [i, val] of [[0, true], [1, false]] as const) {
          if (v !== 'U' && (v === 'T') !== val) continue;
          let next = v === 'U' ? assume(node.cond, val, s, ctx.env) : s;
          if (!next) continue;
          if (node.errorEdge === i) next = { ...next, error: true };
          next = step(next, node.line, `${val ? 'true' : 'false'}: if (${node.text})`);
          enqueue(node.next[i], next);
        }
        break;
      }
      case 'choice':
        node.next.forEach((n, i) => {
          const label = node.loop !== undefined ? (i === 0 ? `${node.reason}: next entry` : `${node.reason}: done`) : `${node.reason}`;
          enqueue(n, node.loop !== undefined || node.reason === '#if' ? step(s, node.line, label) : s);
        });
        break;
      case 'goto': {
        const isError = ctx.errorLabel.test(node.label);
        const next = step(isError ? { ...s, error: true, failed: true } : s, node.line, `goto ${node.label}`);
        node.next.forEach((n) => enqueue(n, next));
        break;
      }
      case 'call': {
        // A previous call's known result only holds until the next call.
        const fresh = s.bindings.size && [...s.bindings.keys()].some((k) => k.startsWith(RET_PREFIX)) ? setReturned(s, { k: 'num', v: 0 }, 'U') : s;
        for (const next of callSuccessors(fn, id, node, fresh)) node.next.forEach((n) => enqueue(n, next));
        break;
      }
      default:
        node.next.forEach((n) => enqueue(n, s));
    }
  }

  function callSuccessors(f: FunctionIR, id: number, node: Extract<IRNode, { op: 'call' }>, s: State): State[] {
    const c = node.callee;
    if (node.viaPointer) return [s];
    if (ctx.completing.has(c)) {
      const site = completions.get(id) ?? { node: id, line: node.line, column: node.column, sawLocal: false, sawCaller: false, localOrigins: new Set<number>() };
      if (!site.samplePath && hasLocal(s)) {
        site.samplePath = [...trailSteps(s.trail), { file: fn.file, line: node.line, event: `${c}() completes pending maintenance`, op: 'dsb' }];
      }
      for (const it of s.pending.values()) {
        if (it.key === CALLER_TOKEN) site.sawCaller = true;
        else {
          site.sawLocal = true;
          site.localOrigins.add(it.node);
        }
      }
      completions.set(id, site);
      const after = hasLocal(s) ? pushStep(s, { file: fn.file, line: node.line, event: `${c}() completes pending maintenance`, op: 'dsb' }) : s;
      return [{ ...after, pending: new Map() }];
    }
    const issuing = ctx.issuing.get(c);
    if (issuing) return issue(f, id, node, s, issuing);
    if (ctx.cpuAccess.has(c)) {
      cpuAccess(f, node, s, `${c}() at line ${node.line}`, [{ file: f.file, line: node.line, event: `${c}() accesses the buffer from the CPU`, op: accessOp(c) }]);
      return [s];
    }
    const contract = ctx.contractDefers.get(c);
    if (contract && contract.checkCallers === false) return [s];
    const targets = program.resolve(f.file, c);
    // CPU accesses inside the callee happen before it returns: judge them
    // against what is pending here.
    for (const t of targets) {
      const sm = summaryOf(t);
      if (!sm?.accesses.length) continue;
      const map = paramMap(t, node);
      for (const a of sm.accesses) {
        let at: State | null = s;
        for (const lit of a.lits) {
          at = assume(substitute(lit.atom, map), lit.value, at, ctx.env);
          if (!at) break;
        }
        if (at) cpuAccess(f, node, at, `the CPU access in ${t.name}() (${a.steps[a.steps.length - 1]?.file}:${a.steps[a.steps.length - 1]?.line})`, [{ file: f.file, line: node.line, event: `${node.callee}(...) accesses the buffer from the CPU` }, ...a.steps]);
      }
    }
    calls.push({ callee: c, targets, withLocal: hasLocal(s), withCaller: s.pending.has(CALLER_TOKEN) });
    const withSummary = targets.map((t) => [t, summaryOf(t)] as const).filter(([, sm]) => sm?.outcomes);
    if (withSummary.length === 0) {
      if (contract && targets.length === 0) {
        // A declared deferring partner with no definition here: it leaves
        // maintenance pending by contract.
        return [addItem(s, id, node, { callee: c, effect: 'clean', inner: [], origin: { file: f.file, line: node.line, function: f.name } }, undefined)];
      }
      return [s];
    }
    const out: State[] = [];
    for (const [target, sm] of withSummary) {
      const map = paramMap(target, node);
      for (const o of sm!.outcomes!) {
        // The callee's conditions must be consistent with the path. They are
        // remembered only where the callee leaves maintenance pending, where a
        // later test of the same condition (the flush after the loop) must
        // correlate; elsewhere remembering them only multiplies states.
        let checked: State | null = s;
        for (const lit of o.lits) {
          checked = assume(substitute(lit.atom, map), lit.value, checked, ctx.env);
          if (!checked) break;
        }
        if (!checked) continue;
        let next: State = s;
        if (o.items.length) {
          for (const lit of o.lits) {
            const atom = substitute(lit.atom, map);
            if (interest.has(show(atom)) || onParams(atom)) next = assume(atom, lit.value, next, ctx.env) ?? next;
          }
        }
        next = setReturned(next, { k: 'call', fn: c, args: node.args }, o.ret);
        if (!o.keepsCaller) next = { ...next, pending: new Map() };
        if (o.error && o.items.length) next = { ...next, error: true, ...(o.failed ? { failed: true } : {}) };
        if (o.items.length === 0) {
          out.push(next);
          continue;
        }
        o.items.forEach((item, i) => (next = addItem(next, id, node, item, c, i === 0)));
        out.push(next);
      }
    }
    // Every path reaching the call continues somehow; if the substituted
    // conditions ruled all outcomes out, trust the path and not the summary.
    return out.length ? out : [s];
  }

  function accessOp(c: string): ModelOp {
    const mapped = ctx.rule.model?.calls[c]?.default;
    return mapped && mapped !== 'none' ? mapped : 'cpu_read';
  }

  function cpuAccess(f: FunctionIR, node: Extract<IRNode, { op: 'call' }>, s: State, what: string, steps: PathStep[]): void {
    for (const item of s.pending.values()) {
      if (item.key === CALLER_TOKEN) {
        const lits = paramLits(fn, s);
        const key = lits.map((l) => (l.value ? '+' : '-') + show(l.atom)).sort().join('&');
        if (!accesses.has(key)) accesses.set(key, { lits, steps: steps.slice(0, MAX_INNER_STEPS) });
        continue;
      }
      if (item.effect !== 'invalidate' && item.effect !== 'clean_invalidate') continue;
      let end = s;
      for (const st of steps) end = hasLocal(end) ? pushStep(end, st) : end;
      record(findings, {
        kind: 'unflushed-access',
        fn: f,
        item,
        at: { line: node.line, column: node.column, what },
        error: s.error,
        failed: !!s.failed,
        path: buildPath(item, end),
      });
    }
  }

  function issue(f: FunctionIR, id: number, node: Extract<IRNode, { op: 'call' }>, s: State, issuing: IssuingCall): State[] {
    const dirArg = issuing.directionArg !== undefined ? node.args[issuing.directionArg] : undefined;
    const effectOf = (d: string | undefined): CacheEffect =>
      (d ? issuing.effect[d as keyof IssuingCall['effect']] : undefined) ?? issuing.effect.default ?? 'clean';
    const origin = { file: f.file, line: node.line, function: f.name };
    if (dirArg?.k === 'id' && (DIRECTIONS as readonly string[]).includes(dirArg.name)) {
      const effect = effectOf(dirArg.name);
      return effect === 'none' ? [s] : [addItem(s, id, node, { callee: node.callee, effect, inner: [], origin }, undefined)];
    }
    // Unknown direction: split on the directions that do nothing, so a caller
    // passing DMA_TO_DEVICE to a for_cpu helper sees no obligation.
    const out: State[] = [];
    let rest: State | null = s;
    for (const d of DIRECTIONS) {
      if (issuing.effect[d] !== 'none' || !dirArg) continue;
      const isD: Expr = { k: 'bin', op: '==', a: dirArg, b: { k: 'id', name: d } };
      const yes = rest && assume(isD, true, rest, ctx.env);
      if (yes) out.push(yes);
      rest = rest && assume(isD, false, rest, ctx.env);
    }
    if (rest) out.push(addItem(rest, id, node, { callee: node.callee, effect: effectOf(undefined), inner: [], origin }, undefined));
    return out;
  }

  function addItem(s: State, id: number, node: Extract<IRNode, { op: 'call' }>, item: Outcome['items'][number], via: string | undefined, withStep = true): State {
    const key = `${id}:${item.effect}`;
    const event = via
      ? `${node.text.length > 80 ? node.callee + '(...)' : node.text} leaves ${item.callee}() (${item.effect}) pending`
      : `${node.text.length > 80 ? node.callee + '(...)' : node.text} issues ${item.effect}`;
    // The reported path starts at the first maintenance still pending.
    let base = s;
    if (!hasLocal(s)) base = { ...s, trail: null };
    if (withStep || !hasLocal(s)) {
      base = pushStep(base, { file: fn.file, line: node.line, event, ...(via ? {} : { op: modelOp(item.effect) }) });
      // The callee's own steps (with their cache ops) belong to this path:
      // reports show them and the model replays them.
      for (const st of item.inner) base = pushStep(base, st);
    }
    if (s.pending.has(key)) return { ...base, pending: s.pending };
    const pending = new Map(s.pending);
    pending.set(key, { key, callee: item.callee, effect: item.effect, node: id, line: node.line, column: node.column, via, inner: item.inner, origin: item.origin, ...(item.uncertain ? { uncertain: true } : {}) });
    return { ...base, pending };
  }

  function buildPath(item: PendingItem, s: State): PathStep[] {
    return itemPath(fn, item, s);
  }

  // A function whose path budget ran out had conditions merged: what it
  // leaves pending may come from an infeasible path. Callers get to know.
  const outcomes = summarize(fn, exitStates, handoff.handoff);
  if (truncated) outcomes?.forEach((o) => o.items.forEach((i) => (i.uncertain = true)));
  const summary: Summary = {
    outcomes,
    accesses: [...accesses.values()].length > MAX_OUTCOMES ? [{ lits: [], steps: [...accesses.values()][0].steps }] : [...accesses.values()],
    handoff: handoff.handoff,
    handoffWhy: handoff.why,
  };
  return { summary, findings: [...findings.values()], completions: [...completions.values()], calls, truncated, syncSites, ...(timedOut ? { timedOut } : {}) };
}

/**
 * For each node, the conditions some path from it may still test (its own
 * branches, and the substituted conditions of the summaries of the calls it
 * makes) and the variables they read. A fact nothing will test again only
 * multiplies states: dropping it is exact for every later decision.
 */
function liveConditions(
  fn: FunctionIR,
  cfg: ReturnType<FunctionIR['cfg']>,
  program: Program,
  summaryOf: (f: FunctionIR) => Summary | undefined,
  deadline: number,
): { texts: Set<string>; vars: Set<string> }[] {
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
      if ((i & 63) === 0 && performance.now() > deadline) throw new AnalysisTimeout(`analysis took longer than ${FUNCTION_BUDGET_MS} ms`);
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

function subExprs(e: Expr, out: Expr[] = []): Expr[] {
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
function forgetDead(s: State, live: { texts: Set<string>; vars: Set<string> }, onParams: (e: Expr) => boolean): State {
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
function conditionTexts(nodes: IRNode[]): Set<string> {
  const out = new Set<string>();
  for (const n of nodes) {
    const e = n.op === 'branch' ? n.cond : n.op === 'assign' ? n.value : null;
    if (e) for (const x of subExprs(e)) out.add(show(x));
  }
  return out;
}

function modelOp(effect: CacheEffect): ModelOp | undefined {
  return effect === 'none' ? undefined : effect;
}

function hasLocal(s: State): boolean {
  return s.pending.size > (s.pending.has(CALLER_TOKEN) ? 1 : 0);
}

function record(findings: Map<string, RawFinding>, f: RawFinding): void {
  const key = `${f.kind}:${f.item.node}`;
  const old = findings.get(key);
  // Keep the most severe, then the shortest, path for each sync site.
  if (!old || (old.error && !f.error) || (old.error === f.error && f.path.length < old.path.length)) findings.set(key, f);
}

function paramMap(target: FunctionIR, node: Extract<IRNode, { op: 'call' }>): Map<string, Expr> {
  const map = new Map<string, Expr>();
  target.params.forEach((p, i) => {
    if (i < node.args.length) map.set(p, node.args[i]);
  });
  return map;
}

/** What the path knows about the function's (never reassigned) parameters. */
function paramLits(fn: FunctionIR, s: State): { atom: Expr; value: boolean }[] {
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
function itemPath(fn: FunctionIR, item: PendingItem, s: State): PathStep[] {
  const steps = trailSteps(s.trail);
  const at = steps.findIndex((st) => st.line === item.line && st.file === fn.file);
  if (at >= 0) return steps.slice(at);
  const event = item.via ? `${item.via}(...) leaves ${item.callee}() (${item.effect}) pending` : `${item.callee}(...) issues ${item.effect}`;
  return [{ file: fn.file, line: item.line, event, ...(item.via ? {} : { op: modelOp(item.effect) }) }, ...item.inner, ...steps];
}

/** What callers need to know: under which parameter conditions what stays pending. */
function summarize(fn: FunctionIR, exits: State[], handoff: boolean): Outcome[] | null {
  if (exits.length === 0) return null;
  const groups = new Map<string, Outcome>();
  for (const s of exits) {
    const lits = paramLits(fn, s);
    const items = handoff
      ? []
      : [...s.pending.values()]
          .filter((i) => i.key !== CALLER_TOKEN)
          .map((i) => ({
            ...(i.uncertain ? { uncertain: true } : {}),
            callee: i.callee,
            effect: i.effect,
            inner: itemPath(fn, i, s).slice(0, MAX_INNER_STEPS),
            origin: i.origin,
          }));
    add(groups, { lits, keepsCaller: s.pending.has(CALLER_TOKEN), error: s.error, failed: !!s.failed, ret: s.ret ?? 'U', items });
  }
  let outcomes = [...groups.values()];
  if (outcomes.length > MAX_OUTCOMES) {
    const coarse = new Map<string, Outcome>();
    for (const o of outcomes) add(coarse, { ...o, lits: [] });
    outcomes = [...coarse.values()];
  }
  // Identity: always keeps the caller's maintenance, adds none.
  if (outcomes.every((o) => o.keepsCaller && o.items.length === 0)) return null;
  return outcomes;
}

function add(groups: Map<string, Outcome>, o: Outcome): void {
  const key =
    o.lits.map((l) => (l.value ? '+' : '-') + show(l.atom)).sort().join('&') +
    '|' +
    o.keepsCaller +
    '|' +
    o.error +
    o.failed +
    o.ret +
    '|' +
    o.items.map((i) => `${i.callee}:${i.effect}`).sort().join(',');
  if (!groups.has(key)) groups.set(key, o);
}
