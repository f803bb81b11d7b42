// `npm run bench`: the one entry point for flushcheck's speed figures.
//
// Every figure is printed next to the baseline it is compared to, and that
// baseline is measured in the same run: timings from an earlier run or another
// machine are not comparable. The machine is noisy (2 cores, shared), so wall
// times are medians of interleaved runs, with min/max to show the spread.
// The header gives node's own start-up just then (`node -e 0`), which every
// flushcheck figure includes: with and without NODE_EXTRA_CA_CERTS where the
// environment sets it (the bin starts node without it, src/cli/main.ts).
//
//   1. lint vs grep on the full linux-7.x tree: grep -rlE of every bundled rule
//      identifier over *.c/*.h is the floor (every byte read once, nothing
//      parsed); goals ≤ 1.0× grep and < 300 MB peak RSS.
//   2. linux-6.12 (no arch_sync_dma_flush yet): one run, expected 0 findings
//      and the rule inactive.
//   3. the cache model on large batched buffers, next to the brute-force
//      whole-system explorer on the same scenario (which is exponential in lines).
//   4. `flushcheck diff --cached` on linux-7.x, through the separate git dir
//      kernel-fetch.sh makes beside the tree (linux-7.x.git): a one-file change
//      staged in the index with no cache (cold) and with the cache the previous
//      run left (warm), next to a full-tree lint in the same rounds; goal: a
//      one-file change well under a second, and ≤ 2× checkpatch.pl --no-tree
//      on the same change.
//   5. a real `git commit` with the hook installed and without (--no-verify),
//      goal ≤ 0.3 s added; `review` of an 8-patch series, cold and warm, goals
//      ≤ 3 s and ≤ 1 s. In a throw-away git dir under /tmp that borrows the
//      tree's git objects: the fetched tree and its git dir are only read.
//   Lint vs spatch -j 2 is `npm run bench:cocci` (bench/cocci.ts).
//
// A benchmark, not a test: the exit code is 0 whether or not the goals are met,
// 1 only when a measured flushcheck command itself fails, 2 on a usage error.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { batchedCleanScenario, benchModel, median, type ModelBenchEntry } from './model.js';
import { BUNDLED_NAMES, formatGrowth, measureGrowth } from './growth.js';
import { cpuRuns, formatCpuUse, machineBusyMs, otherCpuMs, parseTimeReport, TIME_FORMAT, type CpuRuns } from './cpu.js';
import { bruteForce, StateBudgetExceeded } from '../src/model/brute-force.js';
import { checkScenario } from '../src/model/check.js';
import type { Severity } from '../src/types.js';

// ------------------------------------------------------------ constants ----

/** Every identifier the bundled rules scan for (analyze/rule.ts scanNames): grep finding them is the cheapest possible "scan". */
const SYNC_CALL_PATTERN = BUNDLED_NAMES.join('|');

const GOAL_RATIO_TO_GREP = 1.0;
const GOAL_PEAK_RSS_MB = 300;
/** The rule that checks arch_sync_dma_flush(); 6.12 predates that function, so it must be inactive there. */
const FLUSH_RULE_ID = 'dma-sync-flush';

/** The brute-force baseline stops at this many states: enough to show the growth, a second or two of CPU. */
const BRUTE_FORCE_STATE_BUDGET = 100_000;
const BRUTE_FORCE_MAX_LINES = 12;

/**
 * The product as built by `npm run build` (this file runs from build/bench/).
 * The timed commands run it as a shell runs the installed bin, by its #! line
 * (src/cli/main.ts: it sizes V8's thread pool to the cores), not as `node CLI_PATH`.
 */
const CLI_PATH = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TIME_BIN = '/usr/bin/time';

// -------------------------------------------------------------- options ----

interface BenchOptions {
  tree?: string;
  runs: number;
  diffRuns: number;
  json: boolean;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function parseOptions(argv: string[]): BenchOptions {
  const program = new Command('bench')
    .description('flushcheck speed figures, each next to its baseline measured in the same run')
    .option('--tree <dir>', 'linux-7.x tree to lint (default: newest complete linux-7.* in the kernel cache); diff uses its git dir DIR.git')
    .option('--runs <n>', 'interleaved grep/lint runs on the linux-7.x tree', positiveInteger, 7)
    .option('--diff-runs <n>', 'rounds of the diff measurements (each: lint, cold, warm ×3)', positiveInteger, 5)
    .option('--json', 'also print the figures as JSON', false)
    .allowExcessArguments(false)
    .exitOverride(); // throw instead of exiting, so main() decides the exit code
  program.parse(argv, { from: 'user' });
  return program.opts<BenchOptions>();
}

// ------------------------------------------------------- kernel trees ----
// Same lookup as test/kernel/trees.ts (not importable: the build only compiles src/).

const KERNEL_CACHE = process.env.FLUSHCHECK_KERNEL_CACHE ?? path.join(os.homedir(), '.cache', 'flushcheck-kernels');

/** kernel-fetch.sh writes `.complete` last, so a tree without it is a partial extraction. */
function isCompleteTree(dir: string): boolean {
  return existsSync(path.join(dir, '.complete'));
}

function newestLinux7(): string | null {
  if (!existsSync(KERNEL_CACHE)) return null;
  const trees = readdirSync(KERNEL_CACHE)
    .filter((name) => /^linux-7\.\d+$/.test(name) && isCompleteTree(path.join(KERNEL_CACHE, name)))
    .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
  return trees.length ? path.join(KERNEL_CACHE, trees[trees.length - 1]) : null;
}

function linux612(): string | null {
  const dir = path.join(KERNEL_CACHE, 'linux-6.12');
  return isCompleteTree(dir) ? dir : null;
}

// ---------------------------------------------------------- statistics ----

interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: values };
}

// ------------------------------------------------- measuring a command ----

const NODE_START_RUNS = 7;

/** `node -e 0` as this environment starts it, and, when NODE_EXTRA_CA_CERTS is set, without it (as the bin starts node). */
interface NodeStart {
  runs: number;
  asIs: Spread;
  /** null: NODE_EXTRA_CA_CERTS is not set here. */
  withoutExtraCaCerts: Spread | null;
}

/**
 * How fast this machine starts node just now: every flushcheck run pays it,
 * and it swings with the machine's speed (figures from runs at other times
 * compare through it). node reads NODE_EXTRA_CA_CERTS's certificates at every
 * start; the bin's #! line hides it (src/cli/main.ts), so where it is set both
 * are shown, alternately.
 */
function measureNodeStart(): NodeStart {
  const timed = (env: NodeJS.ProcessEnv): number => {
    const start = performance.now();
    const run = spawnSync(process.execPath, ['-e', '0'], { env, stdio: 'ignore' });
    if (run.status !== 0) throw new CommandFailed(`node -e 0 exited with ${run.status ?? run.signal}`);
    return performance.now() - start;
  };
  const set = process.env.NODE_EXTRA_CA_CERTS !== undefined;
  const { NODE_EXTRA_CA_CERTS: _hidden, ...without } = process.env;
  const asIs: number[] = [];
  const hidden: number[] = [];
  for (let i = 0; i < NODE_START_RUNS; i++) {
    asIs.push(timed(process.env));
    if (set) hidden.push(timed(without));
  }
  return { runs: NODE_START_RUNS, asIs: spread(asIs), withoutExtraCaCerts: set ? spread(hidden) : null };
}

function formatNodeStart(n: NodeStart): string {
  const ms = (s: Spread) => `${int(s.median)} ms (${int(s.min)}–${int(s.max)})`;
  return n.withoutExtraCaCerts
    ? `node start-up, \`node -e 0\` (${n.runs} runs each, alternately): ${ms(n.asIs)} with this environment's NODE_EXTRA_CA_CERTS, ${ms(n.withoutExtraCaCerts)} without it, as the flushcheck bin starts node`
    : `node start-up, \`node -e 0\` (${n.runs} runs): ${ms(n.asIs)} (NODE_EXTRA_CA_CERTS is not set)`;
}

interface Measurement {
  wallMs: number;
  /** Peak resident set of the command (MB), or null when it could not be measured. */
  peakRssMb: number | null;
  /** CPU time of the command, user + system (ms, GNU time's 10 ms steps), or null without GNU time. */
  cpuMs: number | null;
  /**
   * CPU time the rest of the machine used while the command ran (ms): every
   * core's busy time from /proc/stat, less the command's own. Null without
   * both. A command that needs both cores (lint's scan workers) is slowed by
   * it; one that uses one core (grep) hardly is.
   */
  otherCpuMs: number | null;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

type RssMethod = 'usr-bin-time' | 'proc-vmhwm-sampled' | 'none';

/**
 * How peak RSS is measured. GNU time reports the child's exact ru_maxrss; it is
 * probed by running it once rather than trusted to exist. Without it we sample
 * /proc/<pid>/status VmHWM (a high-water mark, so sampling only misses growth in
 * the last interval before exit).
 */
function detectRssMethod(): RssMethod {
  try {
    accessSync(TIME_BIN, constants.X_OK);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flushcheck-bench-'));
    try {
      const out = path.join(dir, 'rss');
      const probe = spawnSync(TIME_BIN, ['-f', '%M', '-o', out, 'true']);
      if (probe.status === 0 && /^\d+\s*$/m.test(readFileSync(out, 'utf8'))) return 'usr-bin-time';
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } catch {
    // fall through to /proc
  }
  return existsSync('/proc/self/status') ? 'proc-vmhwm-sampled' : 'none';
}

function readVmHwmKb(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null; // the process has already exited
  }
}

/** Runs a command to completion, measuring its wall time (spawn to exit, as a user sees it) and peak RSS. */
async function runMeasured(command: string, args: string[], rssMethod: RssMethod, env?: NodeJS.ProcessEnv): Promise<Measurement> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'flushcheck-bench-'));
  const rssFile = path.join(tmp, 'rss');
  // A marker so the figure is found even when time also writes "Command exited with non-zero status".
  const [file, argv] =
    rssMethod === 'usr-bin-time' ? [TIME_BIN, ['-f', TIME_FORMAT, '-o', rssFile, command, ...args]] : [command, args];
  try {
    return await new Promise<Measurement>((resolve, reject) => {
      const busyBefore = machineBusyMs();
      const start = performance.now();
      const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

      let sampledKb: number | null = null;
      const sampler =
        rssMethod === 'proc-vmhwm-sampled'
          ? setInterval(() => {
              const kb = child.pid === undefined ? null : readVmHwmKb(child.pid);
              if (kb !== null) sampledKb = Math.max(sampledKb ?? 0, kb);
            }, 20)
          : undefined;

      child.on('error', (error) => {
        clearInterval(sampler);
        reject(error);
      });
      child.on('close', (exitCode, signal) => {
        const wallMs = performance.now() - start;
        const busyAfter = machineBusyMs();
        clearInterval(sampler);
        let peakKb = sampledKb;
        let cpuMs: number | null = null;
        if (rssMethod === 'usr-bin-time' && existsSync(rssFile)) ({ peakKb, cpuMs } = parseTimeReport(readFileSync(rssFile, 'utf8')));
        resolve({
          wallMs,
          peakRssMb: peakKb === null ? null : peakKb / 1024,
          cpuMs,
          otherCpuMs: otherCpuMs(busyBefore, busyAfter, cpuMs),
          exitCode,
          signal,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        });
      });
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ------------------------------------------------------ grep and lint ----

/** A run's own CPU time, and the rest of the machine's meanwhile (see Measurement). */
type CpuUse = Pick<Measurement, 'cpuMs' | 'otherCpuMs'>;

interface GrepRun extends CpuUse {
  wallMs: number;
  peakRssMb: number | null;
  matchingFiles: number;
}

/** The floor: one pass over every byte of the tree, no parsing. */
async function measureGrep(tree: string, rssMethod: RssMethod): Promise<GrepRun> {
  const run = await runMeasured('grep', ['-rlE', '--include=*.c', '--include=*.h', SYNC_CALL_PATTERN, tree], rssMethod);
  // grep exits 1 when nothing matches; 2 is an error (unreadable file...), which makes the floor dubious.
  if (run.exitCode !== 0 && run.exitCode !== 1) {
    process.stderr.write(`bench: warning: grep exited ${run.exitCode ?? run.signal}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
  }
  return { wallMs: run.wallMs, peakRssMb: run.peakRssMb, cpuMs: run.cpuMs, otherCpuMs: run.otherCpuMs, matchingFiles: run.stdout.split('\n').filter(Boolean).length };
}

/** The fields of `lint --format json` (src/report/json.ts) that the bench reports. */
interface LintJsonReport {
  findings: { severity: Severity; ruleId: string }[];
  inactiveRules: { ruleId: string; reason: string }[];
  stats: {
    files: number;
    parsed: number;
    functions: number;
    syncSites: number;
    ms: number;
    diagnostics: unknown[];
    model?: { pathsReplayed: number; coherent: number; incoherent: number };
  };
}

interface LintRun extends CpuUse {
  wallMs: number;
  peakRssMb: number | null;
  report: LintJsonReport;
}

/** A measured flushcheck command failed: the figures would mean nothing. */
class CommandFailed extends Error {}
class LintFailed extends CommandFailed {}

async function measureLint(tree: string, rssMethod: RssMethod): Promise<LintRun> {
  // --fail-on none: findings are expected (linux-7.2 has some), so any non-zero
  // exit means the command itself failed. It does not change the work done.
  const run = await runMeasured(CLI_PATH, ['lint', tree, '--format', 'json', '--fail-on', 'none'], rssMethod);
  const failure = (why: string) =>
    new LintFailed(`lint ${tree} ${why}\n${run.stderr.trim().split('\n').slice(-10).join('\n')}`);
  if (run.exitCode !== 0) throw failure(`exited with ${run.exitCode ?? run.signal}`);
  let report: LintJsonReport;
  try {
    report = JSON.parse(run.stdout) as LintJsonReport;
  } catch {
    throw failure('printed no JSON report');
  }
  if (typeof report?.stats?.files !== 'number') throw failure('printed a JSON report without stats');
  return { wallMs: run.wallMs, peakRssMb: run.peakRssMb, cpuMs: run.cpuMs, otherCpuMs: run.otherCpuMs, report };
}

interface LintSummary {
  files: number;
  parsed: number;
  functions: number;
  syncSites: number;
  diagnostics: number;
  findings: { total: number } & Record<Severity, number>;
  model: { pathsReplayed: number; coherent: number; incoherent: number } | null;
  inactiveRules: { ruleId: string; reason: string }[];
}

function summarizeLint(report: LintJsonReport): LintSummary {
  const bySeverity: Record<Severity, number> = { error: 0, warning: 0, note: 0 };
  for (const finding of report.findings) bySeverity[finding.severity] = (bySeverity[finding.severity] ?? 0) + 1;
  const { stats } = report;
  return {
    files: stats.files,
    parsed: stats.parsed,
    functions: stats.functions,
    syncSites: stats.syncSites,
    diagnostics: stats.diagnostics.length,
    findings: { total: report.findings.length, ...bySeverity },
    model: stats.model ?? null,
    inactiveRules: report.inactiveRules,
  };
}

// ------------------------------------------- 1. lint vs grep, linux-7.x ----

interface LintVsGrep {
  tree: string;
  runs: number;
  grep: { wallMs: Spread; peakRssMb: Spread | null; cpu: CpuRuns; matchingFiles: number };
  lint: { wallMs: Spread; peakRssMb: Spread | null; cpu: CpuRuns; statsMs: Spread; work: LintSummary; deterministic: boolean };
  ratioToGrep: number;
  goals: {
    ratioToGrep: { limit: number; value: number; met: boolean };
    /** Judged on the worst run: the goal is a ceiling. */
    peakRssMb: { limit: number; value: number | null; met: boolean | null };
  };
}

function spreadOrNull(values: (number | null)[]): Spread | null {
  return values.every((v): v is number => v !== null) ? spread(values) : null;
}

async function measureLintVsGrep(tree: string, runs: number, rssMethod: RssMethod, progress: (line: string) => void): Promise<LintVsGrep> {
  // Untimed warm-up: the first pass over 1.8 GB comes from disk and would charge
  // whichever command ran first with the I/O. After it, both read from the page
  // cache, which is the steady state of a developer re-linting a tree.
  progress('warming the page cache (untimed grep)');
  await measureGrep(tree, 'none');

  const greps: GrepRun[] = [];
  const lints: LintRun[] = [];
  for (let run = 0; run < runs; run++) {
    // Interleaved, alternating which goes first, so a slow spell on the shared
    // machine or any order effect hits both commands alike.
    const grepFirst = run % 2 === 0;
    progress(`run ${run + 1}/${runs}`);
    if (grepFirst) greps.push(await measureGrep(tree, rssMethod));
    lints.push(await measureLint(tree, rssMethod));
    if (!grepFirst) greps.push(await measureGrep(tree, rssMethod));
  }

  const summaries = lints.map((run) => JSON.stringify(summarizeLint(run.report)));
  const grepWall = spread(greps.map((g) => g.wallMs));
  const lintWall = spread(lints.map((l) => l.wallMs));
  const lintRss = spreadOrNull(lints.map((l) => l.peakRssMb));
  const ratio = lintWall.median / grepWall.median;
  return {
    tree,
    runs,
    grep: { wallMs: grepWall, peakRssMb: spreadOrNull(greps.map((g) => g.peakRssMb)), cpu: cpuRuns(greps), matchingFiles: greps[greps.length - 1].matchingFiles },
    lint: {
      wallMs: lintWall,
      peakRssMb: lintRss,
      cpu: cpuRuns(lints),
      statsMs: spread(lints.map((l) => l.report.stats.ms)),
      work: summarizeLint(lints[lints.length - 1].report),
      deterministic: summaries.every((s) => s === summaries[0]),
    },
    ratioToGrep: ratio,
    goals: {
      ratioToGrep: { limit: GOAL_RATIO_TO_GREP, value: ratio, met: ratio <= GOAL_RATIO_TO_GREP },
      peakRssMb: { limit: GOAL_PEAK_RSS_MB, value: lintRss?.max ?? null, met: lintRss ? lintRss.max < GOAL_PEAK_RSS_MB : null },
    },
  };
}

// --------------------------------------------------------- 2. linux-6.12 ----

interface Linux612Run {
  tree: string;
  grep: { wallMs: number; peakRssMb: number | null; matchingFiles: number };
  lint: { wallMs: number; peakRssMb: number | null; statsMs: number; work: LintSummary };
  expectations: { noFindings: boolean; ruleInactive: boolean };
}

/** One run each (the brief's budget): 6.12 predates arch_sync_dma_flush, so the point is 0 findings, not speed. */
async function measureLinux612(tree: string, rssMethod: RssMethod, progress: (line: string) => void): Promise<Linux612Run> {
  progress('linux-6.12: warming the page cache (untimed grep)');
  await measureGrep(tree, 'none');
  progress('linux-6.12: grep, lint');
  const grep = await measureGrep(tree, rssMethod);
  const lint = await measureLint(tree, rssMethod);
  const work = summarizeLint(lint.report);
  return {
    tree,
    grep,
    lint: { wallMs: lint.wallMs, peakRssMb: lint.peakRssMb, statsMs: lint.report.stats.ms, work },
    expectations: { noFindings: work.findings.total === 0, ruleInactive: work.inactiveRules.some((rule) => rule.ruleId === FLUSH_RULE_ID) },
  };
}

// ---------------------------------------------------------- 3. the model ----

interface BruteForceRow {
  lines: number;
  /** null: the budget was exceeded. */
  statesExplored: number | null;
  ms: number;
  perLineStates: number;
}

interface ModelFigures {
  rows: ModelBenchEntry[];
  bruteForce: {
    budget: number;
    rows: BruteForceRow[];
    growthPerLine: number;
    /** log10 of the states brute force would explore on the 10,000-line batched clean, extrapolated. */
    log10StatesAt10000Lines: number;
  };
}

/**
 * The baseline for the model rows: the whole-system explorer on the same
 * batched clean, growing the buffer a line at a time until it exceeds the state
 * budget. One run each: the point is the state count, which does not vary.
 */
function measureBruteForceGrowth(): ModelFigures['bruteForce'] {
  const rows: BruteForceRow[] = [];
  for (let lines = 1; lines <= BRUTE_FORCE_MAX_LINES; lines++) {
    const scenario = batchedCleanScenario(lines);
    const perLineStates = checkScenario(scenario).statesExplored;
    const start = performance.now();
    try {
      const { statesExplored } = bruteForce(scenario, BRUTE_FORCE_STATE_BUDGET);
      rows.push({ lines, statesExplored, ms: performance.now() - start, perLineStates });
    } catch (error) {
      if (!(error instanceof StateBudgetExceeded)) throw error;
      rows.push({ lines, statesExplored: null, ms: performance.now() - start, perLineStates });
      break;
    }
  }
  const completed = rows.filter((row): row is BruteForceRow & { statesExplored: number } => row.statesExplored !== null);
  const [previous, last] = completed.slice(-2);
  const growthPerLine = last.statesExplored / previous.statesExplored;
  return {
    budget: BRUTE_FORCE_STATE_BUDGET,
    rows,
    growthPerLine,
    log10StatesAt10000Lines: Math.log10(last.statesExplored) + (10_000 - last.lines) * Math.log10(growthPerLine),
  };
}

// ------------------------------------------------- 4. diff, linux-7.x ----

/** The file and function the diff changes edit: the sg sync of the direct mapping, which ends in a flush. */
const DIFF_FILE = 'kernel/dma/direct.c';
const DIFF_FUNCTION = 'dma_direct_sync_sg_for_device';
/** A file no rule reads: it calls none of the sync functions, so its new content is scanned and dropped. */
const UNREAD_FILE = 'drivers/net/dummy.c';
const GOAL_WARM_DIFF_MS = 1000;
const GOAL_WARM_TO_CHECKPATCH = 2;
const CHECKPATCH = 'scripts/checkpatch.pl';

function checkpatchOf(tree: string): string | null {
  const script = path.join(tree, CHECKPATCH);
  return existsSync(script) ? script : null;
}

/** checkpatch.pl --no-tree on the change staged in the index (as a pre-commit checkpatch hook runs it). Its verdict does not matter, its time does. */
async function measureCheckpatch(tree: string, gitDir: string, script: string, rssMethod: RssMethod): Promise<Measurement> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flushcheck-bench-patch-'));
  try {
    const patch = path.join(dir, 'change.patch');
    writeFileSync(patch, gitIn(tree, gitDir, ['diff', '--cached']) + '\n');
    const run = await runMeasured('perl', [script, '--no-tree', '--no-signoff', '-q', patch], rssMethod);
    if (run.exitCode !== 0 && run.exitCode !== 1) throw new CommandFailed(`checkpatch.pl exited with ${run.exitCode ?? run.signal}: ${run.stderr.trim().slice(-300)}`);
    return run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** kernel-fetch.sh builds `<tree>.git` under `.tmp` and renames it when complete. */
function gitDirFor(tree: string): string | null {
  const dir = `${tree}.git`;
  return existsSync(path.join(dir, 'HEAD')) ? dir : null;
}

/** git on the tree's separate git dir: GIT_DIR/GIT_WORK_TREE always explicit, so nothing else is ever touched. */
function gitIn(tree: string, gitDir: string, args: string[], input?: string): string {
  const run = spawnSync('git', args, { cwd: tree, env: { ...process.env, GIT_DIR: gitDir, GIT_WORK_TREE: tree }, input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.error) throw new CommandFailed(`cannot run git: ${run.error.message}`);
  if (run.status !== 0) throw new CommandFailed(`git ${args.join(' ')} exited with ${run.status ?? run.signal}: ${run.stderr.trim()}`);
  return run.stdout.trim();
}

/**
 * The index's stat data brought up to date with the tree, as any `git status`
 * in a developer's checkout does (untimed). `git reset -q` does not refresh
 * it, and the tree's ctimes move whenever something links or unlinks its
 * files (section 6's `cp -al` of drivers/, in an earlier bench): with stale
 * stat data git vouches for none of those files, and flushcheck hashes them
 * all, which no developer's checkout makes it do.
 */
function refreshIndex(tree: string, gitDir: string): void {
  // Exit 1 only says some file differs from the index (none does here, after a reset to HEAD).
  const run = spawnSync('git', ['update-index', '-q', '--refresh'], { cwd: tree, env: { ...process.env, GIT_DIR: gitDir, GIT_WORK_TREE: tree }, encoding: 'utf8' });
  if (run.error || (run.status !== 0 && run.status !== 1)) throw new CommandFailed(`git update-index --refresh failed: ${run.error?.message ?? run.stderr.trim()}`);
}

/** Stages `content` as `file` in the index only: the tree on disk is never written. */
function stageInIndex(tree: string, gitDir: string, file: string, content: string): void {
  const id = gitIn(tree, gitDir, ['hash-object', '-w', '--stdin'], content);
  gitIn(tree, gitDir, ['update-index', '--cacheinfo', `100644,${id},${file}`]);
}

/** The changes staged, each from the file as committed (the tree on disk). */
interface DiffEdits {
  /** A comment line, unique to `tag`, inside DIFF_FUNCTION's body: no finding changes. */
  comment(tag: string): string;
  /** The flush at the end of DIFF_FUNCTION removed (and a `tag` comment, so the content is new each run). */
  flushRemoved(tag: string): string;
  /** A comment appended to UNREAD_FILE. */
  unread(tag: string): string;
}

function diffEdits(tree: string): DiffEdits {
  const source = readFileSync(path.join(tree, DIFF_FILE), 'utf8');
  const start = source.indexOf(`void ${DIFF_FUNCTION}(`);
  const open = start < 0 ? -1 : source.indexOf('\n{\n', start);
  const close = start < 0 ? -1 : source.indexOf('\n}\n', start);
  if (start < 0 || open < 0 || close < open) throw new CommandFailed(`${DIFF_FILE}: no definition of ${DIFF_FUNCTION}() found`);
  const bodyStart = open + 3;
  const end = close + 3;
  // Found by text, not line number: the guarded flush that ends the function.
  const flush = /\n\tif \(!dev_is_dma_coherent\(dev\)\)\n\t\tarch_sync_dma_flush\(\);\n\}\n$/;
  if (!flush.test(source.slice(start, end))) throw new CommandFailed(`${DIFF_FILE}: ${DIFF_FUNCTION}() does not end with the guarded arch_sync_dma_flush()`);
  const unreadSource = readFileSync(path.join(tree, UNREAD_FILE), 'utf8');
  if (new RegExp(SYNC_CALL_PATTERN).test(unreadSource)) throw new CommandFailed(`${UNREAD_FILE} calls a sync function: pick another file for the "not read" change`);
  const line = (tag: string) => `\t/* flushcheck bench: ${tag} */\n`;
  return {
    comment: (tag) => source.slice(0, bodyStart) + line(tag) + source.slice(bodyStart),
    flushRemoved: (tag) => source.slice(0, bodyStart) + line(tag) + source.slice(bodyStart, end).replace(flush, '\n}\n') + source.slice(end),
    unread: (tag) => `${unreadSource}/* flushcheck bench: ${tag} */\n`,
  };
}

/** The fields of `diff --format json` (src/report/diff.ts) that the bench reports. */
interface DiffJsonReport extends LintJsonReport {
  findings: { severity: Severity; ruleId: string; kind: string; function: string; file: string }[];
  fixed: unknown[];
  changedFiles: string[];
}

interface DiffRun {
  wallMs: number;
  peakRssMb: number | null;
  exitCode: number;
  newFindings: string[];
  fixed: number;
  changedFiles: string[];
  parsed: number;
}

const DIFF_CASES = ['cold', 'warm', 'resident', 'unread', 'flush'] as const;
type DiffCase = (typeof DIFF_CASES)[number];

const DIFF_CASE_LABELS: Record<DiffCase, string> = {
  cold: `cold: no cache, 1-file change`,
  warm: `warm: a new 1-file change`,
  resident: `warm, --resident: a new 1-file change`,
  unread: `warm: change in a file not read`,
  flush: `warm: flush removed (1 new finding)`,
};

/** What each case must report: exit code, new findings (kind/severity/function/file), changed file. */
const EXPECTED_FLUSH_FINDING = 'unflushed-return error dma_direct_sync_sg_for_device kernel/dma/direct.c';
function expectedOf(kind: DiffCase): { exitCode: number; newFindings: string[]; changedFiles: string[] } {
  if (kind === 'flush') return { exitCode: 1, newFindings: [EXPECTED_FLUSH_FINDING], changedFiles: [DIFF_FILE] };
  return { exitCode: 0, newFindings: [], changedFiles: [kind === 'unread' ? UNREAD_FILE : DIFF_FILE] };
}

function asExpected(kind: DiffCase, run: DiffRun): boolean {
  const want = expectedOf(kind);
  return run.exitCode === want.exitCode && run.fixed === 0 && JSON.stringify(run.newFindings) === JSON.stringify(want.newFindings) && JSON.stringify(run.changedFiles) === JSON.stringify(want.changedFiles);
}

async function measureDiff(tree: string, gitDir: string, rssMethod: RssMethod, resident = false): Promise<DiffRun> {
  const args = ['diff', '--cached', '--tree', tree, '--format', 'json', ...(resident ? ['--resident'] : [])];
  const run = await runMeasured(CLI_PATH, args, rssMethod, { ...benchEnv(), GIT_DIR: gitDir, GIT_WORK_TREE: tree });
  const failure = (why: string) => new CommandFailed(`diff --cached on ${tree} ${why}\n${run.stderr.trim().split('\n').slice(-10).join('\n')}`);
  // 1: new findings (the flush removal has one); anything else is a failure of the command.
  if (run.exitCode !== 0 && run.exitCode !== 1) throw failure(`exited with ${run.exitCode ?? run.signal}`);
  let report: DiffJsonReport;
  try {
    report = JSON.parse(run.stdout) as DiffJsonReport;
  } catch {
    throw failure('printed no JSON report');
  }
  if (!Array.isArray(report?.findings) || !Array.isArray(report.fixed)) throw failure('printed a JSON report without findings/fixed');
  return {
    wallMs: run.wallMs,
    peakRssMb: run.peakRssMb,
    exitCode: run.exitCode,
    newFindings: report.findings.map((f) => `${f.kind} ${f.severity} ${f.function} ${f.file}`),
    fixed: report.fixed.length,
    changedFiles: report.changedFiles,
    parsed: report.stats.parsed,
  };
}

interface DiffCaseFigures {
  wallMs: Spread;
  peakRssMb: Spread | null;
  parsed: Spread;
  ratioToLint: number;
  /** null for the cold case itself. */
  ratioToCold: number | null;
  newFindings: string[];
  asExpectedInAllRuns: boolean;
}

interface DiffFigures {
  tree: string;
  gitDir: string;
  runs: number;
  lint: { wallMs: Spread; peakRssMb: Spread | null };
  cases: Record<DiffCase, DiffCaseFigures>;
  /** checkpatch.pl --no-tree on the warm run's change, right after it; goal: warm diff ≤ 2× it (in a process of its own, and through the resident process). */
  checkpatch: { wallMs: Spread; ratio: number; met: boolean; residentRatio: number; residentMet: boolean } | { skipped: string };
  /** The resident process's size after the last round (`flushcheck resident status`). */
  residentRssMb: number | null;
  /** Size of the cache under the git dir after the last round. */
  cacheMb: number;
  goal: { limitMs: number; valueMs: number; met: boolean };
}

function directorySizeBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? directorySizeBytes(full) : statSync(full).size;
  }
  return total;
}

/**
 * Rounds of: cold (cache removed), warm (a new change to the same file), warm
 * with a change the analysis does not read, warm with the flush removed; a
 * full-tree lint first or last, alternately, as the baseline. Each change
 * carries a tag unique to this bench and round, so no run finds its own
 * content in the cache. The index is reset to HEAD afterwards, whatever happens.
 */
async function measureDiffSection(tree: string, gitDir: string, runs: number, rssMethod: RssMethod, progress: (line: string) => void): Promise<DiffFigures> {
  const edits = diffEdits(tree);
  const cacheDir = path.join(gitDir, 'flushcheck');
  const nonce = `${process.pid}-${Date.now().toString(36)}`;
  const lints: LintRun[] = [];
  const results: Record<DiffCase, DiffRun[]> = { cold: [], warm: [], resident: [], unread: [], flush: [] };
  const checkpatch = checkpatchOf(tree);
  const checkpatchRuns: Measurement[] = [];
  gitIn(tree, gitDir, ['reset', '-q']); // whatever an interrupted run left staged
  refreshIndex(tree, gitDir);
  let residentRssMb: number | null = null;
  try {
    await startResident();
    // Untimed: the resident process's first request loads the code and warms the JIT, as a committer's first commit does.
    stageInIndex(tree, gitDir, DIFF_FILE, edits.comment(`resident warm-up, ${nonce}`));
    await measureDiff(tree, gitDir, rssMethod, true);
    for (let round = 0; round < runs; round++) {
      const tag = (what: string) => `${what}, round ${round + 1}, ${nonce}`;
      const lintFirst = round % 2 === 0;
      progress(`diff round ${round + 1}/${runs}`);
      if (lintFirst) lints.push(await measureLint(tree, rssMethod));
      for (const kind of DIFF_CASES) {
        gitIn(tree, gitDir, ['reset', '-q']);
        if (kind === 'cold') rmSync(cacheDir, { recursive: true, force: true });
        if (kind === 'unread') stageInIndex(tree, gitDir, UNREAD_FILE, edits.unread(tag(kind)));
        else stageInIndex(tree, gitDir, DIFF_FILE, kind === 'flush' ? edits.flushRemoved(tag(kind)) : edits.comment(tag(kind)));
        results[kind].push(await measureDiff(tree, gitDir, rssMethod, kind === 'resident'));
        // checkpatch.pl on the very change the warm run judged, right after it.
        if (kind === 'warm' && checkpatch) checkpatchRuns.push(await measureCheckpatch(tree, gitDir, checkpatch, rssMethod));
      }
      if (!lintFirst) lints.push(await measureLint(tree, rssMethod));
    }
    residentRssMb = residentStatus()?.rssMb ?? null;
  } finally {
    stopResident();
    gitIn(tree, gitDir, ['reset', '-q']);
  }

  const lintWall = spread(lints.map((l) => l.wallMs));
  const coldWall = spread(results.cold.map((r) => r.wallMs));
  const cases = {} as Record<DiffCase, DiffCaseFigures>;
  for (const kind of DIFF_CASES) {
    const wallMs = spread(results[kind].map((r) => r.wallMs));
    cases[kind] = {
      wallMs,
      peakRssMb: spreadOrNull(results[kind].map((r) => r.peakRssMb)),
      parsed: spread(results[kind].map((r) => r.parsed)),
      ratioToLint: wallMs.median / lintWall.median,
      ratioToCold: kind === 'cold' ? null : wallMs.median / coldWall.median,
      newFindings: results[kind][results[kind].length - 1].newFindings,
      asExpectedInAllRuns: results[kind].every((r) => asExpected(kind, r)),
    };
  }
  const warm = cases.warm.wallMs.median;
  const resident = cases.resident.wallMs.median;
  const checkpatchWall = checkpatchRuns.length ? spread(checkpatchRuns.map((r) => r.wallMs)) : null;
  return {
    checkpatch: checkpatchWall
      ? {
          wallMs: checkpatchWall,
          ratio: warm / checkpatchWall.median,
          met: warm / checkpatchWall.median <= GOAL_WARM_TO_CHECKPATCH,
          residentRatio: resident / checkpatchWall.median,
          residentMet: resident / checkpatchWall.median <= GOAL_WARM_TO_CHECKPATCH,
        }
      : { skipped: `no ${CHECKPATCH} in ${tree}` },
    residentRssMb,
    tree,
    gitDir,
    runs,
    lint: { wallMs: lintWall, peakRssMb: spreadOrNull(lints.map((l) => l.peakRssMb)) },
    cases,
    cacheMb: directorySizeBytes(cacheDir) / 2 ** 20,
    goal: { limitMs: GOAL_WARM_DIFF_MS, valueMs: warm, met: warm < GOAL_WARM_DIFF_MS },
  };
}

// ------------------------------------------------ the resident process ----

/** The bench's own environment without FLUSHCHECK_* settings (with one, --resident runs in place). */
function benchEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLUSHCHECK_')));
}

/** `flushcheck resident serve`, started as the first `diff --resident` would start it; resolves once it answers. */
async function startResident(): Promise<void> {
  stopResident();
  const child = spawn(process.execPath, [CLI_PATH, 'resident', 'serve'], { detached: true, stdio: 'ignore', cwd: '/', env: benchEnv() });
  child.unref();
  for (let waited = 0; !residentStatus(); waited += 50) {
    if (waited > 20_000) throw new CommandFailed('the resident process did not answer within 20 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function residentStatus(): { rssMb: number } | null {
  const run = spawnSync(process.execPath, [CLI_PATH, 'resident', 'status'], { encoding: 'utf8', env: benchEnv() });
  const m = /, (\d+) MB resident/.exec(run.stdout);
  return m ? { rssMb: Number(m[1]) } : null;
}

function stopResident(): void {
  spawnSync(process.execPath, [CLI_PATH, 'resident', 'stop'], { encoding: 'utf8', env: benchEnv() });
}

// ------------------------------------- 5. a real git commit, a review ----

/** The hook's cost as a committer sees it; goal ≤ 0.3 s added. The series review: goals ≤ 3 s cold, ≤ 1 s warm. */
const GOAL_HOOK_ADDED_MS = 300;
const GOAL_REVIEW_COLD_MS = 3000;
const GOAL_REVIEW_WARM_MS = 1000;
/** The eight files an 8-patch series changes, one each (a comment appended): read by the analysis and not. */
const SERIES_FILES = [
  'kernel/dma/direct.c',
  'kernel/dma/mapping.c',
  'kernel/dma/swiotlb.c',
  'drivers/iommu/dma-iommu.c',
  'mm/hmm.c',
  'include/linux/dma-map-ops.h',
  'arch/arm64/mm/dma-mapping.c',
  'drivers/net/dummy.c',
];
const COMMITTER = { GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.org', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.org' };

/** `noop`: a pre-commit hook that only exits 0 (what git itself costs for running a hook). */
type HookKind = 'plain' | 'resident' | 'noop' | 'none';

interface HookFigures {
  runs: number;
  withHook: Spread;
  withoutHook: Spread;
  withResidentHook: Spread;
  withNoopHook: Spread;
  addedMs: number;
  residentAddedMs: number;
  noopAddedMs: number;
  reviewCold: Spread;
  reviewWarm: Spread;
  reviewFindings: number;
  goals: { hook: boolean; residentHook: boolean; reviewCold: boolean; reviewWarm: boolean };
}

/**
 * A throw-away git dir in /tmp whose objects borrow the tree's git dir
 * (objects/info/alternates) and whose index starts as a copy of its index:
 * real commits with the tree as work tree, and nothing of the fetched tree or
 * its git dir is ever written. Rounds of: a commit of a new one-file change
 * with the hook installed (plain, then --resident), one with a hook that only
 * exits 0, one without (--no-verify), all from the same base commit, in a
 * rotating order. Then an 8-patch series committed there
 * and reviewed as a git range, cold (no cache) and warm, alternately.
 */
async function measureHookSection(tree: string, treeGitDir: string, runs: number, rssMethod: RssMethod, progress: (line: string) => void): Promise<HookFigures> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'flushcheck-bench-commit-'));
  const gitDir = path.join(tmp, 'git');
  const env = { ...benchEnv(), ...COMMITTER, GIT_DIR: gitDir, GIT_WORK_TREE: tree };
  try {
    spawnSync('git', ['init', '-q', '--bare', gitDir]);
    writeFileSync(path.join(gitDir, 'objects', 'info', 'alternates'), `${path.join(path.resolve(treeGitDir), 'objects')}\n`);
    const base = gitIn(tree, treeGitDir, ['rev-parse', 'HEAD']);
    gitIn(tree, gitDir, ['update-ref', 'HEAD', base]);
    writeFileSync(path.join(gitDir, 'index'), readFileSync(path.join(treeGitDir, 'index')));
    gitIn(tree, gitDir, ['reset', '-q']);
    refreshIndex(tree, gitDir);
    // The hook as `hook install` writes it, plain or with --resident, or one that only exits 0 (untimed; rewritten before each commit that needs another).
    const hookFile = path.resolve(tree, gitIn(tree, gitDir, ['rev-parse', '--git-path', 'hooks/pre-commit']));
    const installNoop = (): void => {
      rmSync(hookFile, { force: true });
      mkdirSync(path.dirname(hookFile), { recursive: true });
      writeFileSync(hookFile, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    };
    const install = (resident: boolean): void => {
      // Not ours, the exit-0 hook would be refused (hook install replaces only a hook it wrote).
      rmSync(hookFile, { force: true });
      const run = spawnSync(process.execPath, [CLI_PATH, 'hook', 'install', '--tree', tree, ...(resident ? ['--resident'] : [])], { env, encoding: 'utf8' });
      if (run.status !== 0) throw new CommandFailed(`hook install exited with ${run.status}: ${run.stderr.trim()}`);
    };
    const edits = diffEdits(tree);
    const nonce = `${process.pid}-${Date.now().toString(36)}`;
    const commit = async (tag: string, hook: HookKind): Promise<number> => {
      gitIn(tree, gitDir, ['update-ref', 'HEAD', base]);
      gitIn(tree, gitDir, ['reset', '-q']);
      stageInIndex(tree, gitDir, DIFF_FILE, edits.comment(tag));
      if (hook === 'noop') installNoop();
      else if (hook !== 'none') install(hook === 'resident');
      const run = await runMeasured('git', ['commit', '-q', ...(hook === 'none' ? ['--no-verify'] : []), '-m', `bench: ${tag}`], rssMethod, env);
      if (run.exitCode !== 0) throw new CommandFailed(`git commit (hook: ${hook}) exited with ${run.exitCode ?? run.signal}: ${run.stderr.trim().slice(-500)}`);
      return run.wallMs;
    };
    // Untimed: the first hook run analyses the base tree (cold); a committer's later commits find it stored.
    // The first --resident commit starts the resident process (and runs in place); the next warms its JIT.
    await commit(`hook warm-up ${nonce}`, 'plain');
    await commit(`resident hook start ${nonce}`, 'resident');
    for (let waited = 0; !residentStatus(); waited += 50) {
      if (waited > 20_000) throw new CommandFailed('the resident process the hook started did not answer within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await commit(`resident hook warm-up ${nonce}`, 'resident');
    const times: Record<HookKind, number[]> = { plain: [], resident: [], noop: [], none: [] };
    const kinds: HookKind[] = ['plain', 'resident', 'noop', 'none'];
    for (let round = 0; round < runs; round++) {
      progress(`commit round ${round + 1}/${runs}`);
      const order = [...kinds.slice(round % kinds.length), ...kinds.slice(0, round % kinds.length)];
      for (const hook of order) times[hook].push(await commit(`commit, hook ${hook}, round ${round + 1}, ${nonce}`, hook));
    }
    const withHook = times.plain;
    const withoutHook = times.none;
    const withResidentHook = times.resident;

    // The series: one commit per file, over the same base, committed without the hook.
    gitIn(tree, gitDir, ['update-ref', 'HEAD', base]);
    gitIn(tree, gitDir, ['reset', '-q']);
    SERIES_FILES.forEach((file, i) => {
      const text = readFileSync(path.join(tree, file), 'utf8');
      stageInIndex(tree, gitDir, file, `${text}/* flushcheck bench: series patch ${i + 1}, ${nonce} */\n`);
      gitIn(tree, gitDir, ['commit', '-q', '--no-verify', '-m', `bench: series patch ${i + 1}`]);
    });
    const tip = gitIn(tree, gitDir, ['rev-parse', 'HEAD']);
    gitIn(tree, gitDir, ['update-ref', 'HEAD', base]);
    gitIn(tree, gitDir, ['reset', '-q']);
    const review = async (): Promise<{ wallMs: number; findings: number }> => {
      const run = await runMeasured(CLI_PATH, ['review', `${base}..${tip}`, '--tree', tree, '--format', 'json'], rssMethod, env);
      if (run.exitCode !== 0 && run.exitCode !== 1) throw new CommandFailed(`review exited with ${run.exitCode ?? run.signal}: ${run.stderr.trim().slice(-500)}`);
      const report = JSON.parse(run.stdout) as { patches: { applied: boolean; introduced: unknown[] }[] };
      if (report.patches.length !== SERIES_FILES.length || !report.patches.every((p) => p.applied)) throw new CommandFailed(`review did not apply the ${SERIES_FILES.length} patches`);
      return { wallMs: run.wallMs, findings: report.patches.reduce((n, p) => n + p.introduced.length, 0) };
    };
    const cold: number[] = [];
    const warm: number[] = [];
    let findings = 0;
    for (let round = 0; round < runs; round++) {
      progress(`review round ${round + 1}/${runs}`);
      rmSync(path.join(gitDir, 'flushcheck'), { recursive: true, force: true });
      const first = await review();
      cold.push(first.wallMs);
      findings = first.findings;
      warm.push((await review()).wallMs);
    }
    const withSpread = spread(withHook);
    const withoutSpread = spread(withoutHook);
    const residentSpread = spread(withResidentHook);
    const noopSpread = spread(times.noop);
    const addedMs = withSpread.median - withoutSpread.median;
    const residentAddedMs = residentSpread.median - withoutSpread.median;
    const noopAddedMs = noopSpread.median - withoutSpread.median;
    const reviewCold = spread(cold);
    const reviewWarm = spread(warm);
    return {
      runs,
      withHook: withSpread,
      withoutHook: withoutSpread,
      withResidentHook: residentSpread,
      withNoopHook: noopSpread,
      addedMs,
      residentAddedMs,
      noopAddedMs,
      reviewCold,
      reviewWarm,
      reviewFindings: findings,
      goals: { hook: addedMs <= GOAL_HOOK_ADDED_MS, residentHook: residentAddedMs <= GOAL_HOOK_ADDED_MS, reviewCold: reviewCold.median <= GOAL_REVIEW_COLD_MS, reviewWarm: reviewWarm.median <= GOAL_REVIEW_WARM_MS },
    };
  } finally {
    stopResident();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function formatHook(h: HookFigures): string {
  const row = (label: string, s: Spread) => [label, int(s.median), int(s.min), int(s.max)];
  return [
    `5. a real git commit and an 8-patch review on linux-7.x, in a throw-away git dir under ${os.tmpdir()} borrowing the tree's objects`,
    `   ${h.runs} rounds; each commit stages a new comment in ${DIFF_FUNCTION}() (${DIFF_FILE}) over the same base commit;`,
    '   with hook = flushcheck hook install (diff --cached --hook, the base tree analysed once before, untimed); resident hook =',
    '   hook install --resident (its resident process started by an untimed commit and sent one more); exit-0 hook = a',
    "   pre-commit hook that only exits 0 (git's own cost of running any hook); without = --no-verify.",
    '   The four alternate in a rotating order.',
    `   review = flushcheck review BASE..TIP --tree TREE --format json, 8 patches, one file each (${SERIES_FILES.join(', ')});`,
    '   cold = cache removed first, warm = run again.',
    table(
      [
        ['', 'median ms', 'min ms', 'max ms'],
        row('git commit, hook installed', h.withHook),
        row('git commit, hook installed --resident', h.withResidentHook),
        row('git commit, a hook that only exits 0', h.withNoopHook),
        row('git commit --no-verify', h.withoutHook),
        row('review, 8 patches, cold', h.reviewCold),
        row('review, 8 patches, warm', h.reviewWarm),
      ],
      (column) => column > 0,
    ),
    `  goal: the hook adds ≤ ${GOAL_HOOK_ADDED_MS} ms to a commit: +${int(h.addedMs)} ms (medians): ${metText(h.goals.hook)}; with --resident: +${int(h.residentAddedMs)} ms: ${metText(h.goals.residentHook)}`,
    `  of which git's own for running a hook (the exit-0 hook): +${int(h.noopAddedMs)} ms`,
    `  goal: review ≤ ${GOAL_REVIEW_COLD_MS} ms cold: ${int(h.reviewCold.median)} ms: ${metText(h.goals.reviewCold)}; ≤ ${GOAL_REVIEW_WARM_MS} ms warm: ${int(h.reviewWarm.median)} ms: ${metText(h.goals.reviewWarm)}`,
    `  review findings on the series (comments only, expected 0): ${h.reviewFindings}`,
  ].join('\n');
}

// ------------------------------------------------------------- printing ----

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (n: number | null) => (n === null ? 'n/a' : int(n));
const metText = (met: boolean | null) => (met === null ? 'unknown' : met ? 'met' : 'NOT met');

function table(rows: string[][], rightAligned: (column: number) => boolean): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) => '  ' + row.map((cell, column) => (rightAligned(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join('   ').trimEnd())
    .join('\n');
}

function describeWork(work: LintSummary): string[] {
  const f = work.findings;
  return [
    `work: ${int(work.files)} files read, ${int(work.parsed)} parsed, ${int(work.functions)} functions, ${int(work.syncSites)} sync sites, ${int(work.diagnostics)} diagnostics`,
    `findings: ${f.total} (error ${f.error}, warning ${f.warning}, note ${f.note})` +
      (work.model ? `; model: ${work.model.pathsReplayed} paths replayed, ${work.model.coherent} coherent, ${work.model.incoherent} incoherent` : '; model: not run'),
    `inactive rules: ${work.inactiveRules.length ? work.inactiveRules.map((r) => `${r.ruleId} (${r.reason})`).join('; ') : 'none'}`,
  ];
}

function formatLintVsGrep(r: LintVsGrep): string {
  const rssRange = (s: Spread | null) => (s ? `${mb(s.median)} (${mb(s.min)}–${mb(s.max)})` : 'n/a');
  const rows = [
    ['', 'median ms', 'min ms', 'max ms', 'peak RSS MB (min–max)'],
    ['grep -rlE (floor)', int(r.grep.wallMs.median), int(r.grep.wallMs.min), int(r.grep.wallMs.max), rssRange(r.grep.peakRssMb)],
    ['flushcheck lint', int(r.lint.wallMs.median), int(r.lint.wallMs.min), int(r.lint.wallMs.max), rssRange(r.lint.peakRssMb)],
    ['  its own stats.ms', int(r.lint.statsMs.median), int(r.lint.statsMs.min), int(r.lint.statsMs.max), ''],
  ];
  const { ratioToGrep, peakRssMb } = r.goals;
  return [
    `1. lint vs grep, full tree ${r.tree}`,
    `   ${r.runs === 1 ? "1 run" : `${r.runs} interleaved runs`} after an untimed warm-up grep; wall = spawn to exit`,
    table(rows, (column) => column > 0),
    `  ratio lint/grep (medians): ${ratioToGrep.value.toFixed(2)}×   goal ≤ ${ratioToGrep.limit.toFixed(1)}×: ${metText(ratioToGrep.met)}`,
    `  lint peak RSS (worst run): ${mb(peakRssMb.value)} MB   goal < ${peakRssMb.limit} MB: ${metText(peakRssMb.met)}`,
    ...formatCpuUse([['lint', r.lint.cpu], ['grep', r.grep.cpu]]),
    `  grep: ${int(r.grep.matchingFiles)} files contain a sync call`,
    ...describeWork(r.lint.work).map((line) => `  lint ${line}`),
    r.lint.deterministic ? '  lint results identical across runs' : '  WARNING: lint results differ between runs',
  ].join('\n');
}

function formatLinux612(r: Linux612Run): string {
  const rows = [
    ['', 'wall ms', 'peak RSS MB'],
    ['grep -rlE (floor)', int(r.grep.wallMs), mb(r.grep.peakRssMb)],
    ['flushcheck lint', int(r.lint.wallMs), mb(r.lint.peakRssMb)],
    ['  its own stats.ms', int(r.lint.statsMs), ''],
  ];
  return [
    `2. linux-6.12, one run: ${r.tree}`,
    table(rows, (column) => column > 0),
    `  ratio lint/grep: ${(r.lint.wallMs / r.grep.wallMs).toFixed(2)}×`,
    ...describeWork(r.lint.work).map((line) => `  lint ${line}`),
    `  expected 0 findings: ${r.lint.work.findings.total} — ${metText(r.expectations.noFindings)}`,
    `  expected rule ${FLUSH_RULE_ID} inactive (no arch_sync_dma_flush in 6.12): ${metText(r.expectations.ruleInactive)}`,
  ].join('\n');
}

function formatModel(m: ModelFigures, runs: number): string {
  const modelRows = [
    ['scenario', 'lines', 'median ms', 'states explored', 'verdict'],
    ...m.rows.map((row) => [row.name, int(row.lines), row.ms.toFixed(2), int(row.statesExplored), row.verdict]),
  ];
  const bf = m.bruteForce;
  const bruteRows = [
    ['lines', 'brute-force states', 'ms', 'per-line model states'],
    ...bf.rows.map((row) => [
      int(row.lines),
      row.statesExplored === null ? `> ${int(bf.budget)} (budget)` : int(row.statesExplored),
      row.ms.toFixed(1),
      int(row.perLineStates),
    ]),
  ];
  return [
    `3. cache model (per-line explorer, src/model/check.ts), medians of ${runs} runs`,
    table(modelRows, (column) => column > 0 && column < 4),
    '  baseline: the brute-force whole-system explorer (src/model/brute-force.ts) on the same batched clean,',
    `  one run per size, stopped at ${int(bf.budget)} states:`,
    table(bruteRows, () => true),
    `  growth ≈ ${bf.growthPerLine.toFixed(1)}× states per line → 10,000 lines ≈ 10^${int(bf.log10StatesAt10000Lines)} states: infeasible`,
  ].join('\n');
}

function formatDiff(d: DiffFigures): string {
  const rssRange = (s: Spread | null) => (s ? `${mb(s.median)} (${mb(s.min)}–${mb(s.max)})` : 'n/a');
  const ratio = (r: number | null) => (r === null ? '' : `${r.toFixed(2)}×`);
  const rows = [
    ['', 'median ms', 'min ms', 'max ms', 'peak RSS MB (min–max)', 'files lowered', '÷ lint', '÷ cold'],
    ['flushcheck lint, full tree (baseline)', int(d.lint.wallMs.median), int(d.lint.wallMs.min), int(d.lint.wallMs.max), rssRange(d.lint.peakRssMb), '', '', ''],
    ...DIFF_CASES.map((kind) => {
      const c = d.cases[kind];
      return [`diff, ${DIFF_CASE_LABELS[kind]}`, int(c.wallMs.median), int(c.wallMs.min), int(c.wallMs.max), rssRange(c.peakRssMb), int(c.parsed.median), ratio(c.ratioToLint), ratio(c.ratioToCold)];
    }),
  ];
  const { warm, flush } = d.cases;
  if ('wallMs' in d.checkpatch) {
    const c = d.checkpatch.wallMs;
    rows.push([`perl ${CHECKPATCH} --no-tree, the warm change`, int(c.median), int(c.min), int(c.max), '', '', '', '']);
  }
  const checkpatchLine =
    'wallMs' in d.checkpatch
      ? `  goal: warm diff ≤ ${GOAL_WARM_TO_CHECKPATCH}× checkpatch.pl on the same change: in its own process ${d.checkpatch.ratio.toFixed(2)}×: ${metText(d.checkpatch.met)};` +
        ` through the resident process (--resident) ${d.checkpatch.residentRatio.toFixed(2)}×: ${metText(d.checkpatch.residentMet)}`
      : `  checkpatch.pl: not measured (${d.checkpatch.skipped})`;
  const quiet = (['cold', 'warm', 'unread'] as const).every((kind) => d.cases[kind].asExpectedInAllRuns);
  return [
    `4. diff on linux-7.x: flushcheck diff --cached --format json, GIT_DIR=${d.gitDir} GIT_WORK_TREE=${d.tree}`,
    `   ${d.runs === 1 ? '1 round' : `${d.runs} rounds`}, each staging a change in the index only (the tree is never written):`,
    `   cold = cache (${path.join(d.gitDir, 'flushcheck')}) removed, a comment line added inside ${DIFF_FUNCTION}() in ${DIFF_FILE};`,
    `   then, with the cache the previous run left: a different comment there (warm), and another through the resident process`,
    `   (--resident; started before the rounds and sent one untimed request; its peak RSS is not in the client's figure:`,
    `   ${d.residentRssMb === null ? 'n/a' : `${d.residentRssMb} MB`} after the last round); a comment appended to ${UNREAD_FILE} (no sync`,
    `   call: not read); the flush at the end of ${DIFF_FUNCTION}() removed (a new deferring function: one full-tree scan`,
    `   for its callers). A full-tree lint in each round, first or last alternately, is the baseline. wall = spawn to exit`,
    table(rows, (column) => column > 0),
    `  goal: a one-file change well under a second: warm median ${int(d.goal.valueMs)} ms, < ${int(d.goal.limitMs)} ms: ${metText(d.goal.met)}` +
      ` (margin ${Math.round(100 * (1 - d.goal.valueMs / d.goal.limitMs))}%)`,
    checkpatchLine,
    `  ratios (medians): warm/cold ${ratio(warm.ratioToCold)}, warm/lint ${ratio(warm.ratioToLint)}`,
    `  the change no rule reads costs ${ratio(d.cases.unread.wallMs.median / warm.wallMs.median)} the warm one: the warm figure is mostly the fixed cost`,
    '  of a run (node start, loading the code, git plumbing, the stored base analysis and cache files), not the change',
    '  files lowered: stats.parsed of the changed snapshot, files parsed or taken from the cache\'s stored IR',
    `  flush removed: ${flush.newFindings.length} new finding${flush.newFindings.length === 1 ? '' : 's'}` +
      (flush.newFindings.length ? ` (${flush.newFindings.join('; ')})` : '') +
      `; expected exactly "${EXPECTED_FLUSH_FINDING}", none fixed, in every run: ${metText(flush.asExpectedInAllRuns)}`,
    `  comment-only and not-read changes: 0 new, 0 fixed, exit 0 in every run: ${metText(quiet)}`,
    `  cache on disk after the last round: ${d.cacheMb.toFixed(1)} MB`,
  ].join('\n');
}

// ----------------------------------------------------------------- main ----

const MODEL_RUNS = 7;

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return error.exitCode === 0 ? 0 : 2; // --help, or a usage error commander has printed
  }
  if (options.tree !== undefined && !(existsSync(options.tree) && statSync(options.tree).isDirectory())) {
    process.stderr.write(`bench: --tree ${options.tree}: not a directory\n`);
    return 2;
  }

  // Progress only on a terminal: piped output (notes, CI logs) stays the report alone.
  const progress = (line: string) => {
    if (process.stderr.isTTY) process.stderr.write(`bench: ${line}\n`);
  };
  const print = (text: string) => process.stdout.write(text + '\n\n');
  const rssMethod = detectRssMethod();
  const figures: Record<string, unknown> = {
    machine: { node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length, memoryGb: Math.round(os.totalmem() / 2 ** 30), rssMethod },
  };

  print(
    `flushcheck bench — node ${process.version}, ${os.cpus().length} CPUs, ${Math.round(os.totalmem() / 2 ** 30)} GB, ${os.platform()} ${os.arch()}; ` +
      `peak RSS via ${rssMethod === 'usr-bin-time' ? `${TIME_BIN} %M` : rssMethod === 'proc-vmhwm-sampled' ? '/proc/<pid>/status VmHWM, sampled every 20 ms' : 'nothing (unavailable)'}`,
  );
  const nodeStart = measureNodeStart();
  figures.nodeStart = nodeStart;
  print(formatNodeStart(nodeStart));

  try {
    const tree7 = options.tree !== undefined ? path.resolve(options.tree) : newestLinux7();
    if (tree7 === null) {
      const message = `no complete linux-7.* tree in ${KERNEL_CACHE} (run \`npm run kernel:fetch\` or pass --tree DIR)`;
      print(`1. lint vs grep: skipped — ${message}`);
      figures.linux7 = { skipped: message };
    } else {
      const result = await measureLintVsGrep(tree7, options.runs, rssMethod, progress);
      print(formatLintVsGrep(result));
      figures.linux7 = result;
    }

    const tree612 = linux612();
    if (tree612 === null) {
      const message = `no complete linux-6.12 tree in ${KERNEL_CACHE}`;
      print(`2. linux-6.12: skipped — ${message}`);
      figures.linux612 = { skipped: message };
    } else {
      const result = await measureLinux612(tree612, rssMethod, progress);
      print(formatLinux612(result));
      figures.linux612 = result;
    }
  } catch (error) {
    if (!(error instanceof CommandFailed)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    return 1;
  }

  progress('cache model');
  const model: ModelFigures = { rows: benchModel(MODEL_RUNS), bruteForce: measureBruteForceGrowth() };
  print(formatModel(model, MODEL_RUNS));
  figures.model = model;

  const diffTree = options.tree !== undefined ? path.resolve(options.tree) : newestLinux7();
  const diffGitDir = diffTree === null ? null : gitDirFor(diffTree);
  if (diffTree === null || diffGitDir === null) {
    const message =
      diffTree === null
        ? `no complete linux-7.* tree in ${KERNEL_CACHE}`
        : `no git dir ${diffTree}.git tracking the tree (run \`npm run kernel:fetch\` to create it)`;
    print(`4. diff on linux-7.x: skipped — ${message}`);
    figures.diff = { skipped: message };
  } else {
    try {
      const result = await measureDiffSection(diffTree, diffGitDir, options.diffRuns, rssMethod, progress);
      print(formatDiff(result));
      figures.diff = result;
    } catch (error) {
      if (!(error instanceof CommandFailed)) throw error;
      process.stderr.write(`bench: ${error.message}\n`);
      return 1;
    }
  }

  if (diffTree !== null && diffGitDir !== null) {
    try {
      const result = await measureHookSection(diffTree, diffGitDir, options.diffRuns, rssMethod, progress);
      print(formatHook(result));
      figures.hook = result;
    } catch (error) {
      if (!(error instanceof CommandFailed)) throw error;
      process.stderr.write(`bench: ${error.message}\n`);
      return 1;
    }
  }

  const growthTree = options.tree !== undefined ? path.resolve(options.tree) : newestLinux7();
  if (growthTree === null) {
    print(`6. cost as the work grows: skipped — no complete linux-7.* tree in ${KERNEL_CACHE}`);
  } else {
    const growth = await measureGrowth(growthTree, options.runs, progress);
    print(formatGrowth(growth, options.runs));
    figures.growth = growth;
  }

  // Two decimals are plenty for timings; raw doubles would only add noise.
  const rounded = (_key: string, value: unknown) => (typeof value === 'number' && !Number.isInteger(value) ? Number(value.toFixed(2)) : value);
  if (options.json) process.stdout.write(JSON.stringify(figures, rounded, 2) + '\n');
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
