// Where a snapshot's unchanged files come from (discover/snapshot.ts).
//
// - A folder: the files a walk found (or git's index, for a work tree's top),
//   read from disk as they are.
// - A git tree (a commit's): its files and blob ids from git. A file is read
//   from disk when its bytes there are the blob's (the working tree usually
//   holds what was committed), else from git's objects. That the bytes are
//   the blob's is known from git's own check of the work tree against the
//   index, strict and re-checked against the file's ctime (discover/trust.ts),
//   or else by hashing them. A file edited on disk, or one git is told not to
//   look at (assume-unchanged, skip-worktree), is read as the tree has it.
import fs from 'node:fs';
import path from 'node:path';
import type { ScanIndex } from '../cache/store.js';
import type { Diagnostic } from '../types.js';
import { blobId, listCommit, listCommitAsync, listSourcesThroughIndex, readBlob, readNamedBlobs, type GitRepo } from './git.js';
import { buildWholeWordMatcher, prefilter, prefilterAsListed, wholeWordTest, type PrefilterResult, type ScanTrust } from './prefilter.js';
import { readRegularFileWithStat } from './safe-read.js';
import type { Backing, BackingScan, ScanOptions } from './snapshot.js';
import { askGitForCleanFiles, unchangedSinceCheck, type WorkTreeTrust } from './trust.js';
import { buildSkipReason, discoverFiles, isSourceName, type DiscoverOptions, type DiscoverResult } from './walk.js';

/**
 * A scan of more files than this asks git's check of the work tree itself
 * (see GitTreeBacking.scan); a smaller one only waits for a check already asked.
 */
const LARGE_SCAN_FILES = 4096;
/** A working-tree file larger than this is not a source anyone edits by hand (the scan has its own limit). */
export const MAX_READ_BYTES = 64 * 1024 * 1024;
/** What a git tree backing keeps of the contents it read (the headers a review reads again after each patch are a few MB). */
const MAX_REMEMBERED_BYTES = 64 * 1024 * 1024;

export function isBuildSource(rel: string, arch: string): boolean {
  return isSourceName(rel) && buildSkipReason(rel, arch) === null;
}

/** A folder's files as they are on disk. `keys`: content keys computed beforehand, for the scan index (tests). */
export class FolderBacking implements Backing {
  readonly keyed: boolean;
  /** The walk still to do (see unwalked), until done. */
  private walk?: DiscoverOptions;
  /** The files with their keys, made once (a kernel folder's is ~50,000 entries). */
  private listed?: Map<string, string | null>;

  constructor(
    readonly root: string,
    private files: string[],
    private rawPaths: Map<string, Buffer> = new Map(),
    private diagnostics: Diagnostic[] = [],
    private readonly keys?: Map<string, string>,
    /** The scan index, loaded only when a scan needs it. */
    private readonly index?: () => ScanIndex,
  ) {
    this.keyed = !!keys;
  }

  /** A folder whose walk is left to its first scan (scanWhileListing), or to `ready`. */
  static unwalked(walk: DiscoverOptions): FolderBacking {
    const backing = new FolderBacking(path.resolve(walk.root), []);
    backing.walk = walk;
    return backing;
  }

  async ready(): Promise<void> {
    if (this.walk) this.walked(await discoverFiles(this.walk));
  }

  /**
   * Walk the folder and scan every file it holds in one go, the scan's
   * workers reading files while the walk goes on; undefined once walked.
   */
  async scanWhileListing(names: string[], opts: ScanOptions): Promise<BackingScan | undefined> {
    const walk = this.walk;
    if (!walk) return undefined;
    let listing: DiscoverResult | undefined;
    const scan = await prefilterAsListed(this.root, async (take) => void (listing = await discoverFiles({ ...walk, onFile: take })), names, opts);
    this.walked(listing!);
    return { matched: scan.matched, diagnostics: scan.diagnostics, fromIndex: 0, read: scan.listed.length };
  }

  private walked(listing: DiscoverResult): void {
    this.walk = undefined;
    this.listed = undefined;
    this.files = listing.files;
    this.rawPaths = listing.rawPaths;
    this.diagnostics = listing.diagnostics;
  }

  listing(): Map<string, string | null> {
    if (this.walk) throw new Error('internal: a folder listed before its walk (await Backing.ready first)');
    this.listed ??= new Map(this.files.map((f) => [f, this.keys?.get(f) ?? null]));
    return this.listed;
  }

  listingDiagnostics(): Diagnostic[] {
    if (this.walk) throw new Error('internal: a folder listed before its walk (await Backing.ready first)');
    return this.diagnostics;
  }

  read(file: string): Buffer | null {
    try {
      return fs.readFileSync(this.rawPaths.get(file) ?? path.join(this.root, file));
    } catch {
      return null;
    }
  }

  async scan(files: string[], names: string[], opts: ScanOptions): Promise<BackingScan> {
    if (this.keys && this.index) {
      const keys = this.keys;
      return scanThroughIndex(files, names, this.index(), (f) => keys.get(f) ?? null, (toRead, vocab) => prefilter(this.root, toRead, vocab, { ...opts, rawPaths: this.rawPaths, contentKeys: true }), async () => new Map());
    }
    const scan = await prefilter(this.root, files, names, { ...opts, rawPaths: this.rawPaths });
    return { matched: scan.matched, diagnostics: scan.diagnostics, fromIndex: 0, read: files.length };
  }
}

/** A git tree's build sources, read from disk where the bytes are the tree's, else from git. */
export class GitTreeBacking implements Backing {
  readonly keyed = true;
  private listed?: Map<string, string | null>;
  /** The listing git is producing in the background (see prefetch). */
  private listing$?: Promise<Map<string, string>>;
  /**
   * Contents read, by blob id: every snapshot of a review shares this
   * backing, and each analysis reads the same headers again (the include
   * resolver's). A blob id names one content, so what was read and checked
   * once stays right.
   */
  private readonly contents = new Map<string, Buffer>();
  private contentBytes = 0;
  /** Which work-tree files git finds clean against the index (see askTrust); undefined until it answers, null when it cannot say. */
  private trust$?: Promise<WorkTreeTrust | null>;
  private trust: WorkTreeTrust | null | undefined;
  /** The trustedBefore of git's check once it has started (files read from then on can wait for its answer: see ScanTrust). */
  private trustStartedBefore: number | null = null;
  private readonly stopTrust = new AbortController();
  private realTop?: string;
  /** Files whose bytes on disk were hashed to check them against the tree (by scans and reads). */
  hashed = 0;

  constructor(
    private readonly repo: GitRepo,
    readonly tree: string,
    private readonly arch: string,
    /** The scan index, loaded only when a scan needs it. */
    private readonly index?: () => ScanIndex,
    /** The clock git's check of the work tree is timed with (tests move it: see discover/trust.ts). */
    private readonly now: () => number = Date.now,
  ) {}

  get root(): string {
    return this.repo.top;
  }

  listing(): Map<string, string | null> {
    this.listed ??= this.buildSources(listCommit(this.repo, this.tree));
    return this.listed;
  }

  /**
   * Have git list the tree while the caller does other work (loading the
   * analysis); `ready` takes the result. Only for a snapshot about to be
   * analysed: one whose analysis is stored never needs its listing.
   */
  prefetch(): void {
    void this.askTrust();
    if (this.listed || this.listing$) return;
    // From the index when it can say (a few times faster), else from the tree's objects.
    this.listing$ = listSourcesThroughIndex(this.repo, this.tree).then((sources) => sources ?? listCommitAsync(this.repo, this.tree));
    // A failure is reported by the synchronous listing, which runs git again.
    this.listing$.catch(() => {});
  }

  async ready(): Promise<void> {
    if (this.listed || !this.listing$) return;
    const listed = await this.listing$.catch(() => undefined);
    if (listed) this.listed ??= this.buildSources(listed);
  }

  private buildSources(entries: Map<string, string>): Map<string, string | null> {
    const sources = new Map<string, string | null>();
    for (const [rel, id] of entries) if (isBuildSource(rel, this.arch)) sources.set(rel, id);
    return sources;
  }

  listingDiagnostics(): Diagnostic[] {
    return [];
  }

  /**
   * Ask git, in the background, which work-tree files hold their index blob
   * (discover/trust.ts), once: scans take the answer as it comes, a read
   * takes it if it is there.
   */
  private askTrust(): Promise<WorkTreeTrust | null> {
    this.trust$ ??= askGitForCleanFiles(this.repo, this.now, this.stopTrust.signal, (before) => (this.trustStartedBefore = before)).then((trust) => (this.trust = trust));
    return this.trust$;
  }

  read(file: string, key: string | undefined): Buffer | null {
    const id = key ?? this.listing().get(file);
    if (!id) return null;
    const known = this.contents.get(id);
    if (known) return known;
    const content = this.checkedFromDisk(file, id) ?? readBlob(this.repo, id);
    if (content && this.contentBytes + content.length <= MAX_REMEMBERED_BYTES) {
      this.contents.set(id, content);
      this.contentBytes += content.length;
    }
    return content;
  }

  /** The working tree's file when its bytes are blob `id`: git vouches for it (and it is unchanged since), or its hash says so. */
  private checkedFromDisk(file: string, id: string): Buffer | null {
    const vouched = this.trust?.ids.get(file);
    // git found another blob on disk: the disk cannot give this one.
    if (vouched !== undefined && vouched !== id) return null;
    const onDisk = this.fromDisk(file);
    if (!onDisk) return null;
    const { content, stat } = onDisk;
    if (vouched === id && unchangedSinceCheck(stat, this.trust!.trustedBefore)) return content;
    this.hashed++;
    return blobId(content) === id ? content : null;
  }

  /** The working tree's regular file with its stat after the read, or null (a symlink, a FIFO, a folder, nothing: read from git then). */
  private fromDisk(file: string): { content: Buffer; stat: fs.Stats } | null {
    try {
      this.realTop ??= fs.realpathSync.native(this.repo.top);
      return readRegularFileWithStat(this.repo.top, file, MAX_READ_BYTES, this.realTop);
    } catch {
      return null;
    }
  }

  async scan(files: string[], names: string[], opts: ScanOptions): Promise<BackingScan> {
    const listing = this.listing();
    const keyOf = (f: string) => listing.get(f) ?? null;
    // git's check stats every source of the work tree (~0.15 s on a kernel,
    // more with cold caches). A large scan asks for it (prefetch usually has) and
    // starts at once: the answer serves the batches handed out after it
    // comes. A small scan does not ask (a warm run's few files cost less to
    // hash), but waits for a check already asked: a small tree answers fast,
    // and a large one's first scan has seen the answer come.
    if (files.length > LARGE_SCAN_FILES) void this.askTrust();
    else if (this.trust$) await this.trust$;
    // A vouched-for file's key is its index blob id, unhashed: where that is not the tree's, it is read from git, as a file whose hash differs is.
    const trust: ScanTrust | undefined = this.trust$ && {
      now: () => (this.trust !== undefined ? this.trust : this.trustStartedBefore === null ? null : { trustedBefore: this.trustStartedBefore, ids: null }),
      answer: this.trust$,
    };
    const read = async (toRead: string[], vocab: string[]) => {
      const scan = await prefilter(this.repo.top, toRead, vocab, { ...opts, contentKeys: true, trust, noFollow: true });
      this.hashed += scan.hashed;
      // git still checking after a whole scan (cold caches, a busy machine)
      // is now only worth the few later reads: its CPU is better spent on the analysis.
      if (!this.trust && files.length > LARGE_SCAN_FILES) this.stopTrust.abort();
      return scan;
    };
    const fromGit = async (stale: string[]) => {
      const contents = await readNamedBlobs(this.repo, stale.map((f) => ({ path: f, id: keyOf(f)! })));
      return new Map<string, Buffer | null>(stale.map((f, i) => [f, contents[i]]));
    };
    return scanThroughIndex(files, names, this.index?.() ?? null, keyOf, read, fromGit);
  }
}

/**
 * Which files name one of `names`: answered by the scan index for contents it
 * knows, the rest read (scanning for the index's whole vocabulary costs the
 * same single pass and answers later questions too). A file whose bytes on
 * disk are not the content its key names is searched in the content git
 * gives for that key (`fromGit`).
 */
async function scanThroughIndex(
  files: string[],
  names: string[],
  index: ScanIndex | null,
  keyOf: (file: string) => string | null,
  read: (files: string[], vocab: string[]) => Promise<PrefilterResult>,
  fromGit: (files: string[]) => Promise<Map<string, Buffer | null>>,
): Promise<BackingScan> {
  const matched = new Map<string, Buffer>();
  const diagnostics: Diagnostic[] = [];
  const toRead: string[] = [];
  const knownMatches: string[] = [];
  const query = index?.query(names);
  let fromIndex = 0;
  for (const file of files) {
    const key = keyOf(file);
    const known = key === null || query === undefined ? undefined : index!.lookup(key, query);
    if (known === undefined) toRead.push(file);
    else {
      fromIndex++;
      if (known) knownMatches.push(file);
    }
  }
  const vocab = index ? [...new Set([...index.vocab, ...names])] : names;
  const scanned = [...toRead, ...knownMatches];
  const scan = await read(scanned, vocab);
  // Read again from git: files whose disk bytes are not the snapshot's (or could not be read).
  const stale = scanned.filter((f) => keyOf(f) !== null && scan.keys.get(f) !== keyOf(f));
  const staleContents = stale.length ? await fromGit(stale) : new Map<string, Buffer | null>();
  const staleSet = new Set(stale);
  diagnostics.push(...scan.diagnostics.filter((d) => !staleSet.has(d.file) || staleContents.get(d.file) === null));
  // Each name's own test and bit, for the names a matched file holds (the others hold none).
  // Only matched contents are tested, a few dozen: the one-name search without tables.
  const single = index ? vocab.map((n) => ({ matches: wholeWordTest(n), bit: index.query([n]) })) : null;
  const vocabMask = index ? index.query(vocab) : 0;
  const answeredByIndex = new Set(knownMatches);
  const wanted = buildWholeWordMatcher(names, true);
  const consider = (file: string, content: Buffer | undefined) => {
    const key = keyOf(file) ?? scan.keys.get(file);
    if (index && single && key !== undefined && !answeredByIndex.has(file)) {
      let found = 0;
      if (content) for (const name of single) if (name.matches(content)) found |= name.bit;
      index.recordMasks(key, vocabMask, found);
    }
    if (content && wanted(content)) matched.set(file, content);
  };
  for (const file of scanned) {
    if (staleSet.has(file)) {
      const content = staleContents.get(file);
      if (content) consider(file, content);
      continue;
    }
    consider(file, scan.matched.get(file));
  }
  return { matched, diagnostics, fromIndex, read: toRead.length, hashed: scan.hashed };
}
