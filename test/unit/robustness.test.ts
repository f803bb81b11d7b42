// One odd file must not stop a run over a whole kernel tree. Each test builds a
// temporary tree holding bad inputs next to one good kernel-style file with a
// known bug, runs the linter, and checks that the bug is still reported and
// that every bad file that could not be (fully) analysed is named, with a
// reason, in the diagnostics (JSON `stats.diagnostics`, `-v` in the text report).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/run.js';
import { runLint, type LintOptions } from '../../src/lint.js';
import { AnalysisCache } from '../../src/cache/store.js';
import { formatJson } from '../../src/report/json.js';
import type { LintResult } from '../../src/types.js';

const SYNC = 'arch_sync_dma_for_device';
const HEADER = `#ifndef _LINUX_DMA_MAP_OPS_H
#define _LINUX_DMA_MAP_OPS_H
void arch_sync_dma_for_device(phys_addr_t paddr, size_t size, enum dma_data_direction dir);
static inline void arch_sync_dma_flush(void) {}
#endif
`;
/** The known bug: a clean issued and never completed before an exported function returns. */
const GOOD = `#include <linux/export.h>
#include <linux/dma-map-ops.h>

int good_map(phys_addr_t p, size_t n)
{
\t${SYNC}(p, n, DMA_TO_DEVICE);
\treturn 0;
}
EXPORT_SYMBOL(good_map);
`;
const NEST = 50_000;

const tempDirs: string[] = [];
function makeTree(files: Record<string, string | Buffer>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-robust-'));
  tempDirs.push(root);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

afterAll(() => {
  for (const dir of tempDirs) {
    // Undo chmod 000 so the tree can be removed.
    for (const rel of ['drivers/bad/locked.c', 'drivers/locked']) {
      try {
        fs.chmodSync(path.join(dir, rel), 0o755);
      } catch {
        // not in this tree
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

function reasonsFor(result: LintResult, file: string): string[] {
  return result.stats.diagnostics.filter((d) => d.file === file).map((d) => d.reason);
}

function keys(result: LintResult): string[] {
  return result.findings.map((f) => `${f.kind} ${f.severity} ${f.function} ${f.file}:${f.line}`);
}

const GOOD_FINDING = 'unflushed-return error good_map drivers/good/good.c:6';

describe('bad inputs do not stop a run', () => {
  let root: string;
  /** Paths chmod 000 could not lock (running as root): reads of them fail through a spy instead. */
  const denied = new Set<string>();

  beforeAll(() => {
    const binary = Buffer.alloc(4096);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 7919) % 256; // has NUL bytes
    // 20 MB of generated code that names the sync call, so the prefilter keeps it and the parse-size limit applies.
    const generated = Buffer.alloc(20 * 1024 * 1024, `static const int table[] = { 1, 2, 3, 4, 5, 6, 7, 8 }; /* for ${SYNC}() */\n`);
    root = makeTree({
      'include/linux/dma-map-ops.h': HEADER,
      'drivers/good/good.c': GOOD,
      // Latin-1 bytes in a comment and a string: analysed like any file, its own bug found.
      'drivers/bad/latin1.c': Buffer.concat([
        Buffer.from('/* (c) Fran'),
        Buffer.from([0xe7, 0x6f, 0x69, 0x73, 0xff, 0xfe]),
        Buffer.from(` */\nstatic const char who[] = "Ren\xe9";\nint latin1_map(phys_addr_t p, size_t n)\n{\n\t${SYNC}(p, n, DMA_TO_DEVICE);\n\treturn 0;\n}\nEXPORT_SYMBOL(latin1_map);\n`, 'latin1'),
      ]),
      'drivers/bad/binary.c': Buffer.concat([Buffer.from(`${SYNC}(`), binary]),
      'drivers/bad/generated.c': generated,
      'drivers/bad/braces.c': `void braces(phys_addr_t p)\n${'{'.repeat(NEST)}\n\t${SYNC}(p, 4, DMA_TO_DEVICE);\n${'}'.repeat(NEST)}\nEXPORT_SYMBOL(braces);\n`,
      'drivers/bad/braces-open.c': `void braces_open(phys_addr_t p)\n${'{'.repeat(NEST)}\n\t${SYNC}(p, 4, DMA_TO_DEVICE);\n`,
      // Used to overflow the stack converting the condition (and fail the whole run).
      'drivers/bad/parens.c': `void parens(phys_addr_t p, int flag)\n{\n\tif (${'('.repeat(NEST)}flag${')'.repeat(NEST)})\n\t\t${SYNC}(p, 4, DMA_TO_DEVICE);\n}\nEXPORT_SYMBOL(parens);\n`,
      'drivers/bad/parens-open.c': `void parens_open(phys_addr_t p)\n{\n\t${SYNC}(p, 4, ${'('.repeat(NEST)}\n`,
      'drivers/bad/comment.c': `void comment(phys_addr_t p)\n{\n\t${SYNC}(p, 4, DMA_TO_DEVICE);\n}\n/* this comment never ends\nvoid hidden(void) {}\n`,
      'drivers/bad/ifdef.c': `#ifdef CONFIG_FOO\nvoid ifdef_open(phys_addr_t p)\n{\n\t${SYNC}(p, 4, DMA_TO_DEVICE);\n}\n`,
      'drivers/bad/empty.c': '',
      'drivers/bad/locked.c': `void locked(phys_addr_t p) { ${SYNC}(p, 4, DMA_TO_DEVICE); }\n`,
      'drivers/bad/vanish.c': `void vanish(phys_addr_t p) { ${SYNC}(p, 4, DMA_TO_DEVICE); }\n`,
      'drivers/locked/inner.c': `void inner(phys_addr_t p) { ${SYNC}(p, 4, DMA_TO_DEVICE); }\n`,
    });
    fs.symlinkSync('self.c', path.join(root, 'drivers/bad/self.c')); // a symlink loop
    fs.symlinkSync('..', path.join(root, 'drivers/bad/up')); // a folder loop (never followed)
    for (const rel of ['drivers/bad/locked.c', 'drivers/locked']) {
      const abs = path.join(root, rel);
      fs.chmodSync(abs, 0o000);
      try {
        fs.accessSync(abs, fs.constants.R_OK);
        denied.add(`/${rel}`); // root reads anyway
      } catch {
        // really unreadable
      }
    }
  });

  /** Fails reads of `denied` paths like EACCES would; deletes vanish.c just before it is read. */
  function simulateFileSystem(): void {
    const realOpen = fs.openSync.bind(fs) as (...args: unknown[]) => number;
    const realReaddir = fs.readdirSync.bind(fs) as (...args: unknown[]) => unknown;
    const eacces = (syscall: string, p: string) =>
      Object.assign(new Error(`EACCES: permission denied, ${syscall} '${p}'`), { code: 'EACCES', syscall, path: p });
    const isDenied = (p: unknown) => [...denied].some((rel) => String(p).endsWith(rel));
    vi.spyOn(fs, 'openSync').mockImplementation(((p: fs.PathLike, ...rest: unknown[]) => {
      if (isDenied(p)) throw eacces('open', String(p));
      if (String(p).endsWith('/drivers/bad/vanish.c') && fs.existsSync(p)) fs.unlinkSync(p);
      return realOpen(p, ...rest);
    }) as typeof fs.openSync);
    vi.spyOn(fs, 'readdirSync').mockImplementation(((p: fs.PathLike, ...rest: unknown[]) => {
      if (isDenied(p)) throw eacces('scandir', String(p));
      return realReaddir(p, ...rest);
    }) as typeof fs.readdirSync);
  }

  it('reports the good file and names each bad one', async () => {
    simulateFileSystem();
    const result = await runLint({ root, jobs: 2 });
    const findings = keys(result);
    expect(findings).toContain(GOOD_FINDING);
    expect(findings).toContain('unflushed-return error latin1_map drivers/bad/latin1.c:5');

    const expected: Record<string, RegExp> = {
      // NUL bytes no longer skip a file that names a sync: it is parsed, and says what went wrong.
      'drivers/bad/binary.c': /could not parse/,
      'drivers/bad/generated.c': /over the 1048576-byte parse limit/,
      'drivers/bad/braces-open.c': /could not parse/,
      'drivers/bad/parens-open.c': /could not parse/,
      'drivers/bad/comment.c': /comment opened at line 5 is never closed/,
      'drivers/bad/ifdef.c': /#ifdef at line 1 has no #endif/,
      'drivers/bad/self.c': /ELOOP/,
      'drivers/bad/locked.c': /unreadable: EACCES/,
      'drivers/locked': /unreadable folder: EACCES/,
      'drivers/bad/vanish.c': /unreadable: ENOENT/,
    };
    for (const [file, reason] of Object.entries(expected)) {
      expect(reasonsFor(result, file), file).toEqual([expect.stringMatching(reason)]);
    }
    // A function the lowering had to cut short is a visible gap: a not-judged note, not a stderr line.
    const notJudged = (file: string) => result.findings.filter((f) => f.kind === 'not-judged' && f.file === file).map((f) => f.message);
    expect(notJudged('drivers/bad/braces.c')).toEqual([expect.stringMatching(/^braces\(\) is not judged: statements nested more than 400 deep/)]);
    expect(notJudged('drivers/bad/parens.c')).toEqual([expect.stringMatching(/^parens\(\) is not judged: an expression nested more than 400 deep/)]);
    expect(reasonsFor(result, 'drivers/bad/braces.c')).toEqual([]);
    // Files that were analysed in full are not diagnosed.
    for (const file of ['drivers/good/good.c', 'drivers/bad/latin1.c', 'drivers/bad/empty.c']) expect(reasonsFor(result, file), file).toEqual([]);
    // Each diagnostic is one line.
    for (const d of result.stats.diagnostics) expect(d.reason, d.file).not.toContain('\n');
    // The folder loop was not followed: no file seen twice under drivers/bad/up/.
    expect(result.stats.diagnostics.some((d) => d.file.includes('/up/'))).toBe(false);
    expect(() => JSON.parse(formatJson(result))).not.toThrow();
  }, 60_000);

  it('lists the diagnostics through the CLI: JSON stats and `-v` text', async () => {
    simulateFileSystem();
    const run = async (argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await main(argv, {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
        isTTY: { stdout: false, stderr: false },
        env: {},
        cwd: root,
      });
      return { code, stdout, stderr };
    };
    const json = await run(['lint', '--format', 'json', '--jobs', '1']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { findings: { kind: string; file: string }[]; stats: { diagnostics: { file: string; reason: string }[] } };
    expect(report.stats.diagnostics.map((d) => d.file)).toEqual(expect.arrayContaining(['drivers/bad/binary.c', 'drivers/bad/parens-open.c', 'drivers/locked']));
    expect(report.findings.filter((f) => f.kind === 'not-judged').map((f) => f.file)).toEqual(expect.arrayContaining(['drivers/bad/parens.c']));

    const text = await run(['lint', '-v', '--jobs', '1']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('drivers/good/good.c:6:2: error:');
    expect(text.stdout).toMatch(/^flushcheck: drivers\/bad\/generated\.c: \d+ bytes, over the 1048576-byte parse limit; not analysed$/m);
    expect(text.stdout).toMatch(/^flushcheck: drivers\/bad\/self\.c: broken symlink: ELOOP: too many symbolic links/m);
  }, 60_000);
});

describe('per-file time budget', () => {
  it('stops a file that parses too slowly and checks the rest', async () => {
    // About 1 MB of chained casts (under the parse size limit): tree-sitter needs seconds for it.
    const slow = `void slow(phys_addr_t p)\n{\n\t${SYNC}(p, 4, DMA_TO_DEVICE);\n\tp = ${'(T)'.repeat(340_000)}p;\n}\n`;
    const root = makeTree({ 'include/linux/dma-map-ops.h': HEADER, 'drivers/good/good.c': GOOD, 'drivers/bad/slow.c': slow });
    const started = performance.now();
    const result = await runLint({ root, jobs: 0, fileTimeoutMs: 300 });
    expect(keys(result)).toContain(GOOD_FINDING);
    expect(reasonsFor(result, 'drivers/bad/slow.c')).toEqual([expect.stringMatching(/^over the 300 ms per-file time budget \(parsing took longer than \d+ ms\); not analysed$/)]);
    // Not a timing assertion; a guard that the budget, not the parse, ended it.
    expect(performance.now() - started).toBeLessThan(15_000);
  }, 30_000);
});

describe('analysis time budgets', () => {
  // The budgets are read when the analysis modules load: fresh copies are imported under the stubbed environment.
  async function lintWith(env: Record<string, string>, root: string): Promise<LintResult> {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    vi.resetModules();
    try {
      const fresh = await import('../../src/lint.js');
      return await fresh.runLint({ root, jobs: 0 });
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  }

  it('reports a function whose analysis runs out of time as not judged and checks the rest', async () => {
    // A generated function with 300 syncs on distinct conditions: seconds of analysis, unbounded it grew to minutes.
    const body = Array.from({ length: 300 }, (_, i) => `\tif (a${i}) ${SYNC}(p, 4, DMA_TO_DEVICE); else if (b${i}) arch_sync_dma_flush();\n`).join('');
    const root = makeTree({
      'include/linux/dma-map-ops.h': HEADER,
      'drivers/good/good.c': GOOD,
      'drivers/bad/branchy.c': `#include <linux/dma-map-ops.h>\nvoid branchy(phys_addr_t p)\n{\n${body}}\nEXPORT_SYMBOL(branchy);\n`,
    });
    const result = await lintWith({ FLUSHCHECK_FUNCTION_BUDGET_MS: '50' }, root);
    // The gap is a result (a not-judged note in every format), never only a stderr line.
    expect(keys(result)).toEqual(['not-judged note branchy drivers/bad/branchy.c:2', GOOD_FINDING]);
    const gap = result.findings.find((f) => f.kind === 'not-judged')!;
    expect(gap.message).toMatch(/^branchy\(\) is not judged: (not analysed \(analysis took longer than 50 ms\)|the exploration stopped at its safety limit)/);
    expect(result.stats.syncSitesNotJudged).toBeGreaterThan(0);
    expect(reasonsFor(result, 'drivers/bad/branchy.c')).toEqual([]);
  }, 30_000);

  it('keeps a finding the cache model had no time left to replay, with verdict unknown', async () => {
    const root = makeTree({ 'include/linux/dma-map-ops.h': HEADER, 'drivers/good/good.c': GOOD });
    const result = await lintWith({ FLUSHCHECK_REPLAY_BUDGET_MS: '-1' }, root);
    expect(keys(result)).toEqual([GOOD_FINDING]);
    expect(result.findings[0].model).toMatchObject({ verdict: 'unknown', reason: expect.stringMatching(/not replayed: the cache-model time budget/) });
  });
});

describe('configuration errors exit 2 and say what to do', () => {
  let root: string;

  beforeAll(() => {
    root = makeTree({
      'include/linux/dma-map-ops.h': HEADER,
      'drivers/good/good.c': GOOD,
      'not-a-config': 'hello world\n',
      'bad-rules/bad.yaml': 'id: broken\n  issue: [\n',
    });
    fs.mkdirSync(path.join(root, 'config-folder'));
    fs.mkdirSync(path.join(root, 'dangling-rules'));
    fs.symlinkSync('nowhere.yaml', path.join(root, 'dangling-rules/rule.yaml'));
  });

  async function run(argv: string[]) {
    let stderr = '';
    let stdout = '';
    const code = await main(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      isTTY: { stdout: false, stderr: false },
      env: {},
      cwd: root,
    });
    return { code, stderr, stdout };
  }

  it('unknown --arch lists the known ones', async () => {
    const { code, stderr } = await run(['lint', '--arch', 'vax']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^flushcheck: error: unknown --arch 'vax'; use one of: alpha, .*arm64, .*x86, xtensa\n$/);
  });

  it('a missing, unreadable or invalid --kconfig says what to pass instead', async () => {
    const missing = await run(['lint', '--kconfig', 'nope.config']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^flushcheck: error: --kconfig nope\.config: no such file; pass the path of an existing file .*, or leave --kconfig out\n$/);

    for (const file of ['config-folder', 'not-a-config']) {
      const bad = await run(['lint', '--kconfig', file]);
      expect(bad.code, file).toBe(2);
      expect(bad.stderr, file).toContain(file);
      expect(bad.stderr, file).toMatch(/; pass the \.config of a configured kernel build \(make defconfig writes one\), or leave --kconfig out .*\n$/);
      expect(bad.stderr, file).not.toMatch(/internal error/);
    }
  });

  it('a bad rule file names the file and the place, not an internal error', async () => {
    const yaml = await run(['lint', '--rules', 'bad-rules']);
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toMatch(/^flushcheck: error: .*bad-rules\/bad\.yaml:\d+:\d+: YAML syntax error: /);
    expect(yaml.stderr).not.toMatch(/internal error/);

    const missing = await run(['lint', '--rules', 'no-such-rules']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such-rules: rules folder not found; pass --rules a folder \(or file\) of rule \.yaml files\n$/);

    const dangling = await run(['lint', '--rules', 'dangling-rules']);
    expect(dangling.code).toBe(2);
    expect(dangling.stderr).toMatch(/dangling-rules\/rule\.yaml: cannot read rule file \(ENOENT: .*\); fix or remove it\n$/);
    expect(dangling.stderr).not.toMatch(/internal error/);
  });
});

describe('files lowered while the scan runs', () => {
  it('give the report a scan on the calling thread gives', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-early-'));
    try {
      fs.cpSync(fileURLToPath(new URL('../../fixtures/lint/47-deferral-chain-path/', import.meta.url)), root, { recursive: true });
      fs.rmSync(path.join(root, 'expect.json'));
      // Enough files for the scan to use worker threads (prefilter.ts INLINE_MAX_FILES).
      fs.mkdirSync(path.join(root, 'drivers', 'filler'), { recursive: true });
      for (let i = 0; i < 150; i++) fs.writeFileSync(path.join(root, 'drivers', 'filler', `f${i}.c`), `int filler_${i}(void) { return ${i}; }\n`);
      const report = (result: LintResult) => ({ ...JSON.parse(formatJson(result)), stats: { ...JSON.parse(formatJson(result)).stats, ms: 0 } });
      const inline = await runLint({ root, arch: 'arm64', jobs: 0 });
      /** The run's report and its trace line about parsing. */
      const tracedRun = async (opts: Partial<LintOptions>): Promise<{ result: LintResult; parsedLine: string | undefined }> => {
        const traced: string[] = [];
        const trace = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void traced.push(String(line)));
        process.env.FLUSHCHECK_TRACE = '1';
        try {
          const result = await runLint({ root, arch: 'arm64', jobs: 2, ...opts });
          return { result, parsedLine: traced.find((line) => /\] parsed \d+ files/.test(line)) };
        } finally {
          delete process.env.FLUSHCHECK_TRACE;
          trace.mockRestore();
        }
      };
      const loweredEarly = /parsed 2 files \(2 lowered as the scan found them\)$/;
      const threaded = await tracedRun({});
      expect(threaded.parsedLine).toMatch(loweredEarly);
      expect(report(threaded.result)).toEqual(report(inline));
      expect(inline.findings.length).toBeGreaterThan(0);

      // With a cache (diff, review): lowered early when the cache lacks the file, restored when it has it.
      const cache = new AnalysisCache(null);
      const cold = await tracedRun({ cache });
      expect(cold.parsedLine).toMatch(loweredEarly);
      expect(report(cold.result)).toEqual(report(inline));
      const warm = await tracedRun({ cache });
      expect(warm.parsedLine).toMatch(/parsed 2 files$/);
      expect(report(warm.result)).toEqual(report(inline));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
