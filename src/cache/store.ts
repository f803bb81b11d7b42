// Results keyed by content, so that analysing a tree again after a small
// change costs only what the change touched. Three layers:
//
// - scan index: per file content (git blob id), which of the names scanned
//   for it appears as a whole word. A warm run reads only changed files.
// - function results: per function, keyed by everything its analysis reads
//   (its text and place, the rule, the configuration, how its calls resolve
//   and the summaries of what they resolve to). Unchanged functions whose
//   callees' summaries are unchanged are not analysed again.
// - parsed files (memory only): one run of `diff` or `review` analyses several
//   snapshots of one tree; a file with the same content is parsed once.
//
// On disk under the repository's git dir (`.git/flushcheck/`), never in the
// work tree, in a folder per flushcheck build: two installs used on one
// repository keep their own caches (a folder unused for 30 days is removed).
// The cache can only cost time, never change a result: keys are computed
// from the bytes analysed, every stored entry carries a digest of itself and
// is checked against its schema (beside its type: ir/stored.ts,
// analyze/memo.ts, rules/load.ts) when read, and dropped when either fails.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileIR } from '../ir/types.js';

/**
 * 3: stores are lines of `key digest json` (parseStoreLines), read lazily;
 * scan.txt with a checksum line.
 */
const FORMAT = 3;
/** Another build's cache folder unused this long is removed. */
const STALE_CACHE_MS = 30 * 24 * 3600 * 1000;
/** Names one scan index tracks (bits of a 32-bit mask). */
const MAX_VOCABULARY = 31;
/** Function results kept on disk: several kernel-sized runs' worth. */
const MAX_STORED_RESULTS = 20_000;
/** Whole snapshot analyses kept on disk (the most recently used): a few branches' worth. */
const MAX_STORED_SNAPSHOTS = 24;

export function digest(...parts: string[]): string {
  const h = createHash('sha1');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/**
 * Which names of a growing vocabulary each file content contains. Name sets
 * are 32-bit masks (a kernel run scans for about a dozen names); when the
 * vocabulary outgrows them, the index starts over with the names asked for.
 */
export class ScanIndex {
  private readonly bit = new Map<string, number>();
  /** content key -> names scanned for, names found (bit masks over `vocab`). */
  private readonly scanned = new Map<string, number>();
  private readonly found = new Map<string, number>();
  readonly vocab: string[] = [];
  changed = false;

  private bitOf(name: string): number {
    let b = this.bit.get(name);
    if (b === undefined) {
      if (this.vocab.length === MAX_VOCABULARY) this.clear();
      b = 1 << this.vocab.length;
      this.vocab.push(name);
      this.bit.set(name, b);
    }
    return b;
  }

  private clear(): void {
    this.bit.clear();
    this.scanned.clear();
    this.found.clear();
    this.vocab.length = 0;
    this.changed = true;
  }

  private mask(names: string[]): number {
    let m = 0;
    for (const n of names) m |= this.bitOf(n);
    return m;
  }

  /** A question for `lookup`: built once per scan, asked per file. */
  query(names: string[]): number {
    return this.mask(names);
  }

  /** Does the content contain one of the query's names? undefined when it was never scanned for all of them. */
  lookup(key: string, want: number): boolean | undefined {
    const scanned = this.scanned.get(key);
    if (scanned === undefined || (scanned & want) !== want) return undefined;
    return ((this.found.get(key) ?? 0) & want) !== 0;
  }

  record(key: string, scannedNames: string[], foundNames: string[]): void {
    const scannedMask = this.mask(scannedNames);
    const foundMask = this.mask(foundNames);
    this.scanned.set(key, (this.scanned.get(key) ?? 0) | scannedMask);
    const found = ((this.found.get(key) ?? 0) & ~scannedMask) | foundMask;
    if (found) this.found.set(key, found);
    else this.found.delete(key);
    this.changed = true;
  }

  /** A checksum line, the vocabulary, then one `key scanned found` line per content. */
  serialize(): string {
    const lines = [this.vocab.join(' ')];
    for (const [key, scanned] of this.scanned) lines.push(`${key} ${scanned.toString(16)} ${(this.found.get(key) ?? 0).toString(16)}`);
    const body = lines.join('\n') + '\n';
    return `# ${digest(body)}\n${body}`;
  }

  /** An index read back; empty when its checksum does not match (a damaged index only costs a scan). */
  static parse(sealed: string): ScanIndex {
    const index = new ScanIndex();
    const first = sealed.indexOf('\n');
    const text = sealed.slice(first + 1);
    if (first < 0 || sealed.slice(0, first) !== `# ${digest(text)}`) return index;
    let eol = text.indexOf('\n');
    if (eol < 0) return index;
    for (const name of text.slice(0, eol).split(' ').filter(Boolean)) index.bitOf(name);
    const limit = 2 ** index.vocab.length;
    for (let pos = eol + 1; pos < text.length; pos = eol + 1) {
      eol = text.indexOf('\n', pos);
      if (eol < 0) eol = text.length;
      const s1 = text.indexOf(' ', pos);
      const s2 = text.indexOf(' ', s1 + 1);
      if (s1 < 0 || s2 < 0 || s2 > eol) continue;
      const scanned = parseInt(text.slice(s1 + 1, s2), 16);
      const found = parseInt(text.slice(s2 + 1, eol), 16);
      if (!(scanned >= 0 && scanned < limit && found >= 0 && found < limit)) continue;
      const key = text.slice(pos, s1);
      index.scanned.set(key, scanned);
      if (found) index.found.set(key, found);
    }
    index.changed = false;
    return index;
  }
}

/** Values by key whose reads are checked (see ResultStore.checked). */
export interface EntryStore {
  get(key: string): unknown;
  put(key: string, value: unknown): void;
}

/**
 * One stored value: its JSON text as written, the digest of that text, and
 * the value once a run has read it. Entries a run never reads are never
 * parsed, and are written back as the text they were read as.
 */
interface StoredEntry {
  json: string;
  digest: string;
  value?: unknown;
  /** The schema check the value passed this run (the rounds of one analysis read the same results). */
  checkedBy?: (value: unknown) => boolean;
}

/**
 * A store file: one entry per line, `key<TAB>digest<TAB>json`, the key as a
 * JSON string. JSON escapes every control character, so neither a key nor a
 * value holds a tab or a newline of its own. Exported for the tests that
 * damage entries on purpose.
 */
export function parseStoreLines(text: string): Map<string, { json: string; digest: string }> {
  const entries = new Map<string, { json: string; digest: string }>();
  for (let pos = 0; pos < text.length; ) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = text.length;
    const t1 = text.indexOf('\t', pos);
    const t2 = t1 < 0 ? -1 : text.indexOf('\t', t1 + 1);
    if (t1 > pos && t2 > t1 && t2 < eol) {
      const quoted = text.slice(pos, t1);
      // A key without escapes (every key flushcheck writes) is the text between its quotes.
      const plain = quoted.length >= 2 && quoted[0] === '"' && quoted[quoted.length - 1] === '"' && !/["\\]/.test(quoted.slice(1, -1));
      try {
        const key = plain ? quoted.slice(1, -1) : (JSON.parse(quoted) as unknown);
        if (typeof key === 'string') entries.set(key, { digest: text.slice(t1 + 1, t2), json: text.slice(t2 + 1, eol) });
      } catch {
        // A damaged line: that entry is gone, the others stay.
      }
    }
    pos = eol + 1;
  }
  return entries;
}

export function formatStoreLine(key: string, entry: { json: string; digest: string }): string {
  return `${JSON.stringify(key)}\t${entry.digest}\t${entry.json}\n`;
}

/**
 * Values this process parsed and checked before, by their digest. The
 * resident process (src/resident/) reads mostly the same entries on every
 * request; an entry whose text is exactly the one parsed before, checked by
 * the same schema, is that value again, without parsing, hashing or checking
 * it anew. Values read from the cache are never modified (one run already
 * shares them between snapshots). A process of its own reads each entry once,
 * so this costs it a map entry per read.
 */
const parsedBefore = new Map<string, { json: string; value: unknown; checkedBy: (value: unknown) => boolean }>();
/** Past this many, the memory starts over (a few kernel-sized runs' worth). */
const MAX_PARSED_BEFORE = 50_000;

function recallParsed(entry: StoredEntry, isValid: (value: unknown) => boolean): unknown {
  const seen = parsedBefore.get(entry.digest);
  return seen && seen.checkedBy === isValid && seen.json === entry.json ? seen.value : undefined;
}

function rememberParsed(entry: StoredEntry, value: unknown, isValid: (value: unknown) => boolean): void {
  if (parsedBefore.size >= MAX_PARSED_BEFORE) parsedBefore.clear();
  parsedBefore.set(entry.digest, { json: entry.json, value, checkedBy: isValid });
}

/**
 * The entry's value when its text matches its digest and the value passes
 * `isValid`, else undefined (the caller drops the entry). A value checked by
 * the same check before, this run or an earlier one of this process, is not
 * parsed or checked again.
 */
function checkedValue(entry: StoredEntry, isValid: (value: unknown) => boolean): unknown {
  if (entry.checkedBy === isValid) return entry.value;
  const recalled = entry.value === undefined ? recallParsed(entry, isValid) : undefined;
  if (recalled !== undefined) {
    entry.value = recalled;
    entry.checkedBy = isValid;
    return recalled;
  }
  const fromDisk = entry.value === undefined;
  let value: unknown;
  try {
    value = fromDisk && entry.digest === digest(entry.json) ? JSON.parse(entry.json) : entry.value;
  } catch {
    value = undefined;
  }
  if (value === undefined || !isValid(value)) return undefined;
  entry.value = value;
  entry.checkedBy = isValid;
  if (fromDisk) rememberParsed(entry, value, isValid);
  return value;
}

/**
 * JSON values by key (function results, stored files), remembering which this
 * run used. `get` returns a value only when its text matches its digest and
 * the value passes the caller's schema check; otherwise the entry is dropped.
 */
export class ResultStore {
  private readonly entries: Map<string, StoredEntry>;
  private readonly used = new Set<string>();
  changed = false;
  /** Entries dropped this run because they were damaged or did not fit their schema. */
  dropped = 0;

  constructor(entries?: Map<string, StoredEntry>) {
    this.entries = entries ?? new Map();
  }

  get(key: string, isValid: (value: unknown) => boolean = () => true): unknown {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const value = checkedValue(entry, isValid);
    if (value === undefined) {
      this.entries.delete(key);
      this.used.delete(key);
      this.dropped++;
      this.changed = true;
      return undefined;
    }
    this.used.add(key);
    return value;
  }

  /** Whether an entry is stored under `key` (not yet checked: `get` may still drop it). */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** This store seen through a schema check: what its consumer reads back always fits. */
  checked(isValid: (value: unknown) => boolean): EntryStore {
    return { get: (key) => this.get(key, isValid), put: (key, value) => this.put(key, value) };
  }

  put(key: string, value: unknown): void {
    const json = JSON.stringify(value);
    this.entries.set(key, { json, digest: digest(json), value });
    this.used.add(key);
    this.changed = true;
  }

  /** Entries of this run first, then the most recent others, up to the cap. */
  serialize(): string {
    const keep = [...this.used];
    const rest = [...this.entries.keys()].filter((k) => !this.used.has(k)).reverse();
    const chosen = [...keep, ...rest].slice(0, MAX_STORED_RESULTS).reverse();
    return chosen.map((k) => formatStoreLine(k, this.entries.get(k)!)).join('');
  }

  static parse(text: string): ResultStore {
    return new ResultStore(parseStoreLines(text));
  }
}

/**
 * Whole analyses of snapshots (discover/snapshot.ts), one sealed file each
 * under `snapshots/`, named by the snapshot's tree and a digest of its
 * identity and the analysis configuration. A tree analysed before (the base
 * of every `diff --cached`) costs reading one file. The most recently used
 * are kept.
 */
export class SnapshotStore {
  private readonly pending = new Map<string, StoredEntry>();
  private readonly memory = new Map<string, StoredEntry>();
  private readonly used = new Set<string>();
  dropped = 0;

  constructor(private readonly dir: string | null) {}

  /** The value stored under `name` if intact and valid; a damaged entry is removed. */
  get(name: string, isValid: (value: unknown) => boolean): unknown {
    const entry = this.pending.get(name) ?? this.memory.get(name) ?? this.readEntry(name);
    if (entry === undefined) return undefined;
    const value = checkedValue(entry, isValid);
    if (value === undefined) {
      this.dropped++;
      this.memory.delete(name);
      if (this.dir) fs.rmSync(this.file(name), { force: true });
      return undefined;
    }
    this.used.add(name);
    return value;
  }

  has(name: string): boolean {
    return this.pending.has(name) || this.memory.has(name) || (!!this.dir && fs.existsSync(this.file(name)));
  }

  put(name: string, value: unknown): void {
    const json = JSON.stringify(value);
    const entry = { json, digest: digest(json), value };
    this.pending.set(name, entry);
    this.memory.set(name, entry);
  }

  /** Stored names, most recently used first. */
  names(): string[] {
    const inMemory = [...this.memory.keys()].reverse();
    if (!this.dir) return inMemory;
    let onDisk: { name: string; at: number }[] = [];
    try {
      onDisk = fs
        .readdirSync(this.dir)
        .filter((f) => f.endsWith('.txt'))
        .map((f) => ({ name: f.slice(0, -4), at: fs.statSync(path.join(this.dir!, f)).mtimeMs }))
        .sort((a, b) => b.at - a.at);
    } catch {
      // No folder yet.
    }
    return [...new Set([...inMemory, ...onDisk.map((e) => e.name)])];
  }

  /** A snapshot file holds one store line (see parseStoreLines), under its own name. */
  private readEntry(name: string): StoredEntry | undefined {
    if (!this.dir) return undefined;
    let text: string;
    try {
      text = fs.readFileSync(this.file(name), 'utf8');
    } catch {
      return undefined;
    }
    // Present but not one line of this name: damaged, seen by get() as a digest that does not match.
    const entry: StoredEntry = parseStoreLines(text).get(name) ?? { json: '', digest: '' };
    this.memory.set(name, entry);
    return entry;
  }

  private file(name: string): string {
    return path.join(this.dir!, `${name}.txt`);
  }

  /** Writes new entries, marks used ones as recent, and keeps the most recent MAX_STORED_SNAPSHOTS. */
  save(): void {
    if (!this.dir || (!this.pending.size && !this.used.size)) return;
    fs.mkdirSync(this.dir, { recursive: true });
    for (const [name, entry] of this.pending) writeAtomic(this.file(name), formatStoreLine(name, entry));
    const now = new Date();
    for (const name of this.used) if (!this.pending.has(name)) fs.utimesSync(this.file(name), now, now);
    this.pending.clear();
    for (const name of this.names().slice(MAX_STORED_SNAPSHOTS)) fs.rmSync(this.file(name), { force: true });
  }
}

export interface CacheStats {
  scanHits: number;
  scanMisses: number;
  resultHits: number;
  resultMisses: number;
  parseHits: number;
  /** Files whose stored form made parsing unnecessary (until a CFG was needed). */
  storedFiles: number;
  /** Function CFGs read back instead of parsing their file again. */
  storedCfgs: number;
  /** Snapshots whose whole analysis came from the cache, and snapshots analysed. */
  snapshotHits: number;
  snapshotMisses: number;
}

export class AnalysisCache {
  readonly parses = new Map<string, { ir: FileIR; problems: string[] }>();
  readonly stats: CacheStats = { scanHits: 0, scanMisses: 0, resultHits: 0, resultMisses: 0, parseHits: 0, storedFiles: 0, storedCfgs: 0, snapshotHits: 0, snapshotMisses: 0 };
  readonly snapshots: SnapshotStore;
  private scanIndex?: ScanIndex;
  private resultStore?: ResultStore;
  private fileStore?: ResultStore;
  private cfgStore?: ResultStore;

  /** `dir` null: kept in memory for this process only. */
  constructor(readonly dir: string | null) {
    this.snapshots = new SnapshotStore(dir ? path.join(dir, 'snapshots') : null);
  }

  /** The cache of a git repository: `<git common dir>/flushcheck/`. */
  static forGitDir(commonDir: string): AnalysisCache {
    return new AnalysisCache(path.join(commonDir, 'flushcheck', `v${FORMAT}-${toolDigest().slice(0, 12)}`));
  }

  get scan(): ScanIndex {
    this.scanIndex ??= this.load('scan.txt', ScanIndex.parse) ?? new ScanIndex();
    return this.scanIndex;
  }

  /** Lowered files without their syntax trees (ir/stored.ts), by file, content and lowering options. */
  get files(): ResultStore {
    this.fileStore ??= this.load('files.txt', ResultStore.parse) ?? new ResultStore();
    return this.fileStore;
  }

  /** Functions' CFGs (ir/stored.ts), by file content, lowering options and position. */
  get cfgs(): ResultStore {
    this.cfgStore ??= this.load('cfgs.txt', ResultStore.parse) ?? new ResultStore();
    return this.cfgStore;
  }

  get results(): ResultStore {
    this.resultStore ??= this.load('functions.txt', ResultStore.parse) ?? new ResultStore();
    return this.resultStore;
  }

  /** Reads the stores now (e.g. while git runs) rather than on first use. */
  preload(): void {
    void this.scan;
    void this.files;
    void this.results;
  }

  private load<T>(name: string, parse: (text: string) => T): T | undefined {
    if (!this.dir) return undefined;
    try {
      return parse(fs.readFileSync(path.join(this.dir, name), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** Writes what changed; a failure to write (read-only repository) only costs the next run time. */
  save(): string | null {
    if (!this.dir) return null;
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      if (this.scanIndex?.changed) writeAtomic(path.join(this.dir, 'scan.txt'), this.scanIndex.serialize());
      if (this.resultStore?.changed) writeAtomic(path.join(this.dir, 'functions.txt'), this.resultStore.serialize());
      if (this.fileStore?.changed) writeAtomic(path.join(this.dir, 'files.txt'), this.fileStore.serialize());
      if (this.cfgStore?.changed) writeAtomic(path.join(this.dir, 'cfgs.txt'), this.cfgStore.serialize());
      this.snapshots.save();
      const now = new Date();
      fs.utimesSync(this.dir, now, now);
      removeStaleVersions(path.dirname(this.dir), path.basename(this.dir), now.getTime());
      return null;
    } catch (e) {
      return `cache not saved in ${this.dir}: ${(e as Error).message}`;
    }
  }
}

let codeDigest: string | undefined;

/**
 * A digest of flushcheck's own code: results computed by another build of the
 * analysis (an upgrade, a local change) are never reused, even when the
 * version number did not change. The build writes it (dist/code-digest.txt,
 * scripts/precompile-validators.mjs) so a run does not hash its own code;
 * run from the sources (tests), it is computed.
 */
export function toolDigest(): string {
  if (codeDigest) return codeDigest;
  const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  try {
    const built = fs.readFileSync(path.join(top, 'code-digest.txt'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(built)) return (codeDigest = built);
  } catch {
    // Not built: computed below.
  }
  codeDigest = codeDigestOf(top);
  return codeDigest;
}

/** The digest of every .js/.ts file under `top`, in a fixed order. */
export function codeDigestOf(top: string): string {
  const h = createHash('sha1');
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(js|ts)$/.test(entry.name)) h.update(entry.name).update(fs.readFileSync(full));
    }
  };
  walk(top);
  return h.digest('hex');
}

/** Another process reading meanwhile sees the old file or the new one, never half of one. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Caches of other flushcheck builds stay while they are in use (two installs
 * on one repository must not delete each other's cache on every run); one
 * not written for STALE_CACHE_MS is removed.
 */
function removeStaleVersions(parent: string, current: string, now: number): void {
  for (const entry of fs.readdirSync(parent)) {
    if (entry === current || !/^v\d+-[0-9a-f]+$/.test(entry)) continue;
    const folder = path.join(parent, entry);
    try {
      if (now - fs.statSync(folder).mtimeMs > STALE_CACHE_MS) fs.rmSync(folder, { recursive: true, force: true });
    } catch {
      // Removed by the other install meanwhile: nothing to do.
    }
  }
}
