// A follow-up round (the callers of a deferring function, read after round 0)
// analyses again only what the new files can change. A recursive component
// whose callees outside it keep their summaries keeps its results; one that
// calls a function the new files define is analysed again. Either way the
// findings are those of a single round that read every file at once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FunctionIR } from '../../src/ir/types.js';

/** Analyses per function name, as the engine is asked for them. */
const analysed = new Map<string, number>();

vi.mock('../../src/analyze/engine.js', async (importOriginal) => {
  const engine = await importOriginal<typeof import('../../src/analyze/engine.js')>();
  return {
    ...engine,
    analyzeFunction: (fn: FunctionIR, ...rest: unknown[]) => {
      analysed.set(fn.name, (analysed.get(fn.name) ?? 0) + 1);
      return (engine.analyzeFunction as (...a: unknown[]) => unknown)(fn, ...rest);
    },
  };
});

/** How many times the whole-program notes were made: once per rule for the report's round, not per round. */
let judged = 0;

vi.mock('../../src/analyze/notes.js', async (importOriginal) => {
  const notes = await importOriginal<typeof import('../../src/analyze/notes.js')>();
  return {
    ...notes,
    notes: (...args: Parameters<typeof notes.notes>) => {
      judged++;
      return notes.notes(...args);
    },
  };
});

const { runLint } = await import('../../src/lint.js');

const DMA_HEADER = fileURLToPath(new URL('../../fixtures/lint/36-recursion/include/linux/dma-map-ops.h', import.meta.url));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-rounds-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/**
 * foo.c: a recursive pair of static syncs, a global function that leaves
 * their maintenance pending for its callers (a deferring function, whose
 * callers in other files round 1 reads), one that flushes, and a caller
 * that flushes. `recursionCalls`: a function the pair calls,
 * defined nowhere or in bar.c (where it flushes).
 */
function fooSource(recursionCalls: string): string {
  return `#include <linux/dma-map-ops.h>

struct foo_chain {
	phys_addr_t paddr;
	size_t len;
	struct foo_chain *next;
	struct foo_chain *child;
};

void ${recursionCalls}(struct foo_chain *c);
static void foo_sync_list(struct device *dev, struct foo_chain *c);

static void foo_sync_node(struct device *dev, struct foo_chain *c)
{
	arch_sync_dma_for_device(c->paddr, c->len, DMA_TO_DEVICE);
	${recursionCalls}(c);
	if (c->child)
		foo_sync_list(dev, c->child);
}

static void foo_sync_list(struct device *dev, struct foo_chain *c)
{
	for (; c; c = c->next)
		foo_sync_node(dev, c);
}

void foo_chain_sync_nosync(struct device *dev, struct foo_chain *head)
{
	foo_sync_list(dev, head);
}

void foo_chain_kick(struct device *dev)
{
	arch_sync_dma_flush();
}

int foo_chain_submit(struct device *dev, struct foo_chain *head)
{
	foo_chain_sync_nosync(dev, head);
	foo_chain_kick(dev);
	return 0;
}
`;
}

/**
 * bar.c names no rule function, so only round 1 reads it (as a caller of
 * foo_chain_sync_nosync); `namedInComment` puts one in a comment, so the
 * first scan reads it and one round sees everything.
 */
function barSource(namedInComment: boolean, defines: string | null): string {
  // The comment keeps every line where it was: findings compare by line.
  return `struct device;${namedInComment ? ' /* arch_sync_dma_for_device() */' : ''}
struct foo_chain;
void foo_chain_sync_nosync(struct device *dev, struct foo_chain *head);
void foo_chain_kick(struct device *dev);
${defines ? `\nvoid ${defines}(struct foo_chain *c)\n{\n\tfoo_chain_kick((struct device *)0);\n}\n` : ''}
int bar_submit(struct device *dev, struct foo_chain *head)
{
	foo_chain_sync_nosync(dev, head);
	return 0;
}
`;
}

function tree(name: string, foo: string, bar: string): string {
  const root = path.join(scratch, name);
  fs.mkdirSync(path.join(root, 'include/linux'), { recursive: true });
  fs.mkdirSync(path.join(root, 'drivers/foo'), { recursive: true });
  fs.copyFileSync(DMA_HEADER, path.join(root, 'include/linux/dma-map-ops.h'));
  fs.writeFileSync(path.join(root, 'drivers/foo/foo.c'), foo);
  fs.writeFileSync(path.join(root, 'drivers/foo/bar.c'), bar);
  return root;
}

async function lint(root: string) {
  analysed.clear();
  judged = 0;
  const result = await runLint({ root, jobs: 0 });
  return { findings: JSON.stringify(result.findings), functions: result.stats.functions, analysed: new Map(analysed), judged };
}

const RECURSION = ['foo_sync_node', 'foo_sync_list'];

describe('follow-up rounds', () => {
  beforeEach(() => analysed.clear());

  it('keep the results of a recursive component whose outside callees did not change', async () => {
    const rounds = await lint(tree('kept-2', fooSource('foo_trace'), barSource(false, null)));
    const once = await lint(tree('kept-1', fooSource('foo_trace'), barSource(true, null)));
    // Round 1 read bar.c: the same functions as the single round.
    expect(rounds.functions).toBe(once.functions);
    expect(rounds.findings).toBe(once.findings);
    expect(rounds.analysed.get('bar_submit')).toBe(once.analysed.get('bar_submit'));
    expect(rounds.analysed.get('bar_submit')).toBeGreaterThan(0);
    for (const name of RECURSION) {
      expect(once.analysed.get(name)).toBeGreaterThan(0);
      expect(rounds.analysed.get(name), name).toBe(once.analysed.get(name));
    }
  });

  it('are analysed, not judged: the findings are made once, for the last round', async () => {
    const rounds = await lint(tree('judged-2', fooSource('foo_trace'), barSource(false, null)));
    const once = await lint(tree('judged-1', fooSource('foo_trace'), barSource(true, null)));
    expect(rounds.findings).toBe(once.findings);
    expect(once.judged).toBeGreaterThan(0);
    expect(rounds.judged).toBe(once.judged);
  });

  it('analyse a recursive component again when a function it calls is defined by the new files', async () => {
    const rounds = await lint(tree('again-2', fooSource('bar_trace'), barSource(false, 'bar_trace')));
    const once = await lint(tree('again-1', fooSource('bar_trace'), barSource(true, 'bar_trace')));
    expect(rounds.functions).toBe(once.functions);
    expect(rounds.findings).toBe(once.findings);
    for (const name of RECURSION) expect(rounds.analysed.get(name)!, name).toBeGreaterThan(once.analysed.get(name)!);
  });
});
