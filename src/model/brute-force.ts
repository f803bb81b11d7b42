// Whole-system explorer: all lines jointly, every interleaving of program
// steps and background events. Exponential in the number of lines — it exists
// so tests can check the per-line model (check.ts) against the model's
// definition taken literally: one global state, dsb waiting for every pending
// op on every line, every dsb kept. Written independently of line-explorer.ts
// on purpose; it shares only the scenario types.
//
// A system state is a flat array of small integers (the joint state space runs
// to hundreds of thousands of states on 3 lines, so objects were too slow):
//   [pc, then for each line: cache, cacheVersion, memoryVersion, latest,
//    pending clean, pending invalidate, pending clean_invalidate]
import {
  forEachStepLine,
  type MaintenanceOp,
  type ModelResult,
  type Scenario,
  type WitnessEvent,
  type WitnessState,
} from './scenario.js';

const INVALID = 0;
const CLEAN = 1;
const DIRTY = 2;
const CACHE_NAMES = ['invalid', 'clean', 'dirty'] as const;

const CACHE = 0;
const CACHE_VERSION = 1;
const MEMORY_VERSION = 2;
/** Version of the most recent write (CPU or device) to the line so far. */
const LATEST = 3;
const PENDING = 4;
const PENDING_OPS: readonly MaintenanceOp[] = ['clean', 'invalidate', 'clean_invalidate'];
const FIELDS_PER_LINE = PENDING + PENDING_OPS.length;

type SystemState = number[];

const base = (line: number) => 1 + line * FIELDS_PER_LINE;
/** States are stored as their keys (one char per field) to keep millions of them affordable. */
const encode = (s: SystemState): string => String.fromCharCode(...s);
const decode = (key: string): SystemState => Array.from(key, (char) => char.charCodeAt(0));

function pendingTotal(s: SystemState, lines: number): number {
  let total = 0;
  for (let line = 0; line < lines; line++) for (let op = 0; op < PENDING_OPS.length; op++) total += s[base(line) + PENDING + op];
  return total;
}

function cellState(s: SystemState, line: number): WitnessState {
  const at = base(line);
  const cache = CACHE_NAMES[s[at + CACHE]];
  const state: WitnessState = cache === 'invalid' ? { cache, memoryVersion: s[at + MEMORY_VERSION] } : { cache, cacheVersion: s[at + CACHE_VERSION], memoryVersion: s[at + MEMORY_VERSION] };
  const pending: MaintenanceOp[] = [];
  PENDING_OPS.forEach((op, index) => {
    for (let n = 0; n < s[at + PENDING + index]; n++) pending.push(op);
  });
  if (pending.length > 0) state.pending = pending;
  return state;
}

/** A move of the system. Labels are only built for witnesses, hence the thunk. */
interface Transition {
  next: SystemState;
  /** Lines whose read in this step returned stale data (program reads only). */
  staleLines: number[];
  /** Program step index, when the transition is a program step. */
  step?: number;
  describe: () => Omit<WitnessEvent, 'state' | 'step'>;
}

const NO_STALE: number[] = [];

function transitions(scenario: Scenario, s: SystemState): Transition[] {
  const out: Transition[] = [];

  for (let line = 0; line < scenario.lines; line++) {
    const at = base(line);
    // Background: the cache may fill, drop or write back this line at any moment.
    const next = s.slice();
    if (s[at + CACHE] === INVALID) {
      next[at + CACHE] = CLEAN;
      next[at + CACHE_VERSION] = s[at + MEMORY_VERSION];
      out.push({ next, staleLines: NO_STALE, describe: () => ({ actor: 'cache', line, event: `fill v${s[at + MEMORY_VERSION]}` }) });
    } else if (s[at + CACHE] === CLEAN) {
      next[at + CACHE] = INVALID;
      next[at + CACHE_VERSION] = 0;
      out.push({ next, staleLines: NO_STALE, describe: () => ({ actor: 'cache', line, event: 'drop' }) });
    } else {
      next[at + CACHE] = CLEAN;
      next[at + MEMORY_VERSION] = s[at + CACHE_VERSION];
      out.push({ next, staleLines: NO_STALE, describe: () => ({ actor: 'memory', line, event: `write-back v${s[at + CACHE_VERSION]}` }) });
    }
    // Background: any one issued maintenance op on this line takes effect.
    PENDING_OPS.forEach((op, index) => {
      if (s[at + PENDING + index] === 0) return;
      const fired = s.slice();
      fired[at + PENDING + index]--;
      if ((op === 'clean' || op === 'clean_invalidate') && fired[at + CACHE] === DIRTY) {
        fired[at + MEMORY_VERSION] = fired[at + CACHE_VERSION];
        fired[at + CACHE] = CLEAN;
      }
      if (op === 'invalidate' || op === 'clean_invalidate') {
        fired[at + CACHE] = INVALID;
        fired[at + CACHE_VERSION] = 0;
      }
      out.push({ next: fired, staleLines: NO_STALE, describe: () => ({ actor: 'cache', line, event: `${op} takes effect` }) });
    });
  }

  const pc = s[0];
  if (pc >= scenario.steps.length) return out;
  const step = scenario.steps[pc];
  if (step.op === 'dsb') {
    // The barrier: it completes once every issued op, on every line, has taken effect.
    if (pendingTotal(s, scenario.lines) === 0) {
      const next = s.slice();
      next[0]++;
      out.push({ next, step: pc, staleLines: NO_STALE, describe: () => ({ actor: 'cpu', line: 0, event: 'dsb' }) });
    }
    return out;
  }
  const next = s.slice();
  next[0]++;
  const staleLines: number[] = [];
  let firstLine = -1;
  forEachStepLine(step, scenario.lines, (line) => {
    if (firstLine < 0) firstLine = line;
    const at = base(line);
    switch (step.op) {
      case 'cpu_write':
        next[at + LATEST]++;
        next[at + CACHE] = DIRTY;
        next[at + CACHE_VERSION] = next[at + LATEST];
        break;
      case 'device_write':
        next[at + LATEST]++;
        next[at + MEMORY_VERSION] = next[at + LATEST];
        break;
      case 'cpu_read':
        if (next[at + CACHE] === INVALID) {
          next[at + CACHE] = CLEAN;
          next[at + CACHE_VERSION] = next[at + MEMORY_VERSION];
        }
        if (next[at + CACHE_VERSION] !== next[at + LATEST]) staleLines.push(line);
        break;
      case 'device_read':
        if (next[at + MEMORY_VERSION] !== next[at + LATEST]) staleLines.push(line);
        break;
      default:
        next[at + PENDING + PENDING_OPS.indexOf(step.op as MaintenanceOp)]++;
    }
  });
  const actor = step.op === 'device_read' || step.op === 'device_write' ? 'device' : 'cpu';
  const line = staleLines.length > 0 ? staleLines[0] : Math.max(firstLine, 0);
  out.push({ next, step: pc, staleLines, describe: () => ({ actor, line, event: step.op }) });
  return out;
}

/** Thrown when an exploration would exceed the caller's state budget. */
export class StateBudgetExceeded extends Error {
  constructor(readonly budget: number) {
    super(`brute force: more than ${budget} states`);
  }
}

interface Exploration {
  witness: WitnessEvent[];
  sites: { step: number; line: number }[];
  statesExplored: number;
}

function explore(scenario: Scenario, stopAtFirstStale: boolean, maxStates: number): Exploration {
  const initial = encode(new Array<number>(1 + scenario.lines * FIELDS_PER_LINE).fill(0));
  const states: string[] = [initial];
  const parent: number[] = [-1];
  /** Index, among its parent's transitions, of the move that first reached each state. */
  const via: number[] = [-1];
  const seen = new Set<string>([initial]);
  const sites = new Map<string, { step: number; line: number }>();

  const eventOf = (t: Transition): WitnessEvent => {
    const described = t.describe();
    const event: WitnessEvent = { ...described, state: cellState(t.next, described.line) };
    return t.step === undefined ? event : { step: t.step, ...event };
  };
  const pathTo = (index: number): WitnessEvent[] => {
    const events: WitnessEvent[] = [];
    for (let i = index; parent[i] !== -1; i = parent[i]) events.push(eventOf(transitions(scenario, decode(states[parent[i]]))[via[i]]));
    return events.reverse();
  };

  for (let head = 0; head < states.length; head++) {
    const moves = transitions(scenario, decode(states[head]));
    for (let index = 0; index < moves.length; index++) {
      const t = moves[index];
      for (const line of t.staleLines) sites.set(`${t.step}:${line}`, { step: t.step!, line });
      if (t.staleLines.length > 0 && stopAtFirstStale) {
        return { witness: [...pathTo(head), eventOf(t)], sites: [...sites.values()], statesExplored: states.length };
      }
      const key = encode(t.next);
      if (seen.has(key)) continue;
      seen.add(key);
      if (states.length >= maxStates) throw new StateBudgetExceeded(maxStates);
      states.push(key);
      parent.push(head);
      via.push(index);
    }
  }
  return { witness: [], sites: [...sites.values()].sort((a, b) => a.step - b.step || a.line - b.line), statesExplored: states.length };
}

/**
 * Verdict by exploring the whole system. The witness is a shortest joint
 * execution: one event per transition, including steps and background events
 * of lines other than the one that goes stale. Tests only: exponential in
 * lines; throws StateBudgetExceeded past `maxStates`.
 */
export function bruteForce(s: Scenario, maxStates = Infinity): ModelResult {
  const { witness, statesExplored } = explore(s, true, maxStates);
  const verdict = witness.length > 0 ? 'incoherent' : 'coherent';
  const result: ModelResult = { name: s.name, verdict, witness, statesExplored, agrees: s.expect === undefined || s.expect === verdict };
  if (s.expect !== undefined) result.expect = s.expect;
  return result;
}

/** Every (step, line) at which some whole-system execution reads stale data, sorted by step then line. */
export function bruteForceStaleReadSites(s: Scenario, maxStates = Infinity): { step: number; line: number }[] {
  return explore(s, false, maxStates).sites;
}
