// `lint PATH` and `graph PATH` the way kernel developers name code (`make
// M=drivers/foo`): the kernel tree holding PATH is analysed whole, the report
// keeps what lies under PATH. Runs the real analysis through the CLI on
// fixtures/trees/mini-kernel (its README says what each file holds).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { resolveLintTarget } from '../../src/cli/target.js';

const MINI = fileURLToPath(new URL('../../fixtures/trees/mini-kernel', import.meta.url));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-paths-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

interface Report {
  findings: { function: string; file: string; severity: string }[];
  inactiveRules: { ruleId: string }[];
  stats: { files: number; ms: number; scope?: { paths: string[]; files: number; functions: number; syncSites: number; findingsOutside: number } };
}

async function cli(cwd: string, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: { stdout: false, stderr: false }, env: {}, cwd });
  return { code, stdout, stderr };
}

async function json(cwd: string, ...argv: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const { code, stdout, stderr } = await cli(cwd, 'lint', '--format', 'json', '--jobs', '1', ...argv);
  return { code, report: JSON.parse(stdout) as Report, stderr };
}

const where = (r: Report) => r.findings.map((f) => `${f.function} ${f.file}`).sort();
const ALL = ['foo_map drivers/foo/foo_dma.c', 'foo_unmap drivers/foo/foo_dma.c', 'qux_post drivers/qux/qux_dma.c'];
const FOO = ['foo_map drivers/foo/foo_dma.c', 'foo_unmap drivers/foo/foo_dma.c'];

describe('lint PATH in a kernel tree', () => {
  it('analyses the whole tree and reports what lies under the path (the flush is defined outside it)', async () => {
    const { code, report } = await json(MINI, 'drivers/foo');
    expect(code).toBe(1);
    expect(where(report)).toEqual(FOO);
    expect(report.inactiveRules.map((r) => r.ruleId)).not.toContain('dma-sync-flush');
    expect(report.stats.scope).toEqual({ paths: ['drivers/foo'], exclude: [], files: 1, functions: 2, syncSites: 2, findingsOutside: 1, diagnostics: 0 });
    // The whole tree was read as context: arch/arm is not part of arm64's build.
    expect(report.stats.files).toBe((await json(MINI)).report.stats.files);
  });

  it('gives the same answer from the tree, from a subfolder without PATH, and from the parent folder', async () => {
    const top = await json(MINI, 'drivers/foo');
    const inside = await json(path.join(MINI, 'drivers', 'foo'));
    const parent = await json(path.dirname(MINI), `${path.basename(MINI)}/drivers/foo`);
    expect(inside.report).toEqual({ ...top.report, stats: { ...top.report.stats, ms: inside.report.stats.ms } });
    expect(where(parent.report)).toEqual(FOO);

    // The tree named from its parent is the tree: its top is the root, not the current folder.
    const whole = await json(path.dirname(MINI), path.basename(MINI));
    expect(whole.code).toBe(1);
    expect(where(whole.report)).toEqual(ALL);
    expect(whole.report.stats.scope).toBeUndefined();
    expect(whole.report.stats.files).toBe((await json(MINI)).report.stats.files);
  });

  it('takes globs (globby) and --exclude', async () => {
    const { code, report } = await json(MINI, 'drivers/**/*_dma.c', '--exclude', 'drivers/qux');
    expect(code).toBe(1);
    expect(where(report)).toEqual(FOO);
    expect(report.stats.scope).toMatchObject({ paths: ['drivers/**/*_dma.c'], exclude: ['drivers/qux'], files: 2, findingsOutside: 1 });
    const none = await cli(MINI, 'lint', 'drivers/**/*.rs');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^flushcheck: error: 'drivers\/\*\*\/\*\.rs' matches no \.c or \.h file in /);
  });

  it('says so and exits 2 when the path selects nothing to check, unless --allow-empty', async () => {
    const empty = await cli(MINI, 'lint', 'drivers/baz');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe('flushcheck: error: nothing checked under drivers/baz: no function there issues, defers or completes DMA cache maintenance; pass --allow-empty to accept that\n');
    expect(empty.stdout).toContain('0 errors, 0 warnings, 0 notes under drivers/baz (1 file, 0 functions judged, 0 sync sites); 3 findings elsewhere in the tree not shown\n');
    expect((await cli(MINI, 'lint', 'drivers/baz', '--allow-empty')).code).toBe(0);
  });

  it('honours .gitignore only in a git work tree (a Debian source tree ignores everything)', async () => {
    const copy = path.join(scratch, 'gitignored');
    fs.cpSync(MINI, copy, { recursive: true });
    fs.writeFileSync(path.join(copy, '.gitignore'), '*\n');
    expect((await cli(copy, 'lint', 'drivers/**/foo_*.c', '--format', 'json')).code).toBe(1);
    execFileSync('git', ['init', '-q'], { cwd: copy });
    const ignored = await cli(copy, 'lint', 'drivers/**/foo_*.c');
    expect(ignored.code).toBe(2);
    expect(ignored.stderr).toMatch(/matches no \.c or \.h file/);
  });

  it('refuses paths in two kernel trees', async () => {
    const other = path.join(scratch, 'other-tree');
    fs.cpSync(MINI, other, { recursive: true });
    const { code, stderr } = await cli(scratch, 'lint', path.join(MINI, 'drivers/foo'), path.join(other, 'drivers/foo'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^flushcheck: error: the paths are not in one kernel tree: .*; lint one tree at a time, or pass --root DIR\n$/);
  });
});

describe('resolveLintTarget', () => {
  it('finds the top from a path, keeps the path as the scope, and treats the top itself as no scope', async () => {
    expect(await resolveLintTarget(MINI, undefined, ['drivers/foo'])).toEqual({ root: MINI, scope: { given: ['drivers/foo'], include: ['drivers/foo'], exclude: [] } });
    expect(await resolveLintTarget(path.join(MINI, 'drivers'), undefined, [])).toEqual({ root: MINI, scope: { given: ['drivers'], include: ['drivers'], exclude: [] } });
    expect(await resolveLintTarget(path.dirname(MINI), undefined, [path.basename(MINI)])).toEqual({ root: MINI });
  });

  it('takes --root as the top, and outside any kernel tree keeps the old meaning (the path is the tree)', async () => {
    const plain = path.join(scratch, 'plain');
    fs.mkdirSync(path.join(plain, 'src'), { recursive: true });
    fs.writeFileSync(path.join(plain, 'src', 'a.c'), 'void a(void) {}\n');
    expect(await resolveLintTarget(MINI, undefined, [plain])).toEqual({ root: plain });
    expect(await resolveLintTarget(plain, undefined, ['src'])).toEqual({ root: path.join(plain, 'src') });
    expect(await resolveLintTarget(plain, undefined, ['src/a.c'])).toEqual({ root: plain, paths: [path.join(plain, 'src', 'a.c')], scope: { given: ['src/a.c'], include: ['src/a.c'], exclude: [] } });
    expect(await resolveLintTarget(os.tmpdir(), plain, ['src'])).toEqual({ root: plain, scope: { given: ['src'], include: ['src'], exclude: [] } });
  });
});

describe('graph PATH', () => {
  it('keeps the functions defined under the path and their direct neighbours', async () => {
    const { code, stdout } = await cli(MINI, 'graph', 'drivers/bar');
    expect(code).toBe(0);
    const names = stdout.split('\n').filter((l) => /^\S/.test(l) && !/nodes?, /.test(l)).map((l) => l.split(' ')[0]);
    expect(names.sort()).toEqual(['arch_sync_dma_flush', 'arch_sync_dma_for_device', 'bar_sync', 'bar_sync_one']);
  });

  it('exits 2 on an empty graph unless --allow-empty', async () => {
    const empty = await cli(MINI, 'graph', 'drivers/baz');
    expect(empty.code).toBe(2);
    // A rule applies to the tree; only the path holds none of its functions.
    expect(empty.stderr).toMatch(/the graph of drivers\/baz is empty: no function there issues, defers or completes DMA cache maintenance;/);
    expect((await cli(MINI, 'graph', 'drivers/baz', '--allow-empty')).code).toBe(0);
  });

  it('says the rules do not apply when the tree defines no flush, instead of saying nothing syncs', async () => {
    // A tree from before the batched-sync series: it syncs, but its rules are inactive.
    const before = fileURLToPath(new URL('../../fixtures/lint/39-inactive-no-flush-defined/', import.meta.url));
    const empty = await cli(before, 'graph');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe(
      'flushcheck: error: the graph of the tree is empty: no rule applies to this tree (arm64-dcache-nosync: the tree defines no dcache_clean_poc_nosync(); dma-sync-flush: the tree defines no arch_sync_dma_flush()); pass --allow-empty to accept that\n',
    );
  });
});

describe('--kconfig with a defconfig', () => {
  it('resolves what the defconfig leaves out from Kconfig, as make does (FOO_FLUSH defaults to y)', async () => {
    const { code, report } = await json(MINI, '--kconfig', 'arch/arm64/configs/foo_defconfig');
    expect(code).toBe(1);
    // foo_map's flush is compiled in; the rule stays active although the file never names ARCH_HAS_BATCHED_DMA_SYNC.
    expect(where(report)).toEqual(['foo_unmap drivers/foo/foo_dma.c', 'qux_post drivers/qux/qux_dma.c']);
  });
});
