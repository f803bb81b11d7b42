// `flushcheck review`: apply a series patch by patch on a private copy of the
// files it touches and analyse the tree after each one, reusing everything the
// patch did not change. The reviewed tree is never written to: the files a
// patch touches are copied into a temporary folder, `git apply` runs there (as
// a plain patch tool, outside any repository), and the analysis reads the
// patched copies as an overlay on the tree. The temporary folder is removed
// when the review ends, fails or is interrupted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { AnalysisCache } from '../cache/store.js';
import { UsageError } from '../errors.js';
import { blobId, findRepoAtTop, git, OWN_PROCESS_GROUP, readObjects, readObjectsAsync, resolveCommit, treeOf, type GitRepo } from '../discover/git.js';
import { readRegularFileInside, UnsafeFileError } from '../discover/safe-read.js';
import { escapeControl } from '../report/escape.js';
import { folderSnapshot, isBuildSource, treeIdentity, treeSnapshot } from '../discover/source.js';
import { isDirectory } from '../discover/tree-top.js';
import { analyzeSnapshot, configure, VERSION } from '../configuration.js';
import type { LintOptions } from '../lint.js';
import { checkPatchPaths } from '../patch/paths.js';
import { parseSeriesText, readSeries } from '../patch/series.js';
import type { Patch, Series } from '../patch/types.js';
import type { Finding } from '../types.js';
import { compareFindings, findingIdentity } from './match.js';
import type { BisectBreak, PatchReview, ReviewResult } from './types.js';

export interface ReviewOptions extends Omit<LintOptions, 'root' | 'paths' | 'source' | 'cache'> {
  /** An mbox file, a folder of format-patch files, a git range (A..B) in `tree`, or '-' with `seriesText`. */
  series: string;
  /** The series read from standard input (`series` is then '-'). */
  seriesText?: Buffer;
  tree: string;
  /** Continue after a patch that does not apply (the later ones are applied without it). */
  keepGoing?: boolean;
  noCache?: boolean;
  /** Called after each patch (for progress output). */
  onPatch?: (review: PatchReview, total: number) => void;
}

/** A patched file over this is not read (the largest kernel sources are a few MB; generated headers ~20 MB). */
const MAX_PATCHED_FILE_BYTES = 32 * 1024 * 1024;
/** The diffs of one review together: past this the rest of the series is set aside, not analysed. */
const MAX_SERIES_DIFF_BYTES = 12 * 1024 * 1024;
const TEMP_PREFIX = 'flushcheck-review-';

export async function runReview(opts: ReviewOptions): Promise<ReviewResult> {
  const started = performance.now();
  const dir = path.resolve(opts.tree);
  if (!isDirectory(dir)) throw new UsageError(`--tree ${opts.tree}: not a folder; pass the kernel tree the series applies to`);
  const arch = opts.arch ?? 'arm64';
  // Only a tree that is the top of a work tree is reviewed as a repository; a
  // folder inside another repository is a plain folder (never that repository's HEAD).
  const repo = findRepoAtTop(dir);
  const root = repo ? repo.top : dir;
  const { series, rangeStart, name } = loadSeries(opts, root, repo);
  if (!series.patches.length) throw new UsageError(`${name}: no patch to review (${series.skipped.length} message(s) skipped: ${series.skipped.map((s) => s.reason).join('; ') || 'none'})`);

  const notes: string[] = [];
  const { commit, baseLabel } = chooseBase(repo, rangeStart, series, notes);
  const cache = repo && !opts.noCache ? AnalysisCache.forGitDir(repo.commonDir) : new AnalysisCache(null);
  // A git base has an identity (its tree, then the series' changes): a review run again costs reading the cache.
  const baseTree = repo && commit ? treeOf(repo, commit) : null;
  const base = repo && baseTree ? treeSnapshot(repo, baseTree, arch, 'base', () => cache.scan) : await folderSnapshot({ root, arch, label: 'base' });
  // Every file the series has touched so far, as the applied patches left it (null: deleted).
  const patched = new Map<string, Buffer | null>();
  /** Every path the series touches (old and new names). */
  const baseFiles = [...new Set(series.patches.flatMap((p) => p.files.flatMap((f) => [f.oldPath, f.newPath]).filter((f): f is string => f !== null)))];
  // The base's version of every file the series touches, in one `cat-file --batch`.
  const readingBase = repo && commit ? readObjectsAsync(repo, baseFiles.map((rel) => `${commit}:${rel}`)).catch(() => null) : null;
  let fromBase: Map<string, Buffer | null> | undefined;
  const contentsOf = async (rels: string[]): Promise<Map<string, Buffer | null>> => {
    if (!fromBase) {
      // Unread (git failed): asked again below, patch by patch, so that what goes wrong is reported.
      const readBase = await readingBase;
      fromBase = new Map(readBase ? baseFiles.map((rel, i) => [rel, readBase[i]]) : []);
    }
    const base = fromBase;
    const out = new Map<string, Buffer | null>();
    const unread = rels.filter((rel) => {
      const known = patched.has(rel) ? patched : base.has(rel) ? base : null;
      if (!known) return true;
      out.set(rel, known.get(rel)!);
      return false;
    });
    if (repo && commit) {
      // One `cat-file --batch` for the whole patch, however many files it touches.
      const contents = readObjects(repo, unread.map((rel) => `${commit}:${rel}`));
      unread.forEach((rel, i) => out.set(rel, contents[i]));
    } else {
      for (const rel of unread) out.set(rel, readRegularFileInside(root, rel, MAX_PATCHED_FILE_BYTES));
    }
    return out;
  };
  const common = { ...opts, root, cache };
  const labels = series.patches.map((patch, i) => (patch.index !== null && patch.total !== null ? `${patch.index}/${patch.total}` : `${i + 1}/${series.patches.length}`));

  removeStaleTempFolders();
  let madeDir: string | null = null;
  const cleanup = () => {
    if (madeDir) fs.rmSync(madeDir, { recursive: true, force: true });
  };
  // A signal is handled when the event loop gets control: the review yields
  // between its phases, and git runs in its own process group, so Ctrl-C
  // ends the run after the current step with the temporary folder removed.
  // The handlers are in place before the folder exists: a signal arriving
  // just after it is made must not end the process the default way, with
  // the folder left behind.
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.once('exit', cleanup);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  madeDir = workDir;
  const applying = new AbortController();
  try {
    // git applies the series while the base is analysed: the loop below only waits for each patch's outcome.
    const steps = applyAhead(series.patches, labels, { root, keepGoing: !!opts.keepGoing, workDir, signal: applying.signal }, contentsOf, patched);
    let current = base;
    const configured = configure(common);
    const first = await analyzeSnapshot({ ...common, source: current }, configured);
    let analysis = first.result;
    const inactiveIds = new Set(first.result.inactiveRules.map((i) => i.ruleId));
    const activeRules = first.rules.filter((r) => !inactiveIds.has(r.id));
    await yieldToSignals();
    const reviews: PatchReview[] = [];
    const renamed = new Map<string, string>();
    /** Content keys (blob ids) of the build sources the series has patched so far, kept as each patch applies. */
    const patchedKeys = new Map<string, string | null>();
    const total = series.patches.length;
    for (const [i, patch] of series.patches.entries()) {
      const label = labels[i];
      const review: PatchReview = { index: i + 1, label, subject: patch.subject, applied: false, introduced: [], fixed: [], patch };
      reviews.push(review);
      const outcome = await steps[i];
      if ('skipped' in outcome) {
        review.skipped = outcome.skipped;
        opts.onPatch?.(review, total);
        continue;
      }
      if ('error' in outcome) {
        review.error = outcome.error;
        opts.onPatch?.(review, total);
        continue;
      }
      review.applied = true;
      // Only build sources reach the analysis (a change under another arch cannot change a finding).
      const patchedSources = new Map([...outcome.files].filter(([rel]) => isBuildSource(rel, arch)));
      for (const [rel, content] of patchedSources) patchedKeys.set(rel, content ? blobId(content) : null);
      review.files = new Map(outcome.files);
      const identities = baseTree ? [treeIdentity(baseTree, [...patchedKeys].map(([p, key]) => ({ path: p, key })))] : [];
      const next = current.withChanges(patchedSources, `after ${label}`, identities, addedBy(patch));
      const after = (await analyzeSnapshot({ ...common, source: next }, configured)).result;
      const renamedHere = renamedBy(patch);
      ({ introduced: review.introduced, fixed: review.fixed } = compareFindings(analysis.findings, after.findings, renamedHere));
      addRenames(renamed, renamedHere);
      current = next;
      analysis = after;
      opts.onPatch?.(review, total);
      await yieldToSignals();
    }
    const touched = new Set(baseFiles);
    const breaks = bisectBreaks(reviews);
    const unapplied = reviews.filter((r) => !r.applied).length;
    const cacheNote = cache.save();
    if (cacheNote) analysis.stats.diagnostics.push({ file: '.git', reason: cacheNote });
    return {
      tool: 'flushcheck',
      version: VERSION,
      tree: root,
      base: baseLabel,
      arch,
      kconfig: opts.kconfigFile,
      series,
      patches: reviews,
      // A series that was not applied whole cannot be judged bisectable.
      bisectable: unapplied > 0 ? null : breaks.length === 0,
      breaks,
      findings: analysis.findings,
      baseFindings: first.result.findings,
      renamed,
      batchable: analysis.findings.filter((f) => f.kind === 'batchable' && touched.has(f.file)),
      inactiveRules: analysis.inactiveRules,
      activeRules: activeRules.length,
      completingCalls: [...new Set(activeRules.flatMap((r) => r.complete.map((c) => c.name)))],
      notes,
      baseFile: (rel) => (repo && commit ? readObjects(repo, [`${commit}:${rel}`])[0] : safeOrNull(() => readRegularFileInside(root, rel, MAX_PATCHED_FILE_BYTES))),
      ms: Math.round(performance.now() - started),
    };
  } finally {
    applying.abort();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('exit', cleanup);
    cleanup();
  }
}

/** Lets pending signal handlers run between the long synchronous steps of a review. */
function yieldToSignals(): Promise<void> {
  return new Promise((resolvePromise) => setImmediate(resolvePromise));
}

function safeOrNull(read: () => Buffer | null): Buffer | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/**
 * The commit the series is applied on: a git range's start; else the
 * series' `base-commit:` when the repository has it; else HEAD. A plain
 * folder is reviewed as it is. `notes` says why when the choice is not HEAD.
 */
function chooseBase(repo: GitRepo | null, rangeStart: string | undefined, series: Series, notes: string[]): { commit: string | null; baseLabel: string } {
  if (!repo) {
    if (series.baseCommit) notes.push(`the series names base-commit ${series.baseCommit}, but the tree is not a git repository; reviewed against the folder as it is`);
    return { commit: null, baseLabel: 'the folder as it is (not a git repository)' };
  }
  const short = (id: string) => id.slice(0, 12);
  if (rangeStart) return { commit: rangeStart, baseLabel: `${short(rangeStart)} (start of the range)` };
  if (series.baseCommit) {
    const found = tryResolveCommit(repo, series.baseCommit);
    if (found) return { commit: found, baseLabel: `${short(found)} (the series' base-commit)` };
    notes.push(`the series' base-commit ${series.baseCommit} is not in ${repo.top}; reviewed against HEAD instead (fetch that commit to review on the author's base)`);
  }
  const head = resolveCommit(repo, 'HEAD');
  return { commit: head, baseLabel: `${short(head)} (HEAD)` };
}

function tryResolveCommit(repo: GitRepo, rev: string): string | null {
  try {
    return resolveCommit(repo, rev);
  } catch {
    return null;
  }
}

/** The series, what to call it in messages, and for a git range the commit it applies on. */
function loadSeries(opts: ReviewOptions, root: string, repo: GitRepo | null): { series: Series; rangeStart?: string; name: string } {
  const input = opts.series;
  if (input === '-') return { series: parseSeriesText(opts.seriesText ?? Buffer.alloc(0), '<stdin>'), name: 'standard input' };
  if (fs.existsSync(input)) return { series: readSeries(input), name: input };
  const range = /^([^.\s][^\s]*?)\.\.([^\s]*)$/.exec(input);
  if (range && repo) {
    const from = resolveCommit(repo, range[1]);
    const to = resolveCommit(repo, range[2] || 'HEAD');
    const text = git(repo.top, ['format-patch', '--stdout', '--no-signature', '--no-stat', '--end-of-options', `${from}..${to}`]);
    return { series: parseSeriesText(text, `git range ${input}`), rangeStart: from, name: input };
  }
  throw new UsageError(`${input}: no such file or folder${repo ? ', and not a git range (A..B) in the tree' : ''}; pass an mbox, a folder of format-patch files, a git range, or - for standard input`);
}

/**
 * Temporary folders of earlier reviews that were killed (SIGKILL leaves them):
 * ours by name and owner, older than this run, and whose process is gone.
 */
function removeStaleTempFolders(tmp = os.tmpdir(), startedAt = Date.now() - process.uptime() * 1000): number {
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(tmp);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = /^flushcheck-review-(\d+)-/.exec(name);
    if (!m) continue;
    const full = path.join(tmp, name);
    const stat = fs.lstatSync(full, { throwIfNoEntry: false });
    if (!stat?.isDirectory() || stat.uid !== process.getuid?.() || stat.mtimeMs >= startedAt) continue;
    if (processAlive(Number(m[1]))) continue;
    fs.rmSync(full, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Adds a later patch's renames to `moved` (first name to current name): a file renamed twice goes from its first name to its last. */
function addRenames(moved: Map<string, string>, later: Map<string, string>): void {
  for (const [from, to] of later) {
    const origin = [...moved].find(([, last]) => last === from)?.[0] ?? from;
    moved.set(origin, to);
  }
}

/** The files a patch renames: old path to new path. */
function renamedBy(patch: Patch): Map<string, string> {
  return new Map(patch.files.flatMap((f) => (f.renamed && f.oldPath && f.newPath ? [[f.oldPath, f.newPath] as [string, string]] : [])));
}

/** The files a patch creates (renamed and copied files' new names too): the tree before it does not have them. */
function addedBy(patch: Patch): Set<string> {
  return new Set(patch.files.flatMap((f) => (f.newPath && f.newPath !== f.oldPath ? [f.newPath] : [])));
}

type ApplyOutcome = { files: Map<string, Buffer | null> } | { error: string };
/** What became of one patch of the series: applied, not applied (why), or not tried (why). */
type PatchStep = ApplyOutcome | { skipped: string };

/**
 * Each patch of the series applied on the ones before it, in order, as soon
 * as the one before is done: the series' `git apply` runs (~10 ms each) while
 * the base is analysed, and the analysis of each patch waits only for its
 * outcome. `patched` gets every file an applied patch touches, as it left
 * it. A patch is not tried once the series' diffs pass their limit, or after
 * one that did not apply (unless keepGoing), or when `signal` says the
 * review has ended. A step that fails (git missing) rejects; the review
 * sees it when it waits for that step.
 */
function applyAhead(
  patches: Patch[],
  labels: string[],
  opts: { root: string; keepGoing: boolean; workDir: string; signal: AbortSignal },
  contentsOf: (rels: string[]) => Promise<Map<string, Buffer | null>>,
  patched: Map<string, Buffer | null>,
): Promise<PatchStep>[] {
  let stopped: string | null = null;
  let diffBytes = 0;
  let previous: Promise<unknown> = Promise.resolve();
  return patches.map((patch, i) => {
    const step = previous.then(async (): Promise<PatchStep> => {
      diffBytes += patch.bytes;
      if (!stopped && diffBytes > MAX_SERIES_DIFF_BYTES) stopped = `not tried: the series' diffs pass ${MAX_SERIES_DIFF_BYTES} bytes at ${labels[i]}; review fewer patches at a time`;
      if (!stopped && opts.signal.aborted) stopped = 'not tried: the review ended';
      if (stopped) return { skipped: stopped };
      const refused = checkPatchPaths(patch, opts.root);
      const outcome = refused.length ? { error: refused.join('; ') } : await applyPatch(patch, contentsOf, opts.workDir);
      if ('error' in outcome) {
        if (!opts.keepGoing) stopped = `not tried: ${labels[i]} did not apply (--keep-going applies the rest without it)`;
        return outcome;
      }
      for (const [rel, content] of outcome.files) patched.set(rel, content);
      return outcome;
    });
    // Waited for in order by the review; a failure is seen there, not as an unhandled rejection.
    previous = step.catch(() => {});
    return step;
  });
}

/**
 * Applies one patch to copies of the files it touches, as the patches before
 * left them. git apply is atomic: on failure nothing changed. What it leaves
 * is read back only if it is a regular file inside the folder (a patch that
 * slipped a symlink past the mode checks would otherwise lead the read anywhere).
 */
async function applyPatch(patch: Patch, contentsOf: (rels: string[]) => Promise<Map<string, Buffer | null>>, workDir: string): Promise<ApplyOutcome> {
  const dir = fs.mkdtempSync(path.join(workDir, 'apply-'));
  try {
    const paths = [...new Set(patch.files.flatMap((f) => [f.oldPath, f.newPath]).filter((p): p is string => p !== null))];
    for (const [rel, content] of await contentsOf(paths)) {
      if (content === null) continue;
      const target = path.join(dir, rel);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content, { flag: 'wx' });
    }
    const run = await gitApply(dir, patch);
    if (run.error) throw new UsageError(`cannot run git apply: ${(run.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'git not found; install git or put it on PATH' : run.error.message}`);
    if (run.status !== 0) {
      const reason = run.stderr.toString('utf8').trim().split('\n').filter(Boolean).map(escapeControl).join('; ');
      return { error: reason || `git apply failed (exit ${run.status})` };
    }
    const files = new Map<string, Buffer | null>();
    for (const f of patch.files) {
      if (f.oldPath && f.oldPath !== f.newPath) files.set(f.oldPath, null);
      if (f.newPath) files.set(f.newPath, readRegularFileInside(dir, f.newPath, MAX_PATCHED_FILE_BYTES));
    }
    return { files };
  } catch (error) {
    if (error instanceof UnsafeFileError) return { error: `${JSON.stringify(error.file)} ${error.reason}` };
    throw error;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `git apply` of the patch's diff in `dir`, without blocking (the analysis of the base goes on meanwhile). */
function gitApply(dir: string, patch: Patch): Promise<{ status: number | null; stderr: Buffer; error?: Error }> {
  return new Promise((resolvePromise) => {
    const child = spawn('git', ['apply', '--whitespace=nowarn', `-p${patch.stripComponents ?? 1}`, '-'], {
      cwd: dir,
      // Outside any repository: git apply patches plain files and never looks above.
      env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(dir), LC_ALL: 'C' },
      stdio: ['pipe', 'ignore', 'pipe'],
      ...OWN_PROCESS_GROUP,
    });
    const stderr: Buffer[] = [];
    let failed: Error | undefined;
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => (failed = error));
    // git stops reading when the diff is malformed: its exit status says why, not the broken pipe.
    child.stdin!.on('error', () => {});
    child.stdin!.end(patch.diff);
    child.on('close', (status) => resolvePromise({ status, stderr: Buffer.concat(stderr), ...(failed ? { error: failed } : {}) }));
  });
}

/** A finding one patch introduces and a later one fixes: the series does not bisect cleanly. */
function bisectBreaks(reviews: PatchReview[]): BisectBreak[] {
  // Keyed by identity under the names of the files as the series has left them so far (`moved`: renames since the finding appeared).
  let open = new Map<string, { finding: Finding; review: PatchReview; moved: Map<string, string> }[]>();
  const breaks: BisectBreak[] = [];
  const push = (key: string, entry: { finding: Finding; review: PatchReview; moved: Map<string, string> }) => {
    const list = open.get(key) ?? [];
    list.push(entry);
    open.set(key, list);
  };
  for (const review of reviews) {
    for (const f of review.fixed) {
      const waiting = open.get(findingIdentity(f));
      const start = waiting?.shift();
      if (!start) continue;
      breaks.push({
        finding: start.finding,
        introducedBy: start.review.index,
        fixedBy: review.index,
        text: `${start.review.label} leaves ${start.finding.function} ${start.finding.kind.startsWith('unflushed') ? 'unflushed' : `with a ${start.finding.kind} ${start.finding.severity}`} until ${review.label}`,
      });
    }
    const renamedHere = review.applied ? renamedBy(review.patch) : new Map<string, string>();
    if (renamedHere.size) {
      const before = open;
      open = new Map();
      for (const entry of [...before.values()].flat()) {
        addRenames(entry.moved, renamedHere);
        push(findingIdentity(entry.finding, entry.moved), entry);
      }
    }
    for (const f of review.introduced) {
      // Notes (batchable, redundant flush) do not break a bisection.
      if (f.severity === 'note') continue;
      push(findingIdentity(f), { finding: f, review, moved: new Map() });
    }
  }
  return breaks;
}

