// The path a finding reports is the one a reviewer follows: down a chain of
// deferring helpers once, in call order (fixtures/lint/47-deferral-chain-path).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runLint } from '../../src/lint.js';

const ROOT = fileURLToPath(new URL('../../fixtures/lint/47-deferral-chain-path/', import.meta.url));

it('reports a sync three calls deep with each step once, caller before callee', async () => {
  const result = await runLint({ root: path.resolve(ROOT), jobs: 0 });
  expect(result.findings).toHaveLength(1);
  expect(result.findings[0].path.map((s) => `${s.line}: ${s.event}`)).toEqual([
    '29: foo_clean_range(paddr, len, false) leaves arch_sync_dma_for_device() (clean) pending',
    '24: foo_clean_one(paddr, len) leaves arch_sync_dma_for_device() (clean) pending',
    '14: arch_sync_dma_for_device(paddr, len, DMA_TO_DEVICE) issues clean',
    '30: return from foo_prepare() (hand-off: it is exported)',
  ]);
  expect(result.findings[0].model?.verdict).toBe('incoherent');
});
