// Run one rule over the program: summaries bottom-up over the call graph
// (strongly connected components iterate to a fixpoint), then findings, then
// the notes that need the whole picture (batchable and redundant flushes).
import type { FunctionIR } from '../ir/types.js';
import type { Finding, Rule } from '../types.js';
import { AnalysisTimeout, analyzeFunction, type CompletionSite, type FunctionResult, type RuleContext, type SiteLoop, type Summary } from './engine.js';
import { loadResult, memoKey, storeResult, type FunctionMemo } from './memo.js';
import type { Program } from './program.js';
import type { EvalEnv } from './state.js';

export interface RuleRun {
  findings: Finding[];
  summaries: Map<FunctionIR, Summary>;
  results: Map<FunctionIR, FunctionResult>;
  syncSites: number;
  truncated: string[];
  /** Findings withheld because the analysis could not rule out infeasible paths. */
  unjudged: string[];
}

const MAX_SCC_ROUNDS = 4;

export function ruleContext(rule: Rule, env: EvalEnv): RuleContext {
  const completing = new Set(rule.complete.map((c) => c.name));
  for (const c of checkedContracts(rule)) completing.add(c.complete);
  return {
    rule,
    issuing: new Map(rule.issue.map((i) => [i.name, i])),
    completing,
    cpuAccess: new Set(rule.cpuAccess.map((c) => c.name)),
    contractDefers: new Map(rule.contracts.map((c) => [c.defer, c])),
    errorLabel: new RegExp(rule.errorLabels),
    env,
  };
}

/** Names whose calls matter to the rule directly. */
/**
 * Contracts whose callers this rule judges. A contract with
 * `checkCallers: false` only lets its `defer` function return pending (another
 * rule judges the callers), so its names do not make callers relevant here.
 */
function checkedContracts(rule: Rule): Rule['contracts'] {
  return rule.contracts.filter((c) => c.checkCallers !== false);
}

export function ruleNames(rule: Rule): string[] {
  return [...new Set([...scanNames(rule), ...rule.cpuAccess.map((c) => c.name)])];
}

/**
 * Names worth scanning the tree for: where obligations arise (issuing calls,
 * contract partners) and the function whose definition activates the rule.
 * Completing calls (dsb) and CPU accesses (memcpy) are everywhere and only
 * matter in files that sync or defer, which these names find.
 */
export function scanNames(rule: Rule): string[] {
  const names = [...rule.issue.map((i) => i.name), ...checkedContracts(rule).flatMap((c) => [c.defer, c.complete])];
  if (rule.applies.definedFunction) names.push(rule.applies.definedFunction);
  return [...new Set(names)];
}

/**
 * `previous`: the same rule's run on a smaller program (before a follow-up
 * scan added files). A function whose callees' summaries and hand-off status
 * are unchanged keeps its result instead of being analysed again.
 */
export function runRule(program: Program, ctx: RuleContext, previous?: RuleRun, memo?: FunctionMemo): RuleRun {
  const summaries = new Map<FunctionIR, Summary>();
  const results = new Map<FunctionIR, FunctionResult>();
  const direct = new Set(ruleNames(ctx.rule));
  const contractDefers = new Set(ctx.contractDefers.keys());

  // Call graph over resolved direct calls.
  const callees = new Map<FunctionIR, FunctionIR[]>();
  for (const fn of program.functions) {
    const out = new Set<FunctionIR>();
    // Contract partners (dma_iova_link) are direct names with definitions whose
    // summaries their callers use: they must be ordered like any callee.
    for (const c of fn.calls) program.resolve(fn.file, c).forEach((t) => out.add(t));
    callees.set(fn, [...out]);
  }
  const truncated: string[] = [];
  // Functions whose analysis threw: one odd function must not end the run.
  const failed = new Map<FunctionIR, string>();
  for (const scc of stronglyConnected(program.functions, callees)) {
    const inScc = new Set(scc);
    for (let round = 0; round < MAX_SCC_ROUNDS; round++) {
      let changed = false;
      for (const fn of scc) {
        // Skip functions that neither call a rule function nor anything that
        // matters: their summary is the identity.
        const relevant = fn.calls.some(
          (c) => direct.has(c) || program.resolve(fn.file, c).some((t) => summaries.get(t)?.outcomes || summaries.get(t)?.accesses.length || inScc.has(t)),
        );
        if (!relevant) continue;
        const handoff = program.isHandoff(fn, ctx.rule.handoff, contractDefers);
        let res: FunctionResult;
        const prev = previous?.results.get(fn);
        const unchanged =
          prev &&
          scc.length === 1 &&
          prev.summary.handoff === handoff.handoff &&
          prev.summary.handoffWhy === handoff.why &&
          callees.get(fn)!.every((t) => summaries.get(t) === previous!.summaries.get(t));
        try {
          res = unchanged ? prev : analyzeOrRecall(fn, ctx, program, (t) => summaries.get(t), handoff, memo);
          // An equal summary keeps its identity, so this function's callers can be reused too.
          if (prev && res !== prev && summaryKey(prev.summary) === summaryKey(res.summary)) res = { ...res, summary: prev.summary };
        } catch (e) {
          failed.set(
            fn,
            e instanceof AnalysisTimeout ? (e as Error).message : e instanceof RangeError && /call stack/i.test(e.message) ? 'nested too deeply (stack overflow)' : `internal error: ${(e as Error).message}`,
          );
          continue;
        }
        const before = JSON.stringify([summaries.get(fn)?.outcomes?.map(outcomeKey) ?? null, summaries.get(fn)?.accesses.length ?? 0]);
        const after = JSON.stringify([res.summary.outcomes?.map(outcomeKey) ?? null, res.summary.accesses.length]);
        if (before !== after) changed = true;
        summaries.set(fn, res.summary);
        results.set(fn, res);
        if (res.truncated && !truncated.includes(fn.name)) truncated.push(fn.name);
      }
      if (!changed || scc.length === 1) break;
    }
  }

  const findings: Finding[] = [];
  const unjudged: string[] = [];
  for (const [fn, why] of failed) if (!results.has(fn)) unjudged.push(`${fn.file}: ${fn.name}(): not analysed (${why})`);
  for (const [fn, res] of results) {
    if (res.cutShort) unjudged.push(`${fn.file}: ${fn.name}(): ${res.cutShort}`);
  }
  let syncSites = 0;
  for (const [fn, res] of results) {
    syncSites += res.syncSites;
    for (const raw of res.findings) {
      const item = raw.item;
      // A false alarm costs more trust than a miss: findings that may come
      // from paths the merged analysis could not rule out are not reported.
      if (res.truncated || item.uncertain) {
        unjudged.push(`${fn.file}: ${fn.name}(): ${item.callee}() at ${item.origin.file}:${item.origin.line} not judged (path budget exceeded${item.uncertain && !res.truncated ? ' in a callee' : ''})`);
        continue;
      }
      const viaText = item.via ? ` (through ${item.via}() at line ${item.line})` : '';
      const exit =
        raw.kind === 'unflushed-return'
          ? `${fn.name}() returns at line ${raw.at.line} and hands the buffer over (${res.summary.handoffWhy})`
          : `${raw.at.what} touches the buffer from the CPU`;
      const what = item.effect === 'invalidate' ? 'invalidation' : item.effect === 'clean' ? 'clean' : item.effect;
      findings.push({
        ruleId: ctx.rule.id,
        kind: raw.kind,
        severity: raw.error ? 'warning' : 'error',
        file: fn.file,
        line: item.line,
        column: item.column,
        function: fn.name,
        message: `${what} issued by ${item.callee}() at ${item.origin.file}:${item.origin.line}${viaText} is still pending when ${exit}; no ${[...ctx.completing][0]}() on this path${raw.error ? ' (error path)' : ''}`,
        path: raw.path,
        sync: { callee: item.callee, function: item.origin.function, file: item.origin.file, line: item.origin.line },
        ...(raw.failed ? { failedPath: true } : {}),
      });
    }
  }
  findings.push(...notes(program, ctx, results));
  return { findings, summaries, results, syncSites, truncated, unjudged };
}

/**
 * The function's result from the memo when everything its analysis reads is
 * unchanged, else a fresh analysis (stored for next time). A fresh result also
 * records what later stages would otherwise need its CFG for.
 */
function analyzeOrRecall(
  fn: FunctionIR,
  ctx: RuleContext,
  program: Program,
  summaryOf: (f: FunctionIR) => Summary | undefined,
  handoff: { handoff: boolean; why: string },
  memo: FunctionMemo | undefined,
): FunctionResult {
  const key = memo ? memoKey(memo, fn, program, summaryOf, handoff) : undefined;
  if (memo && key) {
    const raw = memo.store.get(key);
    const stored = raw === undefined ? null : loadResult(raw, fn, program);
    if (stored) {
      memo.hits++;
      return stored;
    }
    memo.misses++;
  }
  const res = analyzeFunction(fn, ctx, program, summaryOf, handoff);
  const cut = fn.cfg().cutShort;
  if (cut) res.cutShort = cut;
  for (const site of res.completions) site.loop = siteLoop(fn, site);
  if (memo && key && !res.timedOut) memo.store.put(key, storeResult(res));
  return res;
}

function summaryKey(s: Summary): string {
  return JSON.stringify([s.handoff, s.outcomes?.map(outcomeKey) ?? null, s.accesses.map((a) => a.lits.map((l) => JSON.stringify(l)))]);
}

function outcomeKey(o: NonNullable<Summary['outcomes']>[number]): string {
  return `${o.keepsCaller}|${o.lits.map((l) => JSON.stringify(l)).join('&')}|${o.items.map((i) => i.callee + i.effect).join(',')}`;
}

/** Batchable per-entry flushes and flushes with nothing pending. */
function notes(program: Program, ctx: RuleContext, results: Map<FunctionIR, FunctionResult>): Finding[] {
  const out: Finding[] = [];
  const contractDefers = new Set(ctx.contractDefers.keys());
  // Which functions may be entered with maintenance pending.
  const calledWithPending = new Set<FunctionIR>();
  const callerEdges: [FunctionIR, FunctionIR][] = [];
  for (const [fn, res] of results) {
    if (program.isHandoff(fn, ctx.rule.handoff, contractDefers).handoff || fn.isMacro) calledWithPending.add(fn);
    for (const c of res.calls) {
      for (const t of c.targets) {
        if (c.withLocal) calledWithPending.add(t);
        if (c.withCaller) callerEdges.push([fn, t]);
      }
    }
  }
  // Functions with no analysed result (not relevant) still call: a caller with
  // unknown entry state is treated as possibly pending.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [from, to] of callerEdges) {
      if (calledWithPending.has(from) && !calledWithPending.has(to)) {
        calledWithPending.add(to);
        changed = true;
      }
    }
  }
  const flushName = [...ctx.completing][0];
  const accessing = cpuAccessors(program, ctx);
  const calledFromUnanalysed = calleesOfUnanalysed(program, results);
  for (const [fn, res] of results) {
    const mayEnterPending = calledWithPending.has(fn) || !program.called.has(fn.name) || calledFromUnanalysed.has(fn);
    for (const site of res.completions) {
      if (!site.sawLocal && !(site.sawCaller && mayEnterPending)) {
        out.push({
          ruleId: ctx.rule.id,
          kind: 'redundant-flush',
          severity: 'note',
          file: fn.file,
          line: site.line,
          column: site.column,
          function: fn.name,
          message: `${flushName}() here has nothing to complete: no maintenance is pending on any path that reaches it`,
          path: [{ file: fn.file, line: site.line, event: `${flushName}() with nothing pending` }],
        });
        continue;
      }
      const loop = site.loop === undefined ? siteLoop(fn, site) : site.loop;
      if (!loop || !loop.issuedInside) continue;
      // Something later in the iteration needs the maintenance complete: the flush must stay.
      if (loop.laterReturn || loop.laterCalls.some((c) => accessing.has(c) || ctx.cpuAccess.has(c))) continue;
      out.push({
        ruleId: ctx.rule.id,
        kind: 'batchable',
        severity: 'note',
        file: fn.file,
        line: site.line,
        column: site.column,
        function: fn.name,
        message: `${flushName}() runs once per iteration of the loop at line ${loop.line}: N entries cost N DSBs; nothing later in the iteration needs the maintenance complete, so one ${flushName}() after the loop (under the same condition) costs 1`,
        path: [
          { file: fn.file, line: loop.line, event: 'loop issues maintenance per entry' },
          { file: fn.file, line: site.line, event: `${flushName}() inside the loop` },
        ],
      });
    }
  }
  return out;
}

/**
 * Functions called by a function whose analysis was skipped as irrelevant: it
 * has no pending maintenance of its own, but could pass its caller's through.
 */
function calleesOfUnanalysed(program: Program, results: Map<FunctionIR, FunctionResult>): Set<FunctionIR> {
  const out = new Set<FunctionIR>();
  for (const caller of program.functions) {
    if (results.has(caller)) continue;
    for (const c of caller.calls) program.resolve(caller.file, c).forEach((t) => out.add(t));
  }
  return out;
}

/** Functions that (transitively) perform a rule CPU access. */
function cpuAccessors(program: Program, ctx: RuleContext): Set<string> {
  const names = new Set(ctx.cpuAccess);
  for (let changed = true; changed; ) {
    changed = false;
    for (const fn of program.functions) {
      if (names.has(fn.name)) continue;
      if (fn.calls.some((c) => names.has(c))) {
        names.add(fn.name);
        changed = true;
      }
    }
  }
  return names;
}

/** The loop a flush sits in, and what follows the flush in the same iteration. */
function siteLoop(fn: FunctionIR, site: CompletionSite): SiteLoop | null {
  const cfg = fn.cfg();
  const loop = cfg.loops.find((l) => l.body.includes(site.node));
  if (!loop) return null;
  const body = new Set(loop.body);
  const laterCalls = new Set<string>();
  let laterReturn = false;
  const stack = [...cfg.nodes[site.node].next];
  const seen = new Set<number>();
  while (stack.length) {
    const id = stack.pop()!;
    if (id === loop.head || !body.has(id) || seen.has(id)) continue;
    seen.add(id);
    const n = cfg.nodes[id];
    if (n.op === 'return') laterReturn = true;
    if (n.op === 'call') laterCalls.add(n.callee);
    stack.push(...n.next);
  }
  return { line: loop.line, issuedInside: [...site.localOrigins].some((o) => body.has(o)), laterReturn, laterCalls: [...laterCalls].sort() };
}

/** Tarjan's SCCs, callees before callers. Iterative: kernel call chains are deep. */
function stronglyConnected(nodes: FunctionIR[], edges: Map<FunctionIR, FunctionIR[]>): FunctionIR[][] {
  const index = new Map<FunctionIR, number>();
  const low = new Map<FunctionIR, number>();
  const onStack = new Set<FunctionIR>();
  const stack: FunctionIR[] = [];
  const out: FunctionIR[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: [FunctionIR, number][] = [[root, 0]];
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      if (i === 0) {
        index.set(v, counter);
        low.set(v, counter);
        counter++;
        stack.push(v);
        onStack.add(v);
      }
      const succ = edges.get(v) ?? [];
      if (i < succ.length) {
        frame[1]++;
        const w = succ[i];
        if (!index.has(w)) work.push([w, 0]);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
      }
      if (low.get(v) === index.get(v)) {
        const scc: FunctionIR[] = [];
        let w: FunctionIR;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== v);
        out.push(scc);
      }
    }
  }
  return out;
}
