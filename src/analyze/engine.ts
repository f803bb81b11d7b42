// Path-sensitive obligation analysis of one function.
//
// Explores the CFG breadth-first, so the first path found to any point is a
// shortest one. The states kept per node, and when they merge, are
// explore.ts's business. Every entry state carries the CALLER token, standing
// for maintenance the caller left pending: whether it survives to the exit
// tells callers if this function completes their maintenance.
//
// The exploration is a loop over (node, state) pairs that hands each node to
// its step, the way a checker gets callbacks: onReturn, onBranch, onCall
// (which splits into onCompletion, onIssue, onCpuAccess and onCallee), and
// summarize at the function's end.
import { isConstantName, show, substitute, varsOf, type Expr } from '../ir/expr.js';
import { addressRoots, derivedFrom, readsAddress } from '../ir/dataflow.js';
import type { FunctionCFG, FunctionIR, IRNode } from '../ir/types.js';
import type { CacheEffect, IssuingCall, ModelOp, PathStep } from '../types.js';
import { StateSets } from './explore.js';
import { conditionTexts, forgetDead, liveConditions, paramMap, subExprs, type Live } from './liveness.js';
import { lookupName, type Program } from './program.js';
import {
  CALLER_TOKEN,
  assign,
  assignField,
  assume,
  clobber,
  evaluate,
  isNegativeIn,
  isSuccessIn,
  hasReturned,
  havoc,
  pushStep,
  setReturned,
  trailSteps,
  type ChainSite,
  type Fact,
  type PendingItem,
  type ReturnValue,
  type State,
} from './state.js';
import { hasLocal, itemPath, litKey, paramLits, summarize, MAX_INNER_STEPS, MAX_OUTCOMES } from './summary.js';
import type {
  AccessClause,
  AnalysisOptions,
  CallRecord,
  CompletionSite,
  DeferredItem,
  FunctionResult,
  KeptCallerExit,
  Literal,
  OwnAccess,
  RawFinding,
  RuleContext,
  Summary,
} from './types.js';

export { AnalysisTimeout } from './liveness.js';
export type * from './types.js';

const MAX_VISITS = 400_000;
/**
 * Wall-clock budget per function analysis (FLUSHCHECK_FUNCTION_BUDGET_MS), a
 * safety valve: a state costs more as it grows, and a generated function with
 * a thousand syncs could take minutes. Past it the function is reported
 * `not-judged`. Kernel functions take milliseconds.
 */
const FUNCTION_BUDGET_MS = Number(process.env.FLUSHCHECK_FUNCTION_BUDGET_MS ?? 10_000);
const DIRECTIONS = ['DMA_TO_DEVICE', 'DMA_FROM_DEVICE', 'DMA_BIDIRECTIONAL', 'DMA_NONE'] as const;
/** The names the kernel gives an errno it passes on (`if (ret) return ret;`). */
const ERROR_VARIABLE = /^(ret|err|error|rc|retval|status)$/;

type CallNode = Extract<IRNode, { op: 'call' }>;

export function analyzeFunction(
  fn: FunctionIR,
  ctx: RuleContext,
  program: Program,
  summaryOf: (f: FunctionIR) => Summary | undefined,
  handoff: { handoff: boolean; why: string },
  options: AnalysisOptions = {},
): FunctionResult {
  return new FunctionAnalysis(fn, ctx, program, summaryOf, handoff, options).run();
}

class FunctionAnalysis {
  private readonly cfg: FunctionCFG;
  private readonly live: Live[];
  private readonly interest: Set<string>;
  private readonly stableParams: Set<string>;
  private readonly deadline = performance.now() + FUNCTION_BUDGET_MS;
  private readonly states: StateSets;
  /** States to explore from a node; `clean`: its maps are forgetDead's output at that node. */
  private readonly queue: { node: number; state: State; clean: boolean }[] = [];
  /** The state being visited, when its maps are forgetDead's output at its node (see enqueue). */
  private visiting: State | null = null;
  private visitingLive: Live | null = null;
  private readonly findings = new Map<string, RawFinding>();
  private readonly completions = new Map<number, CompletionSite>();
  /** One record per call node, what every state reaching it had pending joined. */
  private readonly calls = new Map<number, CallRecord>();
  private readonly exitStates: State[] = [];
  private readonly accesses = new Map<string, AccessClause>();
  private readonly ownAccesses = new Map<string, OwnAccess>();
  private readonly hoistRegion: Set<number> | null;
  private readonly paramMaps = new Map<number, Map<FunctionIR, Map<string, Expr>>>();
  private readonly substitutions = new Map<Map<string, Expr>, Map<Expr, Expr>>();
  private truncated = false;
  private timedOut = false;
  /** The kernel's errno convention is in use: `return 0` somewhere. */
  private readonly returnsZero: boolean;

  constructor(
    private readonly fn: FunctionIR,
    private readonly ctx: RuleContext,
    private readonly program: Program,
    private readonly summaryOf: (f: FunctionIR) => Summary | undefined,
    private readonly handoff: { handoff: boolean; why: string },
    private readonly options: AnalysisOptions,
  ) {
    this.cfg = fn.cfg();
    this.interest = conditionTexts(this.cfg.nodes);
    this.live = liveConditions(fn, this.cfg, program, summaryOf, this.deadline, FUNCTION_BUDGET_MS, (callee) => ctx.issuing.has(callee));
    // Conditions on our own parameters go into our summary: keep those too.
    this.stableParams = new Set(fn.params.filter((p) => !this.cfg.assigned.includes(p)));
    const guards = completionGuards(this.cfg, ctx);
    this.states = new StateSets(ctx.exactStates, guards.key, (f) => guards.texts.has(show(f.atom)) || this.factOnParams(f));
    this.hoistRegion = options.hoist ? new Set(options.hoist.loop.region) : null;
    this.returnsZero = this.cfg.nodes.some((n) => n.op === 'return' && n.value?.k === 'num' && n.value.v === 0);
  }

  run(): FunctionResult {
    this.enqueue(-1, this.cfg.entry, this.entryState());
    let visits = 0;
    // A queue read by index: shift() would copy the array on every pop.
    for (let head = 0; head < this.queue.length; head++) {
      if (++visits > MAX_VISITS || ((visits & 255) === 0 && performance.now() > this.deadline)) {
        this.truncated = true;
        this.timedOut = visits <= MAX_VISITS;
        break;
      }
      const { node: id, state: s, clean } = this.queue[head];
      this.visiting = clean ? s : null;
      this.visitingLive = this.live[id];
      this.visit(id, this.cfg.nodes[id], s);
    }
    return this.result();
  }

  private entryState(): State {
    const fn = this.fn;
    const callerItem: PendingItem = {
      key: CALLER_TOKEN,
      callee: '(caller)',
      effect: 'none',
      node: this.cfg.entry,
      line: fn.line,
      column: fn.column,
      inner: [],
      origin: { file: fn.file, line: fn.line, function: fn.name },
    };
    return { pending: new Map([[CALLER_TOKEN, callerItem]]), facts: new Map(), bindings: new Map(), error: false, trail: null };
  }

  private visit(id: number, node: IRNode, s: State): void {
    switch (node.op) {
      case 'exit':
        this.exitStates.push(s);
        return;
      case 'return':
        return this.onReturn(id, node, s);
      case 'assign':
        return this.forward(id, node, node.lvalue ? assignField(s, node.target, node.lvalue) : assign(s, node.target, node.value, String(id)));
      case 'havoc':
        return this.forward(id, node, havoc(s, node.vars));
      case 'clobber':
        return this.forward(id, node, clobber(s, node.lvalues));
      case 'branch':
        return this.onBranch(id, node, s);
      case 'choice':
        node.next.forEach((n, i) => {
          const label = node.loop !== undefined ? (i === 0 ? `${node.reason}: next entry` : `${node.reason}: done`) : `${node.reason}`;
          this.enqueue(id, n, node.loop !== undefined || node.reason === '#if' ? this.step(s, node, label) : s);
        });
        return;
      case 'goto': {
        const isError = this.ctx.errorLabel.test(node.label);
        return this.forward(id, node, this.step(isError ? { ...s, error: true, failed: true } : s, node, `goto ${node.label}`));
      }
      case 'call': {
        // A previous call's known result only holds until the next call.
        const fresh = hasReturned(s.bindings) ? setReturned(s, { k: 'num', v: 0 }, 'U') : s;
        for (const next of this.onCall(id, node, fresh)) this.forward(id, node, next);
        return;
      }
      default:
        this.forward(id, node, s);
    }
  }

  private forward(id: number, node: IRNode, s: State): void {
    for (const n of node.next) this.enqueue(id, n, s);
  }

  private enqueue(from: number, node: number, s: State): void {
    if (node < 0) return;
    if (this.hoistRegion && this.hoistRegion.has(from) && !this.hoistRegion.has(node) && node === this.options.hoist!.loop.exit) {
      // The batchable check: the flush moved after the loop runs on its normal way out.
      s = this.complete(s, this.cfg.nodes[from], 'the flush moved after the loop completes pending maintenance');
    }
    // forgetDead keeps what it kept: a state whose maps the last node left as
    // forgetDead made them, entering a node with the same live conditions,
    // would come out unchanged.
    const v = this.visiting;
    const unchanged = v !== null && this.visitingLive === this.live[node] && s.facts === v.facts && s.bindings === v.bindings;
    if (!unchanged) s = forgetDead(s, this.live[node], this.factOnParams);
    const added = this.states.add(node, s);
    if (added) this.queue.push({ node, state: added, clean: added.facts === s.facts && added.bindings === s.bindings });
  }

  /** A fact about the function's (never reassigned) parameters only. */
  private readonly factOnParams = (f: Fact): boolean => this.allStableParams(f.vars);

  private onParams(e: Expr): boolean {
    return this.allStableParams([...varsOf(e)]);
  }

  /** Some variables, every one a parameter the function never assigns. */
  private allStableParams(vars: readonly string[]): boolean {
    return vars.length > 0 && vars.every((v) => this.stableParams.has(v));
  }

  /** A step of the reported path, recorded only while something reportable is pending. */
  private step(s: State, at: StepAt, event: string): State {
    return hasLocal(s) || this.options.traceCaller ? pushStep(s, { file: this.fn.file, ...stepAt(at), event }) : s;
  }

  // ------------------------------------------------------------ returns ----

  /**
   * What callers learn of the value returned: below zero (`return -EIO;`, or
   * `return ret;` after `ret = -EIO;`: callers test `ret < 0`), true and no
   * error ('P': `return 1;`, or what a callee returned so), or its truth. No
   * error only when the value says so: a true value of unknown origin (`return
   * f(...);` after f failed with ERR_PTR()) may be an error code.
   */
  private returnValue(value: Expr | undefined, s: State): ReturnValue {
    if (!value) return 'U';
    if (isNegativeIn(value, s)) return 'N';
    if ((value.k === 'num' && value.v > 0) || isSuccessIn(value, s)) return 'P';
    return evaluate(value, s, this.ctx.env);
  }

  private onReturn(id: number, node: Extract<IRNode, { op: 'return' }>, s: State): void {
    const value = this.returnValue(node.value, s);
    // Returning an error code: the caller does not get the buffer. So is
    // `if (ret) return ret;` in a function that returns 0 for success, unless
    // `ret` holds what a callee returned on a way out that was no error (the
    // count of 1 a helper returns: `ret = helper(); ... return ret;`).
    const errorCode = node.errorValue || (node.value?.k === 'id' && (this.returnsZero || ERROR_VARIABLE.test(node.value.name)) && (value === 'T' || value === 'N'));
    if (errorCode && hasLocal(s)) s = { ...s, error: true, failed: true };
    s = { ...s, ret: errorCode && value !== 'N' ? 'T' : value };
    if (this.handoff.handoff) {
      for (const item of s.pending.values()) {
        if (item.key === CALLER_TOKEN) continue;
        const end = this.step(s, node, `return from ${this.fn.name}() (hand-off: ${this.handoff.why})`);
        this.record({
          kind: 'unflushed-return',
          fn: this.fn,
          item,
          at: { node: id, line: node.line, column: node.column, what: `return at line ${node.line}` },
          error: s.error,
          failed: !!s.failed,
          path: itemPath(this.fn, item, end),
        });
      }
    }
    if (this.options.traceCaller) s = this.step(s, node, `return from ${this.fn.name}()`);
    this.forward(id, node, s);
  }

  // ----------------------------------------------------------- branches ----

  private onBranch(id: number, node: Extract<IRNode, { op: 'branch' }>, s: State): void {
    const v = evaluate(node.cond, s, this.ctx.env);
    for (const [i, val] of [[0, true], [1, false]] as const) {
      if (v !== 'U' && (v === 'T') !== val) continue;
      let next = v === 'U' ? assume(node.cond, val, s, this.ctx.env) : s;
      if (!next) continue;
      if (node.errorEdge === i) next = { ...next, error: true };
      next = this.step(next, node, `${val ? 'true' : 'false'}: if (${node.text})`);
      this.enqueue(id, node.next[i], next);
    }
  }

  // -------------------------------------------------------------- calls ----

  private onCall(id: number, node: CallNode, s: State): State[] {
    const c = node.callee;
    // Through a function pointer: what the analysed ops tables assign to the field.
    if (node.viaPointer) return this.program.resolve(this.fn.file, lookupName(node)).length ? this.onCallee(id, node, s, false, lookupName(node)) : [s];
    if (this.ctx.completing.has(c)) return [this.onCompletion(id, node, s)];
    const issuing = this.ctx.issuing.get(c);
    if (issuing) return this.onIssue(id, node, s, issuing);
    if (this.ctx.cpuAccess.has(c)) {
      this.onCpuAccess(id, node, s, `${c}() at line ${node.line} reads or writes the buffer`, [{ file: this.fn.file, ...stepAt(node), event: `${c}() accesses the buffer from the CPU`, op: this.accessOp(c) }], node.args);
      return [s];
    }
    const contract = this.ctx.contractDefers.get(c);
    if (contract && contract.checkCallers === false) return [s];
    return this.onCallee(id, node, s, !!contract);
  }

  private onCompletion(id: number, node: CallNode, s: State): State {
    if (this.options.hoist?.flushNode === id) return s; // the batchable check: this flush is moved after the loop
    const site = this.completions.get(id) ?? { node: id, line: node.line, column: node.column, sawLocal: false, sawCaller: false, localOrigins: new Set<number>() };
    if (!site.samplePath && hasLocal(s)) {
      site.samplePath = [...trailSteps(s.trail), { file: this.fn.file, ...stepAt(node), event: `${node.callee}() completes pending maintenance`, op: 'dsb' }];
    }
    for (const it of s.pending.values()) {
      if (it.key === CALLER_TOKEN) site.sawCaller = true;
      else {
        site.sawLocal = true;
        site.localOrigins.add(it.node);
        const chain = it.chain ?? [];
        for (let i = 0; i + 1 < chain.length; i++) {
          const evidence = [chain[i].function, ...chain.slice(i + 1).map((c) => c.consts ?? '')].join('|');
          if (!(site.completedVia ??= []).includes(evidence)) site.completedVia.push(evidence);
        }
      }
    }
    this.completions.set(id, site);
    return this.complete(s, node, `${node.callee}() completes pending maintenance`);
  }

  private complete(s: State, at: StepAt, event: string): State {
    const after = hasLocal(s) || this.options.traceCaller ? pushStep(s, { file: this.fn.file, ...stepAt(at), event, op: 'dsb' }) : s;
    return { ...after, pending: new Map() };
  }

  private onIssue(id: number, node: CallNode, s: State, issuing: IssuingCall): State[] {
    const f = this.fn;
    const dirArg = issuing.directionArg !== undefined ? node.args[issuing.directionArg] : undefined;
    const effectOf = (d: string | undefined): CacheEffect =>
      (d ? issuing.effect[d as keyof IssuingCall['effect']] : undefined) ?? issuing.effect.default ?? 'clean';
    const origin = { file: f.file, line: node.line, function: f.name };
    const chain: ChainSite[] = [{ file: f.file, line: node.line, column: node.column, function: f.name }];
    const addressArg = issuing.addressArg !== undefined ? node.args[issuing.addressArg] : undefined;
    const addressVars = new Set(addressArg ? addressRoots(addressArg) : []);
    const addr = addressVars.size ? { addr: [...derivedFrom(this.cfg, addressVars)], addrRoots: [...addressVars] } : undefined;
    if (dirArg?.k === 'id' && (DIRECTIONS as readonly string[]).includes(dirArg.name)) {
      const effect = effectOf(dirArg.name);
      return effect === 'none' ? [s] : [this.addItem(s, id, node, { callee: node.callee, effect, inner: [], origin, chain, ...(addr ? { addrSeed: addr } : {}) }, undefined)];
    }
    // Unknown direction: split on the directions that do nothing, so a caller
    // passing DMA_TO_DEVICE to a for_cpu helper sees no obligation.
    const out: State[] = [];
    let rest: State | null = s;
    for (const d of DIRECTIONS) {
      if (issuing.effect[d] !== 'none' || !dirArg) continue;
      const isD: Expr = { k: 'bin', op: '==', a: dirArg, b: { k: 'id', name: d } };
      const yes = rest && assume(isD, true, rest, this.ctx.env);
      if (yes) out.push(yes);
      rest = rest && assume(isD, false, rest, this.ctx.env);
    }
    if (rest) out.push(this.addItem(rest, id, node, { callee: node.callee, effect: effectOf(undefined), inner: [], origin, chain, ...(addr ? { addrSeed: addr } : {}) }, undefined));
    return out;
  }

  private accessOp(c: string): ModelOp {
    const mapped = this.ctx.rule.model?.calls[c]?.default;
    return mapped && mapped !== 'none' ? mapped : 'cpu_read';
  }

  /**
   * A CPU access (here or inside a callee) while `s` holds pending
   * maintenance: the caller's becomes an access clause of our summary; our
   * own invalidation is a finding here, or, when a parameter of ours
   * decides whether the path exists (`if (flush)`), a clause for callers.
   */
  private onCpuAccess(id: number, node: CallNode, s: State, what: string, steps: PathStep[], carriers: Expr[]): void {
    const f = this.fn;
    const reads = (vars: ReadonlySet<string>) => carriers.some((e) => readsAddress(e, vars));
    for (const item of s.pending.values()) {
      if (item.key === CALLER_TOKEN) {
        // The caller's buffer can only come in through a parameter.
        const params = this.fn.params.flatMap((p, i) => (reads(derivedFrom(this.cfg, [p])) ? [i] : []));
        if (!params.length) continue;
        const lits = paramLits(f, s);
        const key = `${litsKey(lits)}|${params.join(',')}`;
        if (!this.accesses.has(key)) this.accesses.set(key, { lits, params, steps: steps.slice(0, MAX_INNER_STEPS) });
        continue;
      }
      if (item.effect !== 'invalidate' && item.effect !== 'clean_invalidate') continue;
      if (item.addr && !reads(new Set(item.addr))) continue; // another buffer
      let end = s;
      for (const st of steps) end = hasLocal(end) ? pushStep(end, st) : end;
      const path = itemPath(f, item, end);
      const lits = paramLits(f, s);
      if (!this.handoff.handoff && lits.some((l) => this.isControlParam(l.atom))) {
        const key = `${item.key}|${litsKey(lits)}`;
        if (!this.ownAccesses.has(key)) this.ownAccesses.set(key, { lits, callee: item.callee, effect: item.effect, origin: item.origin, steps: path.slice(0, MAX_INNER_STEPS), chain: item.chain ?? [] });
        continue;
      }
      this.record({ kind: 'unflushed-access', fn: f, item, at: { node: id, line: node.line, column: node.column, what }, error: s.error, failed: !!s.failed, path });
    }
  }

  /** A parameter tested as a flag (`if (flush)`): callers choose the path by what they pass. */
  private isControlParam(atom: Expr): boolean {
    return atom.k === 'id' && this.stableParams.has(atom.name);
  }

  /** A call to a function with a definition: its summary says what it does to what is pending. */
  private onCallee(id: number, node: CallNode, s: State, isContract: boolean, name = node.callee): State[] {
    const f = this.fn;
    const c = node.callee;
    const targets = this.program.resolve(f.file, name);
    for (const t of targets) this.applyAccesses(id, node, s, t);
    const taintedArgs = this.taintedArgs(node, s);
    // Recorded under the name it resolves by (`->field` through a pointer), so a result recalled from the cache finds the same targets.
    this.recordCall(id, { callee: name, targets, withLocal: hasLocal(s), withInvalidation: taintedArgs.length > 0, ...(taintedArgs.length ? { taintedArgs } : {}), withCaller: s.pending.has(CALLER_TOKEN) });
    const withSummary = targets.map((t) => [t, this.summaryOf(t)] as const).filter(([, sm]) => sm?.outcomes);
    if (withSummary.length === 0) {
      if (isContract && targets.length === 0) {
        // A declared deferring partner with no definition here: it leaves
        // maintenance pending by contract; the call is where the caller chose to.
        const chain: ChainSite[] = [{ file: f.file, line: node.line, column: node.column, function: f.name }];
        return [this.addItem(s, id, node, { callee: c, effect: 'clean', inner: [], origin: { file: f.file, line: node.line, function: f.name }, chain }, undefined)];
      }
      return [s];
    }
    const out: State[] = [];
    for (const [target, sm] of withSummary) {
      const map = this.paramMapAt(id, node, target);
      for (const o of sm!.outcomes!) {
        const next = this.applyOutcome(id, node, s, o, map, isContract);
        if (next) out.push(next);
      }
    }
    // Every path reaching the call continues somehow; if the substituted
    // conditions ruled all outcomes out, trust the path and not the summary.
    return out.length ? out : [s];
  }

  /** CPU accesses inside the callee happen before it returns: judge them against what is pending here. */
  private applyAccesses(id: number, node: CallNode, s: State, t: FunctionIR): void {
    const sm = this.summaryOf(t);
    if (!sm) return;
    const map = this.paramMapAt(id, node, t);
    for (const a of sm.accesses) {
      const at = this.assumeAll(a.lits, map, s);
      if (!at) continue;
      const last = a.steps[a.steps.length - 1];
      const carriers = (a.params ?? t.params.map((_, i) => i)).flatMap((i) => (i < node.args.length ? [node.args[i]] : []));
      this.onCpuAccess(id, node, at, `${t.name}() at line ${node.line} reaches ${accessName(last)} at ${last?.file}:${last?.line}`, [{ file: this.fn.file, ...stepAt(node), event: `${callDescription(node, t)} reaches a CPU access to the buffer` }, ...a.steps], carriers);
    }
    for (const a of sm.ownAccesses) this.applyOwnAccess(id, node, s, t, a, map);
  }

  /**
   * The callee accesses the buffer while maintenance it issued is pending,
   * if its flag parameters say so. Decided here (a constant argument, a
   * known local): a finding at this call. Still up to our own parameters:
   * a clause for our callers.
   */
  private applyOwnAccess(id: number, node: CallNode, s: State, t: FunctionIR, a: OwnAccess, map: Map<string, Expr>): void {
    const at = this.assumeAll(a.lits, map, s);
    if (!at) return;
    const f = this.fn;
    const passedOn = a.lits.filter((l) => l.atom.k === 'id').map((l) => this.substituted(l.atom, map));
    const undecided = passedOn.filter((e) => evaluate(e, s, this.ctx.env) === 'U');
    const steps: PathStep[] = [{ file: f.file, ...stepAt(node), event: `${node.text.length > 80 ? node.callee + '(...)' : node.text} lets ${t.name}() reach a CPU access with its ${a.effect} pending` }, ...a.steps];
    if (!this.handoff.handoff && undecided.length === passedOn.length && undecided.every((e) => this.isControlParam(e))) {
      const lits = paramLits(f, at);
      const key = `${t.name}:${a.origin.file}:${a.origin.line}|${litsKey(lits)}`;
      const chain = [...(a.chain ?? []), { file: f.file, line: node.line, column: node.column, function: f.name }];
      if (!this.ownAccesses.has(key)) this.ownAccesses.set(key, { lits, callee: a.callee, effect: a.effect, origin: a.origin, steps: steps.slice(0, MAX_INNER_STEPS), chain });
      return;
    }
    const item: PendingItem = {
      key: `${id}:${a.effect}:access`,
      callee: a.callee,
      effect: a.effect,
      node: id,
      line: node.line,
      column: node.column,
      via: t.name,
      inner: [],
      origin: a.origin,
      chain: [...(a.chain ?? []).map((c) => ({ ...c, deferOk: true })), { file: f.file, line: node.line, column: node.column, function: f.name }],
    };
    const last = a.steps[a.steps.length - 1];
    const path = [...trailSteps(at.trail).filter((st) => st.file === f.file && st.line < node.line).slice(-4), ...steps];
    this.record({ kind: 'unflushed-access', fn: f, item, at: { node: id, line: node.line, column: node.column, what: `${t.name}() at line ${node.line} reaches ${accessName(last)} at ${last?.file}:${last?.line}` }, error: at.error, failed: !!at.failed, path });
  }

  // A call node is visited once per state reaching it: the callee's
  // conditions in terms of its arguments are the same at every visit and are
  // computed at the first (the summaries of callees do not change while a
  // function is analysed; Program.resolve answers each call once).

  /** The callee's parameters bound to the call's arguments. */
  private paramMapAt(id: number, node: CallNode, target: FunctionIR): Map<string, Expr> {
    let byTarget = this.paramMaps.get(id);
    if (!byTarget) this.paramMaps.set(id, (byTarget = new Map()));
    let map = byTarget.get(target);
    if (!map) byTarget.set(target, (map = paramMap(target, node)));
    return map;
  }

  /** `substitute(atom, map)` for a map from paramMapAt. */
  private substituted(atom: Expr, map: Map<string, Expr>): Expr {
    let byAtom = this.substitutions.get(map);
    if (!byAtom) this.substitutions.set(map, (byAtom = new Map()));
    let out = byAtom.get(atom);
    if (!out) byAtom.set(atom, (out = substitute(atom, map)));
    return out;
  }

  /** `s` with the callee's conditions (substituted) assumed, or null when they contradict the path. */
  private assumeAll(lits: Literal[], map: Map<string, Expr>, s: State): State | null {
    let at: State | null = s;
    for (const lit of lits) {
      at = assume(this.substituted(lit.atom, map), lit.value, at, this.ctx.env);
      if (!at) return null;
    }
    return at;
  }

  /** One way the callee can return, applied to `s`; null when its conditions contradict the path. */
  private applyOutcome(id: number, node: CallNode, s: State, o: NonNullable<Summary['outcomes']>[number], map: Map<string, Expr>, isContract: boolean): State | null {
    // The callee's conditions must be consistent with the path. They are
    // remembered only where the callee leaves maintenance pending, where a
    // later test of the same condition (the flush after the loop) must
    // correlate; elsewhere remembering them only multiplies states.
    if (!this.assumeAll(o.lits, map, s)) return null;
    let next: State = s;
    if (o.items.length) {
      for (const lit of o.lits) {
        const atom = this.substituted(lit.atom, map);
        if (this.interest.has(show(atom)) || this.onParams(atom)) next = assume(atom, lit.value, next, this.ctx.env) ?? next;
      }
    }
    next = setReturned(next, { k: 'call', fn: node.callee, args: node.args }, o.ret);
    if (!o.keepsCaller) next = { ...next, pending: new Map() };
    if (o.error && o.items.length) next = { ...next, error: true, ...(o.failed ? { failed: true } : {}) };
    // A contract's deferring function (and all it calls) may leave its
    // maintenance to this caller: the call is the level that must complete it.
    o.items.forEach((item, i) => {
      const chain = isContract ? (item.chain ?? []).map((c) => (c.deferOk ? c : { ...c, deferOk: true })) : item.chain;
      next = this.addItem(next, id, node, { ...item, ...(chain ? { chain } : {}) }, node.callee, i === 0);
    });
    return next;
  }

  private addItem(s: State, id: number, node: CallNode, item: DeferredItem, via: string | undefined, withStep = true): State {
    const key = `${id}:${item.effect}`;
    const event = via
      ? `${node.text.length > 80 ? node.callee + '(...)' : node.text} leaves ${item.callee}() (${item.effect}) pending`
      : `${node.text.length > 80 ? node.callee + '(...)' : node.text} issues ${item.effect}`;
    // The reported path starts at the first maintenance still pending.
    let base = s;
    if (!hasLocal(s) && !this.options.traceCaller) base = { ...s, trail: null };
    if (withStep || !hasLocal(s)) {
      base = pushStep(base, { file: this.fn.file, ...stepAt(node), event, ...(via ? {} : { op: modelOp(item.effect) }) });
      // The callee's own steps (with their cache ops) belong to this path:
      // reports show them and the model replays them.
      for (const st of item.inner) base = pushStep(base, st);
    }
    if (s.pending.has(key)) return { ...base, pending: s.pending };
    const addr = via ? this.addressFromArgs(node, item.addrParams) : item.addrSeed;
    const pending = new Map(s.pending);
    pending.set(key, {
      ...(addr ?? {}),
      key,
      callee: item.callee,
      effect: item.effect,
      node: id,
      line: node.line,
      column: node.column,
      via,
      inner: item.inner,
      origin: item.origin,
      ...(item.uncertain ? { uncertain: true } : {}),
      chain: via ? [...(item.chain ?? []), { file: this.fn.file, line: node.line, column: node.column, function: this.fn.name, ...constantArgs(node) }] : (item.chain ?? []),
    });
    return { ...base, pending };
  }

  private recordCall(id: number, r: CallRecord): void {
    const old = this.calls.get(id);
    if (!old) {
      this.calls.set(id, r);
      return;
    }
    old.withLocal ||= r.withLocal;
    old.withInvalidation ||= r.withInvalidation;
    old.withCaller ||= r.withCaller;
    if (r.taintedArgs) old.taintedArgs = [...new Set([...(old.taintedArgs ?? []), ...r.taintedArgs])].sort((a, b) => a - b);
  }

  /** The buffer a callee's item maintains, as this function holds it: what the arguments at `addrParams` are computed into. */
  private addressFromArgs(node: CallNode, addrParams: number[] | undefined): { addr: string[]; addrRoots: string[] } | undefined {
    if (!addrParams) return undefined;
    const vars = new Set<string>();
    for (const i of addrParams) if (i < node.args.length) for (const v of addressRoots(node.args[i])) vars.add(v);
    return vars.size ? { addr: [...derivedFrom(this.cfg, vars)], addrRoots: [...vars] } : undefined;
  }

  /** Arguments (indices) that carry the buffer of an invalidation pending in `s`. */
  private taintedArgs(node: CallNode, s: State): number[] {
    const out = new Set<number>();
    for (const item of s.pending.values()) {
      if (item.key === CALLER_TOKEN || (item.effect !== 'invalidate' && item.effect !== 'clean_invalidate')) continue;
      const vars = item.addr ? new Set(item.addr) : null;
      node.args.forEach((a, i) => {
        if (!vars || readsAddress(a, vars)) out.add(i);
      });
    }
    return [...out].sort((a, b) => a - b);
  }

  /** One finding per (kind, sync, exit): the most severe, then the shortest, path. */
  private record(f: RawFinding): void {
    const key = `${f.kind}:${f.item.key}:${f.at.node}`;
    const old = this.findings.get(key);
    if (!old || (old.error && !f.error) || (old.error === f.error && f.path.length < old.path.length)) this.findings.set(key, f);
  }

  // ----------------------------------------------------- function's end ----

  private result(): FunctionResult {
    // A function whose exploration was cut short may leave pending what an
    // unexplored path would complete: callers get to know.
    const outcomes = summarize(this.fn, this.exitStates, this.handoff.handoff);
    if (this.truncated) outcomes?.forEach((o) => o.items.forEach((i) => (i.uncertain = true)));
    const accesses = [...this.accesses.values()];
    const summary: Summary = {
      outcomes,
      accesses: accesses.length > MAX_OUTCOMES ? [{ lits: [], params: [...new Set(accesses.flatMap((a) => a.params))].sort((x, y) => x - y), steps: accesses[0].steps }] : accesses,
      ownAccesses: [...this.ownAccesses.values()].slice(0, MAX_OUTCOMES),
      handoff: this.handoff.handoff,
      handoffWhy: this.handoff.why,
    };
    let syncSites = 0;
    for (const n of this.cfg.nodes) if (n.op === 'call' && this.ctx.issuing.has(n.callee)) syncSites++;
    return {
      summary,
      findings: [...this.findings.values()],
      completions: [...this.completions.values()],
      calls: [...this.calls.values()],
      truncated: this.truncated,
      ...(this.states.merging ? { merged: true } : {}),
      syncSites,
      ...(this.timedOut ? { timedOut: true } : {}),
      ...(this.options.traceCaller ? { keptCaller: this.keptCaller() } : {}),
    };
  }

  /** Normal ways out that keep the caller's maintenance pending, with their paths. */
  private keptCaller(): KeptCallerExit[] {
    const out = new Map<string, KeptCallerExit>();
    for (const s of this.exitStates) {
      if (!s.pending.has(CALLER_TOKEN) || s.failed) continue;
      const lits = paramLits(this.fn, s);
      const steps = trailSteps(s.trail);
      const key = litsKey(lits) + (s.error ? '|E' : '');
      const line = steps[steps.length - 1]?.line ?? this.fn.line;
      if (!out.has(key)) out.set(key, { lits, error: s.error, failed: !!s.failed, line, steps: steps.slice(-MAX_INNER_STEPS) });
    }
    return [...out.values()];
  }
}

/** `memcpy()` from the last step of an access path ("memcpy() accesses the buffer from the CPU"). */
function accessName(step: PathStep | undefined): string {
  const m = step?.event.match(/^([A-Za-z_]\w*)\(\)/);
  return m ? `${m[1]}()` : 'a CPU access';
}

/**
 * The key of what a state knows about the conditions guarding the
 * function's completions (and returns): branches from which a flush is
 * reached before any other branch. States merged by property keep these
 * apart (see explore.ts).
 */
function completionGuards(cfg: FunctionCFG, ctx: RuleContext): { key: (s: State) => string; texts: Set<string> } {
  const texts = new Set<string>();
  const vars = new Set<string>();
  const reachesCompletion = (start: number): boolean => {
    const seen = new Set<number>();
    for (let n = start; n >= 0 && !seen.has(n); ) {
      seen.add(n);
      const node = cfg.nodes[n];
      if (node.op === 'call' && ctx.completing.has(node.callee)) return true;
      if (node.op === 'branch' || node.op === 'choice' || node.op === 'return' || node.op === 'exit' || node.next.length !== 1) return false;
      n = node.next[0];
    }
    return false;
  };
  for (const node of cfg.nodes) {
    if (node.op !== 'branch' || !node.next.some(reachesCompletion)) continue;
    for (const e of subExprs(node.cond)) {
      if (e.k === 'and' || e.k === 'or' || e.k === 'not') continue;
      texts.add(show(e));
      varsOf(e, vars);
    }
  }
  if (!texts.size) return { key: () => '', texts };
  const textList = [...texts];
  const varList = [...vars];
  const key = (s: State) =>
    textList.map((t) => { const f = s.facts.get(t); return f ? (f.value ? 'T' : 'F') : 'U'; }).join('') +
    '|' +
    varList.map((v) => { const b = s.bindings.get(v); return !b ? 'U' : b.kind === 'const' ? String(b.value) : show(b.expr); }).join(',');
  return { key, texts };
}

/** A call's constant arguments (`false`, `0`, `DMA_TO_DEVICE`), by index: what makes the callee do one thing or another. */
function constantArgs(node: CallNode): { consts?: string } {
  const consts = node.args.flatMap((a, i) => (a.k === 'num' || (a.k === 'id' && isConstantName(a.name)) ? [`${i}=${show(a)}`] : [])).join(',');
  return consts ? { consts } : {};
}

function litsKey(lits: Literal[]): string {
  return lits.map(litKey).sort().join('&');
}

function modelOp(effect: CacheEffect): ModelOp | undefined {
  return effect === 'none' ? undefined : effect;
}

/** How a path step names a call: through a pointer, the expression called and the function it reaches. */
function callDescription(node: CallNode, target: FunctionIR): string {
  if (!node.viaPointer) return `${node.callee}(...)`;
  const called = node.text.slice(0, Math.max(0, node.text.indexOf('('))).trim() || node.callee;
  return `${called}() calls ${target.name}(), which`;
}

/** Where a path step is: a CFG node's line and, where the IR has it, its column. */
type StepAt = { line: number; column?: number };

function stepAt(at: StepAt): { line: number; column?: number } {
  return at.column ? { line: at.line, column: at.column } : { line: at.line };
}
