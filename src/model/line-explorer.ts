// The cache model for ONE cache line: its state machine and a breadth-first
// explorer over every execution of a small per-line program.
//
// State of the line:
//   cache         invalid | clean(v) | dirty(v)
//   memory        the version at the Point of Coherency
//   pending       how many clean / invalidate / clean_invalidate ops were
//                 issued on the line and have not taken effect yet
//   position      how far the program has got
// The latest-written version is not stored: it is a function of the position
// (the number of writes before it), so it would only duplicate states.
//
// Moves from a state:
//   program step  the op at `position` (dsb only once nothing is pending:
//                 "complete after a later DSB" = the DSB waits for them)
//   background    speculative fill (invalid -> clean, from memory), drop a
//                 clean line, write a dirty line back, or one pending op takes
//                 effect. These may happen at any moment and any number of
//                 times, which is why the verdict quantifies over all of them.
//
// Pending ops are a multiset (counts), not a set: two invalidates issued at
// different times may take effect at different times, and each can discard
// dirty data that was written in between. Which copy fires is immaterial: once
// both are issued they are interchangeable.
import { isMaintenanceOp, type LitmusOp, type MaintenanceOp, type WitnessEvent, type WitnessState } from './scenario.js';

const enum Cache {
  Invalid = 0,
  Clean = 1,
  Dirty = 2,
}

const MAINTENANCE: readonly MaintenanceOp[] = ['clean', 'invalidate', 'clean_invalidate'];

interface LineState {
  position: number;
  cache: Cache;
  /** Version in the cache line; meaningless (kept 0) when invalid. */
  cacheVersion: number;
  memoryVersion: number;
  /** Pending counts indexed like MAINTENANCE. */
  pending: readonly [number, number, number];
}

/** A witness event before it is tied to a scenario line and step index. */
export interface LineEvent extends Omit<WitnessEvent, 'line' | 'step'> {
  /** Position in the per-line program, for program events. */
  position?: number;
}

export interface LineExploration {
  /** Positions of reads that return stale data in at least one execution (ascending). */
  staleReads: number[];
  /** A shortest execution ending in a stale read; empty when none exists. */
  witness: LineEvent[];
  statesExplored: number;
}

interface Move {
  next: LineState;
  event: LineEvent;
  /** Set on a read step that returned something other than the latest write. */
  stale: boolean;
}

function stateKey(s: LineState): string {
  return `${s.position},${s.cache},${s.cache === Cache.Invalid ? 0 : s.cacheVersion},${s.memoryVersion},${s.pending[0]},${s.pending[1]},${s.pending[2]}`;
}

function witnessState(s: LineState): WitnessState {
  const state: WitnessState =
    s.cache === Cache.Invalid
      ? { cache: 'invalid', memoryVersion: s.memoryVersion }
      : { cache: s.cache === Cache.Clean ? 'clean' : 'dirty', cacheVersion: s.cacheVersion, memoryVersion: s.memoryVersion };
  const pending: MaintenanceOp[] = [];
  MAINTENANCE.forEach((op, i) => {
    for (let n = 0; n < s.pending[i]; n++) pending.push(op);
  });
  if (pending.length > 0) state.pending = pending;
  return state;
}

function withPending(p: LineState['pending'], index: number, delta: number): LineState['pending'] {
  const next: [number, number, number] = [p[0], p[1], p[2]];
  next[index] += delta;
  return next;
}

/**
 * Explores a per-line program. `program` lists the ops that touch the line, in
 * program order (dsb included where it can matter). With `stopAtFirstStale`
 * the search ends at the first stale read found, which — being breadth-first
 * over single moves — ends a shortest such execution.
 */
export function exploreLine(program: readonly LitmusOp[], stopAtFirstStale: boolean): LineExploration {
  // latestBefore[p]: the version a read at p must return. Versions count the
  // writes (CPU or device) to this line: 0 is the initial memory contents.
  const latestBefore: number[] = [];
  let written = 0;
  for (const op of program) {
    latestBefore.push(written);
    if (op === 'cpu_write' || op === 'device_write') written++;
  }

  const moves = (s: LineState): Move[] => {
    const result: Move[] = [];
    const background = (next: LineState, actor: LineEvent['actor'], event: string) =>
      result.push({ next, stale: false, event: { actor, event, state: witnessState(next) } });

    // Background events.
    if (s.cache === Cache.Invalid) {
      background({ ...s, cache: Cache.Clean, cacheVersion: s.memoryVersion }, 'cache', `speculative fill of v${s.memoryVersion}`);
    } else if (s.cache === Cache.Clean) {
      background({ ...s, cache: Cache.Invalid, cacheVersion: 0 }, 'cache', `drops clean v${s.cacheVersion}`);
    } else {
      background({ ...s, cache: Cache.Clean, memoryVersion: s.cacheVersion }, 'memory', `write-back of dirty v${s.cacheVersion}`);
    }
    MAINTENANCE.forEach((op, index) => {
      if (s.pending[index] === 0) return;
      const pending = withPending(s.pending, index, -1);
      const dirty = s.cache === Cache.Dirty;
      let next: LineState;
      let what: string;
      if (op === 'clean') {
        next = dirty ? { ...s, cache: Cache.Clean, memoryVersion: s.cacheVersion, pending } : { ...s, pending };
        what = dirty ? `writes back v${s.cacheVersion}` : 'nothing dirty to write back';
      } else if (op === 'invalidate') {
        next = { ...s, cache: Cache.Invalid, cacheVersion: 0, pending };
        what =
          s.cache === Cache.Dirty
            ? `discards dirty v${s.cacheVersion} (its data is lost)`
            : s.cache === Cache.Clean
              ? `discards clean v${s.cacheVersion}`
              : 'line already invalid';
      } else {
        next = { ...s, cache: Cache.Invalid, cacheVersion: 0, memoryVersion: dirty ? s.cacheVersion : s.memoryVersion, pending };
        what = dirty ? `writes back v${s.cacheVersion}, then invalidates` : s.cache === Cache.Clean ? `invalidates clean v${s.cacheVersion}` : 'line already invalid';
      }
      background(next, 'cache', `${op} takes effect: ${what}`);
    });

    // The next program step.
    if (s.position >= program.length) return result;
    const op = program[s.position];
    const position = s.position + 1;
    const latest = latestBefore[s.position];
    const step = (next: LineState, actor: LineEvent['actor'], event: string, stale = false) =>
      result.push({ next, stale, event: { position: s.position, actor, event, state: witnessState(next) } });
    const staleNote = (got: number) => (got === latest ? '' : ` — STALE, latest write is v${latest}`);
    switch (op) {
      case 'cpu_write':
        step({ ...s, position, cache: Cache.Dirty, cacheVersion: latest + 1 }, 'cpu', `cpu_write v${latest + 1}`);
        break;
      case 'device_write':
        step({ ...s, position, memoryVersion: latest + 1 }, 'device', `device_write v${latest + 1}`);
        break;
      case 'cpu_read':
        if (s.cache === Cache.Invalid) {
          const got = s.memoryVersion;
          step({ ...s, position, cache: Cache.Clean, cacheVersion: got }, 'cpu', `cpu_read misses, fills from memory: v${got}${staleNote(got)}`, got !== latest);
        } else {
          const got = s.cacheVersion;
          step({ ...s, position }, 'cpu', `cpu_read hits: v${got}${staleNote(got)}`, got !== latest);
        }
        break;
      case 'device_read': {
        const got = s.memoryVersion;
        step({ ...s, position }, 'device', `device_read: v${got}${staleNote(got)}`, got !== latest);
        break;
      }
      case 'dsb':
        if (s.pending[0] + s.pending[1] + s.pending[2] === 0) step({ ...s, position }, 'cpu', 'dsb: all maintenance on the line is complete');
        break;
      default:
        if (isMaintenanceOp(op)) step({ ...s, position, pending: withPending(s.pending, MAINTENANCE.indexOf(op), +1) }, 'cpu', `issue ${op}`);
    }
    return result;
  };

  // Breadth-first search with parent links for witness reconstruction.
  const initial: LineState = { position: 0, cache: Cache.Invalid, cacheVersion: 0, memoryVersion: 0, pending: [0, 0, 0] };
  const states: LineState[] = [initial];
  const parent: number[] = [-1];
  const arrivedBy: (LineEvent | undefined)[] = [undefined];
  const seen = new Set<string>([stateKey(initial)]);
  const staleReads = new Set<number>();

  const pathTo = (index: number): LineEvent[] => {
    const events: LineEvent[] = [];
    for (let i = index; parent[i] !== -1; i = parent[i]) events.push(arrivedBy[i]!);
    return events.reverse();
  };

  for (let head = 0; head < states.length; head++) {
    for (const move of moves(states[head])) {
      if (move.stale) {
        staleReads.add(move.event.position!);
        if (stopAtFirstStale) {
          return { staleReads: [...staleReads], witness: [...pathTo(head), move.event], statesExplored: states.length };
        }
      }
      const key = stateKey(move.next);
      if (seen.has(key)) continue;
      seen.add(key);
      states.push(move.next);
      parent.push(head);
      arrivedBy.push(move.event);
    }
  }
  return { staleReads: [...staleReads].sort((a, b) => a - b), witness: [], statesExplored: states.length };
}
