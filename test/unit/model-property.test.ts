// The fast per-line model must agree with the whole-system brute-force
// explorer — the model's definition taken literally — on random small scenarios.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { StateBudgetExceeded } from '../../src/model/brute-force.js';
import { decodeLineProgram, lineSignatures } from '../../src/model/check.js';
import {
  LITMUS_OPS,
  bruteForce,
  bruteForceStaleReadSites,
  checkScenario,
  lineProgram,
  staleReadSites,
  type LitmusStep,
  type Scenario,
} from '../../src/model/index.js';

const stepArbitrary = (lineCount: number): fc.Arbitrary<LitmusStep> =>
  fc.constantFrom(...LITMUS_OPS).chain((op): fc.Arbitrary<LitmusStep> => {
    if (op === 'dsb') return fc.constant({ op });
    return fc.oneof(
      fc.constant({ op }),
      fc.uniqueArray(fc.integer({ min: 0, max: lineCount - 1 }), { minLength: 1, maxLength: lineCount }).map((lines) => ({ op, lines })),
      fc
        .tuple(fc.integer({ min: 0, max: lineCount - 1 }), fc.integer({ min: 0, max: lineCount - 1 }))
        .map(([a, b]) => ({ op, lines: { from: Math.min(a, b), to: Math.max(a, b) } })),
    );
  });

// Up to 3 lines and 8 steps. Half the scenarios end in a read of every line,
// so that most of them can go wrong somewhere (uniformly random steps rarely
// read after writing, and coherent-by-absence scenarios test little).
const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.integer({ min: 1, max: 3 }).chain((lines) =>
  fc
    .tuple(fc.array(stepArbitrary(lines), { minLength: 1, maxLength: 7 }), fc.constantFrom<LitmusStep[]>([], [{ op: 'cpu_read' }], [{ op: 'device_read' }]))
    .map(([steps, finalRead]) => ({ name: 'random', lines, steps: [...steps, ...finalRead] })),
);

/** The per-line program of `line` as a one-line scenario (what the fast model explores for it). */
function projection(s: Scenario, line: number): Scenario {
  const { ops } = lineProgram(s, line);
  return { name: `${s.name}@${line}`, lines: 1, steps: ops.map((op) => (op === 'dsb' ? { op } : { op, lines: [0] })) };
}

/**
 * A few scenarios (3 lines, each with several ops pending at once) have joint
 * state spaces past half a million states — seconds each. They are skipped so
 * the suite stays fast; the test checks that they stay rare.
 */
const BRUTE_FORCE_BUDGET = 100_000;

describe('per-line model vs whole-system brute force', () => {
  test('same verdict, same stale reads, shortest witnesses', () => {
    let checked = 0;
    let skipped = 0;
    fc.assert(
      fc.property(scenarioArbitrary, (s) => {
        const fast = checkScenario(s);
        // Exhaustively: the same (step, line) pairs can read stale data.
        let bruteSites: { step: number; line: number }[];
        try {
          bruteSites = bruteForceStaleReadSites(s, BRUTE_FORCE_BUDGET);
        } catch (error) {
          if (!(error instanceof StateBudgetExceeded)) throw error;
          skipped++;
          fc.pre(false);
          return;
        }
        checked++;
        expect(staleReadSites(s)).toEqual(bruteSites);
        expect(fast.verdict).toBe(bruteSites.length > 0 ? 'incoherent' : 'coherent');

        // The bulk signatures and the single-line projection are the same program.
        const signatures = lineSignatures(s);
        for (let line = 0; line < s.lines; line++) expect(decodeLineProgram(signatures[line])).toEqual(lineProgram(s, line).ops);

        if (fast.verdict === 'coherent') {
          expect(fast.witness).toEqual([]);
          return;
        }
        const line = fast.witness[0].line;
        expect(fast.witness.every((event) => event.line === line)).toBe(true);
        // Program events are the line's program, in order, up to the stale read.
        const programSteps = fast.witness.filter((event) => event.step !== undefined).map((event) => event.step);
        expect(programSteps).toEqual(lineProgram(s, line).steps.slice(0, programSteps.length));
        const last = fast.witness[fast.witness.length - 1];
        expect(['cpu_read', 'device_read']).toContain(s.steps[last.step!].op);
        expect(last.event).toContain('STALE');
        // Shortest: brute force on that line's program alone finds nothing shorter,
        // and no whole-system execution is shorter either.
        expect(fast.witness.length).toBe(bruteForce(projection(s, line)).witness.length);
        const brute = bruteForce(s);
        expect(brute.verdict).toBe('incoherent');
        expect(fast.witness.length).toBeLessThanOrEqual(brute.witness.length);
      }),
      { numRuns: 300 },
    );
    expect(checked).toBeGreaterThanOrEqual(300);
    expect(skipped).toBeLessThan(checked / 20);
  }, 60_000);
});
