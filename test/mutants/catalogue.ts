// Every mutant the harness runs on Linux 7.x, from the operators applied at
// every site where they fit.
import type { MutationHarness } from './harness.js';
import {
  FLUSH_FILES,
  IOVA_SYNC_FILES,
  addCompletingErrorPath,
  batchHelper,
  dropFlush,
  dropFlushGuard,
  dropIovaSync,
  flushArgumentFalse,
  moveFlushAroundLoop,
  negateFlushGuard,
  redundantFlush,
  renameLocal,
  renameStatic,
  swapDeclarations,
  wrapDoWhile,
  type Mutant,
} from './operators.js';

export function allMutants(h: MutationHarness): Mutant[] {
  const out: Mutant[] = [];
  for (const file of FLUSH_FILES) {
    const text = h.read(file);
    const found: Mutant[] = [];
    found.push(
      ...dropFlush(file, text),
      ...negateFlushGuard(file, text),
      ...dropFlushGuard(file, text),
      ...moveFlushAroundLoop(file, text),
      ...redundantFlush(file, text),
      ...wrapDoWhile(file, text),
      ...renameLocal(file, text, 'paddr'),
      ...renameLocal(file, text, 'phys'),
      ...swapDeclarations(file, text),
      ...addCompletingErrorPath(file, text),
      ...flushArgumentFalse(file, text),
    );
    // The bounce's own flush protects every caller that batches its
    // invalidations: without it, the findings are at those callers' syncs
    // (the reviewers' finding), not in swiotlb.c.
    out.push(...found.map((m) => (m.file === 'kernel/dma/swiotlb.c' && /swiotlb_bounce/.test(m.reason) && m.label === 'detect' ? { ...m, expectIn: 'kernel/dma/direct.c' } : m)));
  }
  out.push(...renameStatic('drivers/iommu/dma-iommu.c', h.read('drivers/iommu/dma-iommu.c'), 'iommu_dma_iova_unlink_range_slow'));
  // Xen batched as the series batched dma-direct (its v2 shape): correct in
  // 7.2, because swiotlb_bounce() completes a pending invalidation before it
  // copies and each for-device entry is copied before its clean; not once the
  // bounce's own flush is gone too (a change to two files).
  const xen = 'drivers/xen/swiotlb-xen.c';
  const swiotlb = 'kernel/dma/swiotlb.c';
  const bounceFlushes = 'swiotlb_bounce() completes the invalidation before it copies, so one flush after the loop is correct';
  const copiedFirst = 'each entry is copied into its bounce slot before its clean, so one flush after the loop is correct';
  const forCpu = [
    ['xen_swiotlb_unmap_phys', 'xen_swiotlb_unmap_sg'],
    ['xen_swiotlb_sync_single_for_cpu', 'xen_swiotlb_sync_sg_for_cpu'],
  ];
  for (const [helper, loop] of forCpu) out.push(...batchHelper(xen, h.read(xen), helper, loop, 'silent', bounceFlushes));
  out.push(
    ...batchHelper(xen, h.read(xen), 'xen_swiotlb_map_phys', 'xen_swiotlb_map_sg', 'silent', copiedFirst),
    ...batchHelper(xen, h.read(xen), 'xen_swiotlb_sync_single_for_device', 'xen_swiotlb_sync_sg_for_device', 'silent', copiedFirst),
  );
  const noBounceFlush = dropFlush(swiotlb, h.read(swiotlb)).find((m) => /swiotlb_bounce/.test(m.reason));
  if (noBounceFlush) {
    for (const [helper, loop] of forCpu) {
      for (const m of batchHelper(xen, h.read(xen), helper, loop, 'detect', 'batched, and swiotlb_bounce() no longer flushes: each entry is copied back before the batched flush')) {
        out.push({ ...m, id: `${m.id}+${noBounceFlush.id}`, operator: 'batch-helper-no-bounce-flush', also: [{ file: swiotlb, text: noBounceFlush.text }] });
      }
    }
  }
  for (const file of IOVA_SYNC_FILES) out.push(...dropIovaSync(file, h.read(file)));
  return out;
}

/** One mutant per operator and file kind: the fast subset `npm run test:kernel` runs. */
export function fastMutants(h: MutationHarness): Mutant[] {
  const all = allMutants(h);
  const wanted = [
    (m: Mutant) => m.operator === 'drop-flush' && m.file === 'kernel/dma/swiotlb.c' && /swiotlb_bounce/.test(m.reason),
    (m: Mutant) => m.operator === 'drop-flush' && /dma_iova_sync/.test(m.reason),
    (m: Mutant) => m.operator === 'drop-flush' && /dma_direct_sync_sg_for_device/.test(m.reason),
    (m: Mutant) => m.operator === 'drop-iova-sync' && m.file === 'drivers/infiniband/core/rw.c',
    (m: Mutant) => m.operator === 'flush-false',
    (m: Mutant) => m.operator === 'negate-guard' && /dma_iova_sync/.test(m.reason),
    (m: Mutant) => m.operator === 'flush-before-loop',
    (m: Mutant) => m.operator === 'flush-into-loop',
    (m: Mutant) => m.operator === 'rename-static',
    (m: Mutant) => m.operator === 'rename-local',
    (m: Mutant) => m.operator === 'redundant-flush',
    (m: Mutant) => m.operator === 'completing-error-path',
    (m: Mutant) => m.operator === 'batch-helper',
    (m: Mutant) => m.operator === 'batch-helper-no-bounce-flush',
  ];
  // A selector that matches nothing (an operator renamed or no longer applicable) must not shrink the subset silently.
  return wanted.map((w, i) => {
    const found = all.find(w);
    if (!found) throw new Error(`fast mutant selector ${i + 1} matches no mutant of the tree`);
    return found;
  });
}
