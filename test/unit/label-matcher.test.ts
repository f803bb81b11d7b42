// errorLabels patterns are matched in a vm under a time budget (the bundled
// default, which repeats nothing, directly); answers are
// kept per pattern so that rules sharing one, and later runs of a process,
// do not start a watchdog thread per label again.
import vm from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BudgetedPattern } from '../../src/rules/label-matcher.js';
import { DEFAULT_ERROR_LABELS } from '../../src/rules/schema.js';

afterEach(() => vi.restoreAllMocks());

describe('BudgetedPattern', () => {
  it('answers a label another instance of the same pattern matched without running it again', () => {
    const runs = vi.spyOn(vm.Script.prototype, 'runInContext');
    const pattern = '^(err|out)_';
    const label = `err_unmap_${Date.now()}`;
    expect(new BudgetedPattern(pattern, 'a.yaml').test(label)).toBe(true);
    expect(runs).toHaveBeenCalledTimes(1);
    const second = new BudgetedPattern(pattern, 'b.yaml');
    expect([second.test(label), second.test(`done_${Date.now()}`)]).toEqual([true, false]);
    expect(runs).toHaveBeenCalledTimes(2);
    // Another budget is another pattern: its answers are its own.
    expect(new BudgetedPattern(pattern, 'c.yaml', 1000).test(label)).toBe(true);
    expect(runs).toHaveBeenCalledTimes(3);
  });

  it('matches the bundled default (no repetition in it) directly, as a plain RegExp does, without a vm run', () => {
    const runs = vi.spyOn(vm.Script.prototype, 'runInContext');
    const plain = new RegExp(DEFAULT_ERROR_LABELS);
    const labels = ['err', 'out_err', 'err_unmap', 'fail2', 'out_free_pages', 'done', 'out', 'retry', 'errata', 'unwind_', 'x_release', 'freeze', 'a'.repeat(100_000) + '_err'];
    const budgeted = new BudgetedPattern(DEFAULT_ERROR_LABELS, 'rules/dma-sync-flush.yaml');
    expect(labels.map((l) => budgeted.test(l))).toEqual(labels.map((l) => plain.test(l)));
    expect(labels.map((l) => budgeted.test(l))).toEqual([true, true, true, true, true, false, false, false, false, true, true, false, true]);
    expect(runs).not.toHaveBeenCalled();
    // The same words repeated: no longer the default, matched in the vm.
    expect(new BudgetedPattern(`(${DEFAULT_ERROR_LABELS})+`, 'mine.yaml').test('err_')).toBe(true);
    expect(runs).toHaveBeenCalledTimes(1);
  });

  it('blames only the run that exhausted the budget; the next one tries again', () => {
    const slow = '^(a|a)*$';
    const label = `${'a'.repeat(40)}b`;
    const first = new BudgetedPattern(slow, 'slow.yaml', 20);
    expect(first.test(label)).toBe(false);
    expect(first.problem).toMatch(/^slow\.yaml: errorLabels: matching the label 'a+b' took over 200 ms/);
    // Every later label answers false at once in that run.
    expect(first.test('a')).toBe(false);
    const next = new BudgetedPattern(slow, 'slow.yaml', 20);
    expect(next.problem).toBeNull();
    expect(next.test('a')).toBe(true);
  });
});
