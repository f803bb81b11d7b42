// Trees and rule files that once gave a silent wrong answer, a hang or an
// "internal error" (issue 13): each must now give the right answer or one
// clear line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { runLint } from '../../src/lint.js';
import { isMostlyData, ParseBudget } from '../../src/parse/budget.js';
import { sourceText } from '../../src/parse/source-text.js';
import type { LintResult } from '../../src/types.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-hostile-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const HEADER = [
  'enum dma_data_direction { DMA_TO_DEVICE = 1, DMA_FROM_DEVICE = 2 };',
  'void arch_sync_dma_for_device(unsigned long p, unsigned long s, enum dma_data_direction d);',
  'static inline void arch_sync_dma_flush(void) { }',
  '',
].join('\n');

/** An exported function that issues a clean and never completes it: one error at its sync. */
function unflushed(name: string): string {
  return `#include <linux/dma-map-ops.h>\nvoid ${name}(unsigned long p)\n{\n\tarch_sync_dma_for_device(p, 4, DMA_TO_DEVICE);\n}\nEXPORT_SYMBOL(${name});\n`;
}

let trees = 0;
function tree(files: Record<string, string | Buffer>, rawNames: [Buffer, string | Buffer][] = []): string {
  const root = path.join(scratch, `t${trees++}`);
  for (const [rel, content] of Object.entries({ 'include/linux/dma-map-ops.h': HEADER, ...files })) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  // Names as bytes: folders and files that are not valid UTF-8.
  for (const [name, content] of rawNames) {
    const file = Buffer.concat([Buffer.from(`${root}/`), name]);
    fs.mkdirSync(file.subarray(0, file.lastIndexOf('/')), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return root;
}

function found(result: LintResult): string[] {
  return result.findings.map((f) => `${f.severity} ${f.function} ${f.file}:${f.line}`);
}

async function cli(cwd: string, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: { stdout: false, stderr: false }, env: {}, cwd });
  return { code, stdout, stderr };
}

describe('line ends and bytes', () => {
  it('a file with CR-only line ends is read line by line (a // comment does not swallow it)', async () => {
    const root = tree({ 'drivers/mac/mac.c': `// old line ends\r${unflushed('mac_sync').replace(/\n/g, '\r')}` });
    expect(found(await runLint({ root, jobs: 0 }))).toEqual(['error mac_sync drivers/mac/mac.c:5']);
  });

  it('keeps lines and columns: a lone CR becomes a newline, CRLF stays, NUL becomes a space', () => {
    expect(sourceText('a\rb\r\nc\0d')).toBe('a\nb\r\nc d');
    expect(sourceText('plain\n')).toBe('plain\n');
  });

  it('a file with a NUL byte that names a sync is analysed, not skipped', async () => {
    const root = tree({ 'drivers/nul/nul.c': `/* \0 */\n${unflushed('nul_sync')}` });
    expect(found(await runLint({ root, jobs: 0 }))).toEqual(['error nul_sync drivers/nul/nul.c:5']);
  });

  it('a file or folder whose name is not valid UTF-8 keeps its finding, under an escaped name', async () => {
    const root = tree({}, [
      [Buffer.from('drivers/odd\xff.c', 'latin1'), unflushed('odd_sync')],
      [Buffer.from('drivers/d\xe9j\xe0/x.c', 'latin1'), unflushed('dir_sync')],
    ]);
    const result = await runLint({ root, jobs: 0 });
    expect(found(result).sort()).toEqual(['error dir_sync drivers/d\\xe9j\\xe0/x.c:4', 'error odd_sync drivers/odd\\xff.c:4']);
    expect(result.stats.diagnostics).toEqual([]);
    // The text report quotes such names: they hold backslashes.
    const text = await cli(root, 'lint', '--terse');
    expect(text.stdout).toContain('"drivers/odd\\\\xff.c":4:2: error:');
  });

  it('escapes terminal control characters from the source in the text report', async () => {
    const root = tree({ 'drivers/esc/esc.c': `#include <linux/dma-map-ops.h>\nvoid esc_sync(unsigned long p, char c)\n{\n\tarch_sync_dma_for_device(p, 4, DMA_TO_DEVICE);\n\tif (c == '\x1b[2K')\n\t\treturn;\n}\nEXPORT_SYMBOL(esc_sync);\n` });
    const { stdout } = await cli(root, 'lint');
    expect(stdout).toContain("note: true: if (c == '\\x1b[2K')");
    expect(stdout).not.toContain('\x1b');
  });
});

describe('bounds', () => {
  it('files over the parse limits are not parsed, and the run says so', async () => {
    const big = `${unflushed('big_sync')}/* ${'x'.repeat(1100 * 1024)} */\n`;
    const table = `${unflushed('table_sync')}static const int t[] = {\n${'\t0x12345678, 0x9abcdef0, 0x0fedcba9, 0x87654321,\n'.repeat(7000)}};\n`;
    const root = tree({ 'drivers/big/big.c': big, 'drivers/big/table.c': table, 'drivers/ok/ok.c': unflushed('ok_sync') });
    const started = performance.now();
    const result = await runLint({ root, jobs: 0 });
    expect(found(result)).toEqual(['error ok_sync drivers/ok/ok.c:4']);
    expect(result.stats.notParsed).toBe(2);
    expect(result.stats.diagnostics.map((d) => `${d.file}: ${d.reason.replace(/^\d+ bytes/, 'N bytes')}`)).toEqual([
      'drivers/big/big.c: N bytes, over the 1048576-byte parse limit; not analysed',
      'drivers/big/table.c: N bytes of mostly data (numbers and commas), over the 262144-byte limit for such files; not analysed',
    ]);
    // A guard, not a timing assertion: parsing both took tens of seconds before.
    expect(performance.now() - started).toBeLessThan(20_000);
    const { stdout } = await cli(root, 'lint');
    expect(stdout).toMatch(/\(2 parsed, 2 too large to parse, /);
  });

  it('the run budget refuses files once the bytes parsed reach it', () => {
    const budget = new ParseBudget(100, 150, 1000);
    expect(budget.admit(Buffer.alloc(90, 'a'))).toBeNull();
    expect(budget.admit(Buffer.alloc(101, 'a'))).toMatch(/over the 100-byte parse limit/);
    expect(budget.admit(Buffer.alloc(90, 'a'))).toMatch(/over its 150-byte parse budget/);
    expect(budget.admit(Buffer.alloc(60, 'a'))).toBeNull();
    expect(budget.refused).toBe(2);
  });

  it('tells tables of numbers from code', () => {
    expect(isMostlyData(Buffer.from('\t0x12345678, 0x9abcdef0, 42, 7,\n'.repeat(2000)))).toBe(true);
    expect(isMostlyData(Buffer.from('static int f(int a, int b)\n{\n\tif (a > b)\n\t\treturn a - b;\n\treturn 0;\n}\n'.repeat(2000)))).toBe(false);
  });
});

describe('nothing read, nothing checked', () => {
  it('exits 2 when the tree holds no .c or .h file', async () => {
    const root = path.join(scratch, 'empty');
    fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
    fs.writeFileSync(path.join(root, 'docs', 'README'), 'no code here\n');
    const { code, stderr } = await cli(root, 'lint');
    expect(code).toBe(2);
    expect(stderr).toBe('flushcheck: error: nothing checked: no .c or .h file of the build found\n');
  });
});

describe('rule files', () => {
  const rule = (errorLabels: string) =>
    [
      'id: slow-labels',
      'description: a rule with a user error-label pattern',
      'applies: { arch: [arm64], definedFunction: arch_sync_dma_flush }',
      'issue: [{ name: arch_sync_dma_for_device, effect: { default: clean } }]',
      'complete: [{ name: arch_sync_dma_flush }]',
      'cpuAccess: []',
      'handoff: { addressTaken: true, exported: true, noCaller: true }',
      'contracts: []',
      `errorLabels: '${errorLabels}'`,
      '',
    ].join('\n');

  it('a pattern with nested repetition is refused when the rule loads, naming the file', async () => {
    const root = tree({ 'drivers/ok/ok.c': unflushed('ok_sync'), 'my-rules/slow.yaml': rule('^(a+)+$') });
    const { code, stderr } = await cli(root, 'lint', '--rules', 'my-rules');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^flushcheck: error: \S*my-rules\/slow\.yaml: errorLabels: the pattern can take exponential time \(nested repetition such as \(a\+\)\+\); simplify it\n$/);
  });

  it('a pattern that backtracks on a label is stopped by the match budget and named', async () => {
    const label = `${'a'.repeat(40)}b`;
    const c = `#include <linux/dma-map-ops.h>\nvoid lab_sync(unsigned long p, int x)\n{\n\tarch_sync_dma_for_device(p, 4, DMA_TO_DEVICE);\n\tif (x)\n\t\tgoto ${label};\n\tarch_sync_dma_flush();\n${label}:\n\treturn;\n}\nEXPORT_SYMBOL(lab_sync);\n`;
    const root = tree({ 'drivers/lab/lab.c': c, 'my-rules/slow.yaml': rule('^(a|a)*$') });
    const started = performance.now();
    const { code, stderr } = await cli(root, 'lint', '--rules', 'my-rules');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^flushcheck: error: \S*my-rules\/slow\.yaml: errorLabels: matching the label 'a+b' took over 2000 ms \(catastrophic backtracking\); simplify the pattern/);
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('a billion-laughs rule file is one line naming the file', async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 8; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const root = tree({ 'drivers/ok/ok.c': unflushed('ok_sync'), 'my-rules/laughs.yaml': levels.join('\n') + '\n' });
    const { code, stderr } = await cli(root, 'lint', '--rules', 'my-rules/laughs.yaml');
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/laughs\.yaml: cannot expand the YAML \(Excessive alias count.*\); write the rule without anchors and aliases\n$/);
  });

  it('a file that is not a rule file, or not YAML, is one line', async () => {
    const root = tree({ 'drivers/ok/ok.c': unflushed('ok_sync'), 'Makefile': 'obj-y += ok.o\n', 'notes.yaml': fs.readFileSync(new URL(import.meta.url)).toString().slice(0, 4000) });
    const makefile = await cli(root, 'lint', '--rules', 'Makefile');
    expect(makefile.code).toBe(2);
    expect(makefile.stderr).toMatch(/^flushcheck: error: \S*Makefile: not a rule file \(rule files end in \.yaml, \.yml or \.json\); pass --rules a folder of rule files or one such file\n$/);
    const notYaml = await cli(root, 'lint', '--rules', 'notes.yaml');
    expect(notYaml.code).toBe(2);
    expect(notYaml.stderr.trim().split('\n')).toHaveLength(1);
    expect(notYaml.stderr).toMatch(/notes\.yaml:\d+:\d+: YAML syntax error: .* \(and \d+ more; is it a YAML rule file\?\)\n$/);
  });
});
