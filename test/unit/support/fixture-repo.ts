// A git repository made from fixtures/series/tree for diff tests: git run in
// it with a fixed identity, and the fixture series' patches applied to it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../../src/cli/run.js';

export const SERIES = fileURLToPath(new URL('../../../fixtures/series/', import.meta.url));

export function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: repo,
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' },
  }).toString('utf8');
}

/** Applies one of fixtures/series' patches (e.g. 'break-fix/0002-….patch') to the work tree. */
export function applyFixturePatch(repo: string, file: string): void {
  execFileSync('git', ['apply', path.join(SERIES, file)], { cwd: repo });
}

/**
 * `repo` (a folder to create) made a git repository of fixtures/series/tree,
 * committed, with break-fix's first patch (a harmless refactor) committed over
 * it: 0002 then breaks the flush and 0003 restores it.
 */
export function seriesRepo(repo: string): void {
  fs.cpSync(path.join(SERIES, 'tree'), repo, { recursive: true });
  git(repo, 'init', '-q');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'base');
  applyFixturePatch(repo, 'break-fix/0001-foo-use-a-local-for-the-segment-address.patch');
  git(repo, 'commit', '-qam', 'refactor');
}

/** The break-fix series as two staged states over seriesRepo (see stageBreakFix). */
export interface BreakFixStates {
  /** The refactor commit seriesRepo leaves. */
  refactor: string;
  /** 0002 (the flush broken) committed over it. */
  broken: string;
}

/** Commits 0002 over seriesRepo's refactor, then goes back to it: both commits, for stageBreakFix. */
export function breakFixStates(repo: string): BreakFixStates {
  const refactor = git(repo, 'rev-parse', 'HEAD').trim();
  applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
  git(repo, 'commit', '-qam', 'broken');
  const broken = git(repo, 'rev-parse', 'HEAD').trim();
  return { refactor, broken };
}

/**
 * Stages `state`: 'broken' (0002 staged over the refactor commit) or 'fixed'
 * (0003 staged over 0002's commit: a base tree holding a blob the first
 * state's does not, so a diff of it scans too).
 */
export function stageBreakFix(repo: string, commits: BreakFixStates, state: 'broken' | 'fixed'): void {
  git(repo, 'reset', '-q', '--hard', state === 'broken' ? commits.refactor : commits.broken);
  applyFixturePatch(repo, `break-fix/${state === 'broken' ? '0002-foo-reject-oversized-segments-in-foo_map_sg' : '0003-foo-complete-the-maintenance-on-the-success-path-aga'}.patch`);
  git(repo, 'add', '-A');
}

/** `flushcheck diff --cached --format json` run in this process in `repo`: its exit code, its report (`ms` zeroed) and stderr. */
export async function diffCachedJson(repo: string, ...extra: string[]): Promise<{ code: number; report: { stats: { ms: number } }; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: { stdout: false, stderr: false }, cwd: repo, env: {} };
  const code = await main(['diff', '--cached', '--format', 'json', ...extra], io);
  const report = JSON.parse(stdout);
  report.stats.ms = 0;
  return { code, report, stderr };
}
