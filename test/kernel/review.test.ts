// `flushcheck review` on the real 7.x tree (a plain folder: no git): a
// two-patch series made at test time from the tree's own kernel/dma/direct.c
// (nothing of the kernel is stored in this repository). 1/2 drops the flush
// after the scatter-gather sync loop of dma_direct_sync_sg_for_device(), 2/2
// restores it, so the series is not bisectable; the break is reported in the
// function that lost its flush.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linux7 } from './trees.js';

const tree = linux7();
const cli = path.resolve(__dirname, '../../dist/cli/main.js');
if (process.env.CI && !tree) throw new Error('kernel tree missing: run `npm run kernel:fetch` first');

const FILE = 'kernel/dma/direct.c';

/** `git diff --no-index` of two versions of `file` (FILE), with the paths as in the tree. */
function unifiedDiff(work: string, from: string, to: string, file = FILE): string {
  fs.mkdirSync(path.join(work, 'a', path.dirname(file)), { recursive: true });
  fs.mkdirSync(path.join(work, 'b', path.dirname(file)), { recursive: true });
  fs.writeFileSync(path.join(work, 'a', file), from);
  fs.writeFileSync(path.join(work, 'b', file), to);
  const run = spawnSync('git', ['diff', '--no-index', '--no-prefix', `a/${file}`, `b/${file}`], { cwd: work });
  // --no-prefix keeps the a/ b/ folder names as the prefixes git apply -p1 strips.
  return run.stdout.toString('utf8');
}

function message(n: number, subject: string, diff: string): string {
  return [
    'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
    'From: A. Developer <dev@example.org>',
    'Date: Sun, 1 Nov 2026 12:00:00 +0000',
    `Message-ID: <kernel-review-${n}@example.org>`,
    `Subject: [PATCH ${n}/2] ${subject}`,
    '',
    `${subject}.`,
    '---',
    // Only the final newline goes: a context line for an empty source line is a lone space.
    diff.replace(/\n$/, ''),
    '-- ',
    '2.39.5',
    '',
    '',
  ].join('\n');
}

describe.skipIf(!tree)('review on Linux 7.x', () => {
  let work: string;
  let mtime: number;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-kreview-'));
    const original = fs.readFileSync(path.join(tree!, FILE), 'utf8');
    const start = original.indexOf('void dma_direct_sync_sg_for_device(');
    const flush = original.indexOf('arch_sync_dma_flush();', start);
    expect(start).toBeGreaterThan(0);
    expect(flush).toBeGreaterThan(start);
    const broken = `${original.slice(0, flush)};${original.slice(flush + 'arch_sync_dma_flush();'.length)}`;
    const mbox =
      message(1, 'dma-direct: drop the flush after the sg sync loop', unifiedDiff(work, original, broken)) +
      message(2, 'dma-direct: restore the flush after the sg sync loop', unifiedDiff(work, broken, original));
    fs.writeFileSync(path.join(work, 'series.mbox'), mbox);
    mtime = fs.statSync(path.join(tree!, FILE)).mtimeMs;
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('names the patch that leaves dma_direct_sync_sg_for_device unflushed and the one that fixes it', () => {
    // The review's temporary folders go to a private TMPDIR, which must be empty afterwards.
    const tmp = path.join(work, 'tmp');
    fs.mkdirSync(tmp);
    const run = spawnSync(process.execPath, [cli, 'review', path.join(work, 'series.mbox'), '--tree', tree!, '--format', 'json'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, TMPDIR: tmp },
    });
    expect(run.status, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout);
    const brief = (fs: { kind: string; severity: string; function: string; file: string }[]) => fs.map((f) => ({ kind: f.kind, severity: f.severity, function: f.function, file: f.file }));
    const expected = [{ kind: 'unflushed-return', severity: 'error', function: 'dma_direct_sync_sg_for_device', file: 'kernel/dma/direct.c' }];
    expect(report.patches.map((p: { applied: boolean }) => p.applied)).toEqual([true, true]);
    expect(brief(report.patches[0].introduced)).toEqual(expected);
    expect(report.patches[0].fixed).toEqual([]);
    expect(report.patches[1].introduced).toEqual([]);
    expect(brief(report.patches[1].fixed)).toEqual(expected);
    expect(report.bisectable).toBe(false);
    expect(report.breaks.map((b: { text: string }) => b.text)).toEqual(['1/2 leaves dma_direct_sync_sg_for_device unflushed until 2/2']);
    // The end of the series is the tree as it was: the 7.2 findings, nothing else.
    expect(report.findings.filter((f: { severity: string }) => f.severity !== 'note').map((f: { function: string }) => f.function).sort()).toEqual(['iommu_dma_iova_unlink_range_slow', 'iommu_dma_iova_unlink_range_slow']);
    // The tree was never written to.
    expect(fs.statSync(path.join(tree!, FILE)).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(tmp)).toEqual([]);
  }, 120_000);

  it('reports the bounce copies that a patch removing the flush in swiotlb_bounce() exposes as introduced by it', () => {
    const file = 'kernel/dma/swiotlb.c';
    const text = fs.readFileSync(path.join(tree!, file), 'utf8');
    const flush = '\tif (dir == DMA_FROM_DEVICE && !dev_is_dma_coherent(dev))\n\t\tarch_sync_dma_flush();\n';
    expect(text).toContain(flush);
    const mbox = message(1, 'swiotlb: leave the flush to the callers', unifiedDiff(path.join(work, 'bounce'), text, text.replace(flush, ''), file)).replace('[PATCH 1/2]', '[PATCH]');
    fs.writeFileSync(path.join(work, 'bounce.mbox'), mbox);
    const run = spawnSync(process.execPath, [cli, 'review', path.join(work, 'bounce.mbox'), '--tree', tree!, '--format', 'json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(run.status, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.patches[0].introduced.map((f: { kind: string; severity: string; function: string; file: string }) => `${f.kind} ${f.severity} ${f.function} ${f.file}`).sort()).toEqual([
      'unflushed-access error dma_direct_sync_sg_for_cpu kernel/dma/direct.c',
      'unflushed-access error dma_direct_unmap_sg kernel/dma/direct.c',
      'unflushed-access error iommu_dma_iova_unlink_range_slow drivers/iommu/dma-iommu.c',
    ]);
  }, 120_000);

  it.each([
    ['SIGINT', 130, 'process'],
    ['SIGTERM', 143, 'process'],
    // Ctrl-C in a terminal signals the whole foreground group; git children have their own.
    ['SIGINT', 130, 'group'],
  ] as const)('ends on %s with exit %i (sent to the %s), its temporary folder removed and no report printed', async (signal, status, target) => {
    const tmp = path.join(work, `tmp-${signal}-${target}`);
    fs.mkdirSync(tmp);
    const child = spawn(process.execPath, [cli, 'review', path.join(work, 'series.mbox'), '--tree', tree!], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'], detached: target === 'group' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The base analysis of the tree takes seconds: interrupt once the folder exists.
    const deadline = Date.now() + 60_000;
    while (fs.readdirSync(tmp).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fs.readdirSync(tmp)).toHaveLength(1);
    if (target === 'group') process.kill(-child.pid!, signal);
    else child.kill(signal);
    expect(await exited).toBe(status);
    // It stopped: no report, no misleading "install git", nothing left behind.
    expect(stdout).toBe('');
    expect(stderr).not.toContain('install git');
    expect(fs.readdirSync(tmp)).toEqual([]);
  }, 120_000);
});
