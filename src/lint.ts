// Orchestrator: discover -> parse -> lower -> analyze -> model -> result, as
// named steps (analyzeTree reads top to bottom).
//
// Only files that can matter are parsed (src/corpus.ts): a first scan keeps
// the files naming a rule function; after each analysis round, the files the
// round showed to matter are read too (callers of functions that defer
// maintenance to them), until nothing new appears (a handful of rounds on a
// kernel).
import type { ConfigEnv } from './discover/kconfig.js';
import type { ReportScope } from './discover/scope.js';
import { restrictToScope } from './scope.js';
import { walkedByFirstScan } from './discover/source.js';
import type { Snapshot } from './discover/snapshot.js';
import type { FunctionIR } from './ir/types.js';
import { Program } from './analyze/program.js';
import { analyseRule, judgeRule, ruleContext, ruleNames, scanNames, type RuleAnalysis, type RuleRun } from './analyze/rule.js';
import { isStoredResult, type FunctionMemo } from './analyze/memo.js';
import type { RuleContext } from './analyze/types.js';
import { RuleError } from './rules/load.js';
import { BudgetedPattern } from './rules/label-matcher.js';
import { isStoredReplay, replayFindings, type ReplayMemo } from './model/replay.js';
import { checkScenario } from './model/check.js';
import { formatTimeline } from './model/timeline.js';
import { digest, type AnalysisCache } from './cache/store.js';
import { configure, VERSION, type Configuration } from './configuration.js';
import { Corpus } from './corpus.js';
import { IncludeResolver } from './discover/includes.js';
import { headersToRead, seedsFromResults, seedsFromSyntax } from './analyze/followup.js';
import type { Diagnostic, Finding, InactiveRule, LintResult, ModelStats, Rule } from './types.js';
import { compareText } from './order.js';

export interface LintOptions {
  /** Scanned root; finding paths are relative to it. */
  root: string;
  /** Files or folders under root to analyse (default: root itself). */
  paths?: string[];
  /** Report only findings under these paths; the rest of the tree is read as context (lint PATH... in a kernel tree). */
  scope?: ReportScope;
  /** Path budget: exact abstract states per CFG node before states merge by property (default 48, explore.ts). */
  maxStates?: number;
  /** Target architecture (default arm64). */
  arch?: string;
  /** Kernel .config to evaluate #if CONFIG_* with. */
  kconfigFile?: string;
  /** Extra rule folders (added to the bundled rules/). */
  rulesDirs?: string[];
  /** Worker threads for the prefilter scan. */
  jobs?: number;
  /**
   * Time budget for preprocessing, parsing and reading the tree of one file, in
   * ms (default 20 s; a large kernel file takes well under 1 s). A file over it
   * is reported as a diagnostic and not analysed.
   */
  fileTimeoutMs?: number;
  /**
   * Analyse this snapshot (a commit, the index, a patched tree) instead of
   * walking `root` (`paths` is then not used). What the analysis learns about
   * its files is kept in it (Snapshot.record), for a changed snapshot to start from.
   */
  source?: Snapshot;
  /** Reuse scans, parses and function results keyed by content (diff, review). */
  cache?: AnalysisCache;
  /** Called as files are scanned/parsed (for a progress bar). */
  onProgress?: (phase: 'scan' | 'parse' | 'analyze', done: number, total: number) => void;
}

/** Everything the analysis built, for `lint`, `graph` and the model replay. */
export interface Analysis {
  result: LintResult;
  program: Program;
  rules: Rule[];
  runs: Map<string, RuleRun>;
  env: ConfigEnv;
}

const MAX_FOLLOWUP_ROUNDS = 4;


export async function runLint(opts: LintOptions): Promise<LintResult> {
  return (await analyzeTree(opts)).result;
}

export async function analyzeTree(opts: LintOptions, configured: Configuration = configure(opts)): Promise<Analysis> {
  const started = performance.now();
  const trace = tracer(started);
  const { root, arch, env, rules, diagnostics, inactive } = configured;
  let candidates = applicableRules(rules, arch, env, inactive);
  const snapshot = opts.source ?? walkedByFirstScan({ root, paths: opts.paths, arch });
  const envKey = configured.envKey;
  const corpus = new Corpus({ snapshot, env, envKey, cache: opts.cache, jobs: opts.jobs, fileTimeoutMs: opts.fileTimeoutMs, diagnostics, trace, onProgress: opts.onProgress });
  corpus.markInteresting(candidates.flatMap(ruleNames));
  const beforeScan = diagnostics.length;
  await corpus.scanAndParse(candidates.flatMap(scanNames));
  // The folder is listed by the first scan: what the listing found comes first, as it happened first.
  await snapshot.backing.ready?.();
  diagnostics.splice(beforeScan, 0, ...snapshot.backing.listingDiagnostics());
  let program = new Program([...corpus.parsed.values()], { arch });
  candidates = definedRules(candidates, program, inactive);
  const includes = new IncludeResolver(arch, (f) => corpus.read(f), (f) => corpus.exists(f), snapshot.knownIncludes());
  const direct = new Set(candidates.flatMap(ruleNames));
  const cpuAccess = new Set(candidates.flatMap((r) => r.cpuAccess.map((c) => c.name)));
  if (readHeadersBeforeAnalysis(corpus, program, candidates, includes, direct, cpuAccess, trace)) program = new Program([...corpus.parsed.values()], { arch });

  const memos = ruleMemos(opts.cache, candidates, envKey, opts.maxStates);
  // errorLabels come from rule files: matched under a time budget (a pattern that exhausts it is a usage error below).
  const labelPatterns = new Map(candidates.map((r) => [r.id, new BudgetedPattern(r.errorLabels, r.source)]));
  const budgets = { maxStates: opts.maxStates, labelPatterns };
  let analyses = new Map<string, RuleAnalysis>();
  for (let round = 0; ; round++) {
    analyses = analyseRound(program, candidates, env, analyses, memos, budgets);
    trace(`round ${round}: analysed ${program.functions.length} functions`);
    // A round is synchronous work: let signal handlers (review's Ctrl-C) run between rounds.
    await new Promise((resolve) => setImmediate(resolve));
    if (round >= MAX_FOLLOWUP_ROUNDS || !(await readWhatTheRoundNeeds(corpus, program, analyses, includes, direct, cpuAccess, trace))) break;
    program = new Program([...corpus.parsed.values()], { arch });
  }
  // Only the last round's program is reported: its findings are the only ones made.
  const runs = new Map(candidates.map((r) => [r.id, judgeRule(program, roundContext(r, env, budgets), analyses.get(r.id)!)]));

  snapshot.recordIncludes(includes.record());
  const slowPatterns = [...labelPatterns.values()].flatMap((p) => (p.problem ? [p.problem] : []));
  if (slowPatterns.length) throw new RuleError(slowPatterns);
  const { findings, syncSites, syncSitesNotJudged } = collectFindings(runs);
  const model = replayOnCacheModel(findings, runs, opts.cache?.results.checked(isStoredReplay, 'replay:'));
  const unique = uniqueDiagnostics(diagnostics);
  const scoped = opts.scope ? restrictToScope(opts.scope, findings, runs.values(), snapshot.files(), unique) : undefined;
  if (opts.cache) for (const memo of memos.values()) countMemo(opts.cache, memo);
  const result: LintResult = {
    tool: 'flushcheck',
    version: VERSION,
    root,
    arch,
    findings: scoped?.findings ?? findings,
    inactiveRules: inactive,
    stats: {
      files: snapshot.fileCount(),
      unreadable: countUnreadable(unique, snapshot),
      parsed: corpus.parsed.size - corpus.parseBudget.refused,
      ...(corpus.parseBudget.refused ? { notParsed: corpus.parseBudget.refused } : {}),
      functions: program.functions.length,
      syncSites,
      syncSitesNotJudged,
      ms: Math.round(performance.now() - started),
      model,
      diagnostics: unique,
      ...(scoped ? { scope: scoped.stats } : {}),
    },
  };
  return { result, program, rules, runs, env };
}

/** FLUSHCHECK_TRACE: each step's time since this analysis started, and since the process did (a review runs several analyses). */
function tracer(started: number): (message: string) => void {
  return process.env.FLUSHCHECK_TRACE ? (msg) => console.error(`[${Math.round(performance.now() - started)} ms; ${Math.round(performance.now())} ms in the run] ${msg}`) : () => {};
}

/** Rules meant for this arch and not turned off by the configuration; the others are reported inactive. */
function applicableRules(rules: Rule[], arch: string, env: ConfigEnv, inactive: InactiveRule[]): Rule[] {
  return rules.filter((r) => {
    if (r.applies.arch && !r.applies.arch.includes(arch)) {
      inactive.push({ ruleId: r.id, reason: `applies to ${r.applies.arch.join(', ')}, not ${arch}` });
      return false;
    }
    if (r.applies.kconfig && env.symbol(r.applies.kconfig) === 'n') {
      inactive.push({ ruleId: r.id, reason: `CONFIG_${r.applies.kconfig} is not set (${env.origin})` });
      return false;
    }
    return true;
  });
}

/** Rules whose defining function the tree has (Linux 6.12 has no arch_sync_dma_flush()). */
function definedRules(rules: Rule[], program: Program, inactive: InactiveRule[]): Rule[] {
  return rules.filter((r) => {
    const needed = r.applies.definedFunction;
    if (needed && !program.defines(needed)) {
      inactive.push({ ruleId: r.id, reason: `the tree defines no ${needed}()` });
      return false;
    }
    return true;
  });
}

function ruleMemos(cache: AnalysisCache | undefined, rules: Rule[], envKey: string, maxStates: number | undefined): Map<string, FunctionMemo> {
  if (!cache) return new Map();
  return new Map(rules.map((r) => [r.id, { store: cache.results.checked(isStoredResult), scope: digest(envKey, JSON.stringify({ ...r, source: '' }), String(maxStates ?? '')), hits: 0, misses: 0 }]));
}

interface RoundBudgets {
  maxStates: number | undefined;
  labelPatterns: Map<string, BudgetedPattern>;
}

/** Every rule over the program; functions whose inputs did not change since the last round keep their results. */
function analyseRound(
  program: Program,
  rules: Rule[],
  env: ConfigEnv,
  previous: Map<string, RuleAnalysis>,
  memos: Map<string, FunctionMemo>,
  budgets: RoundBudgets,
): Map<string, RuleAnalysis> {
  return new Map(rules.map((r) => [r.id, analyseRule(program, roundContext(r, env, budgets), previous.get(r.id), memos.get(r.id))]));
}

function roundContext(rule: Rule, env: ConfigEnv, budgets: RoundBudgets): RuleContext {
  return { ...ruleContext(rule, env, budgets.maxStates), errorLabel: budgets.labelPatterns.get(rule.id)! };
}

/**
 * Read the files the last round showed to matter, and return whether any
 * were added (another round is needed):
 * - callers of functions that defer maintenance to them, which may live in
 *   files no rule name appears in (a scan of the tree for their names);
 * - definitions of callees reached while an invalidation is pending, which
 *   may hide a CPU access (the headers the calling files include).
 */
async function readWhatTheRoundNeeds(
  corpus: Corpus,
  program: Program,
  analyses: Map<string, RuleAnalysis>,
  includes: IncludeResolver,
  ruleNames: Set<string>,
  cpuAccess: Set<string>,
  trace: (message: string) => void,
): Promise<boolean> {
  const { everywhere, privateHeaders } = deferringNames(analyses);
  trace(`deferring: ${[...everywhere, ...privateHeaders.keys()].join(' ')}`);
  // Helpers in a subsystem's private header (kernel/dma/direct.h) can only
  // be called from that subsystem: no need to read the whole tree for them.
  let added = await corpus.scanAndParse([...privateHeaders.keys()].filter((n) => !everywhere.has(n)), [...new Set(privateHeaders.values())]);
  added += await corpus.scanAndParse([...everywhere]);
  const summaryOf = (f: FunctionIR) => [...analyses.values()].flatMap((a) => a.summaries.get(f) ?? []);
  const headers = headersToRead(program, seedsFromResults(analyses), ruleNames, cpuAccess, (file, name) => includes.definition(file, name), summaryOf);
  const newHeaders = [...headers].filter((h) => !corpus.parsed.has(h));
  trace(`callee definitions under a pending invalidation: ${newHeaders.join(' ')}`);
  added += corpus.parseFiles(newHeaders);
  return added > 0;
}

/**
 * Before the first round: the headers whose callees a sync's buffer is
 * passed to and that can reach a CPU access (see headersToRead), found from
 * the code alone, so the first round already analyses them. Returns whether
 * any were read.
 */
function readHeadersBeforeAnalysis(corpus: Corpus, program: Program, rules: Rule[], includes: IncludeResolver, ruleNames: Set<string>, cpuAccess: Set<string>, trace: (message: string) => void): boolean {
  const invalidating = new Map<string, number | undefined>();
  for (const r of rules) for (const i of r.issue) if (Object.values(i.effect).some((e) => e === 'invalidate' || e === 'clean_invalidate')) invalidating.set(i.name, i.addressArg);
  const headers = headersToRead(program, seedsFromSyntax(program, invalidating), ruleNames, cpuAccess, (file, name) => includes.definition(file, name));
  const fresh = [...headers].filter((h) => !corpus.parsed.has(h));
  trace(`callee definitions a sync's buffer reaches: ${fresh.join(' ')}`);
  return corpus.parseFiles(fresh) > 0;
}

/** Functions that leave maintenance pending for their callers on a normal path, and where their callers can be. */
function deferringNames(analyses: Map<string, RuleAnalysis>): { everywhere: Set<string>; privateHeaders: Map<string, string> } {
  const everywhere = new Set<string>();
  const privateHeaders = new Map<string, string>();
  for (const analysis of analyses.values()) {
    for (const [fn, sm] of analysis.summaries) {
      // Only deferrals on normal paths: a helper that leaves maintenance
      // pending only when it fails (error outcomes) is not worth another
      // pass over the tree; its callers in parsed files are still judged.
      if (!sm.outcomes?.some((o) => o.items.length > 0 && !o.error) || (fn.isStatic && fn.file.endsWith('.c'))) continue;
      const local = localHeaderDir(fn.file);
      if (local) privateHeaders.set(fn.name, local);
      else everywhere.add(fn.name);
    }
  }
  return { everywhere, privateHeaders };
}

/** Every rule's findings, sorted (what could not be judged is among them, as `not-judged` notes). */
function collectFindings(runs: Map<string, RuleRun>): { findings: Finding[]; syncSites: number; syncSitesNotJudged: number } {
  const findings: Finding[] = [];
  let syncSites = 0;
  let syncSitesNotJudged = 0;
  for (const run of runs.values()) {
    findings.push(...run.findings);
    syncSites += run.syncSites;
    syncSitesNotJudged += run.syncSitesNotJudged;
  }
  findings.sort(
    (a, b) => compareText(a.file, b.file) || a.line - b.line || a.column - b.column || compareText(a.kind, b.kind) || compareText(a.ruleId, b.ruleId) || compareText(a.function, b.function) || compareText(a.message, b.message),
  );
  return { findings, syncSites, syncSitesNotJudged };
}

/** Replay every finding's path, and every flushed sync path, on the cache model. */
function replayOnCacheModel(findings: Finding[], runs: Map<string, RuleRun>, memo: ReplayMemo | undefined): ModelStats {
  const flushed = [...runs.values()].flatMap((run) => [...run.results.values()].flatMap((r) => r.completions.flatMap((c) => (c.samplePath ? [c.samplePath] : []))));
  return replayFindings(findings, flushed, (r) => (r.scenario && r.verdict === 'incoherent' ? formatTimeline(checkScenario(r.scenario), r.scenario) : undefined), memo);
}

function countMemo(cache: AnalysisCache, memo: FunctionMemo): void {
  cache.stats.resultHits += memo.hits;
  cache.stats.resultMisses += memo.misses;
}

/** Source files the scan could not read (the run checked nothing when that is all of them). */
function countUnreadable(diagnostics: Diagnostic[], snapshot: Snapshot): number {
  return new Set(diagnostics.filter((d) => /^(unreadable|cannot read)/.test(d.reason) && snapshot.exists(d.file)).map((d) => d.file)).size;
}

/** The same problem seen in several scan rounds is one diagnostic. */
function uniqueDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return [...new Map(diagnostics.map((d) => [`${d.file}\0${d.reason}`, d])).values()];
}

/**
 * The folder a header's functions are visible in, if it is a private header
 * (`kernel/dma/direct.h` is included as "direct.h" by kernel/dma/*.c), or
 * null for public headers (include/, arch/<x>/include/) and .c files.
 */
function localHeaderDir(file: string): string | null {
  if (!file.endsWith('.h') || file.startsWith('include/') || /^arch\/[^/]+\/include\//.test(file)) return null;
  const slash = file.lastIndexOf('/');
  return slash < 0 ? '' : file.slice(0, slash + 1);
}
