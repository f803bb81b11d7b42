// Replaying analysis paths on the cache model: which ops, which lines,
// which hand-off, and the verdicts for flushed and unflushed paths.
import { describe, expect, it, vi } from 'vitest';
import { handoffKind, isStoredReplay, pathSteps, replayErrorPath, replayFindings, replayPath, replayUnrolled } from '../../src/model/replay.js';
import type { PathStep } from '../../src/types.js';

const f = 'drivers/foo/foo.c';
const step = (line: number, event: string, op?: PathStep['op']): PathStep => ({ file: f, line, event, ...(op ? { op } : {}) });

/** for_each_sg(...) { sync } ; flush — as the engine records it. */
const loopThenFlush: PathStep[] = [
  step(10, 'for_each_sg loop: next entry'),
  step(11, 'arch_sync_dma_for_device(p, n, dir) issues clean', 'clean'),
  step(10, 'for_each_sg loop: done'),
  step(13, 'arch_sync_dma_flush() completes pending maintenance', 'dsb'),
];
const loopNoFlush = loopThenFlush.slice(0, 3);

describe('pathSteps', () => {
  it('gives each loop entry its own cache line; ops outside loops touch all lines', () => {
    const { steps, lines } = pathSteps(loopThenFlush, 3);
    expect(lines).toBe(3);
    expect(steps.map((s) => [s.op, s.lines])).toEqual([
      ['clean', [0]],
      ['clean', [1]],
      ['clean', [2]],
      ['dsb', undefined],
    ]);
  });

  it('unrolls the loop zero times', () => {
    const { steps, lines } = pathSteps(loopThenFlush, 0);
    expect(lines).toBe(1);
    expect(steps.map((s) => s.op)).toEqual(['dsb']);
  });

  it('ignores steps without an op', () => {
    expect(pathSteps([step(1, 'true: if (x)'), step(2, 'sync', 'invalidate')]).steps.map((s) => s.op)).toEqual(['invalidate']);
  });
});

describe('handoffKind', () => {
  it('follows the maintenance the path issues', () => {
    expect(handoffKind([{ op: 'clean' }])).toBe('to-device');
    expect(handoffKind([{ op: 'invalidate' }])).toBe('from-device');
    expect(handoffKind([{ op: 'clean' }, { op: 'invalidate' }])).toBe('bidirectional');
    expect(handoffKind([{ op: 'dsb' }])).toBeNull();
  });
});

describe('replay verdicts', () => {
  it('a batched clean of N entries with one flush after the loop is coherent for 0, 1, 2 and N entries', () => {
    const { result, replays } = replayUnrolled(loopThenFlush, 16);
    expect(result.verdict).toBe('coherent');
    expect(replays).toBe(3); // zero iterations issue nothing: not a replay
  });

  it('the same loop without the flush is incoherent, with a witness ending in the device read', () => {
    const { result } = replayUnrolled(loopNoFlush);
    expect(result.verdict).toBe('incoherent');
    const last = result.witness[result.witness.length - 1] as { actor: string; event: string };
    expect(last.actor).toBe('device');
    expect(last.event).toMatch(/STALE/);
  });

  it('an invalidation without dsb before the CPU reads is incoherent; with dsb coherent', () => {
    expect(replayPath([step(5, 'for_cpu', 'invalidate')]).verdict).toBe('incoherent');
    expect(replayPath([step(5, 'for_cpu', 'invalidate'), step(6, 'flush', 'dsb')]).verdict).toBe('coherent');
  });

  it('a path with no modelled maintenance is unknown, not coherent', () => {
    expect(replayPath([step(1, 'true: if (x)')]).verdict).toBe('unknown');
  });

  it('a clean left pending on a failed map has no hand-off: coherent; an invalidation is not treated so', () => {
    expect(replayErrorPath([step(5, 'clean', 'clean')])?.verdict).toBe('coherent');
    expect(replayErrorPath([step(5, 'inval', 'invalidate')])).toBeNull();
  });
});

describe('replayFindings', () => {
  it('turns a finding the model proves harmless into a note and counts verdicts', () => {
    const harmless = { severity: 'warning', kind: 'unflushed-return', message: 'm', failedPath: true, path: [step(5, 'clean', 'clean')] } as {
      severity: string;
      kind: string;
      message: string;
      failedPath?: boolean;
      path: PathStep[];
      model?: { verdict: string };
    };
    const real = { severity: 'error', kind: 'unflushed-return', message: 'm', path: loopNoFlush } as typeof harmless;
    const stats = replayFindings([harmless, real] as never[], [loopThenFlush], () => undefined);
    expect(harmless.severity).toBe('note');
    expect(harmless.kind).toBe('model-coherent');
    expect(real.severity).toBe('error');
    expect(real.model?.verdict).toBe('incoherent');
    // harmless: 1 replay; real: loop unrolled until the first incoherent one; flushed path: 3.
    expect(stats.incoherent).toBe(1);
    expect(stats.coherent).toBe(1 + 3);
  });

  it('replays a path seen before (the next analysis of a review) to the same verdict, counts and own witness', () => {
    const finding = () => ({ severity: 'error', kind: 'unflushed-return', message: 'm', path: loopNoFlush }) as { severity: string; kind: string; message: string; path: PathStep[]; model?: { verdict: string; witness: unknown[] } };
    const first = finding();
    const firstStats = replayFindings([first] as never[], [loopThenFlush], () => undefined);
    const again = finding();
    const againStats = replayFindings([again] as never[], [loopThenFlush], () => undefined);
    expect(again).toEqual(first);
    expect(againStats).toEqual(firstStats);
    expect(first.model!.witness.length).toBeGreaterThan(0);
    first.model!.witness.length = 0;
    expect(again.model!.witness.length).toBeGreaterThan(0);
  });

  it('keeps coherent and unknown replays in a memo for the next process, never incoherent ones, and answers from it', async () => {
    type Found = { severity: string; kind: string; message: string; failedPath?: boolean; path: PathStep[]; model?: { verdict: string; reason?: string; timeline?: string } };
    const findings = (): Found[] => [
      { severity: 'warning', kind: 'unflushed-return', message: 'm', failedPath: true, path: [step(5, 'clean', 'clean')] },
      { severity: 'error', kind: 'unflushed-return', message: 'm', path: loopNoFlush },
    ];
    const kept = new Map<string, unknown>();
    const memo = { get: (key: string) => kept.get(key) as never, put: (key: string, value: unknown) => void kept.set(key, JSON.parse(JSON.stringify(value))) };
    // Each run in a fresh copy of the module: a process of its own, with no replay remembered in memory.
    const fresh = async () => {
      vi.resetModules();
      return (await import('../../src/model/replay.js')).replayFindings;
    };
    const first = findings();
    const firstStats = (await fresh())(first as never[], [loopThenFlush, [step(1, 'no op here')]], (r) => (r.verdict === 'incoherent' ? 'timeline' : undefined), memo);
    // The harmless finding's error-path replay, the flushed path's and the op-less one's; not the incoherent one.
    expect(kept.size).toBe(3);
    expect([...kept.values()].every((v) => isStoredReplay(v))).toBe(true);
    expect([...kept.values()].map((v) => (v as { result: { verdict: string } | null }).result?.verdict).sort()).toEqual(['coherent', 'coherent', 'unknown']);

    const second = findings();
    const secondStats = (await fresh())(second as never[], [loopThenFlush, [step(1, 'no op here')]], (r) => (r.verdict === 'incoherent' ? 'timeline' : undefined), memo);
    expect(second).toEqual(first);
    expect(secondStats).toEqual(firstStats);
    expect(second[1].model?.timeline).toBe('timeline');
    // The verdicts came from the memo: what it holds is what is reported.
    for (const value of kept.values()) {
      const stored = value as { result: { verdict: string; reason?: string } | null };
      if (stored.result?.verdict === 'coherent') stored.result.reason = 'from the memo';
    }
    const third = findings();
    (await fresh())(third as never[], [loopThenFlush], () => undefined, memo);
    expect(third[0].message).toContain('from the memo');

    expect(isStoredReplay({ result: null, replays: 0 })).toBe(true);
    expect(isStoredReplay({ result: { verdict: 'incoherent', witness: [] }, replays: 1 })).toBe(false);
    expect(isStoredReplay({ result: { verdict: 'coherent', witness: 'x' }, replays: 1 })).toBe(false);
    expect(isStoredReplay({ result: { verdict: 'coherent', witness: [] }, replays: -1 })).toBe(false);
    expect(isStoredReplay([])).toBe(false);
  });
});
