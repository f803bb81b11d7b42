// `flushcheck graph` on the real 7.x tree: the kernel/dma and drivers/iommu
// graphs a reviewer looks at must fit one screen when Graphviz draws them,
// with short labels and no condition the analysis could not simplify away.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { linux7 } from './trees.js';

const tree = linux7();
const cli = path.resolve(__dirname, '../../dist/cli/main.js');
const haveDot = spawnSync('dot', ['-V']).status === 0;
if (process.env.CI && !tree) throw new Error('kernel tree missing: run `npm run kernel:fetch` first');

describe.skipIf(!tree || !haveDot)('graph on Linux 7.x', () => {
  it.each(['kernel/dma', 'drivers/iommu'])('%s renders on one screen with short labels', (folder) => {
    const dot = spawnSync(process.execPath, [cli, 'graph', folder, '--format', 'dot'], { cwd: tree!, encoding: 'utf8' });
    expect(dot.status).toBe(0);
    const labels = [...dot.stdout.matchAll(/ \[label="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.split('\\n'));
    expect(labels.length).toBeGreaterThan(10);
    for (const lines of labels) for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(45);
    // Every node is connected; call sites carry their file.
    expect(dot.stdout).toMatch(/xlabel="(direct|mapping|dma-iommu)\.c:\d+"/);
    const png = spawnSync('dot', ['-Tpng'], { input: dot.stdout });
    expect(png.status).toBe(0);
    const width = png.stdout.readUInt32BE(16);
    const height = png.stdout.readUInt32BE(20);
    // 96 dpi: at most about 2600 x 1000 pixels (it was 27,755 x 1,559 for kernel/dma).
    expect(width).toBeLessThanOrEqual(2600);
    expect(height).toBeLessThanOrEqual(1000);
  }, 120_000);
});
