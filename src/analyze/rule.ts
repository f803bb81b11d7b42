// Run one rule over the program, in named steps. Analysing (every round of a
// lint, see lint.ts):
//   1. the call graph over resolved direct calls;
//   2. summaries bottom-up over its strongly connected components (an SCC
//      iterates to a fixpoint).
// Judging (the last round only: an earlier round's findings would be thrown
// away with its program):
//   3. findings from every function's result, at the place the code must
//      change, with what could not be judged as visible `not-judged` notes;
//   4. the functions rules declare (contracts) checked against their code;
//   5. the notes that need the whole picture (batchable, redundant flushes).
import type { FunctionIR } from '../ir/types.js';
import type { Finding, Rule } from '../types.js';
import { AnalysisTimeout, analyzeFunction } from './engine.js';
import { checkContracts } from './contracts.js';
import { loadResult, memoKey, storeResult, type FunctionMemo } from './memo.js';
import { batchability, notes } from './notes.js';
import type { Program } from './program.js';
import type { ChainSite, EvalEnv, PendingItem } from './state.js';
import type { FunctionResult, RawFinding, RuleContext, Summary } from './types.js';

/** What a rule's analysis of a program gives: every function's summary and result (steps 1 and 2). */
export interface RuleAnalysis {
  summaries: Map<FunctionIR, Summary>;
  results: Map<FunctionIR, FunctionResult>;
  /** Functions whose analysis threw, and why (each is a `not-judged` note). */
  failed: Map<FunctionIR, string>;
}

/** A rule's analysis judged: its findings (steps 3 to 5). */
export interface RuleRun extends RuleAnalysis {
  findings: Finding[];
  syncSites: number;
  /** Sync sites in functions, or through callees, the analysis could not decide (each has a `not-judged` finding). */
  syncSitesNotJudged: number;
  /** Flushes in loops that must stay there, and why (for `graph`). */
  unbatchable: { fn: FunctionIR; line: number; loopLine: number; why: string }[];
}

const MAX_SCC_ROUNDS = 4;

export function ruleContext(rule: Rule, env: EvalEnv, exactStates?: number): RuleContext {
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
    ...(exactStates ? { exactStates } : {}),
  };
}

/**
 * Contracts whose callers this rule judges. A contract with
 * `checkCallers: false` only lets its `defer` function return pending (another
 * rule judges the callers), so its names do not make callers relevant here.
 */
function checkedContracts(rule: Rule): Rule['contracts'] {
  return rule.contracts.filter((c) => c.checkCallers !== false);
}

/** Names whose calls matter to the rule directly. */
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
 * Steps 1 and 2. `previous`: the same rule's analysis of a smaller program
 * (before a follow-up round added files). A function whose callees' summaries
 * and hand-off status are unchanged keeps its result instead of being
 * analysed again.
 */
export function analyseRule(program: Program, ctx: RuleContext, previous?: RuleAnalysis, memo?: FunctionMemo): RuleAnalysis {
  return summariesBottomUp(program, ctx, callGraph(program), previous, memo);
}

/** Steps 3 to 5, on the program `analysis` was made of. Reads the analysis, never changes it. */
export function judgeRule(program: Program, ctx: RuleContext, analysis: RuleAnalysis): RuleRun {
  const { summaries, results, failed } = analysis;
  const findings: Finding[] = [];
  const notJudged = new Set<string>();
  const meantToDefer = deferringByDesign(results);
  for (const [fn, res] of results) findings.push(...oncePerPlace(findingsOf(fn, res, ctx, notJudged, meantToDefer)));
  for (const [fn, why] of failed) if (!results.has(fn)) findings.push(notJudgedFinding(ctx, fn, `not analysed (${why})`, notJudged));
  findings.push(...checkContracts(program, ctx, summaries, results));
  const { notes: noteFindings, unbatchable } = notes(program, ctx, results);
  findings.push(...noteFindings);
  let syncSites = 0;
  for (const res of results.values()) syncSites += res.syncSites;
  return { ...analysis, findings, syncSites, syncSitesNotJudged: notJudged.size, unbatchable };
}

interface CallGraph {
  callees: Map<FunctionIR, FunctionIR[]>;
  /** Its strongly connected components, callees before callers. */
  components: FunctionIR[][];
}

/** A program's call graph is the same for every rule (a program is never changed once built). */
const callGraphs = new WeakMap<Program, CallGraph>();

/** Step 1: who calls whom, over resolved direct calls (contract partners included: their summaries are used). */
function callGraph(program: Program): CallGraph {
  let graph = callGraphs.get(program);
  if (graph) return graph;
  const callees = new Map<FunctionIR, FunctionIR[]>();
  for (const fn of program.functions) {
    const out = new Set<FunctionIR>();
    for (const c of fn.calls) program.resolve(fn.file, c).forEach((t) => out.add(t));
    callees.set(fn, [...out]);
  }
  graph = { callees, components: stronglyConnected(program.functions, callees) };
  callGraphs.set(program, graph);
  return graph;
}

/** Step 2: each function analysed after its callees; an SCC until its summaries stop changing. */
function summariesBottomUp(program: Program, ctx: RuleContext, { callees, components }: CallGraph, previous: RuleAnalysis | undefined, memo: FunctionMemo | undefined): RuleAnalysis {
  const summaries = new Map<FunctionIR, Summary>();
  const results = new Map<FunctionIR, FunctionResult>();
  // Functions whose analysis threw: one odd function must not end the run.
  const failed = new Map<FunctionIR, string>();
  const direct = new Set(ruleNames(ctx.rule));
  const contractDefers = new Set(ctx.contractDefers.keys());
  const mustAnalyse = new Set(ctx.rule.contracts.flatMap((c) => [c.defer, c.complete]));
  // A contract whose callers another rule judges (`checkCallers: false`) is
  // invisible to the callers here: calling its functions makes nothing relevant.
  const invisible = new Set(ctx.rule.contracts.filter((c) => c.checkCallers === false).flatMap((c) => [c.defer, c.complete]));
  // The definitions a function's visible calls reach: the call graph's, unless it calls an invisible name.
  const reached = (fn: FunctionIR) => (fn.calls.some((c) => invisible.has(c)) ? fn.calls.filter((c) => !invisible.has(c)).flatMap((c) => program.resolve(fn.file, c)) : callees.get(fn)!);
  for (const scc of components) {
    const inScc = new Set(scc);
    // Functions that call nothing that matters have the identity summary;
    // the functions contracts name are always analysed (they are checked).
    const relevant = (fn: FunctionIR) =>
      mustAnalyse.has(fn.name) || fn.calls.some((c) => direct.has(c) && !invisible.has(c)) || reached(fn).some((t) => matters(summaries.get(t)) || inScc.has(t));
    const handoffs = new Map(scc.filter(relevant).map((fn) => [fn, program.isHandoff(fn, ctx.rule.handoff, contractDefers)]));
    const kept = previous && handoffs.size === scc.length ? keptComponent(scc, inScc, handoffs, callees, summaries, previous) : null;
    if (kept) {
      scc.forEach((fn, i) => {
        summaries.set(fn, kept[i].summary);
        results.set(fn, kept[i]);
      });
      continue;
    }
    for (let round = 0; round < MAX_SCC_ROUNDS; round++) {
      let changed = false;
      for (const fn of scc) {
        const handoff = handoffs.get(fn);
        if (!handoff) continue;
        const prev = previous?.results.get(fn);
        let res: FunctionResult;
        try {
          res = analyzeOrRecall(fn, ctx, program, (t) => summaries.get(t), handoff, memo);
          // An equal summary keeps its identity, so this function's callers can be reused too.
          if (prev && prev.summary !== res.summary && sameSummary(prev.summary, res.summary)) res = { ...res, summary: prev.summary };
        } catch (e) {
          failed.set(fn, failureReason(e));
          continue;
        }
        // Only a component of several functions iterates (a key is a JSON text of the whole summary).
        if (scc.length > 1 && !sameSummary(summaries.get(fn), res.summary)) changed = true;
        summaries.set(fn, res.summary);
        results.set(fn, res);
      }
      if (!changed || scc.length === 1) break;
    }
  }
  return { summaries, results, failed };
}

/**
 * The previous round's results for a whole component, when nothing its
 * analysis reads has changed: each member was analysed then, with the same
 * hand-off status, and every callee outside the component keeps the very
 * same summary. A component's results (the fixpoint of several functions,
 * or of one that calls itself) depend on nothing else, so analysing it
 * again would give them back.
 */
function keptComponent(
  scc: FunctionIR[],
  inScc: Set<FunctionIR>,
  handoffs: Map<FunctionIR, { handoff: boolean; why: string }>,
  callees: Map<FunctionIR, FunctionIR[]>,
  summaries: Map<FunctionIR, Summary>,
  previous: RuleAnalysis,
): FunctionResult[] | null {
  const kept: FunctionResult[] = [];
  for (const fn of scc) {
    const prev = previous.results.get(fn);
    const handoff = handoffs.get(fn)!;
    if (!prev || prev.summary.handoff !== handoff.handoff || prev.summary.handoffWhy !== handoff.why) return null;
    if (!callees.get(fn)!.every((t) => inScc.has(t) || summaries.get(t) === previous.summaries.get(t))) return null;
    kept.push(prev);
  }
  return kept;
}

function matters(sm: Summary | undefined): boolean {
  return !!sm && (!!sm.outcomes || sm.accesses.length > 0 || sm.ownAccesses.length > 0);
}

function failureReason(e: unknown): string {
  if (e instanceof AnalysisTimeout) return (e as Error).message;
  if (e instanceof RangeError && /call stack/i.test(e.message)) return 'nested too deeply (stack overflow)';
  return `internal error: ${(e as Error).message}`;
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
  for (const site of res.completions) {
    Object.assign(site, batchability(fn, site, res, ctx, program, summaryOf, handoff));
  }
  if (memo && key && !res.timedOut) memo.store.put(key, storeResult(res));
  return res;
}

/**
 * Whether two summaries say the same to callers. The same object needs no
 * key: a result recalled again from the same stored entry brings back the
 * very summary it brought before (memo.ts loadResult), and writing out the
 * keys of those was most of a follow-up round's time in a warm diff.
 */
function sameSummary(a: Summary | undefined, b: Summary | undefined): boolean {
  return a === b || summaryKey(a) === summaryKey(b);
}

/** Summaries are never modified once made: the key of one is computed once. */
const summaryKeys = new WeakMap<Summary, string>();

function summaryKey(s: Summary | undefined): string {
  if (!s) return '-';
  let key = summaryKeys.get(s);
  if (key === undefined) summaryKeys.set(s, (key = summaryKeyOf(s)));
  return key;
}

function summaryKeyOf(s: Summary): string {
  return JSON.stringify([
    s.handoff,
    s.outcomes?.map((o) => `${o.keepsCaller}|${o.lits.map((l) => JSON.stringify(l)).join('&')}|${o.items.map((i) => i.callee + i.effect + (i.chain ?? []).map((c) => `@${c.file}:${c.line}${c.deferOk ? '+' : ''}`).join('')).join(',')}`) ?? null,
    s.accesses.map((a) => a.lits.map((l) => JSON.stringify(l))),
    s.ownAccesses.map((a) => [a.callee, a.origin.line, a.lits.map((l) => JSON.stringify(l))]),
  ]);
}

// ------------------------------------------------------------- findings ----

/**
 * Functions some caller completes after calling them (through any depth),
 * with the constant arguments of the call above them: called that way, they
 * are meant to leave maintenance to their callers, so a caller that does not
 * complete it is the one at fault. Called with other constants (`true` where
 * the completing caller passed `false`), they are not.
 */
function deferringByDesign(results: Map<FunctionIR, FunctionResult>): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  for (const res of results.values()) {
    for (const site of res.completions) {
      for (const evidence of site.completedVia ?? []) {
        const [fn, ...calls] = evidence.split('|');
        let list = out.get(fn);
        if (!list) out.set(fn, (list = []));
        list.push(calls);
      }
    }
  }
  return out;
}

/** Was `chain[i]`'s function seen completed by a caller that reached it through calls with the same constants as this chain's? */
function meantToDeferHere(chain: ChainSite[], i: number, evidence: Map<string, string[][]>): boolean {
  const above = chain.slice(i + 1).map((c) => c.consts ?? '');
  return (evidence.get(chain[i].function) ?? []).some((calls) => calls.every((consts, k) => k >= above.length || above[k] === consts));
}

/**
 * Where a developer must change the code for `item`: the lowest level of its
 * chain (the sync, then each call passing it up) whose function was not
 * allowed to leave it pending; the call in the reporting function if all were.
 */
function placeToFix(fn: FunctionIR, item: PendingItem, meantToDefer: Map<string, string[][]>): ChainSite {
  const chain = item.chain ?? [];
  const level = chain.find((c, i) => !c.deferOk && !(i + 1 < chain.length && meantToDeferHere(chain, i, meantToDefer)));
  return level ?? chain[chain.length - 1] ?? { file: fn.file, line: item.line, column: item.column, function: fn.name };
}

/**
 * One finding per (kind, place to fix, sync, exit or access): a copy reached
 * in the same iteration and one reached in the next are the same bug.
 */
function oncePerPlace(findings: Finding[]): Finding[] {
  const kept = new Map<string, Finding>();
  for (const f of findings) {
    const exit = f.related?.[0];
    const key = [f.kind, f.file, f.line, f.sync?.file, f.sync?.line, exit?.file, exit?.line].join('|');
    const old = kept.get(key);
    if (!old || severityRank(f) > severityRank(old) || (severityRank(f) === severityRank(old) && f.path.length < old.path.length)) kept.set(key, f);
  }
  return [...kept.values()];
}

function severityRank(f: Finding): number {
  return f.severity === 'error' ? 2 : f.severity === 'warning' ? 1 : 0;
}

/** Step 3: one function's findings, at the place the code must change. */
function findingsOf(fn: FunctionIR, res: FunctionResult, ctx: RuleContext, notJudged: Set<string>, meantToDefer: Map<string, string[][]>): Finding[] {
  const out: Finding[] = [];
  const gap = res.truncated ? 'the exploration stopped at its safety limit' : res.cutShort;
  if (gap) out.push(notJudgedFinding(ctx, fn, gap, notJudged, res.syncSites));
  for (const raw of res.findings) {
    // A false alarm costs more trust than a miss, and a miss must show: a
    // finding that may come from an unexplored path is a not-judged note.
    if (res.truncated) continue;
    if (raw.item.uncertain) {
      out.push(notJudgedFinding(ctx, fn, `${raw.item.callee}() at ${raw.item.origin.file}:${raw.item.origin.line} reaches it through a callee whose analysis stopped at its safety limit`, notJudged, 1, raw.at.line));
      continue;
    }
    out.push(finding(fn, raw, res, ctx, placeToFix(fn, raw.item, meantToDefer)));
  }
  return out;
}

function finding(fn: FunctionIR, raw: RawFinding, res: FunctionResult, ctx: RuleContext, here: ChainSite): Finding {
  const item = raw.item;
  const flush = [...ctx.completing][0];
  const what = item.effect === 'invalidate' ? 'invalidation' : item.effect === 'clean' ? 'clean' : item.effect;
  // The primary location is a sync (the maintenance was issued right there)
  // or a call that passed it up (its callee left it pending).
  const chain = item.chain ?? [];
  const level = chain.findIndex((c) => c.file === here.file && c.line === here.line && c.function === here.function);
  const calledHere = level > 0 ? chain[level - 1].function : level < 0 ? item.via : undefined;
  const issued = calledHere
    ? `${calledHere}() leaves the ${what} issued by ${item.callee}() at ${item.origin.file}:${item.origin.line} pending`
    : `the ${what} issued here by ${item.callee}() is still pending`;
  const related: Finding['related'] = [];
  // Through a contract's deferring function: say which call owes its partner.
  const hop = chain.findIndex((c) => ctx.contractDefers.has(c.function));
  const contract = hop >= 0 && hop + 1 < chain.length ? ctx.contractDefers.get(chain[hop].function) : undefined;
  const owed = contract ? `; ${contract.defer}() at ${chain[hop + 1].file}:${chain[hop + 1].line} needs ${contract.complete}()` : '';
  const access = raw.kind === 'unflushed-access' ? [...raw.path].reverse().find((st) => st.op === 'cpu_read' || st.op === 'cpu_write') : undefined;
  let message: string;
  if (raw.kind === 'unflushed-return') {
    message = `${issued} when ${fn.name}() returns at ${fn.file}:${raw.at.line} (${res.summary.handoffWhy}); no ${flush}() on this path${owed}${raw.error ? ' (error path)' : ''}`;
    related.push({ file: fn.file, line: raw.at.line, column: raw.at.column, message: `${fn.name}() returns here and hands the buffer over (${res.summary.handoffWhy})` });
  } else {
    // `f() leaves ... pending when f() at line N reaches memcpy()` says f twice.
    const what = calledHere ? raw.at.what.replace(new RegExp(`^${calledHere}\\(\\) at line \\d+ reaches`), 'it reaches') : raw.at.what;
    message = `${issued} when ${what}; no ${flush}() before it${raw.error ? ' (error path)' : ''}`;
    if (access) related.push({ file: access.file, line: access.line, column: 1, message: access.event });
  }
  if (item.via && (here.file !== item.origin.file || here.line !== item.origin.line)) {
    related.push({ file: item.origin.file, line: item.origin.line, column: 1, message: `${item.callee}() issues the ${what} here` });
  }
  if (here.file !== fn.file || here.line !== item.line) {
    related.push({ file: fn.file, line: item.line, column: item.column, message: `${fn.name}() calls ${item.via ?? item.callee}() here` });
  }
  const exit = raw.kind === 'unflushed-return' ? `returned by ${fn.name}()` : `read by ${access ? `${/^(\w+)\(/.exec(access.event)?.[1] ?? 'access'}@${access.file}` : raw.at.what}`;
  return {
    ruleId: ctx.rule.id,
    kind: raw.kind,
    severity: raw.error ? 'warning' : 'error',
    identity: [ctx.rule.id, here.file, item.callee, exit].join('|'),
    file: here.file,
    line: here.line,
    column: here.column,
    function: here.function,
    message,
    path: raw.path,
    related,
    sync: { callee: item.callee, function: item.origin.function, file: item.origin.file, line: item.origin.line },
    ...(raw.failed ? { failedPath: true } : {}),
  };
}

function notJudgedFinding(ctx: RuleContext, fn: FunctionIR, why: string, notJudged: Set<string>, sites = 1, line = fn.line): Finding {
  for (let i = 0; i < Math.max(1, sites); i++) notJudged.add(`${fn.file}:${fn.name}:${line}:${i}`);
  return {
    ruleId: ctx.rule.id,
    kind: 'not-judged',
    severity: 'note',
    identity: [ctx.rule.id, fn.file, fn.name].join('|'),
    file: fn.file,
    line,
    column: line === fn.line ? fn.column : 1,
    function: fn.name,
    message: `${fn.name}() is not judged: ${why}; its syncs may be unflushed`,
    path: [],
  };
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
