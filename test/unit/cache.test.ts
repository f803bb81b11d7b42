// The content-keyed cache may only save time: on every lint fixture, an
// analysis served from a saved cache (stored files, function results, scan
// index) must report exactly what a plain lint reports.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalysisCache } from '../../src/cache/store.js';
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
