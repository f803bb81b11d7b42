// `flushcheck diff`: analyse a tree as a change leaves it and as it was, and
// keep only what the change introduces (and, asked, what it fixes). Both
// snapshots are read without checking anything out (see discover/source.ts);
// the content-keyed cache makes the second snapshot, and the next run, cost
// only what changed.
import path from 'node:path';
import { AnalysisCache } from '../cache/store.js';
import { UsageError } from '../errors.js';
import { changedPaths, changedPathsAsync, findRepo, gitAsync, resolveCommit, statusChanges, type GitRepo } from '../discover/git.js';
import { commitSource, indexSource, withPathsFromCommit, worktreeSource, type TreeSource } from '../discover/source.js';
import { buildSkipReason, isSourceName } from '../discover/walk.js';
import { analyzeTree, VERSION, type LintOptions } from '../lint.js';
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
  const repo = findRepo(dir);
  if (!repo) throw new UsageError(`${dir} is not in a git work tree; diff compares git revisions (use 'flushcheck lint' for a plain folder)`);
  // The whole work tree, as `git diff` shows it from any subfolder: a change's
  // callers and the rule's definitions can be anywhere in it.
  const root = repo.top;
  const arch = opts.arch ?? 'arm64';
  const cache = opts.noCache ? new AnalysisCache(null) : AnalysisCache.forGitDir(repo.commonDir);
  const { base, head, changed } = await snapshots(repo, root, arch, opts.target, () => cache.preload());
  // In the background: listing untracked files walks the work tree.
  const pendingUntracked = opts.target.kind === 'worktree' ? untrackedSources(repo, arch) : Promise.resolve([]);
  // Sources of this arch's build only: a change under arch/arm/ cannot change an arm64 finding.
  const changedSources = [...new Set(changed.filter((p) => isSourceName(p) && buildSkipReason(p, arch) === null))].sort();

  if (changedSources.length === 0) {
    // Nothing the analysis reads changed: nothing can be new or fixed.
    const untracked = await pendingUntracked;
    return { result: emptyResult(root, arch, head.files.length), fixed: [], unchanged: [], base: base.label, head: head.label, changedSources, cache: cache.stats, untracked };
  }
  const common = { ...opts, root, cache };
  const after = await analyzeTree({ ...common, source: head });
  const before = await analyzeTree({ ...common, source: base });
  const { introduced, fixed } = compareFindings(before.result.findings, after.result.findings);
  const cacheNote = cache.save() ?? undefined;
  const untracked = await pendingUntracked;
  return {
    result: { ...after.result, findings: introduced },
    fixed,
    unchanged: after.result.findings.filter((f) => !introduced.includes(f)),
    base: base.label,
    head: head.label,
    changedSources,
    cache: cache.stats,
    ...(cacheNote ? { cacheNote } : {}),
    untracked,
  };
}

/** Untracked, not ignored .c/.h files of the arch's build: a new file not yet `git add`ed. */
async function untrackedSources(repo: GitRepo, arch: string): Promise<string[]> {
  const out = (await gitAsync(repo.top, ['ls-files', '--others', '--exclude-standard', '-z', '--', '*.c', '*.h'])).toString('utf8');
  return out.split('\0').filter((rel) => rel !== '' && isSourceName(rel) && buildSkipReason(rel, arch) === null).sort();
}

function emptyResult(root: string, arch: string, files: number): LintResult {
  return { tool: 'flushcheck', version: VERSION, root, arch, findings: [], inactiveRules: [], stats: { files, parsed: 0, functions: 0, syncSites: 0, ms: 0, diagnostics: [] } };
}

/**
 * The two snapshots. The git calls that stat every file of the working tree
 * run in the background; `meanwhile` (loading the cache) runs alongside.
 */
async function snapshots(repo: GitRepo, root: string, arch: string, target: DiffTarget, meanwhile: () => void): Promise<{ base: TreeSource; head: TreeSource; changed: string[] }> {
  const short = (id: string) => id.slice(0, 12);
  if (target.kind === 'cached') {
    const pendingHead = indexSource(repo, root, arch);
    let commit: string | null = null;
    try {
      commit = resolveCommit(repo, 'HEAD');
    } catch {
      // No commit yet: everything staged is new.
    }
    const changedSinceHead = commit ? changedPaths(repo, commit, 'index') : null;
    meanwhile();
    const head = await pendingHead;
    const changed = changedSinceHead ?? head.files;
    return { base: await withPathsFromCommit(repo, head, changed, commit ?? EMPTY_TREE, arch, commit ? `HEAD (${short(commit)})` : 'empty tree'), head, changed };
  }
  if (target.kind === 'worktree') {
    const commit = resolveCommit(repo, target.base);
    if (commit === resolveCommit(repo, 'HEAD')) {
      const status = statusChanges(repo);
      const pendingHead = worktreeSource(repo, root, arch, status.then((s) => s.unstaged));
      meanwhile();
      const head = await pendingHead;
      const changed = (await status).sinceHead;
      return { base: await withPathsFromCommit(repo, head, changed, commit, arch, `${target.base} (${short(commit)})`), head, changed };
    }
    const pendingChanged = changedPathsAsync(repo, commit, 'worktree');
    const pendingHead = worktreeSource(repo, root, arch);
    meanwhile();
    const [head, changed] = await Promise.all([pendingHead, pendingChanged]);
    return { base: await withPathsFromCommit(repo, head, changed, commit, arch, `${target.base} (${short(commit)})`), head, changed };
  }
  const from = resolveCommit(repo, target.from);
  const to = resolveCommit(repo, target.to);
  const pendingHead = commitSource(repo, root, arch, to, `${target.to} (${short(to)})`);
  const changed = changedPaths(repo, from, to);
  meanwhile();
  const head = await pendingHead;
  return { base: await withPathsFromCommit(repo, head, changed, from, arch, `${target.from} (${short(from)})`), head, changed };
}
