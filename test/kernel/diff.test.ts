// `flushcheck diff --cached` on a real kernel: a change staged only in the
// index of the separate git dir kernel-fetch.sh made (linux-7.x.git), checked
// against HEAD. The extracted tree is never modified: changes are written as
// blobs into the git dir and staged with update-index, and the index is reset
// to HEAD after each test.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { linux7, linux7GitDir } from './trees.js';

const tree7 = linux7();
const gitDir7 = linux7GitDir();
const cli = path.resolve(__dirname, '../../dist/cli/main.js');
const FILE = 'kernel/dma/direct.c';
const FUNCTION = 'dma_direct_sync_sg_for_device';

// Fail loudly in CI when the tree or its git dir is missing: a skipped acceptance test is not a pass.
if (process.env.CI && (!tree7 || !gitDir7)) throw new Error('linux-7.x tree or its git dir missing: run `npm run kernel:fetch` first');

/**
 * Runs git on the tree's git dir. GIT_DIR/GIT_WORK_TREE are passed explicitly
 * even though process.env carries them during these tests: a `git reset` must
 * never reach whatever repository happens to enclose the cwd.
 */
function git(args: string[], input?: string): string {
  const env = { ...process.env, GIT_DIR: gitDir7!, GIT_WORK_TREE: tree7! };
  return execFileSync('git', args, { cwd: tree7!, env, input, encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
}

/** Stages `content` as `file` (kernel/dma/direct.c) in the index only: the file on disk is untouched. */
function stage(content: string, file = FILE): void {
  const id = git(['hash-object', '-w', '--stdin'], content);
  git(['update-index', '--cacheinfo', `100644,${id},${file}`]);
}

/** The text of FUNCTION's definition in direct.c: from its name to the closing brace at column 0. */
function functionSpan(source: string): { start: number; end: number } {
  const start = source.indexOf(`void ${FUNCTION}(`);
  expect(start, `${FUNCTION} not found in ${FILE}`).toBeGreaterThanOrEqual(0);
  const end = source.indexOf('\n}\n', start);
  expect(end).toBeGreaterThan(start);
  return { start, end: end + 3 };
}

interface DiffJson {
  findings: { ruleId: string; kind: string; severity: string; file: string; function: string }[];
  fixed: unknown[];
  changedFiles: string[];
}

function runDiff(): { status: number | null; report: DiffJson; stderr: string } {
  const r = spawnSync(process.execPath, [cli, 'diff', '--cached', '--tree', tree7!, '--format', 'json', '--no-cache'], {
    env: process.env,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  expect(r.error).toBeUndefined();
  let report: DiffJson;
  try {
    report = JSON.parse(r.stdout) as DiffJson;
  } catch {
    throw new Error(`diff printed no JSON report (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  }
  return { status: r.status, report, stderr: r.stderr };
}

describe.skipIf(!tree7 || !gitDir7)('flushcheck diff --cached on Linux 7.x', () => {
  const saved = { GIT_DIR: process.env.GIT_DIR, GIT_WORK_TREE: process.env.GIT_WORK_TREE };
  let original: string;
  let mtimeMs: number;

  beforeAll(() => {
    process.env.GIT_DIR = gitDir7!;
    process.env.GIT_WORK_TREE = tree7!;
    expect(fs.existsSync(cli), `${cli} missing: run \`npm run -s build\` (npm run test:kernel does)`).toBe(true);
    git(['reset', '-q']); // an earlier run that was killed may have left something staged
    original = fs.readFileSync(path.join(tree7!, FILE), 'utf8');
    mtimeMs = fs.statSync(path.join(tree7!, FILE)).mtimeMs;
  });

  afterEach(() => {
    git(['reset', '-q']);
  });

  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('reports exactly the finding that removing the sg flush introduces', () => {
    const { start, end } = functionSpan(original);
    const body = original.slice(start, end);
    // The guarded flush after the loop, the last statement of the function.
    const flush = /\n\tif \(!dev_is_dma_coherent\(dev\)\)\n\t\tarch_sync_dma_flush\(\);\n\}\n$/;
    expect(body).toMatch(flush);
    stage(original.slice(0, start) + body.replace(flush, '\n}\n') + original.slice(end));

    const { status, report, stderr } = runDiff();
    expect(status, stderr.slice(-2000)).toBe(1);
    expect(report.changedFiles).toEqual([FILE]);
    // The sync in the sg loop is now left pending by dma_direct_sync_sg_for_device:
    // reported there, where the flush was lost (the exported caller in
    // mapping.c, where the buffer is handed back, is a related location).
    expect(report.findings.map((f) => ({ kind: f.kind, severity: f.severity, function: f.function, file: f.file }))).toEqual([
      { kind: 'unflushed-return', severity: 'error', function: 'dma_direct_sync_sg_for_device', file: 'kernel/dma/direct.c' },
    ]);
    expect(report.fixed).toEqual([]);
  }, 300_000);

  it('reports nothing new nor fixed for a comment added inside a function', () => {
    const { start, end } = functionSpan(original);
    const open = original.indexOf('\n{\n', start);
    expect(open).toBeGreaterThan(start);
    expect(open).toBeLessThan(end);
    const at = open + 3;
    stage(original.slice(0, at) + '\t/* flushcheck diff test: a comment only */\n' + original.slice(at));

    const { status, report, stderr } = runDiff();
    expect(status, stderr.slice(-2000)).toBe(0);
    expect(report.changedFiles).toEqual([FILE]);
    expect(report.findings).toEqual([]);
    expect(report.fixed).toEqual([]);
  }, 300_000);

  it('reports the bounce copies that removing the flush in swiotlb_bounce() exposes as introduced', () => {
    const file = 'kernel/dma/swiotlb.c';
    const text = fs.readFileSync(path.join(tree7!, file), 'utf8');
    const flush = '\tif (dir == DMA_FROM_DEVICE && !dev_is_dma_coherent(dev))\n\t\tarch_sync_dma_flush();\n';
    expect(text).toContain(flush);
    stage(text.replace(flush, ''), file);

    const { status, report, stderr } = runDiff();
    expect(status, stderr.slice(-2000)).toBe(1);
    expect(report.changedFiles).toEqual([file]);
    expect(report.findings.map((f) => `${f.kind} ${f.severity} ${f.function} ${f.file}`).sort()).toEqual([
      'unflushed-access error dma_direct_sync_sg_for_cpu kernel/dma/direct.c',
      'unflushed-access error dma_direct_unmap_sg kernel/dma/direct.c',
      'unflushed-access error iommu_dma_iova_unlink_range_slow drivers/iommu/dma-iommu.c',
    ]);
  }, 300_000);

  it('reports nothing new nor fixed when a static helper with findings is renamed', () => {
    const file = 'drivers/iommu/dma-iommu.c';
    const text = fs.readFileSync(path.join(tree7!, file), 'utf8');
    expect(text).toContain('iommu_dma_iova_unlink_range_slow(');
    stage(text.replace(/\biommu_dma_iova_unlink_range_slow\b/g, 'iommu_dma_iova_unlink_pages_slowly'), file);

    const r = spawnSync(process.execPath, [cli, 'diff', '--cached', '--tree', tree7!, '--format', 'json', '--no-cache', '--show-fixed'], { env: process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const report = JSON.parse(r.stdout) as DiffJson;
    expect(report.changedFiles).toEqual([file]);
    expect(report.findings).toEqual([]);
    expect(report.fixed).toEqual([]);
  }, 300_000);

  it('reports nothing new nor fixed when the file with the two warnings is renamed (git mv, in the index only)', () => {
    const from = 'drivers/iommu/dma-iommu.c';
    const to = 'drivers/iommu/dma-iommu-core.c';
    const blob = git(['rev-parse', `HEAD:${from}`]);
    git(['update-index', '--add', '--cacheinfo', `100644,${blob},${to}`]);
    git(['update-index', '--force-remove', from]); // the index entry only: the file on disk stays

    const r = spawnSync(process.execPath, [cli, 'diff', '--cached', '--tree', tree7!, '--format', 'json', '--no-cache', '--show-fixed'], { env: process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const report = JSON.parse(r.stdout) as DiffJson;
    expect(report.changedFiles).toEqual([to, from]);
    expect(report.findings).toEqual([]);
    expect(report.fixed).toEqual([]);
    expect(fs.existsSync(path.join(tree7!, from))).toBe(true);
    expect(fs.existsSync(path.join(tree7!, to))).toBe(false);
  }, 300_000);

  it('leaves the tree untouched', () => {
    expect(fs.readFileSync(path.join(tree7!, FILE), 'utf8')).toBe(original);
    expect(fs.statSync(path.join(tree7!, FILE)).mtimeMs).toBe(mtimeMs);
  });
});
