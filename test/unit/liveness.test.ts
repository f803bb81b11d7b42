// Liveness over many conditions: the bitsets span several words, and bit 31
// of a word must not make the fixpoint believe it changed forever.
import { expect, it } from 'vitest';
import { analyzeFunction } from '../../src/analyze/engine.js';
import { liveConditions } from '../../src/analyze/liveness.js';
import { Program } from '../../src/analyze/program.js';
import { ruleContext } from '../../src/analyze/rule.js';
import { loadRules } from '../../src/rules/load.js';
import { lowerFile } from '../../src/ir/lower.js';

it('propagates 40 conditions through a loop to the entry and ends', () => {
  const tests = Array.from({ length: 40 }, (_, i) => `\t\tif (c${i}) f${i}();\n`).join('');
  const source = `void many(int n)\n{\n\twhile (n--) {\n${tests}\t}\n}\n`;
  const file = lowerFile('many.c', source, { interesting: () => false });
  const fn = file.functions[0];
  const cfg = fn.cfg();
  const live = liveConditions(fn, cfg, new Program([file], { arch: 'arm64' }), () => undefined, performance.now() + 10_000, 10_000);
  const atEntry = live[cfg.entry].texts;
  for (let i = 0; i < 40; i++) expect(atEntry.has(`c${i}`), `c${i}`).toBe(true);
  expect(live[cfg.exit].texts.size).toBe(0);
});

// `goto retry` brings the last iteration's facts back to the top, where the
// next iteration assigns their variables again before testing them: they are
// dead there (read only after a kill), and keeping them multiplied the states
// of drm_gpusvm_get_pages() on linux-7.2.
const RETRY = `static int demo_ring_fill(struct demo_ring *ring)
{
	int a, b, c;

retry:
	a = demo_check_a(ring);
	if (a)
		demo_note(ring);
	b = demo_check_b(ring);
	if (b)
		demo_note(ring);
	c = demo_check_c(ring);
	if (c)
		demo_note(ring);
	arch_sync_dma_for_device(ring->phys, ring->len, DMA_TO_DEVICE);
	arch_sync_dma_flush();
	if (demo_again(ring))
		goto retry;
	return 0;
}
`;

function lowerRetry() {
  const file = lowerFile('drivers/demo/ring.c', RETRY, { interesting: () => true });
  const fn = file.functions[0];
  return { file, fn, cfg: fn.cfg(), program: new Program([file], { arch: 'arm64' }) };
}

it('counts a condition read only after its variable is assigned again as dead (the retry loop)', () => {
  const { fn, cfg, program } = lowerRetry();
  const live = liveConditions(fn, cfg, program, () => undefined, performance.now() + 10_000, 10_000);
  const retry = cfg.nodes.findIndex((n) => n.op === 'nop' && n.label === 'retry');
  expect(retry).toBeGreaterThanOrEqual(0);
  // Some later test reads `a` (the next iteration's)...
  expect(live[retry].texts.has('a')).toBe(true);
  expect(live[retry].vars.has('a')).toBe(true);
  // ...but only after `a = demo_check_a(ring)` killed what the state knew of it.
  expect(live[retry].readBeforeKill.texts.has('a')).toBe(false);
  expect(live[retry].readBeforeKill.vars.has('a')).toBe(false);
  // At the test itself it is read.
  const testOfA = cfg.nodes.findIndex((n) => n.op === 'branch' && n.text === 'a');
  expect(live[testOfA].readBeforeKill.texts.has('a')).toBe(true);
  expect(live[testOfA].readBeforeKill.vars.has('a')).toBe(true);
});

it('ignores the exit edge of while (true): the engine never takes it', () => {
  const source = `static int demo_poll(struct demo_dev *dd)
{
	int err = 0;

	while (true) {
		err = demo_wait(dd);
		if (err == -EAGAIN)
			continue;
		break;
	}
	if (err)
		return err;
	return 0;
}
`;
  const file = lowerFile('drivers/demo/poll.c', source, { interesting: () => true });
  const fn = file.functions[0];
  const cfg = fn.cfg();
  const live = liveConditions(fn, cfg, new Program([file], { arch: 'arm64' }), () => undefined, performance.now() + 10_000, 10_000);
  const loop = cfg.nodes.findIndex((n) => n.op === 'branch' && n.cond.k === 'num');
  expect(loop).toBeGreaterThanOrEqual(0);
  // Through the exit edge `if (err)` would read the `err` of before the
  // loop; every way the engine goes assigns err first.
  expect(live[loop].readBeforeKill.vars.has('err')).toBe(false);
  expect(live[loop].readBeforeKill.texts.has('err')).toBe(false);
  const afterLoop = cfg.nodes.findIndex((n) => n.op === 'branch' && n.text === 'err');
  expect(live[afterLoop].readBeforeKill.vars.has('err')).toBe(true);
});

it("counts a sync's arguments as read: the engine splits on its direction", () => {
  const source = `static void demo_sync(struct demo_buf *buf, enum dma_data_direction dir)
{
	if (dir == DMA_TO_DEVICE)
		demo_note(buf);
	arch_sync_dma_for_cpu(buf->phys, buf->len, dir);
	dir = demo_next_dir(buf);
	if (dir == DMA_TO_DEVICE)
		demo_note(buf);
}
`;
  const file = lowerFile('drivers/demo/sync.c', source, { interesting: () => true });
  const fn = file.functions[0];
  const cfg = fn.cfg();
  const issuing = (callee: string) => callee === 'arch_sync_dma_for_cpu';
  const live = liveConditions(fn, cfg, new Program([file], { arch: 'arm64' }), () => undefined, performance.now() + 10_000, 10_000, issuing);
  const sync = cfg.nodes.findIndex((n) => n.op === 'call' && n.callee === 'arch_sync_dma_for_cpu');
  expect(live[sync].readBeforeKill.texts.has('dir == DMA_TO_DEVICE')).toBe(true);
  expect(live[sync].readBeforeKill.vars.has('dir')).toBe(true);
  // Past the sync, `dir = ...` kills it before the second test.
  const after = cfg.nodes[sync].next[0];
  expect(live[after].readBeforeKill.texts.has('dir == DMA_TO_DEVICE')).toBe(false);
});

it('keeps one state where the only difference is what the last iteration knew', () => {
  const { fn, program } = lowerRetry();
  const rule = loadRules([]).find((r) => r.id === 'dma-sync-flush')!;
  // Three independent tests make 2^3 = 8 states after them if their facts
  // survive to the next iteration; forgotten at the assignment that kills
  // them, a node never holds more than 2. A budget of 4 tells the two apart.
  const ctx = ruleContext(rule, { symbol: () => 'unknown' }, 4);
  const res = analyzeFunction(fn, ctx, program, () => undefined, { handoff: true, why: 'it is exported' });
  expect(res.truncated).toBe(false);
  expect(res.merged).toBeUndefined();
  expect(res.findings).toEqual([]);
});
