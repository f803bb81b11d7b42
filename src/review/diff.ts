// `flushcheck diff`: analyse a tree as a change leaves it and as it was, and
// keep only what the change introduces (and, asked, what it fixes). Both
// snapshots are read without checking anything out (see discover/source.ts);
// the content-keyed cache makes the second snapshot, and the next run, cost
// only what changed.
import path from 'node:path';
import { AnalysisCache } from '../cache/store.js';
import { UsageError } from '../errors.js';
import { diffIndex, diffTrees, findRepoWithHeadAsync, gitAsync, renamesOf, resolveCommit, treeOf, type GitRepo, type RawChange } from '../discover/git.js';
import { changesFromGit, isBuildSource, treeIdentity, treeSnapshot } from '../discover/source.js';
import type { Snapshot } from '../discover/snapshot.js';
import { analyzeSnapshot, configure, snapshotEntryName, VERSION, type Configuration } from '../configuration.js';
import type { LintOptions } from '../lint.js';
import type { Finding, LintResult } from '../types.js';
import { compareFindings } from './match.js';

/** What is compared with what. */
export type DiffTarget =
  /** The working tree against a commit (default HEAD). */
  | { kind: 'worktree'; base: string }
  /** The index against HEAD: what `git commit` would record (the pre-commit hook). */
  | { kind: 'cached' }
  /** Commit `to` against commit `from`. */
  | { kind: 'range'; from: string; to: string };

export interface DiffOptions extends Omit<LintOptions, 'root' | 'paths' | 'source' | 'cache'> {
  tree: string;
  target: DiffTarget;
  /** Keep the cache in memory only (nothing written under .git). */
  noCache?: boolean;
}

export interface DiffResult {
  /** The changed tree's analysis, with `findings` reduced to the introduced ones. */
  result: LintResult;
  fixed: Finding[];
  /** The changed tree's findings the base has too (SARIF reports them as `unchanged`). */
  unchanged: Finding[];
  base: string;
  head: string;
  /** Root-relative C sources that differ between the two snapshots. */
  changedSources: string[];
  cache: AnalysisCache['stats'];
  /** Why the cache could not be saved, if it could not. */
  cacheNote?: string;
  /** Untracked C sources of the build the working-tree comparison leaves out (`git add -N` brings them in). */
  untracked: string[];
}

/** `git diff`'s empty tree: the base of a first commit. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** Parses the REV / REV..REV argument of `flushcheck diff`. */
export function parseDiffTarget(rev: string | undefined, cached: boolean): DiffTarget {
  if (cached) {
    if (rev !== undefined) throw new UsageError('--cached compares the index with HEAD; leave out the revision, or drop --cached');
    return { kind: 'cached' };
  }
  if (rev === undefined) return { kind: 'worktree', base: 'HEAD' };
  const range = /^(.*?)\.\.(.*)$/.exec(rev);
  if (range && !rev.includes('...')) return { kind: 'range', from: range[1] || 'HEAD', to: range[2] || 'HEAD' };
  if (rev.includes('...')) throw new UsageError(`'${rev}': symmetric ranges (A...B) are not supported; pass A..B, or a single base revision`);
  return { kind: 'worktree', base: rev };
}

export async function runDiff(opts: DiffOptions): Promise<DiffResult> {
  const dir = path.resolve(opts.tree);
  const found = await findRepoWithHeadAsync(dir);
  if (!found) throw new UsageError(`${dir} is not in a git work tree; diff compares git revisions (use 'flushcheck lint' for a plain folder)`);
  const { repo, head: headCommit } = found;
  // The whole work tree, as `git diff` shows it from any subfolder: a change's
  // callers and the rule's definitions can be anywhere in it.
  const root = repo.top;
  const arch = opts.arch ?? 'arm64';
  const cache = opts.noCache ? new AnalysisCache(null) : AnalysisCache.forGitDir(repo.commonDir);
  const sides = await comparedStates(repo, headCommit, opts.target);
  // In the background: listing untracked files walks the work tree.
  const pendingUntracked = opts.target.kind === 'worktree' ? untrackedSources(repo, arch) : Promise.resolve([]);
  // Sources of this arch's build only: a change under arch/arm/ cannot change an arm64 finding.
  const sourceChanges = sides.changes.filter((c) => isBuildSource(c.path, arch));
  const changedSources = [...new Set(sourceChanges.map((c) => c.path))].sort();

  if (changedSources.length === 0) {
    // Nothing the analysis reads changed: nothing can be new or fixed.
    const untracked = await pendingUntracked;
    return { result: emptyResult(root, arch), fixed: [], unchanged: [], base: sides.baseLabel, head: sides.headLabel, changedSources, cache: cache.stats, untracked };
  }
  const common = { ...opts, root, cache };
  const configured = configure(common);
  const { changes, keys, added } = await changesFromGit(repo, sourceChanges, arch);
  const base = await baseSnapshot(repo, cache, { commit: sides.baseCommit, tree: sides.baseTree }, arch, sides.baseLabel, common, configured);
  // The base first: the head starts from what its analysis learned about the files.
  const before = await analyzeSnapshot({ ...common, source: base }, configured);
  const head = base.withChanges(changes, sides.headLabel, [treeIdentity(sides.baseTree, keys)], added);
  const after = await analyzeSnapshot({ ...common, source: head }, configured);
  const { introduced, fixed } = compareFindings(before.result.findings, after.result.findings, await renamedSources(repo, sides, sourceChanges, opts.target));
  const isNew = new Set(introduced);
  const cacheNote = cache.save() ?? undefined;
  const untracked = await pendingUntracked;
  return {
    result: { ...after.result, findings: introduced },
    fixed,
    unchanged: after.result.findings.filter((f) => !isNew.has(f)),
    base: sides.baseLabel,
    head: sides.headLabel,
    changedSources,
    cache: cache.stats,
    ...(cacheNote ? { cacheNote } : {}),
    untracked,
  };
}

/** What is compared: the base's tree, and what git says differs from it (with the blob ids it knows). */
interface ComparedStates {
  baseCommit: string | null;
  baseTree: string;
  baseLabel: string;
  headLabel: string;
  /** The commit compared with the base (a range's second end); null for the index or the working tree. */
  headCommit: string | null;
  changes: RawChange[];
}

async function comparedStates(repo: GitRepo, head: { commit: string; tree: string } | null, target: DiffTarget): Promise<ComparedStates> {
  const short = (id: string) => id.slice(0, 12);
  if (target.kind === 'cached') {
    // Before the first commit, everything staged is new.
    if (!head) return { baseCommit: null, baseTree: EMPTY_TREE, baseLabel: 'empty tree', headLabel: 'index', headCommit: null, changes: await diffIndex(repo, EMPTY_TREE, true) };
    return { baseCommit: head.commit, baseTree: head.tree, baseLabel: `HEAD (${short(head.commit)})`, headLabel: 'index', headCommit: null, changes: await diffIndex(repo, head.commit, true) };
  }
  if (target.kind === 'worktree') {
    const commit = target.base === 'HEAD' && head ? head.commit : resolveCommit(repo, target.base);
    const tree = head && commit === head.commit ? head.tree : treeOf(repo, commit);
    return { baseCommit: commit, baseTree: tree, baseLabel: `${target.base} (${short(commit)})`, headLabel: 'working tree', headCommit: null, changes: await diffIndex(repo, commit, false) };
  }
  const from = resolveCommit(repo, target.from);
  const to = resolveCommit(repo, target.to);
  return { baseCommit: from, baseTree: treeOf(repo, from), baseLabel: `${target.from} (${short(from)})`, headLabel: `${target.to} (${short(to)})`, headCommit: to, changes: await diffTrees(repo, from, to) };
}

/**
 * Build sources the change renamed (old path to new path). Only a change that
 * both deletes and adds a source (`sources`: the build sources among git's
 * changes) can hold a rename, so a usual one-file change costs no extra git call.
 */
async function renamedSources(repo: GitRepo, sides: ComparedStates, sources: RawChange[], target: DiffTarget): Promise<Map<string, string>> {
  if (!sources.some((c) => c.status === 'D') || !sources.some((c) => c.status === 'A')) return new Map();
  if (sides.headCommit) return renamesOf(repo, { from: sides.baseCommit!, to: sides.headCommit });
  if (!sides.baseCommit) return new Map();
  return renamesOf(repo, { cached: target.kind === 'cached', commit: sides.baseCommit });
}

/** How far (in changed build sources) a stored tree may be from the base for its analysis to be the starting point. */
const MAX_DERIVED_CHANGES = 2000;
/** Stored trees tried as a starting point (most recently used first), besides the parent commit's. */
const MAX_CANDIDATE_TREES = 4;

/**
 * The base tree's snapshot. When its analysis is not stored but that of a
 * tree near it is (the parent commit's: the base moved by a commit; the tree
 * of the branch last checked: a branch switch), the base is that tree with
 * the files git says differ, so only they are analysed again. The snapshot
 * keeps the base tree's own identity, so the next run finds it directly.
 */
async function baseSnapshot(repo: GitRepo, cache: AnalysisCache, base: { commit: string | null; tree: string }, arch: string, label: string, opts: LintOptions, configured: Configuration): Promise<Snapshot> {
  const direct = treeSnapshot(repo, base.tree, arch, label, () => cache.scan);
  if (base.tree === EMPTY_TREE) return direct;
  const stored = (identity: string) => cache.snapshots.has(snapshotEntryName(identity, configured, opts));
  if (stored(direct.identity!)) return direct;
  for (const candidate of candidateTrees(repo, cache, base)) {
    if (!stored(treeIdentity(candidate, []))) continue;
    const raw = (await diffTrees(repo, candidate, base.tree)).filter((c) => isBuildSource(c.path, arch));
    if (raw.length > MAX_DERIVED_CHANGES) continue;
    const start = treeSnapshot(repo, candidate, arch, label, () => cache.scan);
    const { changes, keys, added } = await changesFromGit(repo, raw, arch);
    const equivalent = treeIdentity(candidate, keys);
    // The candidate with these changes is the base tree: stored as such (the
    // head of the last `diff --cached` before a commit), nothing is analysed.
    if (!stored(equivalent)) await analyzeSnapshot({ ...opts, cache, source: start }, configured);
    return start.withChanges(changes, label, [direct.identity!, equivalent], added);
  }
  return direct;
}

/** Trees whose analysis may be stored, nearest first: the base commit's parent's, then the most recently used. */
function candidateTrees(repo: GitRepo, cache: AnalysisCache, base: { commit: string | null; tree: string }): string[] {
  const trees: string[] = [];
  if (base.commit) {
    try {
      trees.push(treeOf(repo, `${base.commit}^1`));
    } catch {
      // A root commit has no parent.
    }
  }
  for (const name of cache.snapshots.names()) {
    const m = /^([0-9a-f]{40,64})-/.exec(name);
    if (m && !trees.includes(m[1]) && m[1] !== base.tree) trees.push(m[1]);
    if (trees.length > MAX_CANDIDATE_TREES) break;
  }
  return trees;
}

/** Untracked, not ignored .c/.h files of the arch's build: a new file not yet `git add`ed. */
async function untrackedSources(repo: GitRepo, arch: string): Promise<string[]> {
  const out = (await gitAsync(repo.top, ['ls-files', '--others', '--exclude-standard', '-z', '--', '*.c', '*.h'])).toString('utf8');
  return out.split('\0').filter((rel) => rel !== '' && isBuildSource(rel, arch)).sort();
}

function emptyResult(root: string, arch: string): LintResult {
  return { tool: 'flushcheck', version: VERSION, root, arch, findings: [], inactiveRules: [], stats: { files: 0, parsed: 0, functions: 0, syncSites: 0, ms: 0, diagnostics: [] } };
}
