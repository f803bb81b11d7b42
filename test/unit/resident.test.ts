// `diff --resident` and the resident process (src/resident/): a served
// command prints and exits exactly as the same command run in a process of
// its own, with the client's folder and environment; without a resident
// process the command runs in place and starts one; `resident stop` ends it.
// Each test has its own TMPDIR, so its own socket folder and process.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyFixturePatch, git, seriesRepo } from './support/fixture-repo.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FOO = 'drivers/foo/foo_dma.c';

let repo: string;
let tmp: string;

/** The environment of a developer's shell: no FLUSHCHECK_* setting, this test's TMPDIR. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLUSHCHECK_')));
  return { ...clean, TMPDIR: tmp, ...extra };
}

function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? repo, env: opts.env ?? env(), encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

function socketFolder(): string {
  return path.join(tmp, `flushcheck-${process.getuid!()}`);
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const served = () => /(\d+) requests? served/.exec(cli(['resident', 'status']).stdout)?.[1];
const withoutTime = (json: string) => {
  const report = JSON.parse(json);
  report.stats.ms = 0;
  return report;
};

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-resident-'));
  repo = path.join(tmp, 'repo');
  seriesRepo(repo);
});

afterEach(() => {
  cli(['resident', 'stop']);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('flushcheck diff --resident', () => {
  it('runs in place and starts a resident process, which then serves the same output and exit code', async () => {
    expect(cli(['resident', 'status']).stdout).toBe('no resident process serves this build of flushcheck\n');
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    git(repo, 'add', FOO);
    const plain = cli(['diff', '--cached', '--format', 'json']);
    expect(plain.code).toBe(1);

    const first = cli(['diff', '--cached', '--format', 'json', '--resident']);
    expect(first.code).toBe(1);
    expect(withoutTime(first.stdout)).toEqual(withoutTime(plain.stdout));
    await until('the resident process', () => served() === '0');
    // Only the owner may enter the socket's folder.
    expect(fs.statSync(socketFolder()).mode & 0o777).toBe(0o700);

    const second = cli(['diff', '--cached', '--format', 'json', '--resident']);
    expect(served()).toBe('1');
    expect(second.code).toBe(1);
    expect(withoutTime(second.stdout)).toEqual(withoutTime(plain.stdout));

    // The hook's terse text, on stdout and stderr as in a process of its own.
    const hookPlain = cli(['diff', '--cached', '--hook']);
    const hookServed = cli(['diff', '--cached', '--hook', '--resident']);
    expect(served()).toBe('2');
    expect(hookServed).toEqual(hookPlain);

    // Usage errors too.
    expect(cli(['diff', '--cached', '--resident', '--format', 'yaml'])).toEqual(cli(['diff', '--cached', '--format', 'yaml']));
    expect(served()).toBe('3');

    // A later request with other content: nothing the earlier ones read carries over.
    applyFixturePatch(repo, 'break-fix/0003-foo-complete-the-maintenance-on-the-success-path-aga.patch');
    git(repo, 'add', FOO);
    const fixedPlain = cli(['diff', '--cached', '--format', 'json']);
    const fixedServed = cli(['diff', '--cached', '--format', 'json', '--resident']);
    expect(served()).toBe('4');
    expect(fixedServed.code).toBe(0);
    expect(withoutTime(fixedServed.stdout)).toEqual(withoutTime(fixedPlain.stdout));
    expect(withoutTime(cli(['diff', 'HEAD', '--format', 'json', '--resident']).stdout)).toEqual(withoutTime(cli(['diff', 'HEAD', '--format', 'json']).stdout));
    expect(served()).toBe('5');

    expect(cli(['resident', 'stop']).stdout).toBe('resident process stopped\n');
    await until('the socket to go', () => fs.readdirSync(socketFolder()).length === 0);
    expect(cli(['resident', 'status']).stdout).toBe('no resident process serves this build of flushcheck\n');
  }, 60_000);

  it("runs each request in the client's folder, with its environment (GIT_INDEX_FILE of `git commit -a`)", async () => {
    const server = spawn(process.execPath, [CLI, 'resident', 'serve'], { env: env({ FLUSHCHECK_RESIDENT_IDLE_MS: '60000' }), stdio: 'ignore', cwd: '/' });
    try {
      await until('the resident process', () => served() === '0');
      // The break staged in another index file, as git does for `commit -a`; the default index is clean.
      applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
      const index = path.join(repo, '.git', 'other-index');
      fs.copyFileSync(path.join(repo, '.git', 'index'), index);
      spawnSync('git', ['add', FOO], { cwd: repo, env: { ...process.env, GIT_INDEX_FILE: index } });
      const viaOther = cli(['diff', '--cached', '--format', 'json', '--resident'], { env: env({ GIT_INDEX_FILE: index }) });
      const viaDefault = cli(['diff', '--cached', '--format', 'json', '--resident']);
      expect(served()).toBe('2');
      expect(viaOther.code).toBe(1);
      expect(JSON.parse(viaOther.stdout).findings.map((f: { function: string }) => f.function)).toEqual(['foo_map_sg']);
      expect(viaDefault.code).toBe(0);
      expect(JSON.parse(viaDefault.stdout).findings).toEqual([]);

      // Another repository, from its own folder.
      const other = path.join(tmp, 'other');
      fs.cpSync(repo, other, { recursive: true });
      spawnSync('git', ['add', FOO], { cwd: other });
      const elsewhere = cli(['diff', '--cached', '--format', 'json', '--resident'], { cwd: path.join(other, 'drivers') });
      expect(elsewhere.code).toBe(1);
      expect(withoutTime(elsewhere.stdout)).toEqual(withoutTime(cli(['diff', '--cached', '--format', 'json'], { cwd: path.join(other, 'drivers') }).stdout));
      expect(served()).toBe('3');
    } finally {
      server.kill();
    }
  }, 60_000);

  it('replaces a socket no process listens on, and leaves one a live process holds', async () => {
    fs.mkdirSync(socketFolder(), { mode: 0o700 });
    // A resident process killed without a chance to remove its socket.
    const digest = fs.readFileSync(path.join(path.dirname(CLI), '..', 'code-digest.txt'), 'utf8').trim();
    const stale = path.join(socketFolder(), `resident-${digest.slice(0, 16)}.sock`);
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => holder.stdout!.once('data', r));
    // Held by a live process (not ours): serve gives up and says so.
    const refused = cli(['resident', 'serve']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('another resident process serves this build already');
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    expect(fs.existsSync(stale)).toBe(true);
    await new Promise<void>((resolve, reject) => net.connect(stale).once('error', () => resolve()).once('connect', () => reject(new Error('still live'))));

    const server = spawn(process.execPath, [CLI, 'resident', 'serve'], { env: env({ FLUSHCHECK_RESIDENT_IDLE_MS: '60000' }), stdio: 'ignore', cwd: '/' });
    try {
      await until('the resident process', () => served() === '0');
    } finally {
      server.kill();
    }
  }, 60_000);

  it('`hook install --resident` writes a hook whose commits are stopped as the plain hook stops them', async () => {
    expect(cli(['hook', 'install', '--resident']).code).toBe(0);
    expect(fs.readFileSync(path.join(repo, '.git', 'hooks', 'pre-commit'), 'utf8')).toContain('diff --cached --hook --resident --fail-on warning');
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    git(repo, 'add', FOO);
    // No flushcheck on PATH: the hook runs the recorded CLI.
    const PATH = (process.env.PATH ?? '').split(':').filter((dir) => dir && !fs.existsSync(path.join(dir, 'flushcheck'))).join(':');
    const commit = () => spawnSync('git', ['commit', '-qm', 'break'], { cwd: repo, env: env({ PATH, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' }), encoding: 'utf8' });
    const inPlace = commit();
    expect(inPlace.status).not.toBe(0);
    await until('the resident process', () => served() === '0');
    const viaResident = commit();
    expect(served()).toBe('1');
    expect(viaResident.status).toBe(inPlace.status);
    expect(viaResident.stderr).toBe(inPlace.stderr);
    expect(viaResident.stderr).toContain('flushcheck: commit stopped: 1 new finding');
  }, 60_000);

  it('leaves when idle, and is not used when a FLUSHCHECK_ setting asks for a process of its own', async () => {
    const server = spawn(process.execPath, [CLI, 'resident', 'serve'], { env: env({ FLUSHCHECK_RESIDENT_IDLE_MS: '1500' }), stdio: 'ignore', cwd: '/' });
    await until('the resident process', () => served() === '0');
    const withSetting = cli(['diff', '--cached', '--resident'], { env: env({ FLUSHCHECK_FUNCTION_BUDGET_MS: '5000' }) });
    expect(withSetting.code).toBe(0);
    expect(served()).toBe('0');
    await new Promise((r) => server.once('exit', r));
    expect(cli(['resident', 'status']).stdout).toBe('no resident process serves this build of flushcheck\n');
  }, 60_000);
});
