// `npm run bench:cocci`: flushcheck side by side with Coccinelle on the same tree.
//
//   1. Makes sure `spatch` is there (installs Debian's `coccinelle` with apt-get
//      when it is missing, printing what it does).
//   2. Times, on the same full linux-7.x tree, interleaved and after one untimed
//      warm-up pass over the tree:
//        (a) spatch with bench/cocci/unflushed-sync.cocci, our intraprocedural
//            semantic patch for the same rule ("a sync from which some path
//            reaches the end of the function without arch_sync_dma_flush()"),
//            with a time limit;
//        (b) flushcheck lint TREE --format json --fail-on none.
//      Wall time (spawn to exit), peak RSS (/usr/bin/time %M: the largest single
//      process) and the sampled peak of the whole process group (spatch -j forks
//      workers; their RSS adds up).
//   3. Compares the two finding sets and explains every function where they
//      disagree, with the evidence read from the tree (the sync's guard and the
//      flush's guard, the `bool flush` parameter, the local `need_sync` flag, the
//      arch's Kconfig) and from flushcheck's own call graph (`flushcheck graph`:
//      which functions defer, under which condition, who calls them).
//      flushcheck's `note` findings (model-proven harmless) are listed apart.
//
// A benchmark, not a test: exit 0 whether or not the goal (flushcheck ≥ 3× faster)
// is met; 1 when a command fails outright; 2 on a usage error.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import YAML from 'yaml';
import { cpuRuns, formatCpuUse, machineBusyMs, otherCpuMs, parseTimeReport, TIME_FORMAT } from './cpu.js';
import { median } from './model.js';

// ------------------------------------------------------------ constants ----

/** This file runs from build/bench/; the product is the one `npm run build` puts in dist/. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI_PATH = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
const SP_FILE = path.join(REPO_ROOT, 'bench', 'cocci', 'unflushed-sync.cocci');
/** Our own C cases for the semantic patch; each sync it must report is marked EXPECT-REPORT. */
const SELFTEST_DIR = path.join(REPO_ROOT, 'bench', 'cocci', 'selftest');
const RULES_DIR = path.join(REPO_ROOT, 'rules');
const TIME_BIN = '/usr/bin/time';
const GOAL_SPEEDUP = 3;
const ISSUING = ['arch_sync_dma_for_device', 'arch_sync_dma_for_cpu'];
const FLUSH = 'arch_sync_dma_flush';
const TARGET_ARCH = 'arm64';
const BATCHED_KCONFIG = 'ARCH_HAS_BATCHED_DMA_SYNC';

// -------------------------------------------------------------- options ----

interface Options {
  tree?: string;
  runs: number;
  jobs: number;
  spatchTimeoutMin: number;
  save?: string;
  install: boolean;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function parseOptions(argv: string[]): Options {
  const program = new Command('bench:cocci')
    .description('flushcheck lint next to a Coccinelle semantic patch for the same rule, on the same tree')
    .option('--tree <dir>', 'linux-7.x tree (default: newest complete linux-7.* in the kernel cache)')
    .option('--runs <n>', 'interleaved spatch/lint runs (medians of 5: a single slow run of either moves a median of 3)', positiveInteger, 5)
    .option('--jobs <n>', 'spatch -j (when spatch supports it)', positiveInteger, 2)
    .option('--spatch-timeout-min <min>', 'time limit of one spatch run, in minutes', positiveNumber, 45)
    .option('--save <dir>', 'also write cocci.md and the raw outputs there')
    .option('--no-install', 'do not apt-get install coccinelle when spatch is missing')
    .allowExcessArguments(false)
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const opts = program.opts<Options>();
  return opts;
}

// ------------------------------------------------------- kernel trees ----
// Same lookup as bench/run.ts (not importable: it runs its main on import).

const KERNEL_CACHE = process.env.FLUSHCHECK_KERNEL_CACHE ?? path.join(os.homedir(), '.cache', 'flushcheck-kernels');

function newestLinux7(): string | null {
  if (!existsSync(KERNEL_CACHE)) return null;
  const trees = readdirSync(KERNEL_CACHE)
    .filter((name) => /^linux-7\.\d+$/.test(name) && existsSync(path.join(KERNEL_CACHE, name, '.complete')))
    .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
  return trees.length ? path.join(KERNEL_CACHE, trees[trees.length - 1]) : null;
}

// ------------------------------------------------------- installing spatch ----

class BenchFailed extends Error {}

function spatchVersion(): string | null {
  const r = spawnSync('spatch', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split('\n')[0].trim();
}

/** Runs an apt-get command, printing the command and the lines that say what it did. */
function aptGet(args: string[], print: (line: string) => void): boolean {
  print(`  $ apt-get ${args.join(' ')}`);
  const r = spawnSync('apt-get', args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) {
    print(`    could not run apt-get: ${r.error.message}`);
    return false;
  }
  const lines = `${r.stdout}\n${r.stderr}`.split('\n');
  const said = lines.filter((l) =>
    /^(The following|Suggested packages|Recommended packages|  \S|\d+ upgraded|Need to get|After this operation|Setting up coccinelle|Fetched|Hit:|Get:\d+ \S+ \S+ \S+ InRelease|Reading package lists... Done|E:|Err:|W:)/.test(
      l,
    ),
  );
  for (const l of said.slice(0, 40)) print(`    ${l}`);
  if (said.length > 40) print(`    … (${said.length - 40} more lines)`);
  print(`    exit ${r.status}`);
  return r.status === 0;
}

function ensureSpatch(install: boolean, print: (line: string) => void): string {
  const found = spatchVersion();
  if (found) {
    const where = spawnSync('sh', ['-c', 'command -v spatch'], { encoding: 'utf8' }).stdout.trim();
    print(`spatch: ${where} (${found}); nothing to install`);
    return found;
  }
  if (!install) throw new BenchFailed('spatch is not installed (and --no-install was given): apt-get install coccinelle');
  print('spatch: not found; installing Debian\'s coccinelle');
  if (process.getuid?.() !== 0) print('  warning: not root, apt-get will probably refuse');
  if (!aptGet(['install', '-y', 'coccinelle'], print)) {
    print('  the install failed: refreshing the package lists first');
    aptGet(['update'], print);
    if (!aptGet(['install', '-y', 'coccinelle'], print)) throw new BenchFailed('apt-get install -y coccinelle failed');
  }
  const installed = spatchVersion();
  if (!installed) throw new BenchFailed('coccinelle installed but `spatch --version` still fails');
  print(`spatch: installed (${installed})`);
  return installed;
}

// ------------------------------------------------- measuring a command ----

interface Measurement {
  wallMs: number;
  /** /usr/bin/time %M: the largest single process (MB). */
  peakRssMb: number | null;
  /** Sampled peak of the sum over the whole process group (MB): spatch -j forks workers. */
  groupPeakRssMb: number | null;
  /** CPU time, user + system, of the command and the children it waited for (spatch's workers), from GNU time (ms), or null. */
  cpuMs: number | null;
  /** CPU the rest of the machine used meanwhile (ms, bench/cpu.ts), or null. */
  otherCpuMs: number | null;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

const PAGE_KB = (() => {
  const r = spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n / 1024 : 4;
})();

/** Sum of the resident sets (kB) of every process in group `pgid`, read from /proc. */
function groupRssKb(pgid: number): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …; comm may contain spaces, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const statm = readFileSync(`/proc/${entry}/statm`, 'utf8').split(' ');
      total += Number(statm[1]) * PAGE_KB;
    } catch {
      // the process exited between readdir and read
    }
  }
  return total;
}

/**
 * Runs a command in its own process group (so a time limit can stop it and all
 * its workers, and nothing else), under /usr/bin/time when it is there.
 */
async function runMeasured(command: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<Measurement> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'flushcheck-cocci-'));
  const rssFile = path.join(tmp, 'rss');
  const useTime = existsSync(TIME_BIN);
  const [file, argv] = useTime ? [TIME_BIN, ['-f', TIME_FORMAT, '-o', rssFile, command, ...args]] : [command, args];
  try {
    return await new Promise<Measurement>((resolve, reject) => {
      const busyBefore = machineBusyMs();
      const start = performance.now();
      const child = spawn(file, argv, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      let groupPeakKb = 0;
      const sampler = setInterval(() => {
        if (child.pid !== undefined) groupPeakKb = Math.max(groupPeakKb, groupRssKb(child.pid));
      }, 50);
      let timedOut = false;
      const killGroup = () => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, 'SIGKILL'); // the group this spawn created, and only it
        } catch {
          // already gone
        }
      };
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              killGroup();
            }, opts.timeoutMs);
      const onSignal = () => {
        killGroup();
        process.exit(130);
      };
      process.once('SIGINT', onSignal);
      child.on('error', (error) => {
        clearInterval(sampler);
        clearTimeout(timer);
        process.removeListener('SIGINT', onSignal);
        reject(error);
      });
      child.on('close', (exitCode, signal) => {
        const wallMs = performance.now() - start;
        const busyAfter = machineBusyMs();
        clearInterval(sampler);
        clearTimeout(timer);
        process.removeListener('SIGINT', onSignal);
        let peakKb: number | null = null;
        let cpuMs: number | null = null;
        if (useTime && existsSync(rssFile)) ({ peakKb, cpuMs } = parseTimeReport(readFileSync(rssFile, 'utf8')));
        resolve({
          wallMs,
          peakRssMb: peakKb === null ? null : peakKb / 1024,
          groupPeakRssMb: groupPeakKb > 0 ? groupPeakKb / 1024 : null,
          cpuMs,
          otherCpuMs: otherCpuMs(busyBefore, busyAfter, cpuMs),
          exitCode,
          signal,
          timedOut,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        });
      });
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------- spatch ----

interface SpatchConfig {
  version: string;
  args: string[];
  jobs: number | null;
  python: boolean;
}

function spatchConfig(tree: string, version: string, jobs: number): SpatchConfig {
  const help = spawnSync('spatch', ['--help'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const helpText = `${help.stdout ?? ''}${help.stderr ?? ''}`;
  const hasJobs = /--jobs\b/.test(helpText);
  const full = spawnSync('spatch', ['--version'], { encoding: 'utf8' });
  const python = /Python scripting support:\s*yes/i.test(`${full.stdout}${full.stderr}`);
  // As the kernel's scripts/coccicheck runs a report-mode semantic patch:
  // -D report, --no-show-diff, --very-quiet, --no-includes --include-headers,
  // --jobs N --chunksize 1, and (from the tree's .cocciconfig) --timeout 200.
  // Not --use-gitgrep/--use-idutils: the tree is no git checkout and has no
  // index, so spatch scans every file for the semantic patch's tokens itself.
  const args = [
    '--sp-file', SP_FILE,
    '-D', 'report',
    '--dir', tree,
    '--no-includes', '--include-headers',
    '--no-show-diff', '--very-quiet',
    '--timeout', '200',
    ...(hasJobs ? ['--jobs', String(jobs), '--chunksize', '1'] : []),
  ];
  return { version, args, jobs: hasJobs ? jobs : null, python };
}

interface SpatchFinding {
  file: string;
  line: number;
  function: string;
}

/** `file:line: function`, as printed by the script:python rule of the semantic patch. */
function parseSpatch(stdout: string, tree: string): SpatchFinding[] {
  const out: SpatchFinding[] = [];
  const prefix = tree.endsWith('/') ? tree : `${tree}/`;
  for (const raw of stdout.split('\n')) {
    const m = /^(.+):(\d+): (\w+)$/.exec(raw.trim());
    if (!m) continue;
    const file = m[1].startsWith(prefix) ? m[1].slice(prefix.length) : m[1].replace(/^\.\//, '');
    out.push({ file, line: Number(m[2]), function: m[3] });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

/** Runs the semantic patch on bench/cocci/selftest and checks it reports exactly the EXPECT-REPORT syncs. */
function selfTest(cfg: SpatchConfig, cwd: string): { ok: boolean; lines: string[] } {
  const args = cfg.args.map((a, i) => (cfg.args[i - 1] === '--dir' ? SELFTEST_DIR : a));
  const r = spawnSync('spatch', args, { cwd, encoding: 'utf8' });
  const got = new Set(parseSpatch(r.stdout ?? '', SELFTEST_DIR).map((f) => `${f.file}:${f.line}`));
  const want = new Set<string>();
  for (const file of readdirSync(SELFTEST_DIR).filter((n) => /\.[ch]$/.test(n)).sort()) {
    readFileSync(path.join(SELFTEST_DIR, file), 'utf8')
      .split('\n')
      .forEach((l, i) => {
        if (/EXPECT-REPORT/.test(l) && /\barch_sync_dma_for_\w+\s*\(/.test(l)) want.add(`${file}:${i + 1}`);
      });
  }
  const missing = [...want].filter((k) => !got.has(k));
  const extra = [...got].filter((k) => !want.has(k));
  const lines = [
    `self-test on bench/cocci/selftest (${want.size} syncs to report, the others not): ${got.size} reported` +
      (missing.length || extra.length ? '' : ' — exactly the expected ones'),
  ];
  if (r.status !== 0) lines.push(`  spatch exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`);
  if (missing.length) lines.push(`  MISSING: ${missing.join(', ')}`);
  if (extra.length) lines.push(`  UNEXPECTED: ${extra.join(', ')}`);
  return { ok: r.status === 0 && !missing.length && !extra.length, lines };
}

// ---------------------------------------------------------- flushcheck ----

interface FcFinding {
  severity: 'error' | 'warning' | 'note';
  kind: string;
  ruleId: string;
  function: string;
  file: string;
  line: number;
  message: string;
  path?: { file: string; line: number; event: string }[];
  sync?: { callee: string; function: string; file: string; line: number };
  model?: { verdict: string; reason: string };
}

interface FcReport {
  findings: FcFinding[];
  stats: { files: number; parsed: number; functions: number; syncSites: number; ms: number; diagnostics: unknown[] };
}

// ------------------------------------------------------------- graph ----

interface GraphNode {
  name: string;
  tags: string[];
  defersWhen: string | null;
  errorPathsOnly: boolean;
  file: string;
  line: number;
  callees: { name: string; line: number }[];
}

/** Parses `flushcheck graph --format text`: `name [tags] file:line` and `    -> callee (kind, line N)`. */
function parseGraph(text: string): Map<string, GraphNode> {
  const nodes = new Map<string, GraphNode>();
  let current: GraphNode | null = null;
  for (const line of text.split('\n')) {
    // `    -> callee (call, file.c:123)` (graph.ts formatGraphText).
    const edge = /^\s+->\s+(\S+)\s+\((?:[\w-]+), \S+:(\d+)\)/.exec(line);
    if (edge && current) {
      current.callees.push({ name: edge[1], line: Number(edge[2]) });
      continue;
    }
    const node = /^(\S+) \[(.*)\] (\S*):(\d+)$/.exec(line);
    if (!node) continue;
    let tagText = node[2];
    let defersWhen: string | null = null;
    let errorPathsOnly = false;
    // `defers when X`, `defers on error paths, when X`, `defers on error paths only` (graph.ts).
    const at = tagText.indexOf('defers ');
    if (at >= 0) {
      const phrase = tagText.slice(at + 'defers '.length).trim();
      tagText = tagText.slice(0, at);
      errorPathsOnly = phrase.startsWith('on error paths');
      const when = /^(?:on error paths, )?when (.*)$/.exec(phrase);
      defersWhen = when ? when[1]!.trim() : null;
    }
    current = {
      name: node[1],
      tags: tagText.split(',').map((t) => t.trim()).filter(Boolean),
      defersWhen,
      errorPathsOnly,
      file: node[3],
      line: Number(node[4]),
      callees: [],
    };
    nodes.set(current.name, current);
  }
  return nodes;
}

function callersOf(graph: Map<string, GraphNode>, name: string): GraphNode[] {
  return [...graph.values()].filter((n) => n.callees.some((c) => c.name === name));
}

/** Functions reachable from `roots` through the call edges of the graph (the roots included). */
function reachableFrom(graph: Map<string, GraphNode>, roots: string[]): Set<string> {
  const seen = new Set<string>(roots);
  const work = [...roots];
  while (work.length) {
    const n = graph.get(work.pop()!);
    for (const c of n?.callees ?? []) {
      if (!seen.has(c.name)) {
        seen.add(c.name);
        work.push(c.name);
      }
    }
  }
  return seen;
}

interface Contract {
  defer: string;
  complete: string;
}

function loadContracts(): Contract[] {
  const out: Contract[] = [];
  if (!existsSync(RULES_DIR)) return out;
  for (const f of readdirSync(RULES_DIR).filter((n) => /\.ya?ml$/.test(n))) {
    try {
      const doc = YAML.parse(readFileSync(path.join(RULES_DIR, f), 'utf8')) as { contracts?: Contract[] };
      for (const c of doc?.contracts ?? []) if (c?.defer && c?.complete) out.push({ defer: c.defer, complete: c.complete });
    } catch {
      // an unreadable rule file is flushcheck's problem, not the bench's
    }
  }
  return out;
}

// ---------------------------------------------------- reading the code ----

const normalize = (s: string) => s.replace(/\s+/g, '');

/** Splits `a && (b && c) && d` on the operator at parenthesis depth 0. */
function splitTop(text: string, op: '&&' | '||'): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && text.startsWith(op, i)) {
      parts.push(text.slice(from, i).trim());
      from = i + op.length;
      i += op.length - 1;
    }
  }
  parts.push(text.slice(from).trim());
  return parts.filter(Boolean);
}

class SourceCache {
  private files = new Map<string, string[] | null>();
  constructor(private tree: string) {}
  lines(file: string): string[] | null {
    if (!this.files.has(file)) {
      try {
        this.files.set(file, readFileSync(path.join(this.tree, file), 'utf8').split('\n'));
      } catch {
        this.files.set(file, null);
      }
    }
    return this.files.get(file)!;
  }
}

interface FunctionBody {
  /** 0-based indices into the file's lines. */
  start: number;
  end: number;
  signature: string;
}

/** The kernel-style definition of `fn` around `line` (1-based): starts in column 0, ends at the first `}` in column 0. */
function functionAround(lines: string[], fn: string, line: number): FunctionBody | null {
  const head = new RegExp(`^[A-Za-z_].*\\b${fn}\\s*\\(`);
  let start = -1;
  for (let i = Math.min(line - 1, lines.length - 1); i >= 0; i--) {
    if (head.test(lines[i])) {
      start = i;
      break;
    }
  }
  if (start < 0) return null;
  let end = lines.length - 1;
  for (let i = line - 1; i < lines.length; i++) {
    if (/^}/.test(lines[i])) {
      end = i;
      break;
    }
  }
  let sigEnd = start;
  while (sigEnd < end && !/^\{/.test(lines[sigEnd + 1] ?? '') && !/\)\s*\{?\s*$/.test(lines[sigEnd])) sigEnd++;
  return { start, end, signature: lines.slice(start, sigEnd + 1).join(' ') };
}

/** The text inside the first balanced parentheses after `if`. */
function ifCondition(text: string): string | null {
  const at = text.search(/\bif\s*\(/);
  if (at < 0) return null;
  const open = text.indexOf('(', at);
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i).trim();
  }
  return null;
}

/**
 * The condition of the `if` that directly guards the statement at `idx`
 * (0-based): `if (c) stmt;`, `if (c)\n stmt;`, or `stmt` first in `if (c) {`.
 * Multi-line conditions are joined.
 */
function guardOf(lines: string[], idx: number, floor: number): string | null {
  let i = idx - 1;
  while (i > floor && (/^\s*$/.test(lines[i]) || /^\s*(\/\*.*\*\/|\/\/.*)\s*$/.test(lines[i]))) i--;
  const collected: string[] = [];
  for (let k = 0; k < 5 && i > floor; k++, i--) {
    collected.unshift(lines[i]);
    if (/^\s*(?:}\s*)?(?:else\s+)?if\s*\(/.test(lines[i])) {
      const text = collected.join(' ');
      // `if (c) {` must open right before the statement; `if (c)` alone guards it.
      if (!/[;}]\s*$/.test(text.replace(/\{\s*$/, ''))) return ifCondition(text);
      return null;
    }
    if (/[;{}]\s*$/.test(lines[i]) && k > 0) return null;
    if (k === 0 && /[;}]\s*$/.test(lines[i])) return null;
  }
  return null;
}

interface CodeEvidence {
  body: FunctionBody | null;
  syncGuard: string | null;
  flushLines: number[];
  flushGuards: (string | null)[];
  /** A `bool P` parameter that guards a flush. */
  boolParam: string | null;
  /** A local `bool L = <same test as the sync's guard>` that guards a flush, and is never written again. */
  flag: { name: string; init: string; rewritten: boolean } | null;
  /** A flush guarded by the very same test as the sync. */
  sameTest: string | null;
  /** `return` statements in the function before its last flush (1-based lines). */
  earlyReturns: { line: number; text: string }[];
}

function readEvidence(src: SourceCache, file: string, fn: string, line: number): CodeEvidence {
  const empty: CodeEvidence = {
    body: null, syncGuard: null, flushLines: [], flushGuards: [], boolParam: null, flag: null, sameTest: null, earlyReturns: [],
  };
  const lines = src.lines(file);
  if (!lines) return empty;
  const body = functionAround(lines, fn, line);
  if (!body) return empty;
  const syncGuard = guardOf(lines, line - 1, body.start);
  const flushLines: number[] = [];
  for (let i = body.start; i <= body.end; i++) if (new RegExp(`\\b${FLUSH}\\s*\\(`).test(lines[i])) flushLines.push(i + 1);
  const flushGuards = flushLines.map((l) => guardOf(lines, l - 1, body.start));
  const text = lines.slice(body.start, body.end + 1).join('\n');
  let boolParam: string | null = null;
  let flag: CodeEvidence['flag'] = null;
  let sameTest: string | null = null;
  for (const g of flushGuards) {
    if (!g) continue;
    if (syncGuard && normalize(g) === normalize(syncGuard)) sameTest = g;
    if (/^\w+$/.test(g)) {
      if (new RegExp(`\\bbool\\s+${g}\\b`).test(body.signature)) boolParam = g;
      const init = new RegExp(`\\bbool\\s+${g}\\s*=\\s*([^;]+);`).exec(text);
      if (init) {
        const writes = text.match(new RegExp(`\\b${g}\\s*(?:[|&^+-]?=)(?!=)`, 'g')) ?? [];
        flag = { name: g, init: init[1].replace(/\s+/g, ' ').trim(), rewritten: writes.length > 1 };
      }
    }
  }
  const lastFlush = flushLines.length ? Math.max(...flushLines) : line;
  const earlyReturns: CodeEvidence['earlyReturns'] = [];
  for (let i = line; i < lastFlush - 1; i++) {
    if (/\breturn\b/.test(lines[i])) {
      // Show the test that leads to it when it is on the line(s) above.
      const guard = guardOf(lines, i, body.start);
      earlyReturns.push({ line: i + 1, text: guard ? `if (${guard.replace(/\s+/g, ' ')}) return` : lines[i].trim() });
    }
  }
  return { body, syncGuard, flushLines, flushGuards, boolParam, flag, sameTest, earlyReturns };
}

/** Does arch/<x>/Kconfig select the batched-sync symbol? */
function archSelectsBatched(tree: string, arch: string): boolean {
  try {
    return new RegExp(`select\\s+${BATCHED_KCONFIG}\\b`).test(readFileSync(path.join(tree, 'arch', arch, 'Kconfig'), 'utf8'));
  } catch {
    return false;
  }
}

// -------------------------------------------------------- comparison ----

type Category =
  | 'other architecture'
  | 'bool flush parameter'
  | 'correlated conditions'
  | 'need_sync flag'
  | 'deferral contract'
  | 'cross-function'
  | 'error path'
  | 'model note'
  | 'other';

interface Row {
  function: string;
  where: string;
  reportedBy: 'Coccinelle only' | 'flushcheck only';
  categories: Category[];
  reason: string;
}

interface Comparison {
  rows: Row[];
  notes: Row[];
  bothFunctions: string[];
  sameSyncs: { site: string; cocciFunction: string; flushcheckFunctions: string[] }[];
}

const code = (s: string) => `\`${s.replace(/\s+/g, ' ').replace(/`/g, "'")}\``;

function shortList(names: string[], max = 4): string {
  const uniq = [...new Set(names)];
  return uniq.length <= max ? uniq.join(', ') : `${uniq.slice(0, max).join(', ')} and ${uniq.length - max} more`;
}

/** The error test on a flushcheck path (`true: if (WARN_ON(!phys))`, `goto out_unmap`), for the reason text. */
function errorEvents(f: FcFinding): string[] {
  const events = (f.path ?? [])
    .map((p) => p.event)
    .filter(
      (e) =>
        /^true: if \(.*(?:\berr\w*\b|\berror\b|\bret\b|\brc\b|WARN_ON|BUG_ON|IS_ERR|_ERROR\b|< 0|-E[A-Z]+)/.test(e) ||
        /^goto \w+/.test(e),
    );
  return [...new Set(events)].slice(0, 3);
}

function compare(
  tree: string,
  cocci: SpatchFinding[],
  findings: FcFinding[],
  graph: Map<string, GraphNode>,
  contracts: Contract[],
): Comparison {
  const src = new SourceCache(tree);
  const fcFunctions = new Set(findings.filter((f) => f.severity !== 'note').map((f) => f.function));
  const cocciFunctions = new Set(cocci.map((c) => c.function));
  const cocciSites = new Map(cocci.map((c) => [`${c.file}:${c.line}`, c]));
  const contractChain = reachableFrom(graph, contracts.map((c) => c.defer));
  const rows: Row[] = [];
  const notes: Row[] = [];

  // ---- reported by Coccinelle, not by flushcheck (as an error/warning in that function)
  const byFunction = new Map<string, SpatchFinding[]>();
  for (const c of cocci) byFunction.set(`${c.file}\0${c.function}`, [...(byFunction.get(`${c.file}\0${c.function}`) ?? []), c]);
  for (const sites of byFunction.values()) {
    const { file, function: fn } = sites[0];
    if (fcFunctions.has(fn)) continue; // agreement on the function
    const where = sites.map((s) => `${s.file}:${s.line}`).join(', ');
    const categories: Category[] = [];
    const parts: string[] = [];
    const archMatch = /^arch\/([^/]+)\//.exec(file);
    if (archMatch && archMatch[1] !== TARGET_ARCH) {
      const arch = archMatch[1];
      categories.push('other architecture');
      parts.push(
        archSelectsBatched(tree, arch)
          ? `arch/${arch} is not the target (${TARGET_ARCH}); flushcheck --arch ${TARGET_ARCH} never reads it.`
          : `arch/${arch}/Kconfig does not select ${BATCHED_KCONFIG}, so ${FLUSH}() is the empty stub (include/linux/dma-map-ops.h) and arch/${arch}'s arch_sync_dma_for_*() complete their own maintenance: nothing is left pending. flushcheck --arch ${TARGET_ARCH} never reads arch/${arch}/.`,
      );
      rows.push({ function: fn, where, reportedBy: 'Coccinelle only', categories, reason: parts.join(' ') });
      continue;
    }
    const node = graph.get(fn);
    const ev = readEvidence(src, file, fn, sites[0].line);
    // The same sync reported by flushcheck, at the function it escapes from.
    const sameSync = findings.filter((f) => sites.some((s) => f.sync && f.sync.file === s.file && f.sync.line === s.line));
    const realSame = sameSync.filter((f) => f.severity !== 'note');
    if (realSame.length) {
      categories.push('cross-function');
      const evs = [...new Set(realSame.flatMap(errorEvents))];
      if (realSame.some((f) => /error path/.test(f.message))) categories.push('error path');
      parts.push(
        `Same bug, both tools: flushcheck reports this sync (${realSame[0].sync!.callee}() at line ${realSame[0].sync!.line}) where the pending maintenance escapes, at the hand-off function${realSame.length > 1 ? 's' : ''} ${shortList(realSame.map((f) => `${f.function}()`))} (${[...new Set(realSame.map((f) => f.severity))].join('/')}${realSame[0].model ? `, model ${realSame[0].model.verdict}` : ''}), not in ${fn}(), which it summarises as deferring${node?.errorPathsOnly ? ' on error paths only' : ''}${evs.length ? `: ${evs.map(code).join(', ')}` : ''}.`,
      );
    }
    if (ev.boolParam) {
      categories.push('bool flush parameter');
      const callers = callersOf(graph, fn).map((n) => n.name);
      const through = findings.filter((f) => f.sync?.function === fn);
      const real = through.filter((f) => f.severity !== 'note');
      const notesThrough = through.filter((f) => f.severity === 'note');
      let summary = '';
      if (node?.defersWhen) {
        const cases = splitTop(node.defersWhen, '||').map((c) => splitTop(c, '&&'));
        const common = cases[0].filter((t) => cases.every((c) => c.includes(t)));
        summary =
          cases.length === 1
            ? ` flushcheck's summary: defers when ${code(node.defersWhen)}.`
            : ` flushcheck's summary: defers in ${cases.length} cases, all of them under ${code(common.join(' && ') || 'different conditions')}.`;
      }
      parts.push(
        `The flush is under ${code(`if (${ev.boolParam})`)}, a \`bool ${ev.boolParam}\` parameter: with ${ev.boolParam}=false the caller owes the flush.${summary}` +
          (callers.length ? ` Its callers (${shortList(callers.map((c) => `${c}()`))}) are judged with that condition substituted` : '') +
          (real.length
            ? `; flushcheck reports ${shortList(real.map((f) => `${f.function}()`))} through it.`
            : notesThrough.length
              ? `; the only findings through it are error-path notes (${shortList(notesThrough.map((f) => `${f.function}()`))}, below).`
              : '; no finding through it.'),
      );
    }
    if (ev.flag && ev.syncGuard && normalize(ev.flag.init) === normalize(ev.syncGuard) && !ev.flag.rewritten) {
      categories.push('need_sync flag');
      parts.push(
        `The flush after the loop is under ${code(`if (${ev.flag.name})`)}, a local \`bool ${ev.flag.name} = ${ev.flag.init}\`: the same test that guards the sync, never written again. Coccinelle does not correlate the two; flushcheck does.`,
      );
    } else if (ev.sameTest) {
      categories.push('correlated conditions');
      parts.push(
        `The sync (in the loop) and the single flush after the loop are under the same test ${code(ev.sameTest)}; nothing in between writes its operands. Coccinelle's \`...\` also takes the infeasible path "test true in the loop, false after it"; flushcheck correlates them and proves every feasible path flushes.`,
      );
    }
    if (!ev.flushLines.length && node && contractChain.has(fn) && node.tags.includes('deferring')) {
      const c = contracts.find((k) => reachableFrom(graph, [k.defer]).has(fn))!;
      const chain = reachableFrom(graph, [c.defer]);
      const inside = callersOf(graph, fn).filter((n) => chain.has(n.name)).map((n) => `${n.name}()`);
      categories.push('deferral contract');
      const callersWithNotes = findings.filter((f) => f.sync && f.sync.function === fn).map((f) => `${f.function}()`);
      parts.push(
        `${fn}() never flushes: it is part of ${c.defer}() (called by ${shortList(inside)}), whose contract is to return with its syncs pending until the caller's ${c.complete}(). flushcheck judges the callers of ${c.defer}() instead` +
          (callersWithNotes.length ? `; its only findings through this sync are the model-proven-harmless notes (${shortList(callersWithNotes, 6)}), listed below.` : '.'),
      );
    } else if (!ev.flushLines.length && node?.tags.includes('deferring') && !categories.length) {
      categories.push('cross-function');
      const callers = callersOf(graph, fn).map((n) => `${n.name}()`);
      parts.push(`${fn}() never flushes; flushcheck summarises it as deferring (when ${code(node.defersWhen ?? 'always')}) and judges its callers${callers.length ? `, ${shortList(callers)}` : ''}.`);
    }
    if (!categories.length) {
      categories.push('other');
      parts.push(
        node?.tags.includes('deferring')
          ? `flushcheck summarises ${fn}() as deferring (${node.defersWhen ?? 'always'}) and judges its callers.`
          : `flushcheck proves every feasible path flushes (path-sensitive); Coccinelle follows every CFG path, feasible or not.` +
              (ev.flushGuards.length ? ` Flush guards: ${ev.flushGuards.map((g) => code(g ?? 'none')).join(', ')}; sync guard ${code(ev.syncGuard ?? 'none')}.` : ''),
      );
    }
    if (ev.earlyReturns.length && !categories.includes('error path') && realSame.length === 0 && !archMatch) {
      parts.push(`(Returns before the last flush: ${ev.earlyReturns.map((r) => `${code(r.text)} at ${r.line}`).join(', ')}.)`);
    }
    rows.push({ function: fn, where, reportedBy: 'Coccinelle only', categories, reason: parts.join(' ') });
  }

  // ---- reported by flushcheck, not by Coccinelle (in that function)
  for (const f of findings) {
    if (cocciFunctions.has(f.function)) continue;
    const through = f.path?.[0]?.event.match(/^(\w+)\(/)?.[1];
    const syncAt = f.sync ? `${f.sync.callee}() in ${f.sync.function}() at ${f.sync.file}:${f.sync.line}` : 'its sync';
    const cocciSame = f.sync ? cocciSites.get(`${f.sync.file}:${f.sync.line}`) : undefined;
    const categories: Category[] = [];
    const parts: string[] = [];
    const crossFn = f.sync && f.sync.function !== f.function;
    if (crossFn) {
      categories.push('cross-function');
      parts.push(
        `The sync is ${syncAt}, reached through ${through ? `${through}()` : 'a callee'}; Coccinelle's rule is intraprocedural and cannot see it in ${f.function}().` +
          (cocciSame ? ` Coccinelle does report that sync, in ${cocciSame.function}().` : ''),
      );
    }
    const contract = contracts.find((c) => f.sync && reachableFrom(graph, [c.defer]).has(f.sync.function));
    if (contract && f.severity === 'note') {
      categories.push('deferral contract');
      parts.push(`The sync is left pending by ${contract.defer}() under its contract; the caller owes ${contract.complete}().`);
    }
    if (/error path/.test(f.message)) {
      categories.push('error path');
      const evs = errorEvents(f);
      parts.push(`Only after an error check${evs.length ? `: ${evs.map(code).join(', ')}` : ''}.`);
    }
    if (f.severity === 'note') {
      categories.push('model note');
      parts.push(`Model: ${f.model?.verdict ?? f.kind} — ${f.model?.reason ?? f.message.replace(/^.*; /, '')}.`);
    } else if (f.model) {
      parts.push(`Model: ${f.model.verdict} (${f.model.reason}).`);
    }
    if (!categories.length) {
      categories.push('other');
      parts.push(`${f.kind} in ${f.function}() itself; Coccinelle did not report this function (parse failure or a path its CFG lacks).`);
    }
    const row: Row = {
      function: f.function,
      where: `${f.file}:${f.line}`,
      reportedBy: 'flushcheck only',
      categories,
      reason: `${f.severity} ${f.kind}. ${parts.join(' ')}`,
    };
    (f.severity === 'note' ? notes : rows).push(row);
  }

  const bothFunctions = [...cocciFunctions].filter((fn) => fcFunctions.has(fn)).sort();
  const sameSyncs: Comparison['sameSyncs'] = [];
  for (const c of cocci) {
    const fc = findings.filter((f) => f.severity !== 'note' && f.sync?.file === c.file && f.sync?.line === c.line).map((f) => f.function);
    if (fc.length) sameSyncs.push({ site: `${c.file}:${c.line}`, cocciFunction: c.function, flushcheckFunctions: [...new Set(fc)] });
  }
  return { rows, notes, bothFunctions, sameSyncs };
}

// ------------------------------------------------------------- output ----

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (n: number | null) => (n === null ? 'n/a' : int(n));

function textTable(rows: string[][], right: (c: number) => boolean): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => '  ' + r.map((cell, c) => (right(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('   ').trimEnd()).join('\n');
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function markdownRows(rows: Row[]): string {
  const head = '| # | function | where | reported by | category | reason (verified in the code) |\n|---|---|---|---|---|---|';
  return [head, ...rows.map((r, i) => `| ${i + 1} | \`${r.function}\` | ${mdCell(r.where)} | ${r.reportedBy} | ${r.categories.join(' + ')} | ${mdCell(r.reason)} |`)].join('\n');
}

// ---------------------------------------------------------------- main ----

interface RunPair {
  spatch: Measurement;
  lint: Measurement;
}

async function main(argv: string[]): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const print = (line = '') => process.stdout.write(`${line}\n`);
  const progress = (line: string) => process.stderr.write(`bench:cocci: ${line}\n`);

  const tree = opts.tree ? path.resolve(opts.tree) : newestLinux7();
  if (!tree || !existsSync(tree)) {
    process.stderr.write('bench:cocci: no linux-7.x tree: run `npm run kernel:fetch` or pass --tree DIR\n');
    return 2;
  }
  if (!existsSync(SP_FILE)) {
    process.stderr.write(`bench:cocci: missing semantic patch ${SP_FILE}\n`);
    return 2;
  }

  print(`flushcheck vs Coccinelle — node ${process.version}, ${os.cpus().length} CPUs, ${int(os.totalmem() / 2 ** 30)} GB, ${os.platform()} ${os.arch()}`);
  print(`tree: ${tree}`);
  print();
  print('0. spatch');
  let version: string;
  try {
    version = ensureSpatch(opts.install, (l) => print(`  ${l}`));
  } catch (error) {
    print(`  ${(error as Error).message}`);
    return 1;
  }
  const cfg = spatchConfig(tree, version, opts.jobs);
  if (!cfg.python) print('  warning: this spatch has no Python scripting support; the semantic patch prints through script:python');
  const spatchCmd = `spatch ${cfg.args.map((a) => (a === SP_FILE ? path.relative(process.cwd(), SP_FILE) || a : a)).join(' ')}`;
  // Run as a shell runs the installed bin, by its #! line (src/cli/main.ts: it sizes V8's thread pool to the cores).
  const lintArgs = ['lint', tree, '--format', 'json', '--fail-on', 'none'];
  const lintCmd = `${path.relative(process.cwd(), CLI_PATH)} lint ${tree} --format json --fail-on none`;
  print(`  (a) ${spatchCmd}`);
  print(`      jobs: ${cfg.jobs ?? 'not supported, one process'}; time limit ${opts.spatchTimeoutMin} min per run; run from an empty folder (no .cocciconfig)`);
  print(`  (b) ${lintCmd}`);
  const spatchCwd = mkdtempSync(path.join(os.tmpdir(), 'flushcheck-cocci-cwd-'));
  const st = selfTest(cfg, spatchCwd);
  for (const l of st.lines) print(`  ${l}`);
  if (!st.ok) {
    rmSync(spatchCwd, { recursive: true, force: true });
    print('  the semantic patch does not behave as written: not running it on the tree');
    return 1;
  }
  print();

  // Untimed warm-up: the first pass over the tree comes from disk; after it both
  // read from the page cache.
  progress('warming the page cache (untimed grep -rl over the tree)');
  spawnSync('grep', ['-rlE', `${ISSUING.join('|')}|${FLUSH}`, tree], { stdio: 'ignore' });

  const timeoutMs = opts.spatchTimeoutMin * 60_000;
  const pairs: RunPair[] = [];
  let spatchGaveUp = false;
  try {
    for (let run = 0; run < opts.runs; run++) {
      const spatchFirst = run % 2 === 0;
      let spatchRun: Measurement | null = null;
      let lintRun: Measurement | null = null;
      for (const which of spatchFirst ? ['spatch', 'lint'] : ['lint', 'spatch']) {
        if (which === 'spatch') {
          if (spatchGaveUp) {
            spatchRun = pairs[0].spatch;
            continue;
          }
          progress(`run ${run + 1}/${opts.runs}: spatch (limit ${opts.spatchTimeoutMin} min)`);
          spatchRun = await runMeasured('spatch', cfg.args, { cwd: spatchCwd, timeoutMs });
          progress(`  spatch: ${int(spatchRun.wallMs)} ms${spatchRun.timedOut ? ' (time limit)' : ''}, exit ${spatchRun.exitCode ?? spatchRun.signal}`);
          if (spatchRun.timedOut) spatchGaveUp = true; // one run past the limit is the result; do not repeat it
        } else {
          progress(`run ${run + 1}/${opts.runs}: flushcheck lint`);
          lintRun = await runMeasured(CLI_PATH, lintArgs);
          progress(`  lint: ${int(lintRun.wallMs)} ms, exit ${lintRun.exitCode ?? lintRun.signal}`);
          if (lintRun.exitCode !== 0) {
            print(`flushcheck lint failed (exit ${lintRun.exitCode ?? lintRun.signal}):\n${lintRun.stderr.trim().split('\n').slice(-10).join('\n')}`);
            return 1;
          }
        }
      }
      pairs.push({ spatch: spatchRun!, lint: lintRun! });
    }
  } finally {
    rmSync(spatchCwd, { recursive: true, force: true });
  }

  const first = pairs[0];
  const spatchFailed = !first.spatch.timedOut && first.spatch.exitCode !== 0;
  if (spatchFailed) {
    print(`spatch failed (exit ${first.spatch.exitCode ?? first.spatch.signal}):\n${first.spatch.stderr.trim().split('\n').slice(-15).join('\n')}`);
  }
  const spatchRuns = spatchGaveUp ? [first.spatch] : pairs.map((p) => p.spatch);
  const lintRuns = pairs.map((p) => p.lint);
  const reports = lintRuns.map((r) => JSON.parse(r.stdout) as FcReport);
  const cocciSets = spatchRuns.map((r) => parseSpatch(r.stdout, tree));
  const key = (xs: { file: string; line: number; function: string }[]) => JSON.stringify(xs.map((x) => `${x.file}:${x.line}:${x.function}`).sort());
  const lintStable = reports.every((r) => key(r.findings) === key(reports[0].findings));
  const cocciStable = cocciSets.every((s) => key(s) === key(cocciSets[0]));
  const cocci = cocciSets[0];
  const report = reports[0];

  // ---- 1. timings
  const sMed = median(spatchRuns.map((r) => r.wallMs));
  const lMed = median(lintRuns.map((r) => r.wallMs));
  const maxOf = (xs: (number | null)[]) => (xs.every((x): x is number => x !== null) ? Math.max(...xs) : null);
  print(`1. timings, full tree, ${opts.runs} interleaved run(s) after an untimed warm-up grep; wall = spawn to exit`);
  const timeRows = [
    ['', 'median ms', 'min ms', 'max ms', 'peak RSS MB', 'process-group peak MB'],
    [
      `spatch${cfg.jobs ? ` -j ${cfg.jobs}` : ''}`,
      spatchGaveUp ? `> ${int(timeoutMs)}` : int(sMed),
      int(Math.min(...spatchRuns.map((r) => r.wallMs))),
      int(Math.max(...spatchRuns.map((r) => r.wallMs))),
      mb(maxOf(spatchRuns.map((r) => r.peakRssMb))),
      mb(maxOf(spatchRuns.map((r) => r.groupPeakRssMb))),
    ],
    [
      'flushcheck lint',
      int(lMed),
      int(Math.min(...lintRuns.map((r) => r.wallMs))),
      int(Math.max(...lintRuns.map((r) => r.wallMs))),
      mb(maxOf(lintRuns.map((r) => r.peakRssMb))),
      mb(maxOf(lintRuns.map((r) => r.groupPeakRssMb))),
    ],
  ];
  print(textTable(timeRows, (c) => c > 0));
  print('  peak RSS: /usr/bin/time %M, the largest single process (worst run); process-group peak: sum over the group, sampled every 50 ms');
  for (const line of formatCpuUse([[`spatch${cfg.jobs ? ` -j ${cfg.jobs}` : ''}`, cpuRuns(spatchRuns)], ['lint', cpuRuns(lintRuns)]])) print(line);
  let ratioLine: string;
  if (spatchGaveUp) {
    const lower = timeoutMs / lMed;
    ratioLine = `spatch did not finish in ${opts.spatchTimeoutMin} min; flushcheck took ${int(lMed)} ms: ratio > ${lower.toFixed(lower < 10 ? 2 : 0)}×, goal flushcheck ≥ ${GOAL_SPEEDUP}× faster: ${lower >= GOAL_SPEEDUP ? 'met' : 'undecided (the limit is too short)'}`;
  } else {
    const ratio = sMed / lMed;
    ratioLine = `ratio spatch/flushcheck (medians): ${ratio.toFixed(2)}× — goal flushcheck ≥ ${GOAL_SPEEDUP}× faster: ${ratio >= GOAL_SPEEDUP ? 'met' : 'NOT met'}`;
  }
  print(`  ${ratioLine}`);
  print(`  per run (ms): spatch ${spatchRuns.map((r) => int(r.wallMs)).join(', ')}; lint ${lintRuns.map((r) => int(r.wallMs)).join(', ')}`);
  print(
    `  flushcheck work: ${int(report.stats.files)} files read (arm64 build), ${report.stats.parsed} parsed, ${int(report.stats.functions)} functions, ${report.stats.syncSites} sync sites, ${report.stats.diagnostics.length} diagnostics`,
  );
  print(`  results identical across runs: flushcheck ${lintStable ? 'yes' : 'NO'}, spatch ${spatchGaveUp ? 'one run' : cocciStable ? 'yes' : 'NO'}`);
  print();

  // ---- 2. findings
  print(`2. findings`);
  print(`  Coccinelle (${cocci.length} sync sites in ${new Set(cocci.map((c) => `${c.file}:${c.function}`)).size} functions${spatchGaveUp ? ', partial: time limit' : ''}):`);
  for (const c of cocci) print(`    ${c.file}:${c.line}: ${c.function}`);
  const bySev = (s: string) => report.findings.filter((f) => f.severity === s).length;
  print(`  flushcheck (${report.findings.length}: ${bySev('error')} error, ${bySev('warning')} warning, ${bySev('note')} note):`);
  for (const f of report.findings) {
    print(`    ${f.file}:${f.line}: ${f.function} [${f.severity} ${f.kind}] sync ${f.sync ? `${f.sync.callee}() in ${f.sync.function}() ${f.sync.file}:${f.sync.line}` : '?'}`);
  }
  print();

  // ---- 3. comparison
  progress('flushcheck graph (untimed, for the comparison)');
  const graphRun = spawnSync(process.execPath, [CLI_PATH, 'graph', tree], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const graph = graphRun.status === 0 ? parseGraph(graphRun.stdout) : new Map<string, GraphNode>();
  if (graphRun.status !== 0) print(`  (flushcheck graph failed, exit ${graphRun.status}: the reasons below use the code only)`);
  const cmp = compare(tree, cocci, report.findings, graph, loadContracts());
  print('3. where they disagree (by function)');
  print(`  functions both report: ${cmp.bothFunctions.length ? cmp.bothFunctions.join(', ') : 'none'}`);
  print(
    `  syncs both report: ${
      cmp.sameSyncs.length
        ? cmp.sameSyncs.map((s) => `${s.site} (Coccinelle: ${s.cocciFunction}(); flushcheck: ${s.flushcheckFunctions.map((f) => `${f}()`).join(', ')})`).join('; ')
        : 'none'
    }`,
  );
  const counts = new Map<string, number>();
  for (const r of cmp.rows) counts.set(r.categories[0], (counts.get(r.categories[0]) ?? 0) + 1);
  print(`  ${cmp.rows.length} disagreements: ${[...counts].map(([c, n]) => `${n} ${c}`).join(', ')}; plus ${cmp.notes.length} flushcheck notes (model-proven harmless)`);
  print();
  const md: string[] = [];
  md.push('# flushcheck vs Coccinelle on Linux 7.2');
  md.push('');
  md.push(`Generated by \`npm run bench:cocci\` (bench/cocci.ts) on ${new Date().toISOString().slice(0, 10)}; ${os.cpus().length} CPUs, node ${process.version}, ${version}.`);
  md.push('');
  md.push(`- Coccinelle: \`${spatchCmd}\``);
  md.push(`- flushcheck: \`${lintCmd}\``);
  md.push('');
  md.push('| | wall (median) | min–max | peak RSS (largest process) | process-group peak |');
  md.push('|---|---|---|---|---|');
  md.push(`| spatch | ${spatchGaveUp ? `did not finish in ${opts.spatchTimeoutMin} min` : `${int(sMed)} ms`} | ${timeRows[1][2]}–${timeRows[1][3]} ms | ${timeRows[1][4]} MB | ${timeRows[1][5]} MB |`);
  md.push(`| flushcheck lint | ${int(lMed)} ms | ${timeRows[2][2]}–${timeRows[2][3]} ms | ${timeRows[2][4]} MB | ${timeRows[2][5]} MB |`);
  md.push('');
  md.push(ratioLine.replace(/^ratio/, 'Ratio'));
  md.push('');
  md.push(`Coccinelle reports ${cocci.length} sync sites in ${new Set(cocci.map((c) => c.function)).size} functions; flushcheck ${report.findings.length} findings (${bySev('error')} error, ${bySev('warning')} warning, ${bySev('note')} note).`);
  md.push(`Functions both report: ${cmp.bothFunctions.length ? cmp.bothFunctions.join(', ') : 'none'}. Syncs both report: ${cmp.sameSyncs.length ? cmp.sameSyncs.map((s) => `${s.site} (Coccinelle in \`${s.cocciFunction}\`, flushcheck in ${s.flushcheckFunctions.map((f) => `\`${f}\``).join(', ')})`).join('; ') : 'none'}.`);
  md.push('');
  const tables = [
    '',
    '## Every function where they disagree',
    '',
    markdownRows(cmp.rows),
    '',
    '## flushcheck notes (severity note: model-proven harmless)',
    '',
    cmp.notes.length ? markdownRows(cmp.notes) : 'none',
    '',
  ].join('\n');
  const mdText = `${md.join('\n')}${tables}`;
  print(tables);

  if (opts.save) {
    mkdirSync(opts.save, { recursive: true });
    writeFileSync(path.join(opts.save, 'cocci.md'), `${mdText}\n`);
    writeFileSync(path.join(opts.save, 'cocci-spatch.out'), first.spatch.stdout);
    if (first.spatch.stderr.trim()) writeFileSync(path.join(opts.save, 'cocci-spatch.err'), first.spatch.stderr);
    writeFileSync(path.join(opts.save, 'cocci-flushcheck.json'), first.lint.stdout);
    print(`saved: ${path.join(opts.save, 'cocci.md')}, cocci-spatch.out${first.spatch.stderr.trim() ? ', cocci-spatch.err' : ''}, cocci-flushcheck.json`);
  }
  return spatchFailed ? 1 : 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`bench:cocci: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
