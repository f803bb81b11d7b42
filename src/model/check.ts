// The fast model: decide a scenario line by line, exploring each distinct
// per-line program once.
//
// Why deciding per line is exact
// ------------------------------
// Every op and every background event acts on one line's state only (a step on
// many lines acts on each independently, and a batched clean is one DC per
// line), except dsb, which is global but only as a guard: it may proceed once
// every line's pending maintenance has taken effect. So:
//  * An execution of the whole system, restricted to the events of one line,
//    is an execution of that line's own program (the steps touching it, plus
//    the dsbs): each event's effect and guard on that line is the same.
//  * Conversely, one execution per line can be merged into a whole-system
//    execution: between two program steps, run line 0's background events,
//    then line 1's, ... (they touch disjoint state, so their order does not
//    matter). At a dsb every line has emptied its pending set in its own
//    execution, so the global guard holds.
//  * A stale read is a property of one line (the read's value vs. that line's
//    latest write). Hence the system can read stale data iff some line's
//    program can, and at exactly the same steps.
// A dsb is also a no-op for a line with nothing issued since its previous dsb
// (nothing can be pending, so the guard holds and no state changes), so those
// dsbs are left out of the line's program. That keeps a line's program small
// and makes lines with the same op sequence share one signature — e.g. all
// 10,000 lines of a batched sg clean have the program "w c D R", explored once.
//
// The brute-force explorer (brute-force.ts) checks all of this on random
// scenarios in test/unit/model-property.test.ts.
import { exploreLine, type LineExploration } from './line-explorer.js';
import {
  LITMUS_OPS,
  forEachStepLine,
  isMaintenanceOp,
  stepTouchesLine,
  type LitmusOp,
  type ModelResult,
  type Scenario,
  type WitnessEvent,
} from './scenario.js';

/** One character per op, so a line's program is a short string usable as a map key. */
const OP_CODE: Record<LitmusOp, string> = {
  cpu_write: 'w',
  cpu_read: 'r',
  device_write: 'W',
  device_read: 'R',
  clean: 'c',
  invalidate: 'i',
  clean_invalidate: 'x',
  dsb: 'D',
};
const OP_BY_CODE = new Map<string, LitmusOp>(LITMUS_OPS.map((op) => [OP_CODE[op], op]));

export function decodeLineProgram(signature: string): LitmusOp[] {
  return [...signature].map((code) => OP_BY_CODE.get(code)!);
}

/**
 * The program of every line at once, as signatures (see OP_CODE). Work is
 * proportional to the number of (step, line) pairs, plus one per line per
 * dsb that matters to it — not lines × steps.
 */
export function lineSignatures(s: Scenario): string[] {
  const signatures = new Array<string>(s.lines).fill('');
  // Lines with maintenance issued since their last dsb: the next dsb matters to them.
  const awaitingDsb: number[] = [];
  const isAwaiting = new Uint8Array(s.lines);
  for (const step of s.steps) {
    if (step.op === 'dsb') {
      for (const line of awaitingDsb) {
        signatures[line] += OP_CODE.dsb;
        isAwaiting[line] = 0;
      }
      awaitingDsb.length = 0;
      continue;
    }
    const code = OP_CODE[step.op];
    const maintenance = isMaintenanceOp(step.op);
    forEachStepLine(step, s.lines, (line) => {
      signatures[line] += code;
      if (maintenance && !isAwaiting[line]) {
        isAwaiting[line] = 1;
        awaitingDsb.push(line);
      }
    });
  }
  return signatures;
}

/** One line's program with the scenario step index of each of its ops (same rules as lineSignatures). */
export function lineProgram(s: Scenario, line: number): { ops: LitmusOp[]; steps: number[] } {
  const ops: LitmusOp[] = [];
  const steps: number[] = [];
  let awaitingDsb = false;
  s.steps.forEach((step, index) => {
    if (step.op === 'dsb') {
      if (!awaitingDsb) return;
      awaitingDsb = false;
    } else if (!stepTouchesLine(step, line)) {
      return;
    } else if (isMaintenanceOp(step.op)) {
      awaitingDsb = true;
    }
    ops.push(step.op);
    steps.push(index);
  });
  return { ops, steps };
}

interface LineGroup {
  signature: string;
  /** Lowest line with this program; its step indices label the witness. */
  firstLine: number;
}

function groupLines(s: Scenario): LineGroup[] {
  const groups = new Map<string, LineGroup>();
  lineSignatures(s).forEach((signature, line) => {
    if (!groups.has(signature)) groups.set(signature, { signature, firstLine: line });
  });
  return [...groups.values()];
}

function toWitness(s: Scenario, line: number, exploration: LineExploration): WitnessEvent[] {
  const { steps } = lineProgram(s, line);
  return exploration.witness.map(({ position, ...rest }) =>
    position === undefined ? { actor: rest.actor, line, event: rest.event, state: rest.state } : { step: steps[position], actor: rest.actor, line, event: rest.event, state: rest.state },
  );
}

/**
 * Decides whether every execution of the scenario reads only up-to-date data.
 * If not, the witness is a shortest stale-reading execution of one line (the
 * lowest-numbered line among those with the shortest one): its program steps
 * interleaved with the background events that make it go wrong.
 */
export function checkScenario(s: Scenario): ModelResult {
  let statesExplored = 0;
  let best: { line: number; exploration: LineExploration } | undefined;
  for (const group of groupLines(s)) {
    const exploration = exploreLine(decodeLineProgram(group.signature), true);
    statesExplored += exploration.statesExplored;
    if (exploration.witness.length === 0) continue;
    const shorter = !best || exploration.witness.length < best.exploration.witness.length;
    const tieOnLowerLine = best && exploration.witness.length === best.exploration.witness.length && group.firstLine < best.line;
    if (shorter || tieOnLowerLine) best = { line: group.firstLine, exploration };
  }
  const verdict = best ? 'incoherent' : 'coherent';
  const result: ModelResult = {
    name: s.name,
    verdict,
    witness: best ? toWitness(s, best.line, best.exploration) : [],
    statesExplored,
    agrees: s.expect === undefined || s.expect === verdict,
  };
  if (s.expect !== undefined) result.expect = s.expect;
  return result;
}

/**
 * Every (step, line) at which some execution reads stale data, sorted by step
 * then line. Exhaustive (no early stop); used to compare with the brute-force
 * explorer, which must find exactly the same set.
 */
export function staleReadSites(s: Scenario): { step: number; line: number }[] {
  const sites: { step: number; line: number }[] = [];
  const bySignature = new Map<string, number[]>();
  lineSignatures(s).forEach((signature, line) => {
    let stalePositions = bySignature.get(signature);
    if (!stalePositions) {
      stalePositions = exploreLine(decodeLineProgram(signature), false).staleReads;
      bySignature.set(signature, stalePositions);
    }
    if (stalePositions.length === 0) return;
    const { steps } = lineProgram(s, line);
    for (const position of stalePositions) sites.push({ step: steps[position], line });
  });
  return sites.sort((a, b) => a.step - b.step || a.line - b.line);
}
