// The part of the tree the analysis has read: which files were scanned for
// which names, and the lowered IR of the files that matched. Only files that
// can matter are parsed: the first scan keeps the files naming a rule
// function; later rounds add the callers of deferring functions and the
// definitions of callees the analysis needs to see into.
import type { ConfigEnv } from './discover/kconfig.js';
import type { Snapshot } from './discover/snapshot.js';
import { preprocess } from './parse/preprocess.js';
import { ParseTimeout } from './parse/tree.js';
import { MAX_DATA_FILE_BYTES, MAX_RUN_PARSE_BYTES, ParseBudget } from './parse/budget.js';
import { sourceText } from './parse/source-text.js';
import { lowerFile } from './ir/lower.js';
import type { FileIR, FunctionCFG, FunctionIR } from './ir/types.js';
import { isStoredCfg, isStoredFile, restoreFile, storeFile, type StoredFile } from './ir/stored.js';
import { digest, type AnalysisCache } from './cache/store.js';
import { blobId } from './discover/git.js';
import type { Diagnostic } from './types.js';

const MAX_SCAN_BYTES = 256 * 1024 * 1024;
const DEFAULT_FILE_TIMEOUT_MS = 20_000;

/** A file lowered as the scan found it, with what it was lowered from (see Corpus.lowerEarly). */
interface EarlyLowering {
  content: Buffer;
  ir: FileIR;
  diagnostics: Diagnostic[];
  interestingVersion: number;
}

export interface CorpusOptions {
  /** The tree as analysed: its files, read only as asked. */
  snapshot: Snapshot;
  env: ConfigEnv;
  /** Fingerprint of the configuration, for cache keys. */
  envKey: string;
  cache?: AnalysisCache;
  jobs?: number;
  fileTimeoutMs?: number;
  diagnostics: Diagnostic[];
  trace: (message: string) => void;
  onProgress?: (phase: 'scan' | 'parse' | 'analyze', done: number, total: number) => void;
}

export class Corpus {
  /** Lowered files by root-relative path. */
  readonly parsed = new Map<string, FileIR>();
  /** How much this run parses (parse/budget.ts); `refused` files are in `parsed`, empty. */
  readonly parseBudget = new ParseBudget();
  /** Names some scan looked for. */
  private readonly scannedFor = new Set<string>();
  /** Names whose macros are worth lowering (rule names, deferring names). */
  private readonly interesting = new Set<string>();
  /** The bytes of every parsed file (later scans search them too, for the snapshot's record). */
  private readonly contents = new Map<string, Buffer>();
  /** Files lowered as the scan found them (see lowerEarly), by path. */
  private readonly early = new Map<string, EarlyLowering>();
  private readonly earlyQueue: [string, Buffer][] = [];
  /** Bumped whenever `interesting` changes: a file lowered before does not count after. */
  private interestingVersion = 0;
  private earlyBytes = 0;
  /** cacheKey's digest of the interesting names, for the version it was made at. */
  private interestingKey?: { version: number; key: string };

  constructor(private readonly opts: CorpusOptions) {}

  /** Macros mentioning these names are lowered as functions. */
  markInteresting(names: Iterable<string>): void {
    for (const n of names) {
      if (this.interesting.has(n)) continue;
      this.interesting.add(n);
      this.interestingVersion++;
    }
  }

  /**
   * Scan the files not parsed yet (only those under `within`, if given) for
   * names not scanned for before; parse the files that name one. Returns how
   * many files were added.
   */
  async scanAndParse(names: string[], within?: string[]): Promise<number> {
    const { opts } = this;
    const fresh = names.filter((n) => !this.scannedFor.has(n));
    if (!fresh.length) return 0;
    for (const n of fresh) this.scannedFor.add(n);
    this.markInteresting(fresh);
    const scan = await opts.snapshot.scan(fresh, within, this.contents, {
      jobs: opts.jobs,
      // Scanning is cheap even for 24 MB generated register headers; only
      // parsing has a size limit (below).
      maxFileBytes: MAX_SCAN_BYTES,
      onProgress: opts.onProgress ? (d: number, t: number) => opts.onProgress!('scan', d, t) : undefined,
      // Every matching file is lowered (unless the cache has it): start while the workers scan the rest.
      onMatch: (file, content) => this.lowerEarly(file, content),
    });
    // The last matches came with the workers' last batches: lowered now, as
    // parseAll would, and counted with the others (the count does not then
    // depend on which batch the workers finished last).
    while (this.earlyQueue.length) this.lowerNextEarly();
    opts.diagnostics.push(...scan.diagnostics);
    if (opts.cache) {
      opts.cache.stats.scanHits += scan.fromIndex;
      opts.cache.stats.scanMisses += scan.read;
    }
    opts.trace(`scanned ${scan.replayed ? 'the record' : `${scan.read + scan.fromIndex} files`} for ${fresh.length} names: ${scan.matched.size} match${scan.hashed === undefined ? '' : `, ${scan.hashed} hashed`}`);
    this.parseAll(scan.matched);
    return scan.matched.size;
  }

  /**
   * Queue a file the scan just kept, lowered between worker messages (one per
   * turn of the event loop, so the workers are fed meanwhile). On a 2-core
   * machine the main thread would otherwise wait idle for the scan, then
   * lower alone. parseAll takes the result if nothing it depends on changed.
   */
  private lowerEarly(file: string, content: Buffer): void {
    // Within the sizes parseAll admits, and no more in all than a run's parse budget (parse/budget.ts).
    if (this.parsed.has(file) || content.length > MAX_DATA_FILE_BYTES || this.earlyBytes + content.length > MAX_RUN_PARSE_BYTES) return;
    // A file the cache holds is restored, not lowered (lowerThroughCache).
    const cache = this.opts.cache;
    if (cache) {
      const key = this.cacheKey(file, content);
      if (cache.parses.has(key) || cache.files.has(key)) return;
    }
    this.earlyBytes += content.length;
    this.earlyQueue.push([file, content]);
    if (this.earlyQueue.length === 1) setImmediate(() => this.drainEarly());
  }

  private drainEarly(): void {
    this.lowerNextEarly();
    if (this.earlyQueue.length) setImmediate(() => this.drainEarly());
  }

  private lowerNextEarly(): void {
    const next = this.earlyQueue.shift();
    if (!next) return;
    const [file, content] = next;
    const diagnostics: Diagnostic[] = [];
    try {
      const ir = lowerSource(file, content, this.opts.env, this.interesting, diagnostics, this.opts.fileTimeoutMs ?? DEFAULT_FILE_TIMEOUT_MS);
      this.early.set(file, { content, ir, diagnostics, interestingVersion: this.interestingVersion });
    } catch {
      // parseAll lowers it again, and reports what goes wrong there.
    }
  }

  /** Read and parse these files (definitions the analysis asked for), unless parsed already. */
  parseFiles(files: string[]): number {
    const contents = new Map<string, Buffer>();
    for (const file of files) {
      if (this.parsed.has(file)) continue;
      const content = this.read(file);
      if (content) contents.set(file, content);
    }
    this.parseAll(contents);
    return contents.size;
  }

  /** Is `file` a source file of the analysed tree? */
  exists(file: string): boolean {
    return this.opts.snapshot.exists(file);
  }

  /** A file's bytes as the analysed snapshot has them, or null when it cannot be read. */
  read(file: string): Buffer | null {
    return this.opts.snapshot.read(file);
  }

  /** The cache's key of a file's lowered form: the bytes analysed (never what git says the file holds), the configuration and the interesting names. */
  private cacheKey(file: string, content: Buffer): string {
    if (this.interestingKey?.version !== this.interestingVersion) {
      this.interestingKey = { version: this.interestingVersion, key: digest(this.opts.envKey, ...[...this.interesting].sort()) };
    }
    let id = this.blobIds.get(content);
    if (id === undefined) this.blobIds.set(content, (id = blobId(content)));
    return digest(file, id, this.interestingKey.key);
  }

  /** A matched file's key is asked for when the scan finds it and again when it is parsed: its bytes are hashed once. */
  private readonly blobIds = new WeakMap<Buffer, string>();

  /** The file as lowerEarly lowered it, if from these bytes and with the interesting names as they are now. */
  private takeEarly(file: string, content: Buffer): EarlyLowering | undefined {
    const early = this.early.get(file);
    this.early.delete(file);
    return early && early.content === content && early.interestingVersion === this.interestingVersion ? early : undefined;
  }

  private parseAll(contents: Map<string, Buffer>): void {
    const { opts } = this;
    // Sorted: worker completion order must not decide the order functions are analysed in.
    const files = [...contents.keys()].sort();
    let i = 0;
    let lowered = 0;
    for (const file of files) {
      opts.onProgress?.('parse', ++i, files.length);
      const content = contents.get(file)!;
      this.contents.set(file, content);
      const refused = this.parseBudget.admit(content);
      if (refused) {
        opts.diagnostics.push({ file, reason: refused });
        this.parsed.set(file, emptyFile(file, 0));
        continue;
      }
      const early = this.takeEarly(file, content);
      const lower = (sink: Diagnostic[]): FileIR => {
        if (!early) return lowerSource(file, content, opts.env, this.interesting, sink, opts.fileTimeoutMs ?? DEFAULT_FILE_TIMEOUT_MS);
        sink.push(...early.diagnostics);
        lowered++;
        return early.ir;
      };
      if (!opts.cache) {
        this.parsed.set(file, lower(opts.diagnostics));
        continue;
      }
      const { ir, problems } = lowerThroughCache(opts.cache, this.cacheKey(file, content), file, lower);
      opts.diagnostics.push(...problems.map((reason) => ({ file, reason })));
      this.parsed.set(file, ir);
    }
    opts.trace(`parsed ${files.length} files${lowered ? ` (${lowered} lowered as the scan found them)` : ''}`);
    if (process.env.FLUSHCHECK_TRACE === 'files') opts.trace(files.join(' '));
  }
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
  // Checked by the store against isStoredFile.
  const stored = cache.files.get(key, isStoredFile) as StoredFile | undefined;
  let entry: { ir: FileIR; problems: string[] };
  if (stored) {
    cache.stats.storedFiles++;
    entry = { ir: restoreFile(file, stored, () => lower([])), problems: stored.problems };
  } else {
    const sink: Diagnostic[] = [];
    const ir = lower(sink);
    entry = { ir, problems: sink.map((d) => d.reason) };
  }
  // A file over the time budget is tried again next time rather than remembered as empty.
  if (!entry.problems.some((p) => p.includes('time budget'))) {
    if (!stored) cache.files.put(key, storeFile(entry.ir, entry.problems));
    entry = { ...entry, ir: withStoredCfgs(cache, key, entry.ir) };
  }
  cache.parses.set(key, entry);
  return entry;
}

/**
 * The file's functions with their CFGs kept in the cache: a CFG built once
 * (the analysis asks for those of functions that call something relevant)
 * is read back by later runs instead of parsing the file again, so a warm
 * run parses only the files that changed.
 */
function withStoredCfgs(cache: AnalysisCache, fileKey: string, ir: FileIR): FileIR {
  const store = cache.cfgs.checked(isStoredCfg);
  const functions = ir.functions.map((fn): FunctionIR => {
    let cfg: FunctionCFG | undefined;
    const key = digest(fileKey, fn.name, String(fn.line), String(fn.column));
    return {
      ...fn,
      digest: () => fn.digest(),
      cfg() {
        if (cfg) return cfg;
        const stored = store.get(key) as FunctionCFG | undefined;
        if (stored) {
          cache.stats.storedCfgs++;
          return (cfg = stored);
        }
        cfg = fn.cfg();
        store.put(key, cfg);
        return cfg;
      },
    };
  });
  return { ...ir, functions };
}

function emptyFile(file: string, parseErrors: number): FileIR {
  return { file, functions: [], exports: [], ops: [], valueRefs: [], macroNames: [], prototypes: [], parseErrors };
}

function lowerSource(file: string, buf: Buffer, env: ConfigEnv, interesting: Set<string>, diagnostics: Diagnostic[], timeoutMs: number): FileIR {
  // latin1 keeps one char per byte: non-UTF-8 input never throws and columns stay byte columns.
  const source = sourceText(buf.toString('latin1'));
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
    return emptyFile(file, 1);
  }
}
