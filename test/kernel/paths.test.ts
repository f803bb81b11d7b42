// `lint PATH` (make M= semantics), the tree named from its parent folder, and
// the arm64 defconfig, on linux-7.2 through the built CLI.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { linux7 } from './trees.js';

const tree7 = linux7();
const cli = path.resolve(__dirname, '../../dist/cli/main.js');

if (process.env.CI && !tree7) throw new Error('kernel trees missing: run `npm run kernel:fetch` first');

interface Report {
  findings: { function: string; kind: string; severity: string; file: string }[];
  stats: { files: number; scope?: { paths: string[]; files: number; findingsOutside: number } };
}

/** The CLI's exit code and output (asynchronous: a run takes seconds and must not block the worker). */
function flushcheck(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 2) : 0, stdout, stderr });
    });
  });
}

async function json(cwd: string, ...args: string[]): Promise<{ code: number; report: Report }> {
  const r = await flushcheck(cwd, 'lint', '--format', 'json', ...args);
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}

const judged = (r: Report) => r.findings.map((f) => `${f.severity} ${f.kind} ${f.function} ${f.file}`).sort();

describe.skipIf(!tree7)('linux-7.2: paths, parent folder, defconfig', () => {
  let whole: { code: number; report: Report };
  beforeAll(async () => {
    whole = await json(tree7!);
  }, 300_000);

  it('lint drivers/iommu from the top reports the two dma-iommu.c warnings and exits 1', async () => {
    const { code, stdout } = await flushcheck(tree7!, 'lint', 'drivers/iommu');
    expect(code).toBe(1);
    // A finding's headline ends with its rule; the note lines after it carry the path.
    const headlines = stdout.split('\n').filter((l) => /^\S+:\d+:\d+: (error|warning|note): .*\[[\w-]+\]$/.test(l));
    // The WARN_ON(!phys) early return in the iova unlink loop (docs/linux-7.2-findings.md), reported in dma-iommu.c.
    expect(headlines).toHaveLength(2);
    expect(headlines.every((l) => /^drivers\/iommu\/dma-iommu\.c:\d+:\d+: warning: .*arch_sync_dma_for_cpu\(\).* \[dma-sync-flush\]$/.test(l))).toBe(true);
    expect(headlines.map((l) => /(dma_iova_\w+)\(\) returns/.exec(l)?.[1]).sort()).toEqual(['dma_iova_destroy', 'dma_iova_unlink']);
    expect(headlines.every((l) => l.length <= 200)).toBe(true);
    expect(stdout).toMatch(/^0 errors, 2 warnings, 0 notes under drivers\/iommu \(\d+ files, \d+ functions judged, \d+ sync sites\); \d+ findings elsewhere in the tree not shown$/m);
  }, 300_000);

  it('the tree named from its parent folder is read as from inside: same files, same findings', async () => {
    const parent = await json(path.dirname(tree7!), path.basename(tree7!));
    expect(parent.report.stats.files).toBe(whole.report.stats.files);
    expect(parent.report.stats.files).toBeGreaterThan(50_000);
    expect(judged(parent.report)).toEqual(judged(whole.report));
    expect(parent.report.findings.filter((f) => f.file.startsWith('arch/') && !f.file.startsWith('arch/arm64/'))).toEqual([]);
  }, 300_000);

  it('--kconfig arch/arm64/configs/defconfig gives the same findings as the default', async () => {
    const defconfig = await json(tree7!, '--kconfig', 'arch/arm64/configs/defconfig');
    expect(defconfig.code).toBe(whole.code);
    expect(judged(defconfig.report)).toEqual(judged(whole.report));
  }, 300_000);

  it('graph kernel/dma/mapping.c shows its hand-offs down to the syncs through dma-direct, exit 0', async () => {
    const { code, stdout } = await flushcheck(tree7!, 'graph', 'kernel/dma/mapping.c');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^dma_map_phys \[handoff, exported\] kernel\/dma\/mapping\.c:\d+\n(?: {4}-> .*\n)* {4}-> dma_direct_map_phys \(call/m);
    expect(stdout).toMatch(/^dma_direct_map_phys \[deferring[^\n]*\n(?: {4}-> .*\n)* {4}-> arch_sync_dma_for_device \(call/m);
    expect(stdout).not.toMatch(/^drm_gpusvm_get_pages \[/m);
  }, 300_000);

  it('graph kernel/dma holds the dma-direct functions and their neighbours, exit 0', async () => {
    const { code, stdout } = await flushcheck(tree7!, 'graph', 'kernel/dma');
    expect(code).toBe(0);
    for (const name of ['dma_direct_map_sg', 'dma_direct_sync_sg_for_device', 'arch_sync_dma_flush']) expect(stdout).toMatch(new RegExp(`^${name} \\[`, 'm'));
    expect(stdout).not.toMatch(/^drm_gpusvm_get_pages \[/m);
  }, 300_000);
});
