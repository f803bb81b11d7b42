// Specification tests: every folder under fixtures/lint is a small kernel-style
// C tree plus expect.json (the exact findings the analysis must report).
// fixtures/lint/README.md describes the format. One it() per folder, so a
// failure names the case. The "fixture sanity" block checks the fixtures
// themselves (it does not run the analysis).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { LintOptions } from '../../src/lint.js';
import type { Finding, FindingKind, LintResult, Severity } from '../../src/types.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/lint/', import.meta.url));
const DEMO = fileURLToPath(new URL('../../demo/', import.meta.url));
const RULE = 'dma-sync-flush';

// Loaded lazily so that a broken or unfinished analysis fails each case on its
// own (with its error) instead of failing the whole file at import time.
async function runLint(opts: LintOptions): Promise<LintResult> {
  const mod = await import('../../src/lint.js');
  return mod.runLint(opts);
}

interface ExpectedFinding {
  /** Rule that reports it (default dma-sync-flush). */
  ruleId?: string;
  kind: FindingKind;
  severity: Severity;
  function: string;
  file: string;
  line: number;
  /** Name(s) the finding's message must mention (any one of them). */
  callee?: string | string[];
}

interface Expectation {
  description: string;
  options?: { arch?: string; kconfig?: string };
  findings: ExpectedFinding[];
  /**
   * Rule ids that must be reported inactive, each exactly once. dma-sync-flush
   * must be active unless listed. Other bundled rules that do not apply to the
   * tree (e.g. dma-iova-link-sync without dma_iova_sync) may be inactive too.
   */
  inactiveRules?: string[];
}

interface Key {
  ruleId: string;
  kind: string;
  severity: string;
  function: string;
  file: string;
  line: number;
}

const KINDS: FindingKind[] = ['unflushed-return', 'unflushed-access', 'broken-contract', 'batchable', 'redundant-flush', 'model-coherent', 'not-judged'];
const SEVERITIES: Severity[] = ['error', 'warning', 'note'];

function caseDirs(): string[] {
  return readdirSync(FIXTURES)
    .filter((d) => statSync(join(FIXTURES, d)).isDirectory())
    .sort();
}

function loadExpectation(dir: string): Expectation {
  return JSON.parse(readFileSync(join(FIXTURES, dir, 'expect.json'), 'utf8')) as Expectation;
}

function keyOf(f: Omit<Key, 'ruleId'> & { ruleId?: string }): Key {
  return {
    ruleId: f.ruleId ?? RULE,
    kind: f.kind,
    severity: f.severity,
    function: f.function,
    file: f.file,
    line: f.line,
  };
}

function keyString(k: Key): string {
  return `${k.file}:${String(k.line).padStart(6, '0')}|${k.function}|${k.kind}|${k.severity}|${k.ruleId}`;
}

function sortKeys(keys: Key[]): Key[] {
  return [...keys].sort((a, b) => keyString(a).localeCompare(keyString(b)));
}

/** Names a message may mention when the expectation does not say. */
function defaultCallees(kind: string): string[] {
  if (kind === 'batchable' || kind === 'redundant-flush') return ['arch_sync_dma_flush'];
  return ['arch_sync_dma_for_device', 'arch_sync_dma_for_cpu', 'dma_iova_link'];
}

function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.[ch]$/.test(e)) out.push(p);
    }
  };
  walk(root);
  return out;
}

function checkFindingShape(f: Finding, callees: string[]): void {
  const where = `${f.file}:${f.line} ${f.function} ${f.kind}`;
  expect(typeof f.ruleId, `${where}: ruleId`).toBe('string');
  expect(f.ruleId.length, `${where}: ruleId`).toBeGreaterThan(0);
  expect(Array.isArray(f.path) && f.path.length > 0, `${where}: path must be non-empty`).toBe(true);
  for (const step of f.path) {
    expect(typeof step.file === 'string' && step.file.length > 0, `${where}: path step file`).toBe(true);
    expect(Number.isInteger(step.line) && step.line > 0, `${where}: path step line`).toBe(true);
    expect(typeof step.event === 'string' && step.event.length > 0, `${where}: path step event`).toBe(true);
  }
  // The path passes where the finding is reported (the place to fix may be a caller's call or a callee's sync).
  expect(f.path.some((step) => step.file === f.file && step.line === f.line), `${where}: a path step at the finding`).toBe(true);
  expect(typeof f.message === 'string' && f.message.length > 0, `${where}: message`).toBe(true);
  expect(
    callees.some((c) => f.message.includes(c)),
    `${where}: message ${JSON.stringify(f.message)} should mention ${callees.join(' or ')}`,
  ).toBe(true);
}

async function lintFixture(dir: string, exp: Expectation): Promise<LintResult> {
  const root = join(FIXTURES, dir);
  return runLint({
    root,
    arch: exp.options?.arch ?? 'arm64',
    kconfigFile: exp.options?.kconfig ? join(root, exp.options.kconfig) : undefined,
  });
}

describe('lint fixtures', () => {
  const dirs = caseDirs();

  it('has fixtures', () => {
    expect(dirs.length).toBeGreaterThan(0);
  });

  for (const dir of dirs) {
    let exp: Expectation;
    try {
      exp = loadExpectation(dir);
    } catch (err) {
      it(dir, () => {
        throw err;
      });
      continue;
    }
    it(`${dir}: ${exp.description}`, async () => {
      const result = await lintFixture(dir, exp);

      // The exact set of findings (order-independent).
      const actual = sortKeys(result.findings.map(keyOf));
      const expected = sortKeys(exp.findings.map(keyOf));
      expect(actual).toEqual(expected);

      // Inactive rules: each listed one reported exactly once; the rule under
      // test is active unless listed.
      const inactive = result.inactiveRules.map((r) => r.ruleId);
      for (const id of exp.inactiveRules ?? []) {
        expect(inactive.filter((x) => x === id), `inactive rule ${id} reported once`).toEqual([id]);
      }
      if (!exp.inactiveRules?.includes(RULE)) expect(inactive, `${RULE} must be active`).not.toContain(RULE);

      // Every finding carries a usable path and a message naming the sync.
      for (const f of result.findings) {
        const e = exp.findings.find((x) => keyString(keyOf(x)) === keyString(keyOf(f)));
        const callees = e?.callee === undefined ? defaultCallees(f.kind) : ([] as string[]).concat(e.callee);
        checkFindingShape(f, callees);
      }
    }, 30_000);
  }
});

describe('demo tree', () => {
  it('reports the planted bug in demo/ with a multi-step path', async () => {
    const result = await runLint({ root: DEMO, arch: 'arm64' });
    expect(result.findings.map(keyOf)).toEqual([
      {
        ruleId: RULE,
        kind: 'unflushed-return',
        severity: 'error',
        function: 'acme_ring_post_one',
        file: 'drivers/net/ethernet/acme/acme_ring.c',
        line: 85,
      },
    ]);
    const f = result.findings[0];
    checkFindingShape(f, ['arch_sync_dma_for_device']);
    expect(f.path.length).toBeGreaterThanOrEqual(2);
    expect(result.inactiveRules.map((r) => r.ruleId)).not.toContain(RULE);
  }, 30_000);
});

// These check the fixtures themselves, so they pass before the analysis exists.
describe('fixture sanity', () => {
  for (const dir of caseDirs()) {
    it(dir, () => {
      const root = join(FIXTURES, dir);
      expect(existsSync(join(root, 'expect.json')), 'expect.json').toBe(true);
      const exp = loadExpectation(dir);
      expect(typeof exp.description === 'string' && exp.description.length > 0, 'description').toBe(true);
      expect(Array.isArray(exp.findings), 'findings').toBe(true);
      if (exp.options?.kconfig) expect(existsSync(join(root, exp.options.kconfig)), 'kconfig file').toBe(true);

      const files = sourceFiles(root);
      expect(files.length, 'C sources').toBeGreaterThan(0);
      let definesFlush = false;
      for (const file of files) {
        const text = readFileSync(file, 'utf8');
        const rel = relative(root, file).split(sep).join('/');
        expect(text.startsWith('// SPDX-License-Identifier: MIT\n'), `${rel}: SPDX line`).toBe(true);
        expect(/\bdsb\s*\(/.test(text), `${rel}: no dsb() in fixtures`).toBe(false);
        if (/(static\s+inline\s+void\s+arch_sync_dma_flush\s*\(|#\s*define\s+arch_sync_dma_flush\b)/.test(text)) definesFlush = true;
      }
      // Active cases must define the completion; an inactive case without a
      // .config is inactive because it does not define it.
      const expectInactive = exp.inactiveRules?.includes(RULE) ?? false;
      if (!expectInactive) expect(definesFlush, 'defines arch_sync_dma_flush').toBe(true);
      else if (!exp.options?.kconfig) expect(definesFlush, 'inactive case defines no arch_sync_dma_flush').toBe(false);

      const seen = new Set<string>();
      for (const f of exp.findings) {
        const k = keyString(keyOf(f));
        expect(seen.has(k), `duplicate expected finding ${k}`).toBe(false);
        if (f.ruleId !== undefined) expect(typeof f.ruleId === 'string' && f.ruleId.length > 0, k).toBe(true);
        seen.add(k);
        expect(KINDS, k).toContain(f.kind);
        expect(SEVERITIES, k).toContain(f.severity);
        expect(f.function.length, k).toBeGreaterThan(0);
        const src = join(root, f.file);
        expect(existsSync(src), `${k}: file exists`).toBe(true);
        const lines = readFileSync(src, 'utf8').split('\n');
        expect(Number.isInteger(f.line) && f.line >= 1 && f.line <= lines.length, `${k}: line in range`).toBe(true);
        const text = lines[f.line - 1];
        expect(/\w+\s*\(/.test(text), `${k}: line should hold a call: ${text}`).toBe(true);
        if (f.kind === 'batchable' || f.kind === 'redundant-flush') {
          expect(text, k).toContain('arch_sync_dma_flush');
          expect(f.severity, k).toBe('note');
        }
      }
    });
  }
});
