// Cheap "which files can matter" scan: read every discovered file once and keep
// only those that mention at least one identifier of interest as a whole word.
//
// Parsing is the expensive stage (tree-sitter manages a few MB/s); a kernel
// tree is ~1.4 GB of .c/.h of which a few dozen files mention the DMA sync
// calls. This scan runs at page-cache speed: files are read into one reused
// scratch buffer per thread and searched for all identifiers in one
// multi-pattern pass over the raw bytes -- no string decoding, no regex, no
// promise per file. Work is spread over worker_threads in batches.
// Measured by `npm run bench` (section 6: the scan alone is about 0.4x grep -rlE on 7.2).
//
// The same function serves follow-up scans ("which of these files mention
// these new names?"): the second pass over the same files hits the page cache,
// so it costs about as much as the first warm pass, and for small file lists
// it runs inline without starting workers at all.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Diagnostic } from '../types.js';
import { unchangedSinceCheck, type WorkTreeTrust } from './trust.js';

export interface PrefilterOptions {
  /** Worker threads (default, and at most, os.availableParallelism()); 0 scans on the calling thread. */
  jobs?: number;
  onProgress?: (done: number, total: number) => void;
  /** Larger files are skipped with a diagnostic (default 8 MB). */
  maxFileBytes?: number;
  /** Work out each read file's git blob id from the bytes read (caches key on what was analysed). */
  contentKeys?: boolean;
  /**
   * With contentKeys: git's check of which files hold their index blob
   * (discover/trust.ts). Files whose ctime and mtime, read after their
   * bytes, are before the check's `trustedBefore` are not hashed: the bytes
   * read are the ones git checked, and their key is the blob id git vouches
   * for (see ScanTrust).
   */
  trust?: ScanTrust;
  /**
   * Files whose names are not valid UTF-8: the displayed (escaped) relative
   * name -> the real path's bytes (see walk.ts). Opened by those bytes.
   */
  rawPaths?: Map<string, Buffer>;
  /** Do not follow a symlink in the file's place (files listed by git rather than found by a walk). */
  noFollow?: boolean;
  /** Each matching file as soon as its batch is done. */
  onMatch?: (file: string, content: Buffer) => void;
}

/**
 * git's check as far as it has got, asked for each batch as it is handed out.
 * - Not started (`now()` null, or git answered that it cannot say): the
 *   batch's files are hashed.
 * - Started, not answered (`ids` null): a file read now, unchanged since
 *   before the check started, holds the bytes git compares (or has
 *   compared) with the index: its key is the blob id git will vouch for.
 *   (Were it changed after the read, its ctime would no longer be the one
 *   the index recorded before the check, and git would not call it clean;
 *   the index itself is the same from before the check to its end.) It
 *   waits for `answer`; a file git does not vouch for is scanned again,
 *   hashed. So the scan need not wait for git, nor hash what git is about
 *   to vouch for.
 * - Answered: a vouched-for file unchanged since takes its id at once.
 */
export interface ScanTrust {
  now(): { trustedBefore: number; ids: Map<string, string> | null } | null;
  answer: Promise<WorkTreeTrust | null>;
}

/**
 * A batch's vouched-for keys (`keys[i]` for files[i], null: hash it; all
 * null while git has not answered) and the time their files must predate.
 * Workers get only `vouched` (1 where a key is vouched for; null: any file
 * may be): they confirm or hash, and the keys stay on the main thread.
 */
interface BatchTrust {
  keys: (string | null)[] | null;
  vouched: Uint8Array | null;
  before: number;
}

/** Where a file's key comes from, as a batch reports it (BatchOutput.keyFrom; 0: no key). WORKER_SOURCE defines them too: scanBatch runs there by its source. */
const VOUCHED_KEY = 1;
const HASHED_KEY = 2;
/** Unchanged since before git's check started, read before git answered: git's answer gives the key (ScanTrust). */
const PENDING_KEY = 3;

export interface PrefilterResult {
  /** rel path -> content, only files containing >= 1 identifier as a whole word */
  matched: Map<string, Buffer>;
  /** rel path -> git blob id of the bytes read, for every file read (with `contentKeys`). */
  keys: Map<string, string>;
  /** Files whose key was worked out by hashing their bytes (the others' came from `trustedKeys`). */
  hashed: number;
  bytesRead: number;
  filesRead: number;
  diagnostics: Diagnostic[];
}

export const DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024;
/** Files per message to a worker: large enough to amortize messaging, small enough to balance load. */
const BATCH_FILES = 128;
/**
 * Batches a worker holds at once (see WorkerPool). A batch is ~4 ms of a
 * worker's time on linux-7.2; the main thread, which hands them out, parses
 * a matched file meanwhile in one call of up to ~30 ms. With two held, the
 * workers waited for it 130-170 ms each per cold lint (CPU profile); with
 * four, cold lint took 1,510 ms against 1,560 (9 interleaved runs; eight gave
 * no more).
 */
const BATCHES_IN_FLIGHT = 4;
/** Below this many files, starting workers costs more than scanning inline. */
const INLINE_MAX_FILES = 64;
/** Give up on workers (and scan the rest inline) after this many crashes. */
const MAX_WORKER_CRASHES = 4;
/**
 * Test hook: a worker exits abruptly when asked to scan a file with this
 * root-relative path, so tests can prove a crash does not kill the run.
 */
const CRASH_TEST_ENV = 'FLUSHCHECK_TEST_PREFILTER_CRASH_ON';

interface BatchOutput {
  matched: { file: string; content: Uint8Array }[];
  /**
   * Per file of the batch, where its key comes from: 0 (not read, or no
   * keys asked for), VOUCHED_KEY (the one git vouched for, confirmed), or
   * HASHED_KEY (the next of `hashedKeys`). 50,000 paths and keys sent back
   * as strings cost the workers and the main thread more than the hashing.
   */
  keyFrom: Uint8Array;
  hashedKeys: string[];
  hashed: number;
  bytesRead: number;
  filesRead: number;
  diagnostics: Diagnostic[];
}

/**
 * Build a test "does `text` contain one of `identifiers` as a whole word?".
 *
 * Measured on linux-7.2 (1.4 GB, one thread, warm): seven Buffer#indexOf
 * passes cost ~2.3 s of searching, a single Wu-Manber pass ~0.65 s, and with
 * 40 identifiers ~13.8 s versus ~0.65 s -- the follow-up scans may ask for
 * many names, so the multi-pattern search is the default. Wu-Manber slides a
 * window of the shortest identifier's length and jumps by a shift read from a
 * table keyed by the window's last 2 bytes; only where the shift is 0 are the
 * identifiers in that table entry compared. The key is the two bytes
 * themselves (a 64 KB table, no hash) and the jumps run in a loop of their
 * own: on a quarter of linux-7.2 in memory the bundled names are matched at
 * ~3.2 GB/s, against ~2.4 with 3-byte hashed keys and one loop for both.
 * With very short names the jumps become too small to beat native indexOf,
 * which is used instead.
 *
 * Self-contained on purpose (see WORKER_SOURCE): only parameters and globals.
 * Exported for tests.
 */
export function buildWholeWordMatcher(identifiers: string[], forFewTexts = false): (text: Buffer) => boolean {
  const patterns = identifiers.map((id) => Buffer.from(id, 'latin1'));
  const isWordByte = (b: number): boolean =>
    (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || b === 95;
  const isWholeWordAt = (text: Buffer, start: number, pattern: Buffer): boolean => {
    const end = start + pattern.length;
    if (end > text.length) return false;
    for (let i = 0; i < pattern.length; i++) if (text[start + i] !== pattern[i]) return false;
    return (start === 0 || !isWordByte(text[start - 1])) && (end === text.length || !isWordByte(text[end]));
  };

  const shortest = Math.min(...patterns.map((p) => p.length));
  // A few texts (forFewTexts) do not repay building the tables either.
  if (shortest < 6 || forFewTexts) {
    return (text) =>
      patterns.some((pattern) => {
        for (let at = text.indexOf(pattern); at !== -1; at = text.indexOf(pattern, at + 1)) {
          if (isWholeWordAt(text, at, pattern)) return true;
        }
        return false;
      });
  }
  // shift[b1 << 8 | b2]: how far the window may move when it ends in the bytes b1 b2.
  const shift = new Uint8Array(0x10000).fill(Math.min(255, shortest - 1));
  // Where the shift is 0: the windows ending in those bytes, each with the
  // identifiers that start with it. Names that share their first `shortest`
  // bytes share a window, compared once (20 rules of names shaped alike cost
  // what one does).
  const bucket: { window: Buffer; patterns: Buffer[] }[][] = new Array(0x10000);
  for (const pattern of patterns) {
    // Only each pattern's first `shortest` bytes shape the window.
    for (let end = 1; end < shortest; end++) {
      const key = (pattern[end - 1] << 8) | pattern[end];
      shift[key] = Math.min(shift[key], shortest - 1 - end);
    }
    const windows = (bucket[(pattern[shortest - 2] << 8) | pattern[shortest - 1]] ??= []);
    const window = pattern.subarray(0, shortest);
    const same = windows.find((w) => w.window.equals(window));
    if (same) same.patterns.push(pattern);
    else windows.push({ window, patterns: [pattern] });
  }
  const windowAt = (text: Buffer, start: number, window: Buffer): boolean => {
    for (let i = 0; i < window.length; i++) if (text[start + i] !== window[i]) return false;
    return true;
  };
  return (text) => {
    const len = text.length;
    for (let windowEnd = shortest - 1; windowEnd < len; windowEnd += 1) {
      for (let jump; (jump = shift[(text[windowEnd - 1] << 8) | text[windowEnd]]) !== 0; ) {
        windowEnd += jump;
        if (windowEnd >= len) return false;
      }
      const start = windowEnd - shortest + 1;
      for (const { window, patterns: named } of bucket[(text[windowEnd - 1] << 8) | text[windowEnd]]) {
        if (!windowAt(text, start, window)) continue;
        for (const pattern of named) if (isWholeWordAt(text, start, pattern)) return true;
      }
    }
    return false;
  };
}

/**
 * The same test for one name over a few texts (a snapshot record's per-name
 * questions): native indexOf, without the tables a multi-name scan builds.
 */
export function wholeWordTest(name: string): (text: Buffer) => boolean {
  return buildWholeWordMatcher([name], true);
}

interface ScanFileOptions {
  maxFileBytes: number;
  rawPaths: Record<string, Uint8Array>;
  contentKey: ((text: Buffer) => string) | null;
  openFlags: number;
  /** trust.ts unchangedSinceCheck, passed in: this function runs in workers by its source. */
  unchangedSinceCheck: typeof unchangedSinceCheck;
}

/**
 * Scan `files` (relative to `root`), keeping those for which `matches` holds.
 * `trusted`: which files' keys git vouches for (see ScanTrust).
 *
 * Self-contained on purpose (see WORKER_SOURCE): only parameters, globals,
 * scanFile, readToEnd and the VOUCHED_KEY, HASHED_KEY and PENDING_KEY
 * numbers, which WORKER_SOURCE defines too.
 * Matched contents are copied into fresh ArrayBuffers so they can be
 * transferred to the main thread without another copy.
 */
function scanBatch(
  fsModule: typeof fs,
  root: string,
  files: string[],
  trusted: Pick<BatchTrust, 'vouched' | 'before'> | null,
  matches: (text: Buffer) => boolean,
  scratch: { buf: Buffer },
  opts: ScanFileOptions,
): BatchOutput {
  const out: BatchOutput = { matched: [], keyFrom: new Uint8Array(files.length), hashedKeys: [], hashed: 0, bytesRead: 0, filesRead: 0, diagnostics: [] };
  // One call per file: the loop stays small, and V8 compiles the work per file once (not again on the loop's own hot path).
  for (let i = 0; i < files.length; i++) scanFile(fsModule, root, files[i], i, trusted, matches, scratch, opts, out);
  return out;
}

/** scanBatch's work on `file`, the batch's `i`th, into `out`. Self-contained for the same reason. */
function scanFile(
  fsModule: typeof fs,
  root: string,
  file: string,
  i: number,
  trusted: Pick<BatchTrust, 'vouched' | 'before'> | null,
  matches: (text: Buffer) => boolean,
  scratch: { buf: Buffer },
  opts: ScanFileOptions,
  out: BatchOutput,
): void {
  const maxFileBytes = opts.maxFileBytes;
  let fd = -1;
  try {
    const raw = opts.rawPaths[file];
    // Never blocks (O_NONBLOCK): a FIFO in a file's place is opened, reads nothing or fails, is seen by fstat, and skipped.
    fd = fsModule.openSync(raw ? Buffer.from(raw) : root + '/' + file, opts.openFlags);
    // Read to the end, without asking the size first (see readToEnd). What
    // is not a regular file shows as a read error or as nothing to read, and
    // is told apart by fstat then.
    let read: number | { failed: unknown };
    try {
      read = readToEnd(fsModule, fd, scratch, maxFileBytes);
    } catch (failed) {
      read = { failed };
    }
    if ((typeof read !== 'number' || read === 0) && !fsModule.fstatSync(fd).isFile()) {
      out.diagnostics.push({ file, reason: 'not a regular file; skipped' });
      return;
    }
    if (typeof read !== 'number') throw read.failed;
    const len = read;
    if (len < 0) {
      // A file still growing may have passed the limit by reading, not by its size.
      out.diagnostics.push({ file, reason: `file is ${Math.max(fsModule.fstatSync(fd).size, maxFileBytes + 1)} bytes, over the ${maxFileBytes}-byte limit; skipped` });
      return;
    }
    out.bytesRead += len;
    out.filesRead += 1;
    // The scratch buffer holds stale bytes of earlier files past `len`.
    const text = scratch.buf.subarray(0, len);
    if (opts.contentKey) {
      const unanswered = trusted !== null && trusted.vouched === null;
      let vouched = trusted !== null && (unanswered || trusted.vouched![i] === 1);
      if (vouched) {
        // Stat again after reading: a change during the read shows in the ctime too.
        const after = fsModule.fstatSync(fd);
        vouched = opts.unchangedSinceCheck(after, trusted!.before) && after.size === len;
      }
      if (vouched) out.keyFrom[i] = unanswered ? PENDING_KEY : VOUCHED_KEY;
      else {
        out.hashedKeys.push(opts.contentKey(text));
        out.keyFrom[i] = HASHED_KEY;
        out.hashed += 1;
      }
    }
    // NUL bytes do not make a file binary here: a source that names a rule
    // function is analysed whatever else it holds (lowering blanks them).
    if (matches(text)) {
      const content = new Uint8Array(new ArrayBuffer(len));
      content.set(text);
      out.matched.push({ file, content });
    }
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const message = e && e.message ? e.message : String(err);
    // Node's messages already start with the code ("ENOENT: no such file ...").
    const code = e && e.code && !message.startsWith(e.code + ':') ? e.code + ': ' : '';
    out.diagnostics.push({ file, reason: `unreadable: ${code}${message}` });
  } finally {
    if (fd !== -1) {
      try {
        fsModule.closeSync(fd);
      } catch {
        // Closing a read-only descriptor cannot lose data; nothing to report.
      }
    }
  }
}

/**
 * The open file `fd` read to its end into `scratch.buf`: its length, or -1
 * when it is over `maxFileBytes`. No stat per file: a stat costs the scan
 * more than the read that finds the end (node's fstatSync builds a Stats
 * object with four Dates). Only a file that fills the buffer (a hundred or so
 * in a kernel) is stat'ed, to grow the buffer to it or skip it by its size;
 * no read goes past the limit and one byte, which says the file is over it.
 * Self-contained for the same reason as scanBatch.
 */
function readToEnd(fsModule: typeof fs, fd: number, scratch: { buf: Buffer }, maxFileBytes: number): number {
  const cap = maxFileBytes + 1;
  let len = 0;
  for (;;) {
    const room = Math.min(scratch.buf.length, cap);
    if (len === room) {
      const size = fsModule.fstatSync(fd).size;
      if (len === cap || size > maxFileBytes) return -1;
      // One byte more than the size: a file growing meanwhile reads on, up to the limit.
      const grown = Buffer.allocUnsafeSlow(Math.min(Math.max(size + 1, len * 2), cap));
      scratch.buf.copy(grown, 0, 0, len);
      scratch.buf = grown;
      continue;
    }
    const n = fsModule.readSync(fd, scratch.buf, len, room - len, len);
    if (n === 0) return len;
    len += n;
  }
}

/**
 * Source of each worker, evaluated as CommonJS (`require` is available). The
 * scan functions are inlined with Function#toString rather than loaded from a
 * worker file so the same code runs compiled (dist/) and under vitest, which
 * transforms .ts on the fly but cannot hand a .ts file to a Worker.
 */
const WORKER_SOURCE = `
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { parentPort, workerData } = require('node:worker_threads');
const buildWholeWordMatcher = ${buildWholeWordMatcher.toString()};
const readToEnd = ${readToEnd.toString()};
const scanFile = ${scanFile.toString()};
const scanBatch = ${scanBatch.toString()};
const gitBlobId = ${gitBlobId.toString()};
const unchangedSinceCheck = ${unchangedSinceCheck.toString()};
const VOUCHED_KEY = ${VOUCHED_KEY};
const HASHED_KEY = ${HASHED_KEY};
const PENDING_KEY = ${PENDING_KEY};
const matches = buildWholeWordMatcher(workerData.identifiers);
const scratch = { buf: Buffer.allocUnsafeSlow(1 << 20) };
const batchOptions = {
  maxFileBytes: workerData.maxFileBytes,
  rawPaths: workerData.rawPaths,
  contentKey: workerData.contentKeys ? (text) => gitBlobId(createHash, text) : null,
  openFlags: workerData.openFlags,
  unchangedSinceCheck,
};
parentPort.on('message', (batch) => {
  if (workerData.crashOn && batch.files.includes(workerData.crashOn)) process.exit(70);
  // A batch from a listing in progress brings the raw paths of its files (names not valid UTF-8).
  const options = batch.rawPaths ? { ...batchOptions, rawPaths: batch.rawPaths } : batchOptions;
  const out = scanBatch(fs, workerData.root, batch.files, batch.trusted, matches, scratch, options);
  parentPort.postMessage({ id: batch.id, out }, [...out.matched.map((m) => m.content.buffer), out.keyFrom.buffer]);
});
`;

/** git's blob id of a content (what `git hash-object` prints). Self-contained: it runs in the workers too. */
function gitBlobId(createHashFn: typeof createHash, text: Buffer): string {
  return createHashFn('sha1').update(`blob ${text.length}\0`).update(text).digest('hex');
}

interface Batch {
  id: number;
  files: string[];
  /** Raw paths of the batch's files whose names are not valid UTF-8, for batches of a listing in progress. */
  rawPaths?: Record<string, Uint8Array>;
  /** Set once the batch has been through a crashed worker. */
  retried: boolean;
}

type WorkerData = { root: string; identifiers: string[]; maxFileBytes: number; rawPaths: Record<string, Uint8Array>; contentKeys: boolean; openFlags: number; crashOn: string };

/** One scan's settings and what it has found so far, whichever way its files come. */
class ScanRun {
  readonly result: PrefilterResult = { matched: new Map(), keys: new Map(), hashed: 0, bytesRead: 0, filesRead: 0, diagnostics: [] };
  /** Identifiers are C names (ASCII); an empty one would match everywhere. */
  readonly wanted: string[];
  readonly jobs: number;
  readonly workerData: WorkerData;
  /** Files to scan, as far as known (a listing in progress adds to it). */
  total = 0;
  private done = 0;
  /** Files read before git answered (PENDING_KEY), keyed once it has: see settle. */
  private pending: string[] = [];
  private readonly batchOptions: Parameters<typeof scanBatch>[6];
  private inlineMatcher?: (text: Buffer) => boolean;

  constructor(
    root: string,
    identifiers: string[],
    private readonly opts: PrefilterOptions,
  ) {
    const absRoot = path.resolve(root);
    const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    const rawPaths: Record<string, Uint8Array> = Object.fromEntries(opts.rawPaths ?? []);
    const openFlags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (opts.noFollow ? fs.constants.O_NOFOLLOW : 0);
    this.batchOptions = { maxFileBytes, rawPaths, contentKey: opts.contentKeys ? (text: Buffer) => gitBlobId(createHash, text) : null, openFlags, unchangedSinceCheck };
    this.wanted = [...new Set(identifiers.filter((id) => id.length > 0))];
    // More threads than cores only cost memory: each holds a scratch buffer as large as its largest file.
    this.jobs = Math.min(os.availableParallelism(), Math.max(0, Math.floor(opts.jobs ?? os.availableParallelism())));
    this.workerData = { root: absRoot, identifiers: this.wanted, maxFileBytes, rawPaths, contentKeys: !!opts.contentKeys, openFlags, crashOn: process.env[CRASH_TEST_ENV] ?? '' };
  }

  /** A batch's output, for its `files` and the `trusted` keys it was given. */
  readonly absorb = (out: BatchOutput, files: string[], trusted: BatchTrust | null): void => {
    for (const m of out.matched) {
      const content = Buffer.from(m.content.buffer, m.content.byteOffset, m.content.byteLength);
      this.result.matched.set(m.file, content);
      this.opts.onMatch?.(m.file, content);
    }
    let hashed = 0;
    for (let i = 0; i < out.keyFrom.length; i++) {
      if (out.keyFrom[i] === VOUCHED_KEY) this.result.keys.set(files[i], trusted!.keys![i]!);
      else if (out.keyFrom[i] === HASHED_KEY) this.result.keys.set(files[i], out.hashedKeys[hashed++]);
      else if (out.keyFrom[i] === PENDING_KEY) this.pending.push(files[i]);
    }
    this.result.hashed += out.hashed;
    this.result.bytesRead += out.bytesRead;
    this.result.filesRead += out.filesRead;
    this.result.diagnostics.push(...out.diagnostics);
    this.done += files.length;
    this.opts.onProgress?.(this.done, this.total);
  };

  scanInline(files: string[], scratch: { buf: Buffer }, rawPaths?: Record<string, Uint8Array>): void {
    this.inlineMatcher ??= buildWholeWordMatcher(this.wanted);
    const options = rawPaths ? { ...this.batchOptions, rawPaths } : this.batchOptions;
    const trusted = this.trustedFor(files);
    this.absorb(scanBatch(fs, this.workerData.root, files, trusted, this.inlineMatcher, scratch, options), files, trusted);
  }

  /** The keys git vouches for among `files`, as known now (see ScanTrust). */
  readonly trustedFor = (files: string[]): BatchTrust | null => {
    const trusted = this.opts.contentKeys ? this.opts.trust?.now() : null;
    if (!trusted) return null;
    const ids = trusted.ids;
    if (ids === null) return { keys: null, vouched: null, before: trusted.trustedBefore };
    const keys = files.map((f) => ids.get(f) ?? null);
    return { keys, vouched: Uint8Array.from(keys, (k) => (k === null ? 0 : 1)), before: trusted.trustedBefore };
  };

  /**
   * Keys for the files read before git answered: the blob id git vouches
   * for; a file it does not vouch for (changed since the index, or git could
   * not say) is scanned again and hashed, so its key and its match come from
   * the same bytes.
   */
  async settle(root: string): Promise<void> {
    if (!this.pending.length) return;
    const trust = await this.opts.trust!.answer;
    const again: string[] = [];
    for (const file of this.pending) {
      const id = trust?.ids.get(file);
      if (id !== undefined) this.result.keys.set(file, id);
      else again.push(file);
    }
    this.pending = [];
    if (!again.length) return;
    const rescan = await prefilter(root, again, this.wanted, { ...this.opts, trust: undefined, onProgress: undefined });
    for (const file of again) this.result.matched.delete(file);
    for (const [file, content] of rescan.matched) {
      this.result.matched.set(file, content);
      this.opts.onMatch?.(file, content);
    }
    for (const [file, key] of rescan.keys) this.result.keys.set(file, key);
    this.result.hashed += rescan.hashed;
    // A file gone since the first read: it is no longer matched, and says why.
    this.result.diagnostics.push(...rescan.diagnostics);
  }

  pool(workerCount: number): WorkerPool {
    const inlineScratch = { buf: Buffer.allocUnsafeSlow(0) };
    return new WorkerPool(workerCount, this.workerData, this.absorb, (batch) => this.scanInline(batch.files, inlineScratch, batch.rawPaths), this.result.diagnostics, this.trustedFor);
  }

  finish(): PrefilterResult {
    this.result.diagnostics.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    return this.result;
  }
}

export async function prefilter(
  root: string,
  files: string[],
  identifiers: string[],
  opts: PrefilterOptions = {},
): Promise<PrefilterResult> {
  const run = new ScanRun(root, identifiers, opts);
  run.total = files.length;
  if (files.length === 0 || run.wanted.length === 0) return run.result;
  if (run.jobs === 0 || files.length < INLINE_MAX_FILES) {
    run.scanInline(files, { buf: Buffer.allocUnsafeSlow(1 << 20) });
  } else {
    const pool = run.pool(Math.min(run.jobs, Math.ceil(files.length / BATCH_FILES)));
    for (let i = 0; i < files.length; i += BATCH_FILES) pool.push(files.slice(i, i + BATCH_FILES));
    await pool.close();
  }
  await run.settle(root);
  return run.finish();
}

/**
 * What a listing hands the scan: each file as found (its raw path when its
 * name is not valid UTF-8, see walk.ts).
 */
export type ListedFile = (file: string, rawPath?: Buffer) => void;

/**
 * `prefilter` over the files of a listing still in progress: `list` calls
 * `take` for each file it finds and yields to the event loop now and then,
 * and full batches go to the workers meanwhile. The walk of a kernel tree
 * (~0.2 s of readdir on the main thread) then runs beside the scan instead
 * of before it. Returns the scan and every file listed, in listing order.
 */
export async function prefilterAsListed(
  root: string,
  list: (take: ListedFile) => Promise<void>,
  identifiers: string[],
  opts: PrefilterOptions = {},
): Promise<PrefilterResult & { listed: string[] }> {
  const run = new ScanRun(root, identifiers, opts);
  const listed: string[] = [];
  const rawPaths = new Map<string, Buffer>();
  let pool: WorkerPool | undefined;
  let batch: string[] = [];
  let batchRaw: Record<string, Uint8Array> | undefined;
  const streaming = run.jobs > 0 && run.wanted.length > 0;
  const take: ListedFile = (file, rawPath) => {
    listed.push(file);
    if (rawPath) rawPaths.set(file, rawPath);
    if (!streaming) return;
    batch.push(file);
    if (rawPath) (batchRaw ??= {})[file] = rawPath;
    if (batch.length < BATCH_FILES) return;
    // Workers start with the first full batch: a listing too small for them is scanned as prefilter would.
    pool ??= run.pool(run.jobs);
    run.total = listed.length;
    pool.push(batch, batchRaw);
    batch = [];
    batchRaw = undefined;
  };
  try {
    await list(take);
  } catch (error) {
    // A listing that fails half-way leaves no worker behind to keep the process alive.
    await pool?.close();
    throw error;
  }
  if (!pool) return { ...(await prefilter(root, listed, identifiers, { ...opts, rawPaths })), listed };
  run.total = listed.length;
  if (batch.length) pool.push(batch, batchRaw);
  await pool.close();
  await run.settle(root);
  return { ...run.finish(), listed };
}

/**
 * Feeds batches to `workerCount` workers, BATCHES_IN_FLIGHT each so that a
 * worker does not wait while the main thread parses. Batches can be pushed
 * while the workers run (a listing in progress) until `close`, which resolves
 * once every batch is scanned. A crashed worker is replaced; its in-flight
 * batches are retried one file per batch, so a file that kills a worker again
 * is isolated and reported instead of taking others with it. After too many
 * crashes the remaining batches are scanned inline.
 */
class WorkerPool {
  private readonly queue: Batch[] = [];
  /** Each live worker's feed: called when batches arrive. */
  private readonly feeders = new Set<() => void>();
  private crashes = 0;
  private live = 0;
  private nextBatchId = 0;
  private closed = false;
  private finished = false;
  private resolveDone!: () => void;
  private readonly whenDone = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(
    workerCount: number,
    private readonly workerData: WorkerData,
    private readonly absorb: (out: BatchOutput, files: string[], trusted: BatchTrust | null) => void,
    private readonly scanInline: (batch: Batch) => void,
    private readonly diagnostics: Diagnostic[],
    /** A batch's vouched-for keys, asked as it is handed to a worker. */
    private readonly trustedFor: (files: string[]) => BatchTrust | null,
  ) {
    for (let i = 0; i < workerCount; i++) this.start();
  }

  push(files: string[], rawPaths?: Record<string, Uint8Array>): void {
    const batch: Batch = { id: this.nextBatchId++, files, ...(rawPaths ? { rawPaths } : {}), retried: false };
    // Every worker is gone (too many crashes): scan it here.
    if (this.live === 0) return this.scanInline(batch);
    this.queue.push(batch);
    for (const feed of this.feeders) feed();
  }

  close(): Promise<void> {
    this.closed = true;
    for (const feed of this.feeders) feed();
    this.finishIfIdle();
    return this.whenDone;
  }

  private finishIfIdle(): void {
    if (this.finished || !this.closed || this.live > 0) return;
    // No live worker: whatever is left (only after giving up on workers) runs inline.
    while (this.queue.length > 0) this.scanInline(this.queue.shift()!);
    this.finished = true;
    this.resolveDone();
  }

  private start(): void {
    if (this.finished) return;
    /** Each batch a worker holds, with the keys it was told git vouches for. */
    const inFlight = new Map<number, { batch: Batch; trusted: BatchTrust | null }>();
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.workerData });
    } catch {
      // No thread to be had (resource limits): the others, or the inline scan, carry on.
      this.crashes += 1;
      this.finishIfIdle();
      return;
    }
    this.live += 1;
    let gone = false;

    const feed = (): void => {
      // A retried batch travels alone, so that if this worker dies too the
      // culprit is known.
      const soloInFlight = (): boolean => [...inFlight.values()].some((f) => f.batch.retried);
      while (inFlight.size < BATCHES_IN_FLIGHT && this.queue.length > 0 && !soloInFlight()) {
        if (this.queue[0].retried && inFlight.size > 0) break;
        const batch = this.queue.shift()!;
        const trusted = this.trustedFor(batch.files);
        inFlight.set(batch.id, { batch, trusted });
        worker.postMessage({ id: batch.id, files: batch.files, rawPaths: batch.rawPaths, trusted: trusted && { vouched: trusted.vouched, before: trusted.before } });
      }
      if (inFlight.size === 0 && this.closed) {
        this.feeders.delete(feed);
        void worker.terminate();
      }
    };

    const onGone = (reason: string): void => {
      if (gone) return;
      gone = true;
      this.live -= 1;
      this.feeders.delete(feed);
      const lost = [...inFlight.values()].map((f) => f.batch);
      inFlight.clear();
      if (lost.length > 0) {
        this.crashes += 1;
        for (const batch of lost) {
          if (batch.retried) {
            this.diagnostics.push({ file: batch.files[0], reason: `scan worker crashed on this file (${reason}); skipped` });
            this.absorb({ matched: [], keyFrom: new Uint8Array(1), hashedKeys: [], hashed: 0, bytesRead: 0, filesRead: 0, diagnostics: [] }, batch.files, null);
          } else {
            for (const file of batch.files) {
              const raw = batch.rawPaths?.[file];
              this.queue.unshift({ id: this.nextBatchId++, files: [file], ...(raw ? { rawPaths: { [file]: raw } } : {}), retried: true });
            }
          }
        }
        if (this.crashes <= MAX_WORKER_CRASHES && (this.queue.length > 0 || !this.closed)) {
          this.start();
          return;
        }
      }
      // Given up on workers while batches may still come: they run inline as pushed (see push).
      if (this.live === 0) while (this.queue.length > 0) this.scanInline(this.queue.shift()!);
      this.finishIfIdle();
    };

    worker.on('message', (msg: { id: number; out: BatchOutput }) => {
      const sent = inFlight.get(msg.id);
      if (!sent) return;
      inFlight.delete(msg.id);
      this.absorb(msg.out, sent.batch.files, sent.trusted);
      feed();
    });
    worker.on('error', (err) => onGone(err instanceof Error ? err.message : String(err)));
    worker.on('exit', (code) => onGone(`exit code ${code}`));
    this.feeders.add(feed);
    feed();
  }
}
