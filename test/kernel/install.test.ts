// The README's install, done as a user would: `npm pack`, then
// `npm install -g` of the tarball (into a temporary prefix here), then the
// installed `flushcheck` run in another folder: a copy of the mini kernel
// tree, and linux-7.2 when it was fetched. Needs the npm registry (the
// package's dependencies), like `npm ci`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linux7 } from './trees.js';

const REPO = path.resolve(__dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-install-'));
const prefix = path.join(work, 'prefix');
const installed = path.join(prefix, 'bin', 'flushcheck');
const tree7 = linux7();

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// Asynchronous: a minute of npm must not block the test worker (vitest's RPC times out).
const run = promisify(execFile);

beforeAll(async () => {
  const version = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  await run('npm', ['pack', '--pack-destination', work], { cwd: REPO });
  const tarball = path.join(work, `flushcheck-${version}.tgz`);
  // From another folder, as the README says: nothing of the clone is used but the tarball.
  await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: work });
}, 600_000);

/** The installed command's exit code and output (asynchronous, like the install: a 7.2 run takes seconds). */
function flushcheck(cwd: string, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(installed, args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ status: error ? Number((error as { code?: number }).code ?? 2) : 0, stdout, stderr });
    });
  });
}

describe('flushcheck installed from npm pack', () => {
  it('runs in a kernel tree elsewhere, with its bundled rules', async () => {
    const tree = path.join(work, 'mini-kernel');
    fs.cpSync(path.join(REPO, 'fixtures', 'trees', 'mini-kernel'), tree, { recursive: true });
    expect((await flushcheck(work, '--version')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const r = await flushcheck(path.join(tree, 'drivers', 'foo'), 'lint', '--terse');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    expect(r.stdout.split('\n').filter((l) => / error: /.test(l)).map((l) => l.split(':')[0] + ':' + l.split(':')[1])).toEqual(['drivers/foo/foo_dma.c:11', 'drivers/foo/foo_dma.c:21']);
  });

  it.skipIf(!tree7)('lints drivers/iommu in linux-7.2 from its top: the two dma-iommu.c warnings, exit 1', async () => {
    const r = await flushcheck(tree7!, 'lint', 'drivers/iommu', '--terse');
    expect(r.status).toBe(1);
    const headlines = r.stdout.split('\n').filter((l) => /: (error|warning|note): .*\[[\w-]+\]$/.test(l));
    expect(headlines).toHaveLength(2);
    expect(headlines.every((l) => l.startsWith('drivers/iommu/dma-iommu.c:') && l.includes(' warning: '))).toBe(true);
  }, 120_000);
});
