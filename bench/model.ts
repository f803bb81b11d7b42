// Benchmark for `npm run bench`: the model on large batched scatter-gather
// buffers. Kept out of the tests so timing noise cannot fail CI.
import { performance } from 'node:perf_hooks';
import { checkScenario } from '../src/model/check.js';
import type { Scenario } from '../src/model/scenario.js';

/** A buffer of `lines` lines: CPU writes it, one batched clean, one dsb, the device reads it. */
export function batchedCleanScenario(lines: number): Scenario {
  const all = { from: 0, to: lines - 1 };
  return {
    name: `batched clean of ${lines} lines`,
    lines,
    steps: [
      { op: 'cpu_write', lines: all },
      { op: 'clean', lines: all },
      { op: 'dsb' },
      { op: 'device_read', lines: all },
    ],
    expect: 'coherent',
  };
}

/**
 * The same buffer written as the per-entry loop a driver would run: one clean
 * step per line (`lines` steps), then a single dsb. Stresses projection, not
 * exploration.
 */
export function perEntryCleanScenario(lines: number): Scenario {
  return {
    name: `per-entry clean of ${lines} lines, one dsb`,
    lines,
    steps: [
      { op: 'cpu_write', lines: { from: 0, to: lines - 1 } },
      ...Array.from({ length: lines }, (_, line) => ({ op: 'clean' as const, lines: [line] })),
      { op: 'dsb' },
      { op: 'device_read', lines: { from: 0, to: lines - 1 } },
    ],
    expect: 'coherent',
  };
}

export interface ModelBenchEntry {
  name: string;
  lines: number;
  /** Median wall time of checkScenario over the runs, in milliseconds. */
  ms: number;
  statesExplored: number;
  verdict: string;
}

/** The median of the runs (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function benchModel(runs = 7): ModelBenchEntry[] {
  const scenarios = [batchedCleanScenario(10_000), batchedCleanScenario(100_000), perEntryCleanScenario(10_000)];
  return scenarios.map((scenario) => {
    checkScenario(scenario); // warm-up (JIT)
    const times: number[] = [];
    let result = checkScenario(scenario);
    for (let run = 0; run < runs; run++) {
      const start = performance.now();
      result = checkScenario(scenario);
      times.push(performance.now() - start);
    }
    return { name: scenario.name, lines: scenario.lines, ms: Number(median(times).toFixed(2)), statesExplored: result.statesExplored, verdict: result.verdict };
  });
}
