// The pre-commit framework (https://pre-commit.com) as Debian ships it
// (3.0.4; `apt-get install pre-commit`, which .ci/run does) installing
// flushcheck from this repository through .pre-commit-hooks.yaml, and a real
// `git commit` that the hook stops. pre-commit clones the repository, runs
// `npm install` and reads `npm pack`'s stdout as the tarball's name, so this
// also proves the install does not pollute that stdout. Slow (npm install):
// run with `npm run test:integration`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERIES = path.join(ROOT, 'fixtures/series');
const havePreCommit = spawnSync('pre-commit', ['--version']).status === 0;
if (process.env.CI && !havePreCommit) throw new Error('pre-commit missing: apt-get install pre-commit');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-pre-commit-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const env = {
  ...process.env,
  PRE_COMMIT_HOME: path.join(work, 'cache'),
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.org',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.org',
};

/** Asynchronous, so the test worker keeps answering vitest during the minute-long npm install. */
function run(cwd: string, cmd: string, ...args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('close', (status) => resolvePromise({ status, output }));
  });
}

describe.skipIf(!havePreCommit)('pre-commit framework hook', () => {
  it('installs flushcheck from .pre-commit-hooks.yaml and stops a commit that leaves a sync unflushed', async () => {
    // This repository as pre-commit sees it: a git repo at a revision (HEAD).
    const rev = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).toString().trim();
    const kernel = path.join(work, 'kernel');
    fs.cpSync(path.join(SERIES, 'tree'), kernel, { recursive: true });
    fs.writeFileSync(path.join(kernel, '.pre-commit-config.yaml'), `repos:\n  - repo: ${ROOT}\n    rev: ${rev}\n    hooks:\n      - id: flushcheck\n`);
    expect((await run(kernel, 'git', 'init', '-q')).status).toBe(0);
    expect((await run(kernel, 'git', 'add', '-A')).status).toBe(0);
    expect((await run(kernel, 'git', 'commit', '-qm', 'base')).status).toBe(0);
    expect((await run(kernel, 'pre-commit', 'install')).status).toBe(0);

    const apply = async (name: string) => expect((await run(kernel, 'git', 'apply', path.join(SERIES, 'break-fix', name))).status).toBe(0);
    await apply('0001-foo-use-a-local-for-the-segment-address.patch');
    await run(kernel, 'git', 'add', '-A');
    // The first commit installs the hook's environment (npm install, npm pack, npm install -g).
    const first = await run(kernel, 'git', 'commit', '-qm', 'refactor');
    expect(first.output).toMatch(/flushcheck \(unflushed arm64 DMA cache syncs\)\.+Passed/);
    expect(first.status).toBe(0);

    await apply('0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    await run(kernel, 'git', 'add', '-A');
    const blocked = await run(kernel, 'git', 'commit', '-qm', 'break');
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toMatch(/flushcheck \(unflushed arm64 DMA cache syncs\)\.+Failed/);
    expect(blocked.output).toMatch(/^drivers\/foo\/foo_dma\.c:50:\d+: error: .*\[dma-sync-flush\]$/m);
    expect(blocked.output).toContain('git commit --no-verify');
    expect((await run(kernel, 'git', 'log', '--oneline')).output.trim().split('\n')).toHaveLength(2);
  }, 600_000);
});
