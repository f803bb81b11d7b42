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
import { readRegularFileWithStat } from '../discover/safe-read.js';
import { compareText } from '../order.js';

/**
 * 4: stores are lines of `key digest json` (parseStoreLines), read lazily,
 * and grow by appended lines; scan.txt is sections, each under its checksum
 * line, and grows by appended sections.
 */
const FORMAT = 4;
/** Another build's cache folder unused this long is removed. */
const STALE_CACHE_MS = 30 * 24 * 3600 * 1000;
/** Names one scan index tracks (bits of a 32-bit mask). */
const MAX_VOCABULARY = 31;
/**
 * What one store file keeps: several kernel-sized runs' worth. Every run
 * reads the whole file, so it is bounded in size as well as in entries: a
 * 7.2 lint stores about 1.5 MB of function results, and a pre-commit hook
 * adds the changed functions' results on every commit.
 */
const STORE_LIMITS = { entries: 20_000, bytes: 16 * 1024 * 1024 }; // bytes: counted as characters of the text
/** Whole snapshot analyses kept on disk (the most recently used): a few branches' worth. */
const MAX_STORED_SNAPSHOTS = 24;
/** Sections appended to scan.txt before it is written whole again as one. */
const MAX_SCAN_SECTIONS = 64;
/** A store file past this is none flushcheck wrote (it writes them whole past STORE_LIMITS.bytes): not read. */
const MAX_STORE_FILE_BYTES = 4 * STORE_LIMITS.bytes;

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
  private bit = new Map<string, number>();
  /** content key -> names scanned for, names found (bit masks over `vocab`). */
  private scanned = new Map<string, number>();
  private found = new Map<string, number>();
  readonly vocab: string[] = [];
  changed = false;
  /** Keys recorded by this run: what an appended section holds. */
  private readonly fresh = new Set<string>();
  /** Intact sections of the file this index was read from; null: write it whole (new, damaged, or started over). */
  private sectionsOnDisk: number | null = null;
  /** Key lines in those sections (a section per vocabulary growth repeats them all: see outgrown). */
  private linesOnDisk = 0;

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
    // The bits mean other names now: what the file holds no longer fits them.
    this.sectionsOnDisk = null;
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
    this.recordMasks(key, this.mask(scannedNames), this.mask(foundNames));
  }

  /** `record` with the names as masks (see query): a scan records each of ~50,000 files with the same names scanned for. */
  recordMasks(key: string, scannedMask: number, foundMask: number): void {
    this.scanned.set(key, (this.scanned.get(key) ?? 0) | scannedMask);
    const found = ((this.found.get(key) ?? 0) & ~scannedMask) | foundMask;
    if (found) this.found.set(key, found);
    else this.found.delete(key);
    this.fresh.add(key);
    this.changed = true;
  }

  /** The whole index as one section: a checksum line, the vocabulary, then one `key scanned found` line per content. */
  serialize(): string {
    return this.section(this.scanned.keys());
  }

  /**
   * A section of what this run recorded, to append to the file the index was
   * read from; null when the file must be written whole instead (new,
   * damaged, started over, or grown to MAX_SCAN_SECTIONS sections).
   */
  appendix(): string | null {
    if (this.sectionsOnDisk === null || this.sectionsOnDisk >= MAX_SCAN_SECTIONS) return null;
    if (outgrown(this.linesOnDisk + this.fresh.size, this.scanned.size)) return null;
    return this.fresh.size ? this.section(this.fresh) : '';
  }

  /** This index is now what its file holds, `appended` having been appended to it. */
  saved(appended: string): void {
    if (appended) this.sectionsOnDisk! += 1;
    this.linesOnDisk += this.fresh.size;
    this.fresh.clear();
    this.changed = false;
  }

  /** A copy that a later run uses as if read from the file again (see rememberStores). */
  copy(): ScanIndex {
    const c = new ScanIndex();
    c.bit = new Map(this.bit);
    c.scanned = new Map(this.scanned);
    c.found = new Map(this.found);
    c.vocab.push(...this.vocab);
    c.sectionsOnDisk = this.sectionsOnDisk;
    c.linesOnDisk = this.linesOnDisk;
    c.changed = this.changed;
    return c;
  }

  private section(keys: Iterable<string>): string {
    const lines = [this.vocab.join(' ')];
    for (const key of keys) lines.push(`${key} ${this.scanned.get(key)!.toString(16)} ${(this.found.get(key) ?? 0).toString(16)}`);
    const body = lines.join('\n') + '\n';
    return `# ${digest(body)}\n${body}`;
  }

  /**
   * An index read back, section by section. A section whose checksum does
   * not match, or whose vocabulary does not extend the one before, is not
   * read, nor is anything after it: a damaged index only costs scans, and is
   * written whole at the next save.
   */
  static parse(text: string): ScanIndex {
    const index = new ScanIndex();
    let sections = 0;
    let intact = true;
    for (let at = 0; at < text.length; ) {
      const headerEnd = text.indexOf('\n', at);
      // Bodies hold names and hexadecimal keys: only a section's header starts a line with '#'.
      const next = headerEnd < 0 ? -1 : text.indexOf('\n#', headerEnd);
      const end = next < 0 ? text.length : next + 1;
      // A body ends with one newline: one more is the blank line an append puts before its section when it
      // saw this one still being written (appendTo), not part of it.
      let bodyEnd = end;
      while (bodyEnd - headerEnd > 2 && text[bodyEnd - 1] === '\n' && text[bodyEnd - 2] === '\n') bodyEnd--;
      const body = headerEnd < 0 ? '' : text.slice(headerEnd + 1, bodyEnd);
      const lines = headerEnd < 0 || text.slice(at, headerEnd) !== `# ${digest(body)}` ? null : index.readSection(body);
      if (lines === null) {
        intact = false;
        break;
      }
      sections++;
      index.linesOnDisk += lines;
      at = end;
    }
    index.fresh.clear();
    index.sectionsOnDisk = intact && sections > 0 ? sections : null;
    // A damaged file is written whole at the next save, even if nothing new is recorded.
    index.changed = !intact;
    return index;
  }

  /** Reads one section's body into the index: how many key lines it holds, or null when its vocabulary does not extend the index's. */
  private readSection(body: string): number | null {
    let eol = body.indexOf('\n');
    if (eol < 0) return null;
    const names = body.slice(0, eol).split(' ').filter(Boolean);
    if (names.length > MAX_VOCABULARY || this.vocab.some((name, i) => names[i] !== name)) return null;
    let lines = 0;
    for (const name of names) this.bitOf(name);
    const limit = 2 ** this.vocab.length;
    for (let pos = eol + 1; pos < body.length; pos = eol + 1) {
      lines++;
      eol = body.indexOf('\n', pos);
      if (eol < 0) eol = body.length;
      const s1 = body.indexOf(' ', pos);
      const s2 = body.indexOf(' ', s1 + 1);
      if (s1 < 0 || s2 < 0 || s2 > eol) continue;
      const scanned = parseInt(body.slice(s1 + 1, s2), 16);
      const found = parseInt(body.slice(s2 + 1, eol), 16);
      if (!(scanned >= 0 && scanned < limit && found >= 0 && found < limit)) continue;
      const key = body.slice(pos, s1);
      // A later section's line holds the key's whole record as of then.
      this.scanned.set(key, scanned);
      if (found) this.found.set(key, found);
      else this.found.delete(key);
    }
    return lines;
  }
}

/** Values by key whose reads are checked (see ResultStore.checked): what `get` returns passed the check, as a T. */
export interface EntryStore<T = unknown> {
  get(key: string): T | undefined;
  put(key: string, value: T): void;
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
  /** Keys put by this run: what an append writes. */
  private readonly fresh = new Set<string>();
  changed = false;
  /** Entries dropped this run because they were damaged or did not fit their schema. */
  dropped = 0;

  /** `onDisk`: the lines and length of the file the entries were read from (null: none was read). */
  constructor(
    entries?: Map<string, StoredEntry>,
    private onDisk: { lines: number; length: number } | null = null,
    private readonly limits = STORE_LIMITS,
  ) {
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

  /**
   * This store seen through a schema check: what its consumer reads back
   * always fits (T: what the check accepts). `prefix` keeps a kind of entry
   * apart from the others the store holds (the Kconfig's selects among files).
   */
  checked<T>(isValid: (value: unknown) => value is T, prefix = ''): EntryStore<T> {
    return { get: (key) => this.get(prefix + key, isValid) as T | undefined, put: (key, value) => this.put(prefix + key, value) };
  }

  put(key: string, value: unknown): void {
    const json = JSON.stringify(value);
    this.entries.set(key, { json, digest: digest(json), value });
    this.used.add(key);
    this.fresh.add(key);
    this.changed = true;
  }

  /**
   * The lines of this run's new entries, to append to the file the store was
   * read from (a later line of a key replaces an earlier one); null when the
   * file must be written whole instead: none was read, this run dropped a
   * damaged entry, or the file would pass a limit or be half lines replaced
   * since. Appending costs what is new; writing whole costs the whole store,
   * on every commit. Which entries stay past a limit is decided at the next
   * whole write, from that run's use and the file's order.
   */
  appendix(): string | null {
    if (this.onDisk === null || this.dropped > 0) return null;
    const lines = this.onDisk.lines + this.fresh.size;
    if (lines > this.limits.entries || outgrown(lines, this.entries.size)) return null;
    let text = '';
    for (const key of this.fresh) text += formatStoreLine(key, this.entries.get(key)!);
    return this.onDisk.length + text.length > this.limits.bytes ? null : text;
  }

  /** This store is now what its file holds, `appended` having been appended to it. */
  saved(appended: string): void {
    this.onDisk = { lines: this.onDisk!.lines + this.fresh.size, length: this.onDisk!.length + appended.length };
    this.fresh.clear();
    this.used.clear();
    this.changed = false;
  }

  /**
   * A copy that a later run uses as if read from the file again (see
   * rememberStores). Entries are shared: a value, once read and checked, is
   * never modified.
   */
  copy(): ResultStore {
    const c = new ResultStore(new Map(this.entries), this.onDisk, this.limits);
    c.changed = this.changed;
    return c;
  }

  /** Entries of this run first, then the most recent others, within the limits; oldest first. */
  serialize(): string {
    const keep = [...this.used];
    const rest = [...this.entries.keys()].filter((k) => !this.used.has(k)).reverse();
    const chosen: string[] = [];
    let length = 0;
    for (const key of [...keep, ...rest]) {
      const line = formatStoreLine(key, this.entries.get(key)!);
      if (chosen.length === this.limits.entries || length + line.length > this.limits.bytes) break;
      chosen.push(line);
      length += line.length;
    }
    return chosen.reverse().join('');
  }

  /** A store read back from its file's text (`limits`: for tests). */
  static parse(text: string, limits = STORE_LIMITS): ResultStore {
    let lines = 0;
    for (let eol = text.indexOf('\n'); eol >= 0; eol = text.indexOf('\n', eol + 1)) lines++;
    if (text.length > 0 && !text.endsWith('\n')) lines++;
    return new ResultStore(parseStoreLines(text), { lines, length: text.length }, limits);
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
    const text = this.dir ? readStoreFile(this.dir, `${name}.txt`)?.text : undefined;
    if (text === undefined) return undefined;
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
    for (const name of this.used) if (!this.pending.has(name)) markRecent(this.file(name), now);
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

  private load<T extends StoreFile>(name: string, parse: (text: string) => T): T | undefined {
    if (!this.dir) return undefined;
    const file = path.join(this.dir, name);
    const known = storesRemembered ? knownStores.get(file) : undefined;
    // The file as this process last read or wrote it: not read again.
    if (known && known.identity === identityOf(statOrNone(file))) return known.store.copy() as T;
    const read = readStoreFile(this.dir, name);
    if (!read) return undefined;
    let store: T;
    try {
      store = parse(read.text);
    } catch {
      return undefined;
    }
    if (!storesRemembered) return store;
    remember(file, read.identity, store);
    return store.copy() as T;
  }

  /** Writes what changed; a failure to write (read-only repository) only costs the next run time. */
  save(): string | null {
    if (!this.dir) return null;
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      if (this.scanIndex?.changed) saveStore(path.join(this.dir, 'scan.txt'), this.scanIndex);
      if (this.resultStore?.changed) saveStore(path.join(this.dir, 'functions.txt'), this.resultStore);
      if (this.fileStore?.changed) saveStore(path.join(this.dir, 'files.txt'), this.fileStore);
      if (this.cfgStore?.changed) saveStore(path.join(this.dir, 'cfgs.txt'), this.cfgStore);
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

/** The digest of every .js/.cjs/.ts file under `top` (the modules, the CLI's bundle, the validators), in a fixed order. */
export function codeDigestOf(top: string): string {
  const h = createHash('sha1');
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(c?js|ts)$/.test(entry.name)) h.update(entry.name).update(fs.readFileSync(full));
    }
  };
  walk(top);
  return h.digest('hex');
}

/**
 * A store file's text and identity, or null when there is none to read. A
 * cache is not trusted to hold what flushcheck wrote: a symlink, a FIFO (which
 * would block the run), a device (which would never end it) or a file past
 * MAX_STORE_FILE_BYTES is refused as any hostile file is (discover/safe-read.ts),
 * is as good as absent, and is replaced at the next save.
 */
function readStoreFile(dir: string, name: string): { text: string; identity: string } | null {
  try {
    const read = readRegularFileWithStat(dir, name, MAX_STORE_FILE_BYTES);
    return read && { text: read.content.toString('utf8'), identity: identityOf(read.stat)! };
  } catch {
    return null;
  }
}

/**
 * Whether a store file of `lines` lines (its appended ones included) for
 * `keys` live keys is to be written whole: past twice as many lines, most are
 * superseded ones that every run still reads.
 */
function outgrown(lines: number, keys: number): boolean {
  return lines > 2 * keys + 64;
}

/** A store file's content as a run holds it. */
interface StoreFile {
  appendix(): string | null;
  serialize(): string;
  saved(appended: string): void;
  copy(): StoreFile;
}

/**
 * Store files this process has read or appended to, by path, when it keeps
 * them (rememberStores): the file's identity then (device, inode, size,
 * modification and change times) and what it held. The resident process
 * (src/resident/) reads the same stores on every request: one whose file
 * still has that identity is what this process last read or wrote there, and
 * is not read and parsed again. Another process's write changes the identity.
 */
const knownStores = new Map<string, { identity: string; store: StoreFile }>();
/** Store files kept (a few repositories' worth); past it, the least recently used is dropped. */
const MAX_KNOWN_STORES = 16;
let storesRemembered = false;

/** Keep store files in memory between the runs of this process (the resident process). */
export function rememberStores(on: boolean): void {
  storesRemembered = on;
  if (!on) knownStores.clear();
}

/** Marks a snapshot file used now; one another flushcheck removed meanwhile (pruning its own) needs no mark. */
function markRecent(file: string, now: Date): void {
  try {
    fs.utimesSync(file, now, now);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** The file's lstat, or undefined when it cannot be had (no such file, or a folder above it that is no longer one). */
function statOrNone(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** What tells one version of a file from the next: an append changes its size and times, a rename its inode. */
function identityOf(stat: fs.Stats | undefined): string | null {
  return stat ? `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}` : null;
}

function remember(file: string, identity: string, store: StoreFile): void {
  knownStores.delete(file);
  knownStores.set(file, { identity, store });
  if (knownStores.size > MAX_KNOWN_STORES) knownStores.delete(knownStores.keys().next().value!);
}

/** Appends what the store added to its file when it can, else writes it whole. */
function saveStore(file: string, store: StoreFile): void {
  const added = store.appendix();
  const identity = added === null ? null : appendTo(file, added);
  if (identity === null) {
    writeAtomic(file, store.serialize());
    knownStores.delete(file);
    return;
  }
  store.saved(added!);
  if (storesRemembered) remember(file, identity, store);
}

/**
 * Appends `text` (whole lines) to `file` in one write, and gives the file's
 * identity after it; null when there is no such file any more (it is then
 * written whole). Another flushcheck appending
 * meanwhile is harmless: each write lands whole at the end of the file, and
 * every line or section carries its own checksum. Replacing the file instead
 * costs rewriting megabytes per commit, and on a filesystem mounted with
 * `discard` the old blocks' release made that the larger part of a warm run's
 * save.
 */
function appendTo(file: string, text: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return null;
    if (text) {
      // A last line cut short (an interrupted write) must not swallow the first appended one.
      const size = stat.size;
      const last = Buffer.alloc(1);
      const cut = size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
      const bytes = Buffer.from(cut ? `\n${text}` : text);
      for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done);
    }
    return identityOf(fs.fstatSync(fd))!;
  } finally {
    fs.closeSync(fd);
  }
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
