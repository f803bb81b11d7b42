import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sarifSchemaErrors } from './support/sarif-schema.js';
import { UsageError } from '../../src/errors.js';
import { main, resolveScanTarget, type CliDeps, type CliIO } from '../../src/cli/run.js';
import type { LintOptions } from '../../src/lint.js';
import type { CallGraphView } from '../../src/report/graph.js';
import { loadRules, RuleError } from '../../src/rules/load.js';
import type { Finding, LintResult, Severity } from '../../src/types.js';

let tree: string;

beforeAll(() => {
  // A tiny "kernel tree": the CLI checks that paths exist before calling runLint.
  tree = mkdtempSync(join(tmpdir(), 'flushcheck-cli-'));
  mkdirSync(join(tree, 'drivers', 'iommu'), { recursive: true });
  writeFileSync(join(tree, 'drivers', 'iommu', 'dma-iommu.c'), 'void f(void) {}\n');
  writeFileSync(join(tree, '.config'), 'CONFIG_ARM64=y\n');
  mkdirSync(join(tree, 'my-rules'));
  mkdirSync(join(tree, 'more-rules'));
});

afterAll(() => {
  rmSync(tree, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  lintCalls: LintOptions[];
}

function finding(severity: Severity): Finding {
  return {
    ruleId: 'dma-sync-flush',
    kind: 'unflushed-return',
    severity,
    file: 'drivers/iommu/dma-iommu.c',
    line: 10,
    column: 2,
    function: 'iommu_dma_sync_single_for_device',
    message: 'arch_sync_dma_for_device() is not flushed before return',
    path: [{ file: 'drivers/iommu/dma-iommu.c', line: 8, event: 'issues clean' }],
  };
}

function lintResult(findings: Finding[]): LintResult {
  return {
    tool: 'flushcheck',
    version: '0.1.0',
    root: tree,
    arch: 'arm64',
    findings,
    inactiveRules: [],
    stats: { files: 1, parsed: 1, functions: 1, syncSites: 1, ms: 1, diagnostics: [] },
  };
}

const graphView: CallGraphView = {
  nodes: [
    { name: 'f', file: 'drivers/iommu/dma-iommu.c', line: 1, role: 'caller', exported: false, addressTaken: false },
    { name: 'arch_sync_dma_for_device', file: 'arch/arm64/mm/dma-mapping.c', line: 15, role: 'issuing', exported: false, addressTaken: false },
    { name: 'g', file: 'kernel/dma/mapping.c', line: 7, role: 'handoff', exported: true, addressTaken: false },
  ],
  edges: [
    { from: 'f', to: 'arch_sync_dma_for_device', kind: 'call', file: 'drivers/iommu/dma-iommu.c', line: 2 },
    { from: 'g', to: 'arch_sync_dma_for_device', kind: 'call', file: 'kernel/dma/mapping.c', line: 8 },
  ],
};

async function run(
  argv: string[],
  options: { findings?: Finding[]; runLint?: CliDeps['runLint']; io?: Partial<CliIO> } = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const lintCalls: LintOptions[] = [];
  const deps: CliDeps = {
    runLint:
      options.runLint ??
      (async (opts) => {
        lintCalls.push(opts);
        return lintResult(options.findings ?? []);
      }),
    buildGraph: async () => graphView,
    loadRules,
    runModelCommand: async (files, _format, out) => {
      out(`model ${files.length}`);
      return 0;
    },
  };
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    isTTY: { stdout: false, stderr: false },
    env: {},
    cwd: tree,
    ...options.io,
  };
  const code = await main(argv, io, deps);
  return { code, stdout, stderr, lintCalls };
}

describe('usage', () => {
  // A shell can stay in a folder removed meanwhile; node cannot then say where it is.
  it.each([['lint'], ['diff', '--cached'], ['diff', '--cached', '--resident']])('flushcheck %s from a removed folder says so and exits 2', (...argv) => {
    const gone = mkdtempSync(join(tmpdir(), 'flushcheck-gone-'));
    const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
    const ran = spawnSync('sh', ['-c', 'cd "$1" && rmdir "$1" && shift && exec "$0" "$@"', process.execPath, gone, cli, ...argv], { encoding: 'utf8' });
    expect(ran.stderr).toBe('flushcheck: error: the current folder no longer exists (it was removed or moved); cd into an existing folder, e.g. the kernel tree\n');
    expect(ran.status).toBe(2);
    expect(ran.stdout).toBe('');
  });

  // localeCompare ordered findings by LANG: under en_US `a.c` came before `B.c`, under C after it.
  it('lists findings in the same order under every locale: by code unit, as LC_ALL=C sort', () => {
    const tree = mkdtempSync(join(tmpdir(), 'flushcheck-order-'));
    try {
      const fixture = new URL('../../fixtures/lint/01-export-missing-flush/', import.meta.url).pathname;
      const source = readFileSync(join(fixture, 'drivers/foo/foo_dma.c'), 'utf8');
      mkdirSync(join(tree, 'include/linux'), { recursive: true });
      writeFileSync(join(tree, 'include/linux/dma-map-ops.h'), readFileSync(join(fixture, 'include/linux/dma-map-ops.h')));
      // Names whose order differs between locales and code units: case, '-' against '_', 'i' against 'ı' (Turkish), 'å' (Swedish).
      const names = ['a.c', 'B.c', 'dma-x.c', 'dma_y.c', 'i.c', 'ı.c', 'å.c', 'z.c'];
      mkdirSync(join(tree, 'drivers'));
      names.forEach((name, i) => writeFileSync(join(tree, 'drivers', name), source.replaceAll('foo_map_for_device', `map_${i}`)));
      const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
      const orders = ['C', 'en_US.UTF-8', 'sv_SE.UTF-8', 'tr_TR.UTF-8'].map((locale) => {
        const ran = spawnSync(process.execPath, [cli, 'lint', tree, '--format', 'json', '--fail-on', 'none'], { encoding: 'utf8', env: { ...process.env, LC_ALL: locale, LANG: locale } });
        expect(ran.status).toBe(0);
        return (JSON.parse(ran.stdout) as LintResult).findings.map((f) => f.file);
      });
      const byCodeUnit = names.map((name) => `drivers/${name}`).sort();
      expect(byCodeUnit).toEqual(['drivers/B.c', 'drivers/a.c', 'drivers/dma-x.c', 'drivers/dma_y.c', 'drivers/i.c', 'drivers/z.c', 'drivers/å.c', 'drivers/ı.c']);
      for (const order of orders) expect(order).toEqual(byCodeUnit);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it('--help exits 0 and prints the commands', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('lint');
    expect(stdout).toContain('graph');
    expect(stdout).toContain('model');
  });

  it('lint --help exits 0 and lists the options', async () => {
    const { code, stdout } = await run(['lint', '--help']);
    expect(code).toBe(0);
    for (const option of ['--root', '--arch', '--kconfig', '--rules', '--format', '--fail-on', '--jobs', '--no-color', '--output']) {
      expect(stdout).toContain(option);
    }
  });

  it('an unknown option is a usage error (2) with a one-line hint', async () => {
    const { code, stderr, lintCalls } = await run(['lint', '--frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toBe("flushcheck: error: unknown option '--frobnicate' (see 'flushcheck lint --help')\n");
    expect(lintCalls).toHaveLength(0);
  });

  it('a bad --format is a usage error (2)', async () => {
    const { code, stderr } = await run(['lint', '--format', 'xml']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^flushcheck: error: option '--format <format>' argument 'xml' is invalid\. Allowed choices are text, json, sarif\./);
  });

  it('a bad --jobs is a usage error (2)', async () => {
    expect((await run(['lint', '--jobs', '0'])).code).toBe(2);
  });

  it('no command is a usage error (2)', async () => {
    const { code, stderr } = await run([]);
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: flushcheck');
  });

  it('a path that does not exist, or lies outside --root, is a usage error (2)', async () => {
    const missing = await run(['lint', 'drivers/nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^flushcheck: error: drivers\/nope: no such file or folder in /);

    const outside = await run(['lint', '--root', join(tree, 'drivers'), '../.config']);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/is outside the root .*; pass a --root that contains it\n$/);
  });

  it('a UsageError or RuleError from runLint exits 2 with its message', async () => {
    class UnknownArch extends Error {}
    Object.defineProperty(UnknownArch, 'name', { value: 'UsageError' });
    const usage = await run(['lint', '--arch', 'vax'], {
      runLint: async () => {
        throw new UsageError('unknown --arch vax; use one of arm64, x86');
      },
    });
    expect(usage).toMatchObject({ code: 2, stderr: 'flushcheck: error: unknown --arch vax; use one of arm64, x86\n' });

    // Matched by class name, so the analysis may define its own UsageError class.
    const foreign = await run(['lint'], {
      runLint: async () => {
        throw new UnknownArch('unknown --arch vax');
      },
    });
    expect(foreign.code).toBe(2);

    const rules = await run(['lint'], {
      runLint: async () => {
        throw new RuleError(['a.yaml: id: is required', 'b.yaml: issue: must be a list']);
      },
    });
    expect(rules).toMatchObject({
      code: 2,
      stderr: 'flushcheck: error: a.yaml: id: is required\nflushcheck: error: b.yaml: issue: must be a list\n',
    });
  });

  it('any other error is an internal error (2)', async () => {
    const { code, stderr } = await run(['lint'], {
      runLint: async () => {
        throw new Error('boom');
      },
    });
    expect(code).toBe(2);
    expect(stderr).toBe('flushcheck: error: boom (internal error; rerun with FLUSHCHECK_DEBUG=1 for a stack trace)\n');
  });
});

describe('lint', () => {
  it('exit code follows --fail-on', async () => {
    const warning = [finding('warning')];
    expect((await run(['lint'], { findings: [] })).code).toBe(0);
    expect((await run(['lint'], { findings: warning })).code).toBe(1);
    expect((await run(['lint', '--fail-on', 'error'], { findings: warning })).code).toBe(0);
    expect((await run(['lint', '--fail-on', 'note'], { findings: [finding('note')] })).code).toBe(1);
    expect((await run(['lint', '--fail-on', 'warning'], { findings: [finding('note')] })).code).toBe(0);
    expect((await run(['lint', '--fail-on', 'none'], { findings: [finding('error')] })).code).toBe(0);
  });

  it('--format json prints valid JSON', async () => {
    const { code, stdout } = await run(['lint', '--format', 'json'], { findings: [finding('error')] });
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.tool).toBe('flushcheck');
    expect(report.findings[0].severity).toBe('error');
  });

  it('--format sarif describes the bundled rules', async () => {
    const { stdout } = await run(['lint', '--format', 'sarif'], { findings: [finding('error')] });
    const log = JSON.parse(stdout);
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0].tool.driver.rules.map((rule: { id: string }) => rule.id)).toContain('dma-sync-flush');
    expect(sarifSchemaErrors(stdout)).toEqual([]);
  });

  it('colours text only on a terminal without NO_COLOR or --no-color', async () => {
    const findings = [finding('error')];
    const tty = { isTTY: { stdout: true, stderr: false } };
    expect((await run(['lint'], { findings, io: tty })).stdout).toContain('\x1b[');
    expect((await run(['lint', '--no-color'], { findings, io: tty })).stdout).not.toContain('\x1b[');
    expect((await run(['lint'], { findings, io: { ...tty, env: { NO_COLOR: '1' } } })).stdout).not.toContain('\x1b[');
    expect((await run(['lint'], { findings })).stdout).not.toContain('\x1b[');
  });

  it('passes the options through and omits paths when the root itself is scanned', async () => {
    const { lintCalls, stderr } = await run([
      'lint',
      '--arch', 'arm64',
      '--kconfig', '.config',
      '--jobs', '1',
      '--rules', 'my-rules',
      '--rules', 'more-rules',
    ]);
    expect(stderr).toBe('');
    expect(lintCalls).toHaveLength(1);
    const [opts] = lintCalls;
    expect(opts.root).toBe(tree);
    expect(opts.paths).toBeUndefined();
    expect(opts.kconfigFile).toBe(join(tree, '.config'));
    expect(opts.jobs).toBe(1);
    expect(opts.rulesDirs).toEqual([join(tree, 'my-rules'), join(tree, 'more-rules')]);
    // No progress bar when stderr is not a terminal.
    expect(opts.onProgress).toBeUndefined();
  });

  it('caps --jobs at the core count and passes --max-states and --terse through', async () => {
    const { lintCalls, stdout } = await run(['lint', '--jobs', '99999999999', '--max-states', '7', '--terse'], { findings: [finding('error')] });
    expect(lintCalls[0].jobs).toBe(availableParallelism());
    expect(lintCalls[0].maxStates).toBe(7);
    expect(stdout.split('\n')[0]).toBe('drivers/iommu/dma-iommu.c:10:2: error: arch_sync_dma_for_device() is not flushed before return [dma-sync-flush]');
    expect(stdout).not.toContain('note:');
    expect((await run(['lint', '--max-states', '0'])).code).toBe(2);
  });

  it('never colours for TERM=dumb', async () => {
    const { stdout } = await run(['lint'], { findings: [finding('error')], io: { isTTY: { stdout: true, stderr: false }, env: { TERM: 'dumb' } } });
    expect(stdout).not.toContain('\x1b[');
  });

  it('prints diagnostics once: in the text report, or counted on stderr beside JSON (-v lists them)', async () => {
    const withDiagnostics: CliDeps['runLint'] = async () => ({ ...lintResult([]), stats: { ...lintResult([]).stats, diagnostics: [{ file: 'a.c', reason: 'could not parse' }] } });
    const text = await run(['lint'], { runLint: withDiagnostics });
    expect(text.stderr).toBe('');
    expect(text.stdout).toContain('flushcheck: 1 file or function not fully analysed (-v lists them)\n');
    const verbose = await run(['lint', '-v'], { runLint: withDiagnostics });
    expect(verbose.stderr).toBe('');
    expect(verbose.stdout.match(/a\.c: could not parse/g)).toHaveLength(1);
    const json = await run(['lint', '--format', 'json'], { runLint: withDiagnostics });
    expect(json.stderr).toBe('flushcheck: 1 file or function not fully analysed (-v lists them)\n');
  });

  it('fails on an unwritable -o, or a rules path that is not a rule file, before analysing', async () => {
    const output = await run(['lint', '-o', '/nonexistent/x']);
    expect(output.code).toBe(2);
    expect(output.stderr).toBe('flushcheck: error: cannot write /nonexistent/x: folder /nonexistent does not exist; pass an -o path in a writable folder\n');
    expect(output.lintCalls).toHaveLength(0);
    const folder = await run(['lint', '-o', 'drivers']);
    expect(folder.stderr).toMatch(/cannot write drivers: it is a folder/);
    const rules = await run(['lint', '--rules', '.config']);
    expect(rules.code).toBe(2);
    expect(rules.stderr.split('\n')).toHaveLength(2);
    expect(rules.lintCalls).toHaveLength(0);
    expect(existsSync(join(tree, 'x'))).toBe(false);
  });

  it('exits 2 when nothing could be read', async () => {
    const unreadable: CliDeps['runLint'] = async () => ({ ...lintResult([]), stats: { ...lintResult([]).stats, files: 3, unreadable: 3 } });
    const { code, stderr } = await run(['lint', '--allow-empty'], { runLint: unreadable });
    expect(code).toBe(2);
    expect(stderr).toBe('flushcheck: error: nothing checked: none of the 3 files could be read\n');
  });

  it('-o writes the report to a file', async () => {
    const out = join(tree, 'report.json');
    const { stdout } = await run(['lint', '--format', 'json', '-o', 'report.json']);
    expect(stdout).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8')).tool).toBe('flushcheck');
  });
});

describe('resolveScanTarget', () => {
  it('keeps the current folder as root for paths inside it', () => {
    expect(resolveScanTarget(tree, undefined, ['drivers/iommu'])).toEqual({
      root: tree,
      paths: [join(tree, 'drivers', 'iommu')],
    });
  });

  it('makes a single folder outside the current folder the root', () => {
    const elsewhere = join(tree, 'drivers');
    expect(resolveScanTarget(join(tree, 'drivers', 'iommu'), undefined, [elsewhere])).toEqual({ root: elsewhere });
  });

  it('resolves paths against --root', () => {
    expect(resolveScanTarget('/', tree, ['drivers'])).toEqual({ root: tree, paths: [join(tree, 'drivers')] });
  });

  it('rejects several paths outside the current folder without --root', () => {
    const cwd = join(tree, 'drivers', 'iommu');
    expect(() => resolveScanTarget(cwd, undefined, [tree, join(tree, 'drivers')])).toThrow(/pass --root DIR/);
  });
});

describe('graph and model', () => {
  it('graph prints text or dot, showing only PATH of the analysed tree', async () => {
    const text = await run(['graph', 'drivers']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('f [caller] drivers/iommu/dma-iommu.c:1');
    expect(text.stdout).not.toContain('kernel/dma');
    const dot = await run(['graph', '--format', 'dot']);
    expect(dot.stdout.startsWith('digraph flushcheck {')).toBe(true);
    expect(dot.stdout).toContain('"g" [label=');
  });

  it.skipIf(spawnSync('dot', ['-V']).status !== 0)('graph --format svg renders with Graphviz, one screen wide', async () => {
    const svg = await run(['graph', '--format', 'svg', '--cluster', 'folder']);
    expect(svg.code).toBe(0);
    expect(svg.stdout).toMatch(/^<\?xml/);
    const [, width, height] = /<svg width="(\d+)pt" height="(\d+)pt"/.exec(svg.stdout)!;
    expect(Number(width)).toBeLessThan(1400);
    expect(Number(height)).toBeLessThan(800);
    expect(svg.stdout).toContain('<title>cluster_legend</title>');
  });

  it('graph --format svg without Graphviz says how to get it', async () => {
    // PATH is the process's: run it with a PATH that has no dot.
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const noDot = await run(['graph', '--format', 'svg']);
      expect(noDot.code).toBe(2);
      expect(noDot.stderr).toBe("flushcheck: error: --format svg needs Graphviz's dot on PATH (Debian: apt-get install graphviz); or use --format dot and render it elsewhere\n");
    } finally {
      process.env.PATH = saved;
    }
  });

  it('model passes files and returns the command exit code', async () => {
    const { code, stdout } = await run(['model', 'a.json', 'b.json']);
    expect(code).toBe(0);
    expect(stdout).toBe('model 2\n');
  });
});
