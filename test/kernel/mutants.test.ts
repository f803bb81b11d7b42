// The fast subset of the mutation harness (`npm run test:mutants` runs all of
// it): one mutant per operator, and the mutant the series' reviewers caught —
// the flush in swiotlb_bounce() removed — with exactly the findings it must give.
import { beforeAll, describe, expect, it } from 'vitest';
import { fastMutants } from '../mutants/catalogue.js';
import { MutationHarness, report, type MutantResult } from '../mutants/harness.js';
import { dropFlush } from '../mutants/operators.js';
import { linux7 } from './trees.js';

const tree7 = linux7();
if (process.env.CI && !tree7) throw new Error('linux-7.x tree missing: run `npm run kernel:fetch` first');

describe.skipIf(!tree7)('mutants of Linux 7.x (fast subset)', () => {
  const harness = new MutationHarness(tree7!);
  const results: MutantResult[] = [];

  beforeAll(async () => {
    await harness.start();
    for (const m of fastMutants(harness)) results.push(await harness.run(m));
    console.log(report(results));
  }, 1_800_000);

  it('runs one mutant of each kind', () => {
    expect(results.length).toBeGreaterThanOrEqual(12);
  });

  it('detects every detect-mutant and flags no silent-mutant', () => {
    expect(results.filter((r) => !r.ok).map((r) => `${r.mutant.label} ${r.mutant.id}: ${r.mutant.reason}`)).toEqual([]);
  });

  it('reports the bounce before the batched flush on every path that bounces, with its path to the copy', async () => {
    const file = 'kernel/dma/swiotlb.c';
    const mutant = dropFlush(file, harness.read(file)).find((m) => /swiotlb_bounce/.test(m.reason))!;
    expect(mutant).toBeDefined();
    const r = await harness.run(mutant);
    const got = r.fresh.map((f) => `${f.kind} ${f.severity} ${f.function} ${f.file}`).sort();
    expect(got).toEqual([
      'unflushed-access error dma_direct_sync_sg_for_cpu kernel/dma/direct.c',
      'unflushed-access error dma_direct_unmap_sg kernel/dma/direct.c',
      'unflushed-access error iommu_dma_iova_unlink_range_slow drivers/iommu/dma-iommu.c',
    ]);
    for (const f of r.fresh) {
      const last = f.path[f.path.length - 1];
      expect(last.file, f.message).toBe(file);
      expect(last.event, f.message).toMatch(/^memcpy(_to_page|_from_page)?\(\) accesses the buffer/);
      expect(f.model?.verdict, f.message).toBe('incoherent');
    }
  }, 600_000);
});
