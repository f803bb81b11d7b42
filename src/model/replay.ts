// Replay code paths found by the static analysis on the arm64 cache model.
//
// A path is the list of steps from a sync to the point where the buffer
// changes hands (or to the flush that completes it). Steps carrying an `op`
// (clean, invalidate, dsb, cpu_read, ...) become litmus steps; iterator/loop
// steps decide which cache line an op touches, so a scatter-gather loop
// unrolled N times syncs N distinct lines. The path is then embedded in the
// hand-off it belongs to (to-device, from-device or both) and checked.
import type { ModelVerdict, PathStep } from '../types.js';
import { digest, type EntryStore } from '../cache/store.js';
import { open, schemaCheck, str } from '../cache/schema-check.js';
import { checkScenario } from './check.js';
import { embedHandoff, type HandoffKind, type LitmusStep, type Scenario } from './scenario.js';

const ENTRY = /: next entry$/;
const DONE = /: done$/;
const MAINTENANCE = new Set(['clean', 'invalidate', 'clean_invalidate']);
const MAX_UNROLL = 64;
/**
 * Wall-clock budget for all replays of one run (FLUSHCHECK_REPLAY_BUDGET_MS).
 * A kernel tree needs well under a second; a generated function with hundreds
 * of syncs on one path needed minutes. Findings left when it runs out keep
 * their static verdict with model verdict `unknown`.
 */
const REPLAY_BUDGET_MS = Number(process.env.FLUSHCHECK_REPLAY_BUDGET_MS ?? 20_000);

export interface ReplayResult extends ModelVerdict {
  scenario?: Scenario;
}

/**
 * Build the litmus steps of a path. `unroll` replaces the path's first loop
 * iteration by that many iterations (0 = the loop body never runs).
 */
export function pathSteps(path: PathStep[], unroll?: number): { steps: LitmusStep[]; lines: number } {
  let events = path;
  if (unroll !== undefined) {
    const start = path.findIndex((s) => ENTRY.test(s.event));
    const end = start >= 0 ? path.findIndex((s, i) => i > start && (DONE.test(s.event) || ENTRY.test(s.event))) : -1;
    if (start >= 0) {
      const stop = end >= 0 ? end : path.length;
      const body = path.slice(start, stop);
      const rest = end >= 0 ? path.slice(end).filter((s, i) => i > 0 || DONE.test(s.event)) : [];
      events = [...path.slice(0, start), ...Array.from({ length: Math.min(unroll, MAX_UNROLL) }, () => body).flat(), ...rest];
    }
  }
  // Each loop entry works on its own line; ops outside any loop touch them all.
  let iteration = -1;
  let iterations = 0;
  const raw: { op: LitmusStep['op']; line: number; note: string }[] = [];
  for (const s of events) {
    if (ENTRY.test(s.event)) iteration = iterations++;
    else if (DONE.test(s.event)) iteration = -1;
    if (s.op) raw.push({ op: s.op, line: iteration, note: `${s.file}:${s.line} ${s.event}` });
  }
  const lines = Math.max(1, iterations);
  const steps: LitmusStep[] = raw.map((r) =>
    r.op === 'dsb' || r.line < 0 ? { op: r.op, note: r.note } : { op: r.op, lines: [r.line], note: r.note },
  );
  return { steps, lines };
}

/** Which hand-off a path belongs to, from the maintenance it issues. */
export function handoffKind(steps: LitmusStep[]): HandoffKind | null {
  const ops = new Set(steps.map((s) => s.op));
  const cleans = ops.has('clean');
  const invalidates = ops.has('invalidate') || ops.has('clean_invalidate');
  if (cleans && invalidates) return 'bidirectional';
  if (cleans) return 'to-device';
  if (invalidates) return 'from-device';
  return null;
}

/** Replay one path in its hand-off; `unknown` when it issues no modelled maintenance. */
export function replayPath(path: PathStep[], unroll?: number): ReplayResult {
  const { steps, lines } = pathSteps(path, unroll);
  if (!steps.some((s) => MAINTENANCE.has(s.op))) return { verdict: 'unknown', witness: [], reason: 'the path issues no maintenance the model knows' };
  const kind = handoffKind(steps)!;
  // A CPU access inside the path is itself the point where the CPU reads.
  const scenario = embedHandoff(kind, steps, lines);
  scenario.name = `${kind} replay`;
  const r = checkScenario(scenario);
  return {
    verdict: r.verdict,
    witness: r.witness,
    reason:
      r.verdict === 'incoherent'
        ? `a ${kind} hand-off after this path can read stale data (${r.witness.length}-step witness)`
        : `every execution of the ${kind} hand-off after this path reads the latest data`,
    scenario,
  };
}

/**
 * A finding on an error path that leaves only cleans pending: the map
 * failed, the caller never starts the DMA, so nothing reads the buffer and no
 * hand-off follows the path. (A pending invalidate on an error path still
 * hands the buffer to the CPU, which may read it.)
 */
export function replayErrorPath(path: PathStep[]): ReplayResult | null {
  const { steps, lines } = pathSteps(path);
  if (handoffKind(steps) !== 'to-device') return null;
  const scenario: Scenario = { name: 'error-path replay (no hand-off)', lines, steps: [{ op: 'cpu_write', note: 'CPU fills the buffer' }, ...steps] };
  const r = checkScenario(scenario);
  return {
    verdict: r.verdict,
    witness: r.witness,
    reason: r.verdict === 'coherent' ? 'error path: the mapping failed, the device never reads the buffer, so the pending clean cannot be observed' : 'stale read even without a hand-off',
    scenario,
  };
}

/**
 * Replay a path with its loop unrolled zero, one, two and N times: the
 * verdict is incoherent if any unrolling is.
 */
export function replayUnrolled(path: PathStep[], n = 8): { result: ReplayResult; replays: number } {
  const hasLoop = path.some((s) => ENTRY.test(s.event));
  const counts = hasLoop ? [0, 1, 2, n] : [undefined];
  let worst: ReplayResult = { verdict: 'unknown', witness: [] };
  let replays = 0;
  for (const c of counts) {
    const r = replayPath(path, c);
    if (r.verdict === 'unknown') continue;
    replays++;
    if (r.verdict === 'incoherent' || worst.verdict === 'unknown') worst = r;
    if (r.verdict === 'incoherent') break;
  }
  return { result: worst, replays };
}

/**
 * Replays already made in this process, by path: a review analyses the tree
 * again after each patch, and replays the same findings each time (its
 * unchanged ones), each a search of the model's executions. A path's replay
 * depends on nothing else.
 */
const replayed = new Map<string, { result: ReplayResult; replays: number } | null>();
const MAX_REMEMBERED_REPLAYS = 10_000;

/**
 * Where replays are kept between runs (the analysis cache), by a digest of
 * what was replayed: a warm `diff` replays the same ~50 paths on every commit.
 * Only verdicts nothing else is made from are kept (coherent, unknown, and an
 * error path with no hand-off); an incoherent one is replayed again, since its
 * scenario gives the finding's timeline.
 */
export type ReplayMemo = EntryStore<StoredReplay>;

/** A replay as kept: `result` null when an error path has no hand-off to replay. */
export interface StoredReplay {
  result: (ModelVerdict & { verdict: 'coherent' | 'unknown' }) | null;
  replays: number;
}

// The JSON Schema of StoredReplay, beside it (precompiled by the build, as the other cache entries' are).
const keptVerdict = open({ verdict: { enum: ['coherent', 'unknown'] }, witness: { type: 'array' } }, { reason: str });
export const storedReplaySchema = open({ result: { anyOf: [{ type: 'null' }, keptVerdict] }, replays: { type: 'integer', minimum: 0 } });

/** Whether a value read back from a ReplayMemo is a StoredReplay. */
export const isStoredReplay = schemaCheck<StoredReplay>(storedReplaySchema);

function remembered<T extends { result: ReplayResult; replays: number } | null>(kind: string, path: PathStep[], replay: () => T, memo: ReplayMemo | undefined): T {
  const key = `${kind}\0${JSON.stringify(path)}`;
  let known = replayed.get(key);
  if (known === undefined) {
    if (replayed.size >= MAX_REMEMBERED_REPLAYS) replayed.clear();
    const memoKey = memo && digest(key);
    const stored = memoKey ? memo!.get(memoKey) : undefined;
    if (stored) known = stored.result && { result: stored.result, replays: stored.replays };
    else {
      known = replay();
      if (memoKey && known?.result.verdict !== 'incoherent') {
        const kept: StoredReplay = known ? { result: { verdict: known.result.verdict as 'coherent' | 'unknown', witness: known.result.witness, ...(known.result.reason !== undefined ? { reason: known.result.reason } : {}) }, replays: known.replays } : { result: null, replays: 0 };
        memo!.put(memoKey, kept);
      }
    }
    replayed.set(key, known);
  }
  // The caller keeps the witness in a finding: its own copy.
  return (known && { result: { ...known.result, witness: [...known.result.witness] }, replays: known.replays }) as T;
}

function errorPathReplay(path: PathStep[]): { result: ReplayResult; replays: number } | null {
  const result = replayErrorPath(path);
  return result && { result, replays: 1 };
}

export interface ReplaySummary {
  pathsReplayed: number;
  coherent: number;
  incoherent: number;
}

/**
 * Attach a model verdict to every static finding and replay the flushed
 * sync paths too. A finding the model proves harmless becomes a note.
 */
export function replayFindings<F extends { severity: string; kind: string; message: string; path: PathStep[]; failedPath?: boolean; model?: import('../types.js').ModelVerdict }>(
  findings: F[],
  flushedPaths: PathStep[][],
  timeline: (r: ReplayResult) => string | undefined,
  memo?: ReplayMemo,
): ReplaySummary {
  const summary: ReplaySummary = { pathsReplayed: 0, coherent: 0, incoherent: 0 };
  const count = (r: ReplayResult, n: number) => {
    summary.pathsReplayed += n;
    if (r.verdict === 'coherent') summary.coherent += n;
    if (r.verdict === 'incoherent') summary.incoherent += n;
  };
  const deadline = performance.now() + REPLAY_BUDGET_MS;
  const outOfTime = () => performance.now() > deadline;
  for (const f of findings) {
    if (f.severity === 'note') continue;
    if (outOfTime()) {
      f.model = { verdict: 'unknown', witness: [], reason: 'not replayed: the cache-model time budget of this run ran out' };
      continue;
    }
    const onErrorPath = f.failedPath && f.kind === 'unflushed-return' ? remembered('error', f.path, () => errorPathReplay(f.path), memo) : null;
    const { result, replays } = onErrorPath ?? remembered('unrolled', f.path, () => replayUnrolled(f.path), memo);
    count(result, replays);
    f.model = { verdict: result.verdict, witness: result.witness, reason: result.reason, timeline: timeline(result) };
    if (result.verdict === 'coherent') {
      f.severity = 'note';
      f.kind = 'model-coherent';
      f.message = `${f.message}; the cache model shows it is harmless: ${result.reason}`;
    }
  }
  for (const p of flushedPaths) {
    if (outOfTime()) break;
    const { result, replays } = remembered('unrolled', p, () => replayUnrolled(p), memo);
    if (result.verdict !== 'unknown') count(result, replays);
  }
  return summary;
}
