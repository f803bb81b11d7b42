import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { bundledRulesDir, loadRules, parseRuleFile, RuleError } from '../../src/rules/load.js';
import { DEFAULT_ERROR_LABELS } from '../../src/rules/schema.js';

/** A minimal valid rule; tests break one field at a time. */
function minimalRule(id = 'user-rule'): Record<string, unknown> {
  return {
    id,
    description: 'test rule',
    applies: {},
    issue: [{ name: 'foo_nosync', effect: { default: 'clean' } }],
    complete: [{ name: 'foo_wait' }],
  };
}

function ruleErrorOf(run: () => unknown): RuleError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RuleError);
    return error as RuleError;
  }
  throw new Error('expected a RuleError');
}

describe('bundled rules', () => {
  it('load, validate and get defaults filled in', () => {
    const rules = loadRules([]);
    expect(rules.map((rule) => rule.id).sort()).toEqual(['arm64-dcache-nosync', 'dma-sync-flush']);
    for (const rule of rules) {
      expect(rule.source).toMatch(/rules[\\/][a-z0-9-]+\.yaml$/);
      expect(rule.handoff).toEqual({ addressTaken: true, exported: true, noCaller: true });
      expect(rule.errorLabels).toBe(DEFAULT_ERROR_LABELS);
      expect(Array.isArray(rule.cpuAccess)).toBe(true);
      expect(Array.isArray(rule.contracts)).toBe(true);
    }
  });

  it('dma-sync-flush says what the brief says', () => {
    const rule = loadRules([]).find((r) => r.id === 'dma-sync-flush')!;
    expect(rule.applies).toEqual({
      arch: ['arm64'],
      kconfig: 'ARCH_HAS_BATCHED_DMA_SYNC',
      definedFunction: 'arch_sync_dma_flush',
    });
    expect(rule.issue).toEqual([
      { name: 'arch_sync_dma_for_device', addressArg: 0, directionArg: 2, effect: { default: 'clean' } },
      {
        name: 'arch_sync_dma_for_cpu',
        addressArg: 0,
        directionArg: 2,
        effect: {
          DMA_TO_DEVICE: 'none',
          DMA_FROM_DEVICE: 'invalidate',
          DMA_BIDIRECTIONAL: 'invalidate',
          default: 'invalidate',
        },
      },
    ]);
    expect(rule.complete).toEqual([{ name: 'arch_sync_dma_flush' }]);
    expect(rule.cpuAccess).toEqual([
      { name: 'memcpy', addressArg: 1, access: 'readwrite' },
      { name: 'memcpy_to_page', addressArg: 2, access: 'read' },
      { name: 'memcpy_from_page', addressArg: 0, access: 'write' },
    ]);
    expect(rule.contracts.map((c) => [c.defer, c.complete, c.checkCallers])).toEqual([
      ['dma_iova_link', 'dma_iova_sync', undefined],
    ]);
    expect(rule.contracts[0].description).toBeTruthy();
    expect(rule.model?.calls).toEqual({
      arch_sync_dma_for_device: { default: 'clean' },
      arch_sync_dma_for_cpu: { DMA_TO_DEVICE: 'none', default: 'invalidate' },
      arch_sync_dma_flush: { default: 'dsb' },
      memcpy: { default: 'cpu_read' },
      memcpy_to_page: { default: 'cpu_read' },
      memcpy_from_page: { default: 'cpu_write' },
    });
  });

  it('arm64-dcache-nosync and dma-sync-flush carry their contracts', () => {
    const rules = loadRules([]);
    const nosync = rules.find((r) => r.id === 'arm64-dcache-nosync')!;
    expect(nosync.applies).toEqual({ arch: ['arm64'], definedFunction: 'dcache_clean_poc_nosync' });
    expect(nosync.issue.map((c) => [c.name, c.effect.default])).toEqual([
      ['dcache_clean_poc_nosync', 'clean'],
      ['dcache_inval_poc_nosync', 'invalidate'],
      ['dcache_clean_inval_poc_nosync', 'clean_invalidate'],
    ]);
    expect(nosync.complete).toEqual([{ name: 'dsb' }]);
    expect(nosync.contracts.map((c) => [c.defer, c.complete, c.checkCallers])).toEqual([
      ['arch_sync_dma_for_device', 'arch_sync_dma_flush', false],
      ['arch_sync_dma_for_cpu', 'arch_sync_dma_flush', false],
    ]);

    // The iova link/sync pair is a deferral contract of dma-sync-flush (one
    // rule, so callers are not judged twice).
    const sync = rules.find((r) => r.id === 'dma-sync-flush')!;
    expect(sync.contracts.map((c) => [c.defer, c.complete, c.checkCallers])).toEqual([['dma_iova_link', 'dma_iova_sync', undefined]]);
  });
});

describe('invalid rule files', () => {
  it('wrong type names the field', () => {
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', stringify({ ...minimalRule(), issue: 'foo' })));
    expect(error.message).toBe('rules/bad.yaml: issue: must be a list');
  });

  it('unknown effect names the field and the allowed values', () => {
    const rule = minimalRule();
    rule.issue = [{ name: 'foo_nosync', directionArg: 2, effect: { DMA_TO_DEVICE: 'flush', default: 'clean' } }];
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', stringify(rule)));
    expect(error.message).toBe(
      'rules/bad.yaml: issue[0].effect.DMA_TO_DEVICE: must be one of clean, invalidate, clean_invalidate, none',
    );
  });

  it('unknown direction key lists the accepted ones', () => {
    const rule = minimalRule();
    rule.issue = [{ name: 'foo_nosync', directionArg: 2, effect: { DMA_TO_DEVIC: 'clean', default: 'clean' } }];
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', stringify(rule)));
    expect(error.message).toBe(
      'rules/bad.yaml: issue[0].effect.DMA_TO_DEVIC: unknown field; expected one of DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL, DMA_NONE, default',
    );
  });

  it('missing id', () => {
    const { id: _id, ...rule } = minimalRule();
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', stringify(rule)));
    expect(error.message).toBe('rules/bad.yaml: id: is required');
  });

  it('reports every schema problem, one per line', () => {
    const { id: _id, ...rule } = minimalRule();
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', stringify({ ...rule, complete: [], handoff: { exported: 'no' } })));
    expect(error.problems).toEqual([
      'rules/bad.yaml: id: is required',
      'rules/bad.yaml: complete: must not be empty',
      'rules/bad.yaml: handoff.exported: must be true or false',
    ]);
  });

  it('bad errorLabels regex', () => {
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', stringify({ ...minimalRule(), errorLabels: '^(err' })));
    expect(error.message).toMatch(/^rules\/bad\.yaml: errorLabels: not a valid regular expression \(.+\)$/);
  });

  it('YAML syntax error names file and line', () => {
    const text = 'id: broken\ndescription: x\nissue: [a, b\ncomplete: []\n';
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', text));
    expect(error.problems[0]).toMatch(/^rules\/bad\.yaml:4:1: YAML syntax error: /);
  });

  it('pattern errors use the hint, not the regex', () => {
    const rule = { ...minimalRule(), applies: { kconfig: 'CONFIG_FOO' } };
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', stringify(rule)));
    expect(error.message).toBe(
      'rules/bad.yaml: applies.kconfig: must be a Kconfig symbol without the CONFIG_ prefix (e.g. ARCH_HAS_BATCHED_DMA_SYNC)',
    );
  });

  it('per-direction effects need a directionArg', () => {
    const rule = minimalRule();
    rule.issue = [{ name: 'foo_nosync', effect: { DMA_TO_DEVICE: 'none', default: 'clean' } }];
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', stringify(rule)));
    expect(error.message).toBe('rules/bad.yaml: issue[0].directionArg: is required when effect lists per-direction entries');
  });

  it('model mapping must name calls of the rule', () => {
    const rule = { ...minimalRule(), model: { calls: { foo_nosync: { default: 'clean' }, bar: { default: 'dsb' } } } };
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', stringify(rule)));
    expect(error.message).toBe(
      'rules/bad.yaml: model.calls.bar: not a call of this rule (list it under issue, complete, cpuAccess or contracts)',
    );
  });

  it('a call cannot both issue and complete', () => {
    const rule = { ...minimalRule(), complete: [{ name: 'foo_nosync' }] };
    const error = ruleErrorOf(() => parseRuleFile('rules/bad.yaml', stringify(rule)));
    expect(error.message).toBe('rules/bad.yaml: complete[0].name: foo_nosync is already listed at issue[0]');
  });
});

describe('user rule folders', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flushcheck-rules-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a rule, with JSON accepted too', () => {
    writeFileSync(join(dir, 'user.yaml'), stringify(minimalRule('user-rule')));
    writeFileSync(join(dir, 'other.json'), JSON.stringify(minimalRule('other-rule')));
    writeFileSync(join(dir, 'README.md'), 'not a rule');
    const rules = loadRules([dir]);
    expect(rules.map((rule) => rule.id)).toEqual([
      'arm64-dcache-nosync',
      'dma-sync-flush',
      'other-rule',
      'user-rule',
    ]);
    const userRule = rules.find((rule) => rule.id === 'user-rule')!;
    expect(userRule.source).toMatch(/user\.yaml$/);
    expect(userRule.cpuAccess).toEqual([]);
    expect(userRule.contracts).toEqual([]);
  });

  it('duplicate ids name both files', () => {
    writeFileSync(join(dir, 'copy.yaml'), stringify(minimalRule('dma-sync-flush')));
    const error = ruleErrorOf(() => loadRules([dir]));
    expect(error.message).toMatch(/^duplicate rule id dma-sync-flush: defined in .*rules\/dma-sync-flush\.yaml and .*copy\.yaml$/);
  });

  it('an invalid file in a user folder names that file', () => {
    writeFileSync(join(dir, 'bad.yml'), 'id: 42\n');
    const error = ruleErrorOf(() => loadRules([dir]));
    expect(error.problems).toContain(`${join(dir, 'bad.yml')}: id: must be a string`);
  });

  it('a missing folder is a RuleError', () => {
    const error = ruleErrorOf(() => loadRules([join(dir, 'nope')]));
    expect(error.message).toMatch(/nope: rules folder not found; pass --rules a folder \(or file\) of rule \.yaml files$/);
  });

  it('naming the bundled folder again does not duplicate its rules', () => {
    mkdirSync(join(dir, 'empty'));
    expect(loadRules([bundledRulesDir(), join(dir, 'empty')])).toHaveLength(2);
  });
});
