// The bin's first two lines (src/cli/main.ts): the shell that runs
// dist/cli/main.js starts node with V8's thread pool at one thread fewer than
// the cores, between 1 and 4, unless NODE_OPTIONS sets the pool itself, and
// without NODE_EXTRA_CA_CERTS, which main.ts puts back for what it starts.
// A stand-in `node` and `nproc` on PATH show the command line the shell builds.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const VERSION = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('the bin started by its #! line', () => {
  // What a stand-in shows of the two variables, as it finds them (unset: -).
  const SHOW_BOTH = 'printf "[%s][%s]" "${NODE_EXTRA_CA_CERTS--}" "${FLUSHCHECK_NODE_EXTRA_CA_CERTS--}"';
  let fakes: string;
  beforeAll(() => {
    fakes = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-bin-start-'));
    // A stand-in node that shows them (in a folder of its own: the other stand-in node prints its arguments).
    fs.mkdirSync(path.join(fakes, 'show-env'));
    fs.writeFileSync(path.join(fakes, 'show-env', 'node'), `#!/bin/sh\n${SHOW_BOTH}\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(fakes, 'node'), '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\n', { mode: 0o755 });
    // FAKE_NPROC unset: nproc fails, as where it is missing.
    fs.writeFileSync(path.join(fakes, 'nproc'), '#!/bin/sh\n[ -n "$FAKE_NPROC" ] || exit 1\necho "$FAKE_NPROC"\n', { mode: 0o755 });
  });
  afterAll(() => fs.rmSync(fakes, { recursive: true, force: true }));

  const started = (env: Record<string, string>): { stdout: string; stderr: string } => {
    const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
    const run = spawnSync(CLI, ['lint', 'a tree', "it's"], { encoding: 'utf8', env: { ...inherited, PATH: `${fakes}:${process.env.PATH}`, ...env } });
    expect(run.error).toBeUndefined();
    return { stdout: run.stdout, stderr: run.stderr };
  };

  it.each([
    ['1', 1],
    ['2', 1],
    ['3', 2],
    ['4', 3],
    ['5', 4],
    ['64', 4],
  ])('with %s cores, a pool of %i threads, the arguments as given and nothing on stderr', (cores, pool) => {
    expect(started({ FAKE_NPROC: cores })).toEqual({ stdout: `[--v8-pool-size=${pool}][${CLI}][lint][a tree][it's]`, stderr: '' });
  });

  it('without nproc, or with an answer that is not a number, the pool for 2 cores', () => {
    expect(started({}).stdout).toBe(`[--v8-pool-size=1][${CLI}][lint][a tree][it's]`);
    expect(started({ FAKE_NPROC: '8 cpus' })).toEqual({ stdout: `[--v8-pool-size=1][${CLI}][lint][a tree][it's]`, stderr: '' });
  });

  it("leaves NODE_OPTIONS' own pool size alone", () => {
    expect(started({ FAKE_NPROC: '2', NODE_OPTIONS: '--max-old-space-size=512 --v8-pool-size=3' }).stdout).toBe(`[${CLI}][lint][a tree][it's]`);
    expect(started({ FAKE_NPROC: '2', NODE_OPTIONS: '--max-old-space-size=512' }).stdout).toBe(`[--v8-pool-size=1][${CLI}][lint][a tree][it's]`);
  });

  const environment = (env: Record<string, string>): string => {
    const show = path.join(fakes, 'show-env');
    const { NODE_EXTRA_CA_CERTS: _a, FLUSHCHECK_NODE_EXTRA_CA_CERTS: _b, ...inherited } = process.env;
    const run = spawnSync(CLI, ['--version'], { encoding: 'utf8', env: { ...inherited, PATH: `${show}:${fakes}:${process.env.PATH}`, FAKE_NPROC: '2', ...env } });
    expect(run.error).toBeUndefined();
    return run.stdout;
  };

  it('starts node without NODE_EXTRA_CA_CERTS, passing its value on under another name', () => {
    expect(environment({ NODE_EXTRA_CA_CERTS: '/etc/a b/ca.pem' })).toBe('[-][/etc/a b/ca.pem]');
    expect(environment({ NODE_EXTRA_CA_CERTS: '' })).toBe('[-][]');
    expect(environment({})).toBe('[-][-]');
    // Only the #! line sets the other name: one left in the environment is not taken for the user's.
    expect(environment({ FLUSHCHECK_NODE_EXTRA_CA_CERTS: '/stale.pem' })).toBe('[-][-]');
  });

  it('node started by the bin reads no certificates, and the processes it starts see NODE_EXTRA_CA_CERTS as it was', () => {
    // A certificate file that does not exist: node says so on stderr when it tries to read it at start-up.
    const missing = path.join(fakes, 'no-such-ca.pem');
    const gitSaw = path.join(fakes, 'git-saw-env');
    const fakeGit = path.join(fakes, 'fake-git');
    fs.mkdirSync(fakeGit, { recursive: true });
    fs.writeFileSync(path.join(fakeGit, 'git'), `#!/bin/sh\n${SHOW_BOTH} > '${gitSaw}'\nexit 1\n`, { mode: 0o755 });
    const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
    const here = fs.mkdtempSync(path.join(fakes, 'cwd-'));
    const run = spawnSync(CLI, ['diff', '--cached'], { cwd: here, encoding: 'utf8', env: { ...inherited, PATH: `${fakeGit}:${process.env.PATH}`, NODE_EXTRA_CA_CERTS: missing } });
    expect(run.stderr).not.toContain('extra certs');
    expect(fs.readFileSync(gitSaw, 'utf8')).toBe(`[${missing}][-]`);
    // Started by node itself, the same node reads the file (and says it cannot): what the bin avoids.
    const plain = spawnSync(process.execPath, ['-e', '0'], { encoding: 'utf8', env: { ...inherited, NODE_EXTRA_CA_CERTS: missing } });
    expect(plain.stderr).toContain(`Ignoring extra certs from \`${missing}\``);
  });

  it('runs the real CLI with the real node', () => {
    expect(execFileSync(CLI, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()).toBe(VERSION);
  });
});

// The bin exits as soon as its command is done and what it wrote has gone out
// (src/cli/main.ts), not when node's event loop empties: a report larger than
// a pipe holds must still reach a reader that only starts reading later.
describe('the bin exiting after its report', () => {
  let tree: string;
  beforeAll(() => {
    tree = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-bin-exit-'));
    fs.cpSync(fileURLToPath(new URL('../../demo/', import.meta.url)), tree, { recursive: true });
    // 400 functions that each leave a clean pending: a JSON report of several hundred KB.
    const functions = Array.from({ length: 400 }, (_, i) => `void acme_unflushed_${i}(phys_addr_t buf, size_t len)\n{\n\tarch_sync_dma_for_device(buf, len, DMA_TO_DEVICE);\n}\n`);
    fs.writeFileSync(path.join(tree, 'drivers/net/ethernet/acme/acme_many.c'), `#include <linux/dma-map-ops.h>\n\n${functions.join('\n')}`);
  });
  afterAll(() => fs.rmSync(tree, { recursive: true, force: true }));

  it('writes the whole report to a pipe read only after a pause, then exits with the findings code', async () => {
    const child = spawn(CLI, ['lint', tree, '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const [code] = await new Promise<[number | null]>((resolve) => child.on('close', (c) => resolve([c])));
    const report = Buffer.concat(chunks);
    expect(report.length).toBeGreaterThan(256 * 1024);
    const findings = (JSON.parse(report.toString('utf8')) as { findings: { function: string }[] }).findings;
    expect(findings.filter((f) => f.function.startsWith('acme_unflushed_')).length).toBe(400);
    expect(code).toBe(1);
  }, 30_000);
});
