// Orchestrator: discover -> parse -> lower -> analyze -> result.
//
// Only files that can matter are parsed: a first scan keeps the files naming a
// rule function; after analysis, the names of functions that defer maintenance
// to their callers are scanned for in the files not yet parsed, and so on
// until no new deferring function appears (a handful of rounds on a kernel).
import path from 'node:path';
import { createRequire } from 'node:module';
import { discoverFiles } from './discover/walk.js';
import { prefilter } from './discover/prefilter.js';
import { archSelects, loadDotConfig, KNOWN_ARCHES, type ConfigEnv } from './discover/kconfig.js';
import { preprocess } from './parse/preprocess.js';
import { lowerFile } from './ir/lower.js';
import { ParseTimeout } from './parse/tree.js';
import type { FileIR } from './ir/types.js';
import { Program } from './analyze/program.js';
import { ruleContext, ruleNames, runRule, scanNames, type RuleRun } from './analyze/rule.js';
import { loadRules } from './rules/load.js';
import { UsageError } from './errors.js';
import { replayFindings } from './model/replay.js';
import { checkScenario } from './model/check.js';
import { formatTimeline } from './model/timeline.js';
import type { Diagnostic, Finding, InactiveRule, LintResult, Rule } from './types.js';
import type { TreeSource } from './discover/source.js';
import { scanSnapshot } from './discover/scan.js';
import { digest, type AnalysisCache } from './cache/store.js';
import type { FunctionMemo } from './analyze/memo.js';
import { isStoredFile, restoreFile, storeFile } from './ir/stored.js';
import fs from 'node:fs';

export interface LintOptions {
  /** Scanned root; finding paths are relative to it. */
  root: string;
  /** Files or folders under root to analyse (default: root itself). */
  paths?: string[];
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
   * walking `root`: its file list (`paths` is then not used), and its contents
   * where they differ from disk.
   */
  source?: TreeSource;
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
const MAX_SCAN_BYTES = 256 * 1024 * 1024;
/** tree-sitter on a multi-megabyte generated file costs seconds and finds no DMA code. */
const MAX_PARSE_BYTES = 8 * 1024 * 1024;
const DEFAULT_FILE_TIMEOUT_MS = 20_000;

export const VERSION: string = (() => {
  try {
    return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

export async function runLint(opts: LintOptions): Promise<LintResult> {
  return (await analyzeTree(opts)).result;
}

export async function analyzeTree(opts: LintOptions): Promise<Analysis> {
  const started = performance.now();
  const arch = opts.arch ?? 'arm64';
  if (!KNOWN_ARCHES.includes(arch)) throw new UsageError(`unknown --arch '${arch}'; use one of: ${KNOWN_ARCHES.join(', ')}`);
  const root = path.resolve(opts.root);
  let env: ConfigEnv;
  try {
    env = opts.kconfigFile ? loadDotConfig(opts.kconfigFile, arch) : archSelects(root, arch);
  } catch (e) {
    const message = (e as Error).message;
    throw new UsageError(
      opts.kconfigFile
        ? `--kconfig: ${message}; pass the .config of a configured kernel build (make defconfig writes one), or leave --kconfig out to decide #if from arch/${arch}/Kconfig`
        : message,
    );
  }
  const rules = loadRules(opts.rulesDirs ?? [], opts.cache?.files);
  const diagnostics: Diagnostic[] = [];
  const inactive: InactiveRule[] = [];

  let candidates = rules.filter((r) => {
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

  const paths = (opts.paths?.length ? opts.paths : ['.']).map((p) => path.resolve(root, p));
  const source = opts.source;
  const discovered = source ? { files: source.files, diagnostics: [] } : await discoverFiles({ root, paths, arch });
  diagnostics.push(...discovered.diagnostics);
  const cache = opts.cache;
  const envKey = configFingerprint(env, opts.kconfigFile ?? path.join(root, 'arch', arch, 'Kconfig'));

  const parsed = new Map<string, FileIR>();
  const scannedFor = new Set<string>();
  const interesting = new Set<string>();
  const progress = opts.onProgress;

  const trace = process.env.FLUSHCHECK_TRACE ? (msg: string) => console.error(`[${Math.round(performance.now() - started)} ms] ${msg}`) : () => {};
  const scanAndParse = async (names: string[], within?: string[]) => {
    const fresh = names.filter((n) => !scannedFor.has(n));
    if (!fresh.length) return 0;
    fresh.forEach((n) => {
      scannedFor.add(n);
      interesting.add(n);
    });
    const unparsed = discovered.files.filter((f) => !parsed.has(f) && (!within || within.some((dir) => f.startsWith(dir))));
    const scanOptions = {
      jobs: opts.jobs,
      // Scanning is cheap even for 24 MB generated register headers; only
      // parsing has a size limit (below).
      maxFileBytes: MAX_SCAN_BYTES,
      onProgress: progress ? (d: number, t: number) => progress('scan', d, t) : undefined,
    };
    const scan = source ? await scanSnapshot(source, unparsed, fresh, cache?.scan, scanOptions) : await prefilter(root, unparsed, fresh, scanOptions);
    diagnostics.push(...scan.diagnostics);
    if (cache && 'fromIndex' in scan) {
      cache.stats.scanHits += scan.fromIndex;
      cache.stats.scanMisses += scan.read;
    }
    trace(`scanned ${unparsed.length} files for ${fresh.length} names: ${scan.matched.size} match`);
    // Sorted: worker completion order must not decide the order functions are analysed in.
    const matchedFiles = [...scan.matched.keys()].sort();
    const interestingKey = cache ? digest(envKey, ...[...interesting].sort()) : '';
    let i = 0;
    for (const file of matchedFiles) {
      progress?.('parse', ++i, matchedFiles.length);
      const content = scan.matched.get(file)!;
      const lower = (sink: Diagnostic[]) => lowerSource(file, content, env, interesting, sink, opts.fileTimeoutMs ?? DEFAULT_FILE_TIMEOUT_MS);
      const contentKey = source?.keys.get(file);
      if (!cache || !contentKey) {
        parsed.set(file, lower(diagnostics));
        continue;
      }
      const { ir, problems } = lowerThroughCache(cache, digest(file, contentKey, interestingKey), file, lower);
      diagnostics.push(...problems.map((reason) => ({ file, reason })));
      parsed.set(file, ir);
    }
    trace(`parsed ${scan.matched.size} files`);
    if (process.env.FLUSHCHECK_TRACE === 'files') trace([...scan.matched.keys()].join(' '));
    return scan.matched.size;
  };

  candidates.flatMap(ruleNames).forEach((n) => interesting.add(n));
  await scanAndParse(candidates.flatMap(scanNames));
  let program = new Program([...parsed.values()], { arch });

  candidates = candidates.filter((r) => {
    const needed = r.applies.definedFunction;
    if (needed && !program.defines(needed)) {
      inactive.push({ ruleId: r.id, reason: `the tree defines no ${needed}()` });
      return false;
    }
    return true;
  });

  const memos = new Map<string, FunctionMemo>(
    cache ? candidates.map((r) => [r.id, { store: cache.results, scope: digest(envKey, JSON.stringify({ ...r, source: '' }), process.env.FLUSHCHECK_MAX_STATES ?? ''), hits: 0, misses: 0 }]) : [],
  );
  let runs = new Map<string, RuleRun>();
  for (let round = 0; ; round++) {
    const before = runs;
    runs = new Map(candidates.map((r) => [r.id, runRule(program, ruleContext(r, env), before.get(r.id), memos.get(r.id))]));
    trace(`round ${round}: analysed ${program.functions.length} functions`);
    if (round >= MAX_FOLLOWUP_ROUNDS) break;
    // Callers of deferring functions may live in files no rule name appears in.
    const deferring = new Set<string>();
    const localDirs = new Map<string, string>();
    for (const run of runs.values()) {
      for (const [fn, sm] of run.summaries) {
        // Only deferrals on normal paths: a helper that leaves maintenance
        // pending only when it fails (error outcomes) is not worth another
        // pass over the tree; its callers in parsed files are still judged.
        if (!sm.outcomes?.some((o) => o.items.length > 0 && !o.error) || (fn.isStatic && fn.file.endsWith('.c'))) continue;
        const local = localHeaderDir(fn.file);
        if (local) localDirs.set(fn.name, local);
        else deferring.add(fn.name);
      }
    }
    trace(`deferring: ${[...deferring, ...localDirs.keys()].filter((n) => !scannedFor.has(n)).join(' ')}`);
    // Helpers in a subsystem's private header (kernel/dma/direct.h) can only
    // be called from that subsystem: no need to read the whole tree for them.
    const localAdded = await scanAndParse([...localDirs.keys()].filter((n) => !deferring.has(n)), [...new Set(localDirs.values())]);
    const added = localAdded + (await scanAndParse([...deferring]));
    if (!added) break;
    program = new Program([...parsed.values()], { arch });
  }

  const findings: Finding[] = [];
  let syncSites = 0;
  for (const run of runs.values()) {
    findings.push(...run.findings);
    syncSites += run.syncSites;
    for (const name of run.truncated) diagnostics.push({ file: program.byName.get(name)?.[0]?.file ?? '?', reason: `${name}(): too many paths; analysed with merged conditions` });
    for (const u of run.unjudged) {
      const [file, ...rest] = u.split(': ');
      diagnostics.push({ file, reason: rest.join(': ') });
    }
  }
  // Replay every finding's path, and every flushed sync path, on the cache model.
  const flushed = [...runs.values()].flatMap((run) => [...run.results.values()].flatMap((r) => r.completions.flatMap((c) => (c.samplePath ? [c.samplePath] : []))));
  const model = replayFindings(findings, flushed, (r) => (r.scenario && r.verdict === 'incoherent' ? formatTimeline(checkScenario(r.scenario), r.scenario) : undefined));
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.kind.localeCompare(b.kind) || a.ruleId.localeCompare(b.ruleId));

  if (cache) {
    for (const memo of memos.values()) {
      cache.stats.resultHits += memo.hits;
      cache.stats.resultMisses += memo.misses;
    }
  }
  // The same problem seen in several scan rounds is one diagnostic.
  const uniqueDiagnostics = [...new Map(diagnostics.map((d) => [`${d.file}\0${d.reason}`, d])).values()];
  const result: LintResult = {
    tool: 'flushcheck',
    version: VERSION,
    root,
    arch,
    findings,
    inactiveRules: inactive,
    stats: {
      files: discovered.files.length,
      parsed: parsed.size,
      functions: program.functions.length,
      syncSites,
      ms: Math.round(performance.now() - started),
      model,
      diagnostics: uniqueDiagnostics,
    },
  };
  return { result, program, rules, runs, env };
}

/**
 * A file's IR from this run's memory, else from its stored form (parsed only
 * if a CFG is asked for), else lowered now and stored. `problems`: what
 * lowering reported for the file, replayed when it is not lowered again.
 */
function lowerThroughCache(cache: AnalysisCache, key: string, file: string, lower: (sink: Diagnostic[]) => FileIR): { ir: FileIR; problems: string[] } {
  const memoized = cache.parses.get(key);
  if (memoized) {
    cache.stats.parseHits++;
    return memoized;
  }
  const stored = cache.files.get(key);
  let entry: { ir: FileIR; problems: string[] };
  if (isStoredFile(stored)) {
    cache.stats.storedFiles++;
    entry = { ir: restoreFile(file, stored, () => lower([])), problems: stored.problems };
  } else {
    const sink: Diagnostic[] = [];
    const ir = lower(sink);
    entry = { ir, problems: sink.map((d) => d.reason) };
    // A file over the time budget is tried again next time rather than remembered as empty.
    if (!entry.problems.some((p) => p.includes('time budget'))) cache.files.put(key, storeFile(ir, entry.problems));
  }
  cache.parses.set(key, entry);
  return entry;
}

/** What the configuration decides, for cache keys: the arch, where #if answers come from, and that file's text. */
function configFingerprint(env: ConfigEnv, file: string): string {
  let text = '';
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch {
    // No file: the origin and note say so.
  }
  return digest(env.arch, env.origin, env.note ?? '', text);
}

/**
 * The folder a header's functions are visible in, if it is a private header
 * (`kernel/dma/direct.h` is included as "direct.h" by kernel/dma/*.c), or
 * null for public headers (include/, arch/<x>/include/) and .c files.
 */
export function localHeaderDir(file: string): string | null {
  if (!file.endsWith('.h') || file.startsWith('include/') || /^arch\/[^/]+\/include\//.test(file)) return null;
  const slash = file.lastIndexOf('/');
  return slash < 0 ? '' : file.slice(0, slash + 1);
}

function lowerSource(file: string, buf: Buffer, env: ConfigEnv, interesting: Set<string>, diagnostics: Diagnostic[], timeoutMs: number): FileIR {
  if (buf.length > MAX_PARSE_BYTES) {
    diagnostics.push({ file, reason: `${buf.length} bytes, over the ${MAX_PARSE_BYTES}-byte parse limit; not analysed` });
    return { file, functions: [], exports: [], ops: [], valueRefs: [], macroNames: [], prototypes: [], parseErrors: 0 };
  }
  // latin1 keeps one char per byte: non-UTF-8 input never throws and columns stay byte columns.
  const source = buf.toString('latin1');
  try {
    const deadline = performance.now() + timeoutMs;
    const pre = preprocess(source, env);
    for (const problem of pre.problems ?? []) diagnostics.push({ file, reason: problem });
    const ir = lowerFile(file, pre.text, { interesting: (n) => interesting.has(n), deadline });
    if (ir.parseErrors > 0 && ir.functions.length === 0) diagnostics.push({ file, reason: `could not parse (${ir.parseErrors} syntax errors)` });
    return ir;
  } catch (e) {
    const reason =
      e instanceof ParseTimeout
        ? `over the ${timeoutMs} ms per-file time budget (${e.message}); not analysed`
        : e instanceof RangeError && /call stack/i.test(e.message)
          ? 'nested too deeply to parse (stack overflow); not analysed'
          : `internal error while parsing: ${(e as Error).message}`;
    diagnostics.push({ file, reason });
    return { file, functions: [], exports: [], ops: [], valueRefs: [], macroNames: [], prototypes: [], parseErrors: 1 };
  }
}
