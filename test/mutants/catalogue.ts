// Every mutant the harness runs on Linux 7.x, from the operators applied at
// every site where they fit.
import type { MutationHarness } from './harness.js';
import {
  FLUSH_FILES,
  IOVA_SYNC_FILES,
  addCompletingErrorPath,
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
    out.push(
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
  }
  out.push(...renameStatic('drivers/iommu/dma-iommu.c', h.read('drivers/iommu/dma-iommu.c'), 'iommu_dma_iova_unlink_range_slow'));
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
  ];
  return wanted.flatMap((w) => all.find(w) ?? []);
}
