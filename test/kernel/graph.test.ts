// `flushcheck graph` on the real 7.x tree: the kernel/dma and drivers/iommu
// graphs a reviewer looks at must fit one screen when Graphviz draws them,
// with short labels and no condition the analysis could not simplify away.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { linux7 } from './trees.js';

const tree = linux7();
const cli = path.resolve(__dirname, '../../dist/cli/main.js');
const haveDot = spawnSync('dot', ['-V']).status === 0;
if (process.env.CI && !tree) throw new Error('kernel tree missing: run `npm run kernel:fetch` first');

/** Asynchronous: a synchronous child would keep the test worker from answering vitest for the whole analysis. */
function run(cmd: string, args: string[], input?: string): Promise<{ status: number | null; stdout: Buffer }> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd: tree!, stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('close', (status) => resolvePromise({ status, stdout: Buffer.concat(chunks) }));
    child.stdin.end(input ?? '');
  });
}

describe.skipIf(!tree || !haveDot)('graph on Linux 7.x', () => {
  it.each(['kernel/dma', 'drivers/iommu'])('%s renders on one screen with short labels', async (folder) => {
    const run1 = await run(process.execPath, [cli, 'graph', folder, '--format', 'dot']);
    expect(run1.status).toBe(0);
    const dot = { stdout: run1.stdout.toString('utf8') };
    const labels = [...dot.stdout.matchAll(/ \[label="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.split('\\n'));
    expect(labels.length).toBeGreaterThan(10);
    for (const lines of labels) for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(45);
    // Every node is connected; call sites carry their file.
    expect(dot.stdout).toMatch(/xlabel="(direct|mapping|dma-iommu)\.c:\d+"/);
    const png = await run('dot', ['-Tpng'], dot.stdout);
    expect(png.status).toBe(0);
    const width = png.stdout.readUInt32BE(16);
    const height = png.stdout.readUInt32BE(20);
    // 96 dpi: at most about 2600 x 1000 pixels (it was 27,755 x 1,559 for kernel/dma).
    expect(width).toBeLessThanOrEqual(2600);
    expect(height).toBeLessThanOrEqual(1000);
  }, 120_000);
});
