// A git repository made from fixtures/series/tree for diff tests: git run in
// it with a fixed identity, and the fixture series' patches applied to it.
import { execFileSync } from 'node:child_process';
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
