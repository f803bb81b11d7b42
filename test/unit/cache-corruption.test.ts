// A damaged, hand-edited or foreign cache may only cost time: every entry
// read back must be intact (its digest) and fit its schema, and is dropped
// otherwise, so a run over any corrupted cache reports what --no-cache does.
// Keys come from the bytes analysed, so a file git is told not to look at
// (assume-unchanged) cannot fill the cache with content under another key.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalysisCache, digest, formatStoreLine, parseStoreLines } from '../../src/cache/store.js';
import { diffIndex, findRepoWithHead } from '../../src/discover/git.js';
import { changesFromGit, folderSnapshot, treeIdentity, treeSnapshot } from '../../src/discover/source.js';
import type { Snapshot } from '../../src/discover/snapshot.js';
import { analyzeTree, runLint } from '../../src/lint.js';
import { formatJson } from '../../src/report/json.js';
import type { LintResult } from '../../src/types.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/lint/', import.meta.url));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-cache-corruption-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function report(result: LintResult): unknown {
  const json = JSON.parse(formatJson(result));
  json.stats.ms = 0;
  return json;
}

/** The folder with content keys, read through `cache`'s scan index (as a git tree would be). */
function folderSource(root: string, cache: AnalysisCache): Promise<Snapshot> {
  return folderSnapshot({ root, arch: 'arm64', keyed: true, index: () => cache.scan, label: 'fixture' });
}

/** A value of another JSON type than `value` (what a damaged or foreign entry could hold). */
function otherTypes(value: unknown): unknown[] {
  if (Array.isArray(value)) return [null, 1, 'x', {}, [null], [1]];
  if (value === null) return [1, 'x', []];
  switch (typeof value) {
    case 'number':
      return ['1', null, true, 1.5];
    case 'string':
      return [1, null, ['x']];
    case 'boolean':
      return ['yes', 1, null];
    default:
      return [1, null, 'x', []];
  }
}

/** A store file's entries: key -> value and the digest stored with it. */
function readStore(text: string): Map<string, { d: string; v: Record<string, unknown> }> {
  return new Map([...parseStoreLines(text)].map(([k, e]) => [k, { d: e.digest, v: JSON.parse(e.json) as Record<string, unknown> }]));
}

function writeStore(entries: Map<string, { d: string; v: unknown }>): string {
  return [...entries].map(([k, e]) => formatStoreLine(k, { digest: e.d, json: JSON.stringify(e.v) })).join('');
}

/**
 * Every way of corrupting one field of one entry of `file`: a wrong type
 * with the digest recomputed (only the schema can catch it), and any change
 * (also `functions: []`, a right type) with the digest left as it was.
 */
function* corruptions(file: string): Generator<{ label: string; text: string }> {
  const entries = readStore(fs.readFileSync(file, 'utf8'));
  for (const [key, entry] of entries) {
    if (key.startsWith('rule:')) continue;
    for (const [field, value] of Object.entries(entry.v)) {
      const variants = [...otherTypes(value), ...(Array.isArray(value) && value.length ? [[]] : [])];
      for (const bad of variants) {
        const v = { ...entry.v, [field]: bad };
        const resealed = Array.isArray(value) && Array.isArray(bad) && bad.length === 0 ? [] : [{ d: digest(JSON.stringify(v)), v }];
        for (const replacement of [{ d: entry.d, v }, ...resealed]) {
          const label = `${path.basename(file)} ${key.slice(0, 8)}.${field} = ${JSON.stringify(bad)}${replacement.d === entry.d ? ' (stale digest)' : ''}`;
          yield { label, text: writeStore(new Map([...entries, [key, replacement]])) };
        }
      }
    }
  }
}

/** Fixture 47's plain report, and a cache of its analysis saved in a scratch folder named `name`. */
async function analysedOnce(name: string): Promise<{ root: string; plain: unknown; dir: string }> {
  const root = path.join(FIXTURES, '47-deferral-chain-path');
  const plain = report(await runLint({ root, arch: 'arm64', jobs: 0 }));
  const dir = path.join(scratch, name);
  const cold = new AnalysisCache(dir);
  await analyzeTree({ root, arch: 'arm64', jobs: 0, source: await folderSource(root, cold), cache: cold });
  cold.save();
  return { root, plain, dir };
}

describe('a corrupted cache entry never changes a result', () => {
  it.each(['01-export-missing-flush', '15-goto-error-label', '32-iova-contract', '47-deferral-chain-path'])('%s', async (name) => {
    const root = path.join(FIXTURES, name);
    const plain = report(await runLint({ root, arch: 'arm64', jobs: 0 }));
    const dir = path.join(scratch, name);
    const cold = new AnalysisCache(dir);
    await analyzeTree({ root, arch: 'arm64', jobs: 0, source: await folderSource(root, cold), cache: cold });
    expect(cold.save()).toBeNull();

    let tried = 0;
    const results = fs.readFileSync(path.join(dir, 'functions.txt'), 'utf8');
    for (const store of ['functions.txt', 'files.txt', 'cfgs.txt']) {
      const original = fs.readFileSync(path.join(dir, store), 'utf8');
      // Stored CFGs are read when functions are analysed: without their results, every one is.
      fs.writeFileSync(path.join(dir, 'functions.txt'), store === 'cfgs.txt' ? '' : results);
      for (const { label, text } of corruptions(path.join(dir, store))) {
        fs.writeFileSync(path.join(dir, store), text);
        const warm = new AnalysisCache(dir);
        const result = await analyzeTree({ root, arch: 'arm64', jobs: 0, source: await folderSource(root, warm), cache: warm });
        expect(report(result.result), label).toEqual(plain);
        expect(warm.results.dropped + warm.files.dropped + warm.cfgs.dropped, label).toBeGreaterThan(0);
        tried++;
      }
      fs.writeFileSync(path.join(dir, store), original);
    }
    expect(tried).toBeGreaterThan(40);
  }, 120_000);

  it('a scan index with a flipped bit is ignored (checksum), and the named cases from the audit are dropped', async () => {
    const { root, plain, dir } = await analysedOnce('scan');

    const scan = fs.readFileSync(path.join(dir, 'scan.txt'), 'utf8');
    // Say that no file contains any name.
    fs.writeFileSync(path.join(dir, 'scan.txt'), scan.replace(/ ([0-9a-f]+)\n/g, ' 0\n'));
    const warm = new AnalysisCache(dir);
    expect(report((await analyzeTree({ root, arch: 'arm64', jobs: 0, source: await folderSource(root, warm), cache: warm })).result)).toEqual(plain);
    expect(warm.stats.scanHits).toBe(0);

    // summary: 1, findings: [null], completions: [null], calls: [null], truncated: "yes" (digests recomputed).
    fs.writeFileSync(path.join(dir, 'scan.txt'), scan);
    const results = readStore(fs.readFileSync(path.join(dir, 'functions.txt'), 'utf8'));
    for (const [field, bad] of [['summary', 1], ['findings', [null]], ['completions', [null]], ['calls', [null]], ['truncated', 'yes']] as const) {
      const damaged = new Map([...results].map(([k, e]) => [k, { d: digest(JSON.stringify({ ...e.v, [field]: bad })), v: { ...e.v, [field]: bad } }]));
      fs.writeFileSync(path.join(dir, 'functions.txt'), writeStore(damaged));
      const cache = new AnalysisCache(dir);
      expect(report((await analyzeTree({ root, arch: 'arm64', jobs: 0, source: await folderSource(root, cache), cache })).result), field).toEqual(plain);
      expect(cache.stats.resultHits, field).toBe(0);
    }
    // Not lines of entries at all, and a line whose JSON is cut short.
    fs.writeFileSync(path.join(dir, 'functions.txt'), '[1,2,3]');
    const cut = new AnalysisCache(dir);
    expect(report((await analyzeTree({ root, arch: 'arm64', jobs: 0, source: await folderSource(root, cut), cache: cut })).result)).toEqual(plain);
    const [key, entry] = [...parseStoreLines(writeStore(results))][0];
    const cutJson = entry.json.slice(0, -5);
    // Its digest recomputed: only the JSON parse can catch it.
    fs.writeFileSync(path.join(dir, 'functions.txt'), formatStoreLine(key, { digest: digest(cutJson), json: cutJson }));
    const unparsable = new AnalysisCache(dir);
    expect(report((await analyzeTree({ root, arch: 'arm64', jobs: 0, source: await folderSource(root, unparsable), cache: unparsable })).result)).toEqual(plain);
    expect(unparsable.results.dropped).toBe(1);
  });

  it('a stored result whose step or literal indexes name no entry of its tables is dropped (digest recomputed)', async () => {
    const { root, plain, dir } = await analysedOnce('tables');
    const results = readStore(fs.readFileSync(path.join(dir, 'functions.txt'), 'utf8'));
    for (const table of ['steps', 'lits']) {
      // The table emptied: every index into it is out of range, and the schema alone cannot see it.
      const naming = [...results.values()].filter((e) => (e.v[table] as unknown[]).length > 0).length;
      expect(naming, table).toBeGreaterThan(0);
      const damaged = new Map([...results].map(([k, e]) => [k, { d: digest(JSON.stringify({ ...e.v, [table]: [] })), v: { ...e.v, [table]: [] } }]));
      fs.writeFileSync(path.join(dir, 'functions.txt'), writeStore(damaged));
      const cache = new AnalysisCache(dir);
      expect(report((await analyzeTree({ root, arch: 'arm64', jobs: 0, source: await folderSource(root, cache), cache })).result), table).toEqual(plain);
      expect(cache.results.dropped, table).toBe(naming);
    }
  });
});

describe('cache folders of other flushcheck builds', () => {
  it('are kept while in use and removed once stale', () => {
    const parent = path.join(scratch, 'versions');
    const other = path.join(parent, 'v2-0123456789ab');
    const old = path.join(parent, 'v1-ba9876543210');
    fs.mkdirSync(other, { recursive: true });
    fs.mkdirSync(old, { recursive: true });
    const longAgo = new Date(Date.now() - 60 * 24 * 3600 * 1000);
    fs.utimesSync(old, longAgo, longAgo);
    const mine = new AnalysisCache(path.join(parent, 'v2-aaaaaaaaaaaa'));
    mine.results.put('k', { x: 1 });
    expect(mine.save()).toBeNull();
    expect(fs.existsSync(other)).toBe(true);
    expect(fs.existsSync(old)).toBe(false);
  });
});

describe('cache keys come from the bytes analysed', () => {
  it('an assume-unchanged file edited on disk does not poison later runs', async () => {
    const repo = path.join(scratch, 'assume-unchanged');
    fs.cpSync(path.join(FIXTURES, '02-export-flushed'), repo, { recursive: true });
    const run = (...args: string[]) =>
      execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' } });
    run('init', '-q');
    run('add', '-A');
    run('commit', '-qm', 'base');
    const file = 'drivers/foo/foo_dma.c';
    const clean = fs.readFileSync(path.join(repo, file), 'utf8');
    expect(clean).toContain('arch_sync_dma_flush();');
    const analyse = async (cache: AnalysisCache) => {
      // The working tree as `diff` reads it: HEAD's tree and what git says differs.
      const { repo: git, head } = findRepoWithHead(repo)!;
      const { changes, keys, added } = await changesFromGit(git, await diffIndex(git, head!.commit, false), 'arm64');
      const source = treeSnapshot(git, head!.tree, 'arm64', 'HEAD', () => cache.scan).withChanges(changes, 'working tree', [treeIdentity(head!.tree, keys)], added);
      const result = (await analyzeTree({ root: repo, arch: 'arm64', jobs: 0, source, cache })).result;
      cache.save();
      return result.findings.map((f) => `${f.kind} ${f.function}`);
    };
    const dir = path.join(scratch, 'assume-unchanged-cache');
    expect(await analyse(new AnalysisCache(dir))).toEqual([]);

    // git is told the file did not change; on disk the flush is gone.
    run('update-index', '--assume-unchanged', file);
    fs.writeFileSync(path.join(repo, file), clean.replace('arch_sync_dma_flush();', ';'));
    const fresh = path.join(scratch, 'assume-unchanged-cache-2');
    await analyse(new AnalysisCache(fresh));

    // The file is back as committed: the result must be the clean one again.
    fs.writeFileSync(path.join(repo, file), clean);
    run('update-index', '--no-assume-unchanged', file);
    expect(await analyse(new AnalysisCache(fresh))).toEqual([]);
  });
});
