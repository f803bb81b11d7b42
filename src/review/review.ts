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
import { spawnSync } from 'node:child_process';
import { AnalysisCache } from '../cache/store.js';
import { UsageError } from '../errors.js';
import { findRepo, git, readObjects, resolveCommit, type GitRepo } from '../discover/git.js';
import { commitSource, overlaySource, type TreeSource } from '../discover/source.js';
import { discoverFiles } from '../discover/walk.js';
import { analyzeTree, VERSION, type LintOptions } from '../lint.js';
import { checkPatchPaths } from '../patch/paths.js';
import { parseSeriesText, readSeries } from '../patch/series.js';
import type { Patch, Series } from '../patch/types.js';
import type { Finding } from '../types.js';
import { compareFindings, findingIdentity } from './match.js';
import type { BisectBreak, PatchReview, ReviewResult } from './types.js';

export interface ReviewOptions extends Omit<LintOptions, 'root' | 'paths' | 'source' | 'cache'> {
  /** An mbox file, a folder of format-patch files, or a git range (A..B) in `tree`. */
  series: string;
  tree: string;
  /** Continue after a patch that does not apply (the later ones are applied without it). */
  keepGoing?: boolean;
  noCache?: boolean;
  /** Called after each patch (for progress output). */
  onPatch?: (review: PatchReview, total: number) => void;
}

export async function runReview(opts: ReviewOptions): Promise<ReviewResult> {
  const started = performance.now();
  const dir = path.resolve(opts.tree);
  if (!isDirectory(dir)) throw new UsageError(`--tree ${opts.tree}: not a folder; pass the kernel tree the series applies to`);
  const arch = opts.arch ?? 'arm64';
  // In a git repository, the whole work tree (patch paths are relative to its top).
  const repo = findRepo(dir);
  const root = repo ? repo.top : dir;
  const { series, baseCommit } = loadSeries(opts.series, root, repo);
  if (!series.patches.length) throw new UsageError(`${opts.series}: no patch to review (${series.skipped.length} message(s) skipped: ${series.skipped.map((s) => s.reason).join('; ') || 'none'})`);

  const cache = repo && !opts.noCache ? AnalysisCache.forGitDir(repo.commonDir) : new AnalysisCache(null);
  const commit = repo ? (baseCommit ?? resolveCommit(repo, 'HEAD')) : null;
  const base = repo && commit ? await commitSource(repo, root, arch, commit, 'base') : await plainSource(root, arch);
  const baseLabel = commit ?? 'working tree copy';
  // Every file the series has touched so far, as the applied patches left it (null: deleted).
  const patched = new Map<string, Buffer | null>();
  const contentOf = (rel: string): Buffer | null => {
    if (patched.has(rel)) return patched.get(rel)!;
    if (repo && commit) return readObjects(repo, [`${commit}:${rel}`])[0];
    return readFileOrNull(path.join(root, rel));
  };
  const common = { ...opts, root, cache };

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-review-'));
  const cleanup = () => fs.rmSync(workDir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', cleanup);
  try {
    let current = base;
    let analysis = (await analyzeTree({ ...common, source: current })).result;
    const reviews: PatchReview[] = [];
    const total = series.patches.length;
    let stopped: string | null = null;
    for (const [i, patch] of series.patches.entries()) {
      const label = patch.index !== null && patch.total !== null ? `${patch.index}/${patch.total}` : `${i + 1}/${total}`;
      const review: PatchReview = { index: i + 1, label, subject: patch.subject, applied: false, introduced: [], fixed: [], patch };
      reviews.push(review);
      if (stopped) {
        review.skipped = stopped;
        opts.onPatch?.(review, total);
        continue;
      }
      const refused = checkPatchPaths(patch, root);
      const outcome = refused.length ? { error: refused.join('; ') } : applyPatch(patch, contentOf, workDir);
      if ('error' in outcome) {
        review.error = outcome.error;
        if (!opts.keepGoing) stopped = `not tried: ${label} did not apply (--keep-going applies the rest without it)`;
        opts.onPatch?.(review, total);
        continue;
      }
      review.applied = true;
      for (const [rel, content] of outcome.files) patched.set(rel, content);
      const next = overlaySource(current, outcome.files, arch, `after ${label}`);
      const after = (await analyzeTree({ ...common, source: next })).result;
      ({ introduced: review.introduced, fixed: review.fixed } = compareFindings(analysis.findings, after.findings));
      current = next;
      analysis = after;
      opts.onPatch?.(review, total);
    }
    const touched = new Set(series.patches.flatMap((p) => p.files.flatMap((f) => [f.oldPath, f.newPath]).filter((f): f is string => f !== null)));
    const breaks = bisectBreaks(reviews);
    const cacheNote = cache.save();
    if (cacheNote) analysis.stats.diagnostics.push({ file: '.git', reason: cacheNote });
    return {
      tool: 'flushcheck',
      version: VERSION,
      tree: root,
      base: baseLabel,
      series,
      patches: reviews,
      bisectable: breaks.length === 0,
      breaks,
      findings: analysis.findings,
      batchable: analysis.findings.filter((f) => f.kind === 'batchable' && touched.has(f.file)),
      ms: Math.round(performance.now() - started),
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('exit', cleanup);
    cleanup();
  }
}

/** The series and, for a git range, the commit it applies on. */
function loadSeries(input: string, root: string, repo: GitRepo | null): { series: Series; baseCommit?: string } {
  if (fs.existsSync(input)) return { series: readSeries(input) };
  const range = /^([^.\s][^\s]*?)\.\.([^\s]*)$/.exec(input);
  if (range && repo) {
    const from = resolveCommit(repo, range[1]);
    const to = resolveCommit(repo, range[2] || 'HEAD');
    const text = git(repo.top, ['format-patch', '--stdout', '--no-signature', '--no-stat', '--end-of-options', `${from}..${to}`]);
    return { series: parseSeriesText(text, `git range ${input}`), baseCommit: from };
  }
  throw new UsageError(`${input}: no such file or folder${repo ? ', and not a git range (A..B) in the tree' : ''}; pass an mbox, a folder of format-patch files or a git range`);
}

/** A tree that is not a git repository: its files as they are, keyed per path for this process only. */
async function plainSource(root: string, arch: string): Promise<TreeSource> {
  const walked = await discoverFiles({ root, paths: [root], arch });
  // Keys valid only while this process runs (the disk content does not change
  // under a review); the in-memory cache never outlives it.
  return { root, files: walked.files, overlay: new Map(), keys: new Map(walked.files.map((f) => [f, `disk:${f}`])), label: 'base' };
}

type ApplyOutcome = { files: Map<string, Buffer | null> } | { error: string };

/**
 * Applies one patch to copies of the files it touches, as the patches before
 * left them. git apply is atomic: on failure nothing changed.
 */
function applyPatch(patch: Patch, contentOf: (rel: string) => Buffer | null, workDir: string): ApplyOutcome {
  const dir = fs.mkdtempSync(path.join(workDir, 'apply-'));
  try {
    const paths = new Set(patch.files.flatMap((f) => [f.oldPath, f.newPath]).filter((p): p is string => p !== null));
    for (const rel of paths) {
      const content = contentOf(rel);
      if (content === null) continue;
      const target = path.join(dir, rel);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
    const run = spawnSync('git', ['apply', '--whitespace=nowarn', `-p${patch.stripComponents ?? 1}`, '-'], {
      cwd: dir,
      input: patch.diff,
      // Outside any repository: git apply patches plain files and never looks above.
      env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(dir), LC_ALL: 'C' },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (run.error) throw new UsageError(`cannot run git apply: ${run.error.message}`);
    if (run.status !== 0) {
      const reason = run.stderr.toString('utf8').trim().split('\n').filter(Boolean).join('; ');
      return { error: reason || `git apply failed (exit ${run.status})` };
    }
    const files = new Map<string, Buffer | null>();
    for (const f of patch.files) {
      if (f.oldPath && f.oldPath !== f.newPath) files.set(f.oldPath, null);
      if (f.newPath) files.set(f.newPath, readFileOrNull(path.join(dir, f.newPath)));
    }
    return { files };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function readFileOrNull(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch {
    return null;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A finding one patch introduces and a later one fixes: the series does not bisect cleanly. */
function bisectBreaks(reviews: PatchReview[]): BisectBreak[] {
  const open = new Map<string, { finding: Finding; review: PatchReview }[]>();
  const breaks: BisectBreak[] = [];
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
    for (const f of review.introduced) {
      // Notes (batchable, redundant flush) do not break a bisection.
      if (f.severity === 'note') continue;
      const list = open.get(findingIdentity(f)) ?? [];
      list.push({ finding: f, review });
      open.set(findingIdentity(f), list);
    }
  }
  return breaks;
}

