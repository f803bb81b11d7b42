// The content-keyed cache may only save time: on every lint fixture, an
// analysis served from a saved cache (stored files, function results, scan
// index) must report exactly what a plain lint reports.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { AnalysisCache, ResultStore, ScanIndex, digest, formatStoreLine, parseStoreLines, rememberStores } from '../../src/cache/store.js';
import { folderSnapshot } from '../../src/discover/source.js';
import type { Snapshot } from '../../src/discover/snapshot.js';
import { analyzeTree, runLint } from '../../src/lint.js';
import { formatJson } from '../../src/report/json.js';
import type { LintResult } from '../../src/types.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/lint/', import.meta.url));
const cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-cache-test-'));

afterAll(() => fs.rmSync(cacheRoot, { recursive: true, force: true }));

/** The report without timings. */
function report(result: LintResult): unknown {
  const json = JSON.parse(formatJson(result));
  json.stats.ms = 0;
  return json;
}

/** The folder with content keys, read through `cache`'s scan index (as a git tree would be). */
function folderSource(root: string, arch: string, cache: AnalysisCache): Promise<Snapshot> {
  return folderSnapshot({ root, arch, keyed: true, index: () => cache.scan, label: 'fixture' });
}

const cases = fs.readdirSync(FIXTURES).filter((d) => fs.existsSync(path.join(FIXTURES, d, 'expect.json')));

describe('cached analysis equals plain analysis', () => {
  it.each(cases)('%s', async (name) => {
    const root = path.join(FIXTURES, name);
    const expected = JSON.parse(fs.readFileSync(path.join(root, 'expect.json'), 'utf8')) as { options?: { arch?: string; kconfig?: string } };
    const arch = expected.options?.arch ?? 'arm64';
    const kconfigFile = expected.options?.kconfig ? path.join(root, expected.options.kconfig) : undefined;
    const plain = await runLint({ root, arch, kconfigFile, jobs: 0 });
    const dir = path.join(cacheRoot, name);

    const cold = new AnalysisCache(dir);
    const first = await analyzeTree({ root, arch, kconfigFile, jobs: 0, source: await folderSource(root, arch, cold), cache: cold });
    expect(cold.save()).toBeNull();
    // A new process: everything comes from disk.
    const warm = new AnalysisCache(dir);
    const second = await analyzeTree({ root, arch, kconfigFile, jobs: 0, source: await folderSource(root, arch, warm), cache: warm });

    expect(report(first.result)).toEqual(report(plain));
    expect(report(second.result)).toEqual(report(plain));
    expect(warm.stats.resultMisses).toBe(0);
    expect(warm.stats.scanMisses).toBe(0);
    expect(warm.stats.resultHits).toBe(cold.stats.resultHits + cold.stats.resultMisses);
  });
});

describe('store files (lines of key, digest and JSON)', () => {
  it('read back every key, escaped or not, and lose only a damaged line', () => {
    const keys = ['3f2a', 'a"b', 'a\\b', 'tab\there', 'é', 'new\nline', '', '"'];
    const lines = keys.map((k, i) => formatStoreLine(k, { digest: `d${i}`, json: `{"i":${i}}` }));
    // A line cut short in the middle of the file (a write that was interrupted, an edit).
    const text = [...lines.slice(0, 3), lines[3].slice(0, 5) + '\n', ...lines.slice(4)].join('');
    const back = parseStoreLines(text);
    expect([...back.keys()].sort()).toEqual(keys.filter((_, i) => i !== 3).sort());
    for (const [i, k] of keys.entries()) if (i !== 3) expect(back.get(k)).toEqual({ digest: `d${i}`, json: `{"i":${i}}` });
  });

  it('give back a value only while its text matches its digest, and write unread entries back as read', () => {
    const store = new ResultStore();
    store.put('k1', { a: 1 });
    store.put('k2', { b: [2] });
    const text = store.serialize();
    const reread = ResultStore.parse(text);
    expect(reread.serialize()).toBe(text);
    expect(reread.get('k2')).toEqual({ b: [2] });
    const tampered = ResultStore.parse(text.replace('{"a":1}', '{"a":2}'));
    expect(tampered.get('k1')).toBeUndefined();
    expect(tampered.dropped).toBe(1);
    expect(tampered.get('k2')).toEqual({ b: [2] });
  });
});

describe('saving appends what a run added, and writes whole only when it must', () => {
  const fresh = () => fs.mkdtempSync(path.join(cacheRoot, 'append-'));

  it('a run that adds results appends their lines and leaves the lines before byte for byte', () => {
    const dir = fresh();
    const first = new AnalysisCache(dir);
    first.results.put('k1', { a: 1 });
    first.scan.record('blob1', ['f', 'g'], ['f']);
    expect(first.save()).toBeNull();
    const results1 = fs.readFileSync(path.join(dir, 'functions.txt'), 'utf8');
    const scan1 = fs.readFileSync(path.join(dir, 'scan.txt'), 'utf8');
    const inode = fs.statSync(path.join(dir, 'functions.txt')).ino;

    const second = new AnalysisCache(dir);
    expect(second.results.get('k1')).toEqual({ a: 1 });
    second.results.put('k2', { b: 2 });
    // A name the index did not know yet: the appended section carries the grown vocabulary.
    second.scan.record('blob2', ['f', 'g', 'h'], ['h']);
    expect(second.save()).toBeNull();
    const results2 = fs.readFileSync(path.join(dir, 'functions.txt'), 'utf8');
    const scan2 = fs.readFileSync(path.join(dir, 'scan.txt'), 'utf8');
    expect(results2.startsWith(results1)).toBe(true);
    expect(results2.slice(results1.length)).toBe(formatStoreLine('k2', parseStoreLines(results2).get('k2')!));
    expect(fs.statSync(path.join(dir, 'functions.txt')).ino).toBe(inode);
    expect(scan2.startsWith(scan1)).toBe(true);
    expect(scan2.slice(scan1.length).split('\n').filter((l) => !l.startsWith('#'))).toEqual(['f g h', 'blob2 7 4', '']);

    const third = new AnalysisCache(dir);
    expect(third.results.get('k1')).toEqual({ a: 1 });
    expect(third.results.get('k2')).toEqual({ b: 2 });
    const index = third.scan;
    expect(index.lookup('blob1', index.query(['f']))).toBe(true);
    expect(index.lookup('blob1', index.query(['g']))).toBe(false);
    expect(index.lookup('blob1', index.query(['h']))).toBeUndefined();
    expect(index.lookup('blob2', index.query(['h']))).toBe(true);
    expect(index.lookup('blob2', index.query(['f', 'g']))).toBe(false);
  });

  it('a later line of a key replaces an earlier one, as a later section does', () => {
    const store = ResultStore.parse(formatStoreLine('k', { digest: digestOf('{"v":1}'), json: '{"v":1}' }) + formatStoreLine('k', { digest: digestOf('{"v":2}'), json: '{"v":2}' }));
    expect(store.get('k')).toEqual({ v: 2 });
    const index = new ScanIndex();
    index.record('blob', ['f'], ['f']);
    const once = index.serialize();
    const again = ScanIndex.parse(once);
    again.record('blob', ['f'], []);
    const both = ScanIndex.parse(once + again.appendix()!);
    expect(both.lookup('blob', both.query(['f']))).toBe(false);
  });

  it('an append after a line cut short still reads back, and the cut line is dropped', () => {
    const dir = fresh();
    const first = new AnalysisCache(dir);
    first.results.put('k1', { a: 1 });
    first.results.put('k2', { b: 2 });
    expect(first.save()).toBeNull();
    const file = path.join(dir, 'functions.txt');
    const text = fs.readFileSync(file, 'utf8');
    const [kept, cut] = [...parseStoreLines(text).keys()];
    // An interrupted write: the last line lost its end.
    fs.writeFileSync(file, text.slice(0, text.length - 4));
    const second = new AnalysisCache(dir);
    second.results.put('k3', { c: 3 });
    expect(second.save()).toBeNull();
    const third = new AnalysisCache(dir);
    expect(third.results.get(kept)).toEqual(kept === 'k1' ? { a: 1 } : { b: 2 });
    expect(third.results.get('k3')).toEqual({ c: 3 });
    expect(third.results.get(cut)).toBeUndefined();
    expect(third.results.dropped).toBe(1);
  });

  it('a store that dropped a damaged entry, or would be mostly replaced lines, is written whole', () => {
    const damaged = ResultStore.parse(formatStoreLine('bad', { digest: 'nope', json: '{}' }) + formatStoreLine('ok', { digest: digestOf('{}'), json: '{}' }));
    damaged.put('new', { n: 1 });
    expect(damaged.appendix()).not.toBeNull();
    expect(damaged.get('bad')).toBeUndefined();
    expect(damaged.appendix()).toBeNull();
    expect(damaged.serialize()).not.toContain('"bad"');

    // 200 lines on disk for one key: past twice the entries (and 64 spare), the file is rewritten.
    const line = formatStoreLine('k', { digest: digestOf('{}'), json: '{}' });
    expect(ResultStore.parse(line.repeat(60)).appendix()).toBe('');
    const churned = ResultStore.parse(line.repeat(200));
    expect(churned.appendix()).toBeNull();
    expect(churned.serialize()).toBe(line);
    expect(new ResultStore().appendix()).toBeNull();
  });

  it('a store kept within its size: past it, written whole with the entries of this run first, then the most recent', () => {
    const lineOf = (key: string) => formatStoreLine(key, { digest: digestOf(`"${key}"`), json: `"${key}"` });
    const old = ['a', 'b', 'c', 'd'].map(lineOf).join('');
    const limits = { entries: 100, bytes: 3 * lineOf('a').length };
    const store = ResultStore.parse(old, limits);
    expect(store.get('a')).toBe('a');
    store.put('e', 'e');
    expect(store.appendix()).toBeNull();
    // Three lines fit: `a` and `e` (this run), then `d` (the latest of the others), written in reverse.
    expect(store.serialize()).toBe(['d', 'e', 'a'].map(lineOf).join(''));
    const small = ResultStore.parse(lineOf('a'), limits);
    small.put('e', 'e');
    expect(small.appendix()).toBe(lineOf('e'));
  });

  it('a scan index section that is damaged, or renames bits, is not read, nor what follows; the index is then written whole', () => {
    const index = new ScanIndex();
    index.record('b1', ['f', 'g'], ['g']);
    const base = index.serialize();
    const extended = ScanIndex.parse(base);
    extended.record('b2', ['f'], ['f']);
    const good = extended.appendix()!;
    const flipped = good.replace('b2 1 1', 'b2 1 0');
    // Intact, but its bits name the names in another order.
    const other = new ScanIndex();
    other.record('b2', ['g', 'f'], ['f']);
    const renamed = other.serialize();
    expect(renamed.split('\n')[1]).toBe('g f');
    for (const text of [base + flipped + good, base + good.slice(0, -3), base + renamed + good]) {
      const back = ScanIndex.parse(text);
      expect(back.lookup('b1', back.query(['g']))).toBe(true);
      expect(back.lookup('b2', back.query(['f']))).toBeUndefined();
      expect(back.changed).toBe(true);
      expect(back.appendix()).toBeNull();
    }
    const intact = ScanIndex.parse(base + good);
    expect(intact.changed).toBe(false);
    expect(intact.appendix()).toBe('');
    expect(intact.lookup('b2', intact.query(['f']))).toBe(true);
  });
});

function digestOf(json: string): string {
  return digest(json);
}

describe('saving while another flushcheck prunes the same cache', () => {
  it('a snapshot this run used, removed meanwhile, does not stop the save', () => {
    const dir = fs.mkdtempSync(path.join(cacheRoot, 'pruned-'));
    const first = new AnalysisCache(dir);
    first.snapshots.put('tree-a', { findings: [] });
    expect(first.save()).toBeNull();
    const second = new AnalysisCache(dir);
    expect(second.snapshots.get('tree-a', () => true)).toEqual({ findings: [] });
    second.results.put('k1', { a: 1 });
    // Another process keeping its most recent snapshots removed this one.
    fs.rmSync(path.join(dir, 'snapshots', 'tree-a.txt'));
    expect(second.save()).toBeNull();
    expect(new AnalysisCache(dir).results.get('k1')).toEqual({ a: 1 });
  });
});

describe('a process that remembers its store files (the resident process)', () => {
  afterEach(() => {
    rememberStores(false);
    vi.restoreAllMocks();
  });

  /** The store files `run` reads from disk. */
  const readsDuring = (run: () => void): string[] => {
    const read = vi.spyOn(fs, 'openSync');
    run();
    const files = read.mock.calls.map((c) => String(c[0]));
    read.mockRestore();
    return files;
  };

  it('reads a store file again only once another process has changed it', () => {
    rememberStores(true);
    const dir = fs.mkdtempSync(path.join(cacheRoot, 'remember-'));
    const first = new AnalysisCache(dir);
    first.results.put('k1', { a: 1 });
    first.scan.record('blob1', ['f'], ['f']);
    expect(first.save()).toBeNull();
    // Written whole (there was no file): read once (functions.txt and scan.txt; files.txt is none), then known.
    expect(readsDuring(() => void new AnalysisCache(dir).preload()).length).toBe(2);

    const second = new AnalysisCache(dir);
    expect(readsDuring(() => second.preload())).toEqual([]);
    expect(second.results.get('k1')).toEqual({ a: 1 });
    second.results.put('k2', { b: 2 });
    second.scan.record('blob2', ['f'], []);
    expect(second.save()).toBeNull();

    // What this process appended is known too; a run's changes are its own (a copy each).
    const third = new AnalysisCache(dir);
    expect(readsDuring(() => third.preload())).toEqual([]);
    expect(third.results.get('k2')).toEqual({ b: 2 });
    expect(third.scan.lookup('blob2', third.scan.query(['f']))).toBe(false);
    third.results.put('unsaved', 1);
    expect(new AnalysisCache(dir).results.get('unsaved')).toBeUndefined();

    // Another process appends: the file is read again, with its line.
    const value = JSON.stringify({ c: 3 });
    fs.appendFileSync(path.join(dir, 'functions.txt'), formatStoreLine('k3', { digest: digestOf(value), json: value }));
    const fourth = new AnalysisCache(dir);
    expect(readsDuring(() => fourth.preload()).length).toBe(1);
    expect(fourth.results.get('k3')).toEqual({ c: 3 });
    expect(fourth.results.get('k1')).toEqual({ a: 1 });
    fourth.results.put('unsaved', 1);
    expect(new AnalysisCache(dir).results.get('unsaved')).toBeUndefined();
  });

  it('a process that does not remember reads every time', () => {
    const dir = fs.mkdtempSync(path.join(cacheRoot, 'no-remember-'));
    const first = new AnalysisCache(dir);
    first.results.put('k1', { a: 1 });
    expect(first.save()).toBeNull();
    expect(readsDuring(() => void new AnalysisCache(dir).results).length).toBe(1);
    expect(readsDuring(() => void new AnalysisCache(dir).results).length).toBe(1);
  });
});
