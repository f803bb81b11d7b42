// A git repository made from fixtures/series/tree for diff tests: git run in
// it with a fixed identity, and the fixture series' patches applied to it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
