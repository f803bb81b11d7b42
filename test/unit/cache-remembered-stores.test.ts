// The resident process's remembered store files (rememberStores): another
// process's change is seen, and a store used stale (its identity unchanged
// while its content is not) only costs time, never a result.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyFixturePatch, breakFixStates, diffCachedJson, git, seriesRepo, stageBreakFix } from './support/fixture-repo.js';
import { main } from '../../src/cli/run.js';
import { AnalysisCache, digest, formatStoreLine, rememberStores } from '../../src/cache/store.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const STORES = ['scan.txt', 'functions.txt', 'files.txt', 'cfgs.txt'];

afterEach(() => {
  rememberStores(false);
  vi.restoreAllMocks();
});

const lineOf = (key: string, value: unknown) => {
  const json = JSON.stringify(value);
  return formatStoreLine(key, { json, digest: digest(json) });
};

/** A folder whose functions.txt holds `k1`, remembered by this process (read once after its first, whole, write). */
function remembered(): { dir: string; file: string } {
  rememberStores(true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-remember-'));
  const first = new AnalysisCache(dir);
  first.results.put('k1', { a: 1 });
  expect(first.save()).toBeNull();
  expect(new AnalysisCache(dir).results.get('k1')).toEqual({ a: 1 });
  return { dir, file: path.join(dir, 'functions.txt') };
}

describe('a remembered store file changed by another process is read again', () => {
  it('rewritten in place, to the same size', () => {
    const { dir, file } = remembered();
    const before = fs.statSync(file);
    // Past the file system's timestamp tick: within one tick of a coarse clock the
    // rewrite keeps every field of the identity (no flushcheck writer does that:
    // an append changes the size, a whole write renames a new file into place).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    fs.writeFileSync(file, lineOf('k2', { a: 2 }));
    const after = fs.statSync(file);
    expect(after.size).toBe(before.size);
    expect(new AnalysisCache(dir).results.get('k2')).toEqual({ a: 2 });
  });

  it('replaced by a rename of a new file of the same size, its times set to the old ones', () => {
    const { dir, file } = remembered();
    const before = fs.statSync(file);
    fs.writeFileSync(`${file}.new`, lineOf('k2', { a: 2 }));
    fs.utimesSync(`${file}.new`, before.atime, before.mtime);
    fs.renameSync(`${file}.new`, file);
    expect(new AnalysisCache(dir).results.get('k2')).toEqual({ a: 2 });
  });

  it('truncated, then written again', () => {
    const { dir, file } = remembered();
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, lineOf('k2', { a: 2 }));
    expect(new AnalysisCache(dir).results.get('k2')).toEqual({ a: 2 });
  });
});

describe('a store used stale costs time, not a result', () => {
  it('diff --cached with every store as this process last saw it, while another process rewrote them, reports what a run without the cache does', async () => {
    const repo = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-stale-')), 'repo');
    seriesRepo(repo);
    const commits = breakFixStates(repo);
    const stage = (state: 'broken' | 'fixed') => stageBreakFix(repo, commits, state);
    const run = (...extra: string[]) => diffCachedJson(repo, ...extra);
    stage('fixed');
    const expectFixed = await run('--no-cache');
    stage('broken');
    const expectBroken = await run('--no-cache');

    rememberStores(true);
    const top = path.join(repo, '.git', 'flushcheck');
    expect(await run()).toEqual(expectBroken);
    const dir = path.join(top, fs.readdirSync(top)[0]!);
    const noSnapshots = () => fs.rmSync(path.join(dir, 'snapshots'), { recursive: true, force: true });
    noSnapshots();
    expect(await run()).toEqual(expectBroken); // reads the stores: remembered now
    const seen = new Map(STORES.map((name) => [path.join(dir, name), fs.lstatSync(path.join(dir, name))]));

    // Another process writes the stores whole anew, from a run of the other state. (The built CLI keeps its
    // cache in a folder named by dist/'s digest, this process by src/'s: its files are renamed into ours.)
    noSnapshots();
    stage('fixed');
    const other = spawnSync(process.execPath, [CLI, 'diff', '--cached', '--format', 'json'], { cwd: repo, encoding: 'utf8' });
    expect(other.status).toBe(0);
    const otherDir = path.join(top, fs.readdirSync(top).find((d) => path.join(top, d) !== dir)!);
    for (const name of STORES) fs.renameSync(path.join(otherDir, name), path.join(dir, name));
    for (const [file, stat] of seen) expect(fs.lstatSync(file).ino).not.toBe(stat.ino);

    // This process does not see it: each store's identity is the one it remembered.
    const lstat = fs.lstatSync;
    vi.spyOn(fs, 'lstatSync').mockImplementation(((file: fs.PathLike, options?: fs.StatSyncOptions) => seen.get(String(file)) ?? lstat(file, options)) as typeof fs.lstatSync);
    const opens = vi.spyOn(fs, 'openSync');
    const storeOpens: string[][] = [];
    for (const state of ['fixed', 'broken', 'fixed'] as const) {
      noSnapshots();
      stage(state);
      const from = opens.mock.calls.length;
      expect(await run(), `stale, ${state}`).toEqual(state === 'fixed' ? expectFixed : expectBroken);
      storeOpens.push(opens.mock.calls.slice(from).filter((c) => seen.has(String(c[0]))).map((c) => `${path.basename(String(c[0]))}:${(c[1] as number) & fs.constants.O_APPEND ? 'append' : 'read'}`));
    }
    // The first run read no store: it worked on what it remembered, and appended to the other process's files.
    // (The later ones read them again: their identity after that append is no longer the one this stub gives.)
    expect(storeOpens[0]!.length).toBe(4);
    expect(storeOpens[0]!.every((o) => o.endsWith(':append'))).toBe(true);
    vi.restoreAllMocks();
    rememberStores(false);

    // What the stale process appended or rewrote reads back right in a process that remembers nothing.
    for (const state of ['broken', 'fixed'] as const) {
      noSnapshots();
      stage(state);
      expect(await run(), `after, ${state}`).toEqual(state === 'fixed' ? expectFixed : expectBroken);
    }
    fs.rmSync(path.dirname(repo), { recursive: true, force: true });
  }, 60_000);
});

describe('a remembered store whose folder became unreadable', () => {
  it('is as good as absent, as in a process that does not remember (no exception)', () => {
    const { dir } = remembered();
    // The cache folder replaced by a file: lstat of a store in it fails with ENOTDIR.
    fs.rmSync(dir, { recursive: true });
    fs.writeFileSync(dir, '');
    expect(() => new AnalysisCache(dir).results.get('k1')).not.toThrow();
    // A process that does not remember: absent, and the save says why it saved nothing.
    rememberStores(false);
    const plain = new AnalysisCache(dir);
    expect(plain.results.get('k1')).toBeUndefined();
    plain.results.put('k2', 1);
    expect(plain.save()).toMatch(/^cache not saved/);
    fs.rmSync(dir, { force: true });
  });
});

describe('a resident request whose cache folder became unreadable', () => {
  it('reports what a process of its own reports', async () => {
    const repo = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-notdir-')), 'repo');
    seriesRepo(repo);
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    git(repo, 'add', '-A');
    const run = async () => {
      let stdout = '';
      let stderr = '';
      const code = await main(['diff', '--cached', '--format', 'json'], { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: { stdout: false, stderr: false }, cwd: repo, env: {} });
      return { code, stdout: stdout.replace(/"ms": \d+/g, '"ms": 0'), stderr };
    };
    rememberStores(true);
    expect((await run()).code).toBe(1);
    expect((await run()).code).toBe(1); // the stores are remembered now
    const top = path.join(repo, '.git', 'flushcheck');
    const dir = path.join(top, fs.readdirSync(top)[0]!);
    fs.rmSync(dir, { recursive: true });
    fs.writeFileSync(dir, '');
    const resident = await run();
    // The same run in a process that does not remember its stores (this one, forgetting them).
    rememberStores(false);
    const own = await run();
    expect(own.code).toBe(1);
    expect(resident).toEqual(own);
    fs.rmSync(path.dirname(repo), { recursive: true, force: true });
  }, 30_000);
});
