// `graph` tells a developer who wants to batch a per-entry flush what stops
// it: fixtures/lint/50 flushes each entry before swiotlb_sync_single_for_cpu()
// may copy the bounce slot (no batchable note), and flushes a loop with
// nothing after the flush (a batchable note).
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { buildGraph } from '../../src/graph.js';
import { formatGraphDot, formatGraphText } from '../../src/report/graph.js';

const ROOT = fileURLToPath(new URL('../../fixtures/lint/50-per-entry-flush-before-bounce/', import.meta.url));

it('says why a flush must stay in its loop, in text and in the DOT tooltip', async () => {
  const view = await buildGraph({ root: ROOT, jobs: 0 });
  const text = formatGraphText(view);
  expect(text).toContain(
    '    flush at line 21 stays in the loop at line 18: swiotlb_sync_single_for_cpu() at line 23 may read the buffer (memcpy() at kernel/dma/swiotlb.c:25) before the loop ends',
  );
  // The batchable loop has nothing to say: its flush may move.
  const device = text.split('\n').findIndex((l) => l.startsWith('foo_sync_sg_for_device '));
  expect(text.split('\n')[device + 1]).toMatch(/^ {4}->/);
  expect(formatGraphDot(view)).toContain('flush at line 21 stays in its loop: swiotlb_sync_single_for_cpu() at line 23 may read the buffer');
});
