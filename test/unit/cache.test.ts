// The content-keyed cache may only save time: on every lint fixture, an
// analysis served from a saved cache (stored files, function results, scan
// index) must report exactly what a plain lint reports.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalysisCache, ResultStore, formatStoreLine, parseStoreLines } from '../../src/cache/store.js';
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
