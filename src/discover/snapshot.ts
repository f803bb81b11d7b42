// A tree to analyse: the C sources of the arch's build as one state of the
// tree has them (a folder on disk, a commit, the index, a patched copy), read
// only as far as the analysis asks. Nothing is ever written to the tree.
//
// A snapshot keeps a record of what its analysis learned about it (which files
// name which identifiers, what was read, which paths exist, the include
// walks; discover/record.ts). A snapshot made from another by a few changed
// files (`withChanges`: the index over HEAD, a patch over the tree before it)
// starts from that record, adjusted for the changes, and asks its backing
// (the disk, git) only what the record cannot answer: a one-file change does
// not list, stat or scan the rest of the tree.
import { blobId } from './git.js';
import { adjustRecord, emptyRecord, type IncludeRecord, type SnapshotRecord } from './record.js';
import { buildWholeWordMatcher, wholeWordTest } from './prefilter.js';
import type { Diagnostic } from '../types.js';

export interface ScanOptions {
  jobs?: number;
  maxFileBytes?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Each file the scan keeps, as soon as it is found (while the rest is still
   * being scanned), so its parsing can start early. A hint only: the result
   * is what counts, and a backing may not call it at all.
   */
  onMatch?: (file: string, content: Buffer) => void;
}

export interface BackingScan {
  matched: Map<string, Buffer>;
  diagnostics: Diagnostic[];
  /** Files answered by the scan index without reading, and files read. */
  fromIndex: number;
  read: number;
  /** Of the files read, those hashed to work out their content key (a keyed backing's; the others' keys were vouched for by git). */
  hashed?: number;
}

/** Where a snapshot's unchanged files come from: a folder or a git tree (discover/backing.ts). */
export interface Backing {
  readonly root: string;
  /** Every source file of the build, sorted, with its content key when known without reading it (a git blob id). */
  listing(): Map<string, string | null>;
  /** Whether files have content keys (git blob ids) the snapshot's record should keep. */
  readonly keyed: boolean;
  /** A file's bytes as the backing has them (`key`: the content the snapshot expects), or null when it has none. */
  read(file: string, key: string | undefined): Buffer | null;
  /** Which of `files` name one of `names` as a whole word, with their contents. */
  scan(files: string[], names: string[], opts: ScanOptions): Promise<BackingScan>;
  /** Diagnostics of listing the files (unreadable folders...), once. */
  listingDiagnostics(): Diagnostic[];
  /** Start listing the files in the background, for `ready` to take (a backing whose listing is slow). */
  prefetch?(): void;
  /** Resolves once the listing is in place (one started by `prefetch`, or a walk still to do). */
  ready?(): Promise<void>;
  /** List the files and scan them all in one pass, when the listing is still to be made (else undefined). */
  scanWhileListing?(names: string[], opts: ScanOptions): Promise<BackingScan | undefined>;
}

export interface SnapshotScan extends BackingScan {
  /** The record answered which files to read: no file outside them was looked at. */
  replayed: boolean;
}

/** A file of the snapshot that differs from its backing: its content, or null when it is deleted. */
export type Changes = Map<string, Buffer | null>;

export class Snapshot {
  /** What this snapshot's analysis learned (and what it inherited): see discover/record.ts. */
  private readonly rec: SnapshotRecord;
  private listed?: Map<string, string | null>;
  private allFiles?: string[];
  /** The analysis result of this snapshot, once known (configuration.ts analyzeSnapshot). */
  analysed?: unknown;

  /**
   * `changes`: every file that differs from the backing; `known`: a record
   * valid for this snapshot; `identities`: what names this content for
   * caches (a git tree id, with the changes' blob ids; the first is its own,
   * the others equivalent), none when nothing does.
   */
  constructor(
    readonly backing: Backing,
    readonly changes: Changes,
    readonly label: string,
    readonly identities: string[],
    known?: SnapshotRecord,
    /** The result of an analysis that looked at none of the files this snapshot changes (adjustRecord). */
    readonly inherited?: unknown,
  ) {
    this.rec = known ?? emptyRecord();
    if (backing.keyed) for (const [file, content] of changes) if (content) this.rec.keys[file] = blobId(content);
  }

  get root(): string {
    return this.backing.root;
  }

  /** The snapshot's own identity, or null. */
  get identity(): string | null {
    return this.identities[0] ?? null;
  }

  /**
   * This snapshot with some files changed (null: deleted); it starts from
   * what this one's analysis learned. `added`: the changed files this one
   * does not have, when the caller knows (git's diff does); else asked.
   */
  withChanges(delta: Changes, label: string, identities: string[], added?: Set<string>): Snapshot {
    const changes = new Map(this.changes);
    for (const [file, content] of delta) changes.set(file, content);
    const existed = (file: string) => (added ? !added.has(file) : this.exists(file));
    const { record, unseen } = adjustRecord(this.record(), delta, existed);
    const inherited = unseen && !diagnosesAny(this.analysed, delta) ? this.analysed : undefined;
    return new Snapshot(this.backing, changes, label, identities, record, inherited);
  }

  /**
   * About to be analysed: have a slow backing start listing its files now,
   * unless what this snapshot inherited answers the scans (a changed
   * snapshot's record), which then never need the listing.
   */
  prefetchListing(): void {
    if (Object.keys(this.rec.names).length === 0) this.backing.prefetch?.();
  }

  /** Every source file, sorted (read-only: shared by every call). Lists the backing (a walk, or git's listing) the first time. */
  files(): readonly string[] {
    if (this.allFiles) return this.allFiles;
    const all = new Set(this.listing().keys());
    for (const [file, content] of this.changes) {
      if (content) all.add(file);
      else all.delete(file);
    }
    this.allFiles = [...all].sort();
    return this.allFiles;
  }

  fileCount(): number {
    if (this.rec.files < 0) this.rec.files = this.files().length;
    return this.rec.files;
  }

  exists(file: string): boolean {
    if (this.changes.has(file)) return this.changes.get(file) !== null;
    const known = this.rec.exists[file] ?? (this.rec.keys[file] ? true : undefined);
    if (known !== undefined) return known;
    const answer = this.listing().has(file);
    this.rec.exists[file] = answer;
    return answer;
  }

  /** The file's bytes as this snapshot has them, or null when it has no such file (or it cannot be read). */
  read(file: string): Buffer | null {
    if (this.changes.has(file)) return this.changes.get(file)!;
    const key = this.keyOf(file);
    const content = this.backing.read(file, key);
    // A keyed backing returns only the content it was asked for. Every read is recorded (a change to it must be seen).
    this.rec.keys[file] = content && this.backing.keyed ? (key ?? blobId(content)) : '';
    return content;
  }

  private keyOf(file: string): string | undefined {
    if (!this.backing.keyed) return undefined;
    return this.rec.keys[file] || this.listing().get(file) || undefined;
  }

  private listing(): Map<string, string | null> {
    this.listed ??= this.backing.listing();
    return this.listed;
  }

  /**
   * The files naming one of `names` (only under the `within` folders, if
   * given), other than those in `parsed`, with their contents. The contents
   * of `parsed` are searched too, so the record knows every file naming each
   * name. Answered from the record when it knows every name.
   */
  async scan(names: string[], within: string[] | undefined, parsed: Map<string, Buffer>, opts: ScanOptions): Promise<SnapshotScan> {
    const inside = (file: string) => !within || within.some((dir) => file.startsWith(dir));
    const known = names.map((n) => this.rec.names[n]).every((a) => a !== undefined && (a.within === null || sameFolders(a.within, within)));
    if (known) return this.replayScan(names, inside, parsed);

    const everything = !within && parsed.size === 0 && this.changes.size === 0;
    const scan = (everything ? await this.backing.scanWhileListing?.(names, opts) : undefined) ?? (await this.scanListed(names, inside, parsed, opts));
    const matched = new Map(scan.matched);
    const test = buildWholeWordMatcher(names);
    for (const [file, content] of this.changes) {
      if (content && inside(file) && !parsed.has(file) && test(content)) matched.set(file, content);
    }
    // A keyed backing's matches are the contents their listed keys name (checked by its scan): no need to hash them again.
    for (const [file, content] of matched) this.rec.keys[file] ||= this.backing.keyed ? (this.keyOf(file) ?? blobId(content)) : '';
    this.recordNames(names, within, matched, parsed, inside);
    if (this.rec.files < 0 && !within) this.rec.files = this.files().length;
    return { ...scan, matched, replayed: false };
  }

  /** The backing's scan of the listed files under `within`, other than those in `parsed` or changed. */
  private async scanListed(names: string[], inside: (file: string) => boolean, parsed: Map<string, Buffer>, opts: ScanOptions): Promise<BackingScan> {
    await this.backing.ready?.();
    const candidates = this.files().filter((f) => inside(f) && !parsed.has(f) && !this.changes.has(f));
    return this.backing.scan(candidates, names, opts);
  }

  private replayScan(names: string[], inside: (file: string) => boolean, parsed: Map<string, Buffer>): SnapshotScan {
    const matched = new Map<string, Buffer>();
    const diagnostics: Diagnostic[] = [];
    const files = new Set(names.flatMap((n) => this.rec.names[n].files));
    for (const file of [...files].sort()) {
      if (parsed.has(file) || !inside(file)) continue;
      const content = this.read(file);
      if (content) matched.set(file, content);
      else diagnostics.push({ file, reason: 'cannot read: the file is gone or unreadable' });
    }
    return { matched, diagnostics, fromIndex: 0, read: 0, replayed: true };
  }

  /** Per name, every file of the snapshot (under `within`) that names it: the scan's matches and the parsed files. */
  private recordNames(names: string[], within: string[] | undefined, matched: Map<string, Buffer>, parsed: Map<string, Buffer>, inside: (file: string) => boolean): void {
    for (const name of names) {
      const test = wholeWordTest(name);
      const files: string[] = [];
      for (const [file, content] of matched) if (test(content)) files.push(file);
      for (const [file, content] of parsed) if (inside(file) && test(content)) files.push(file);
      this.rec.names[name] = { within: within ? [...within].sort() : null, files: files.sort() };
    }
  }

  /** What the include resolver may reuse (discover/includes.ts). */
  knownIncludes(): IncludeRecord | undefined {
    return this.rec.includes;
  }

  /** The resolver started from knownIncludes(): what it returns covers what it was given. */
  recordIncludes(includes: IncludeRecord): void {
    this.rec.includes = includes;
  }

  /** What this snapshot's analysis learned, to store or to start a changed snapshot from. */
  record(): SnapshotRecord {
    if (this.rec.files < 0 && this.listed) this.rec.files = this.files().length;
    return this.rec;
  }

  /**
   * Take what a stored analysis of the same content learned (its result came
   * from the cache). Its maps are copied: this snapshot adds to its own, and
   * a value read from the cache is never modified (cache/store.ts).
   */
  adopt(record: SnapshotRecord): void {
    Object.assign(this.rec, record, { keys: { ...record.keys }, names: { ...record.names }, exists: { ...record.exists } });
  }
}

/**
 * Whether a result's diagnostics name a changed file: a file the scan could
 * not read (too large, unreadable) is in no record, yet its diagnostic is in
 * the result, so a result that names one is not the changed snapshot's.
 */
function diagnosesAny(result: unknown, delta: Changes): boolean {
  const diagnostics = (result as { stats?: { diagnostics?: { file: string }[] } } | undefined)?.stats?.diagnostics ?? [];
  return diagnostics.some((d) => delta.has(d.file));
}

function sameFolders(a: string[], b: string[] | undefined): boolean {
  if (!b) return false;
  const sorted = [...b].sort();
  return a.length === sorted.length && a.every((dir, i) => dir === sorted[i]);
}
