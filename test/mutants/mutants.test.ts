// `npm run test:mutants`: every mutant of the catalogue on Linux 7.x. Each
// detect-mutant must be reported and no silent-mutant flagged; the table
// (detected/expected, false alarms, each miss with its reason) is printed.
import { beforeAll, describe, expect, it } from 'vitest';
import { linux7 } from '../kernel/trees.js';
import { allMutants } from './catalogue.js';
import { MutationHarness, report, type MutantResult } from './harness.js';

const tree7 = linux7();
if (process.env.CI && !tree7) throw new Error('linux-7.x tree missing: run `npm run kernel:fetch` first');

describe.skipIf(!tree7)('mutants of Linux 7.x', () => {
  const harness = new MutationHarness(tree7!);
  const results: MutantResult[] = [];

  beforeAll(async () => {
    await harness.start();
    for (const m of allMutants(harness)) results.push(await harness.run(m));
    console.log(report(results));
  }, 3_600_000);

  it('has mutants of every operator', () => {
    const ops = new Set(results.map((r) => r.mutant.operator));
    for (const op of ['drop-flush', 'negate-guard', 'drop-guard', 'flush-before-loop', 'flush-into-loop', 'redundant-flush', 'do-while-0', 'rename-local', 'rename-static', 'swap-declarations', 'completing-error-path', 'drop-iova-sync', 'flush-false', 'batch-helper', 'batch-helper-no-bounce-flush']) {
      expect(ops.has(op), op).toBe(true);
    }
  });

  it('detects every detect-mutant', () => {
    expect(results.filter((r) => r.mutant.label === 'detect' && !r.caught).map((r) => `${r.mutant.id}: ${r.mutant.reason}`)).toEqual([]);
  });

  it('flags no silent-mutant', () => {
    expect(results.filter((r) => r.mutant.label === 'silent' && r.caught).map((r) => `${r.mutant.id}: ${r.fresh.map((f) => f.message).join(' / ')}`)).toEqual([]);
  });
});
