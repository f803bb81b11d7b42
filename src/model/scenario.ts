// Litmus scenarios: the input format of the cache model, its validation, and
// the hand-off wrapper used by path replay.
import { MODEL_OPS, type ModelOp } from '../types.js';

/** Op names are the shared `ModelOp` contract, so rule mappings can name them directly. */
export type LitmusOp = ModelOp;

export const LITMUS_OPS: readonly LitmusOp[] = MODEL_OPS;

/** The three DC-by-VA maintenance ops: issued by a program step, completed by a later DSB. */
export type MaintenanceOp = 'clean' | 'invalidate' | 'clean_invalidate';

export function isMaintenanceOp(op: LitmusOp): op is MaintenanceOp {
  return op === 'clean' || op === 'invalidate' || op === 'clean_invalidate';
}

/** An inclusive range of line numbers, so a 10,000-line batch need not be spelled out. */
export interface LineRange {
  from: number;
  to: number;
}

export interface LitmusStep {
  op: LitmusOp;
  /**
   * Cache lines the step touches: explicit numbers or an inclusive range.
   * Omitted = every line of the scenario. `dsb` takes none (it is global).
   */
  lines?: number[] | LineRange;
  /** Free text shown in timelines, e.g. the source file:line this step came from. */
  note?: string;
}

export interface Scenario {
  name: string;
  /** Number of cache lines; lines are numbered 0 .. lines-1. */
  lines: number;
  steps: LitmusStep[];
  expect?: 'coherent' | 'incoherent';
  /** Free text for humans (litmus files explain the rule a scenario covers). */
  description?: string;
}

export interface WitnessState {
  cache: 'invalid' | 'clean' | 'dirty';
  /** Data version held by the cache line; absent when the line is invalid. */
  cacheVersion?: number;
  memoryVersion: number;
  /** Maintenance issued on this line that has not taken effect yet (absent when none). */
  pending?: MaintenanceOp[];
}

export interface WitnessEvent {
  /** Index into `steps` for program events; absent for background events. */
  step?: number;
  actor: 'cpu' | 'cache' | 'memory' | 'device';
  line: number;
  event: string;
  /** State of `line` after the event. */
  state: WitnessState;
}

export interface ModelResult {
  name: string;
  verdict: 'coherent' | 'incoherent';
  /** Shortest execution that reads stale data; empty when coherent. */
  witness: WitnessEvent[];
  statesExplored: number;
  expect?: string;
  /** True when there is no `expect` or the verdict equals it. */
  agrees: boolean;
}

/** Upper bound on `lines`, only to turn a typo (1e9) into an error instead of an out-of-memory. */
export const MAX_LINES = 10_000_000;

// ------------------------------------------------------------ line sets ----

/** Calls `visit` for each line a step touches (each once, ascending for ranges). */
export function forEachStepLine(step: LitmusStep, lineCount: number, visit: (line: number) => void): void {
  if (step.op === 'dsb') return;
  const lines = step.lines;
  if (lines === undefined) {
    for (let line = 0; line < lineCount; line++) visit(line);
  } else if (Array.isArray(lines)) {
    // Duplicates are harmless for the model but would double-count a write.
    const seen = lines.length > 1 ? new Set<number>() : undefined;
    for (const line of lines) {
      if (seen) {
        if (seen.has(line)) continue;
        seen.add(line);
      }
      visit(line);
    }
  } else {
    for (let line = lines.from; line <= lines.to; line++) visit(line);
  }
}

export function stepTouchesLine(step: LitmusStep, line: number): boolean {
  if (step.op === 'dsb') return false;
  const lines = step.lines;
  if (lines === undefined) return true;
  if (Array.isArray(lines)) return lines.includes(line);
  return line >= lines.from && line <= lines.to;
}

// ----------------------------------------------------------- validation ----

export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`);
    this.name = 'ScenarioError';
  }
}

const SCENARIO_KEYS = new Set(['name', 'lines', 'steps', 'expect', 'description']);
const STEP_KEYS = new Set(['op', 'lines', 'note']);

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLineNumber(value: unknown, lineCount: number): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) < lineCount;
}

/**
 * Checks an untyped value (parsed JSON) and returns it as a Scenario.
 * `at` is the field path prefix ('' for a top-level object, '[2]' inside an array).
 */
export function validateScenario(value: unknown, file: string, at = ''): Scenario {
  const fail = (field: string, detail: string): never => {
    throw new ScenarioError(file, `${at}${field}`, detail);
  };
  const dot = at ? '.' : '';
  if (!isRecord(value)) fail('', `expected a scenario object, got ${describe(value)}`);
  const raw = value as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!SCENARIO_KEYS.has(key)) fail(`${dot}${key}`, `unknown field (allowed: ${[...SCENARIO_KEYS].join(', ')})`);
  }
  if (typeof raw.name !== 'string' || raw.name === '') fail(`${dot}name`, `expected a non-empty string, got ${describe(raw.name)}`);
  if (raw.description !== undefined && typeof raw.description !== 'string') {
    fail(`${dot}description`, `expected a string, got ${describe(raw.description)}`);
  }
  const lineCount = raw.lines;
  if (!Number.isInteger(lineCount) || (lineCount as number) < 1 || (lineCount as number) > MAX_LINES) {
    fail(`${dot}lines`, `expected an integer from 1 to ${MAX_LINES}, got ${describe(lineCount)}`);
  }
  const count = lineCount as number;
  if (raw.expect !== undefined && raw.expect !== 'coherent' && raw.expect !== 'incoherent') {
    fail(`${dot}expect`, `expected "coherent" or "incoherent", got ${describe(raw.expect)}`);
  }
  if (!Array.isArray(raw.steps)) fail(`${dot}steps`, `expected an array of steps, got ${describe(raw.steps)}`);

  const steps = (raw.steps as unknown[]).map((rawStep, index): LitmusStep => {
    const here = `${dot}steps[${index}]`;
    if (!isRecord(rawStep)) fail(here, `expected a step object, got ${describe(rawStep)}`);
    const stepRecord = rawStep as Record<string, unknown>;
    for (const key of Object.keys(stepRecord)) {
      if (!STEP_KEYS.has(key)) fail(`${here}.${key}`, `unknown field (allowed: ${[...STEP_KEYS].join(', ')})`);
    }
    const op = stepRecord.op;
    if (typeof op !== 'string' || !(LITMUS_OPS as readonly string[]).includes(op)) {
      fail(`${here}.op`, `expected one of ${LITMUS_OPS.join(', ')}, got ${describe(op)}`);
    }
    const step: LitmusStep = { op: op as LitmusOp };
    const lines = stepRecord.lines;
    if (lines !== undefined) {
      if (op === 'dsb') fail(`${here}.lines`, 'dsb takes no lines (it completes all maintenance on every line)');
      if (Array.isArray(lines)) {
        lines.forEach((line, i) => {
          if (!isLineNumber(line, count)) fail(`${here}.lines[${i}]`, `expected a line number from 0 to ${count - 1}, got ${describe(line)}`);
        });
        step.lines = [...(lines as number[])];
      } else if (isRecord(lines)) {
        for (const key of Object.keys(lines)) {
          if (key !== 'from' && key !== 'to') fail(`${here}.lines.${key}`, 'unknown field (allowed: from, to)');
        }
        if (!isLineNumber(lines.from, count)) fail(`${here}.lines.from`, `expected a line number from 0 to ${count - 1}, got ${describe(lines.from)}`);
        if (!isLineNumber(lines.to, count)) fail(`${here}.lines.to`, `expected a line number from 0 to ${count - 1}, got ${describe(lines.to)}`);
        if ((lines.to as number) < (lines.from as number)) fail(`${here}.lines.to`, `must be >= from (${describe(lines.from)})`);
        step.lines = { from: lines.from as number, to: lines.to as number };
      } else {
        fail(`${here}.lines`, `expected an array of line numbers or {"from","to"}, got ${describe(lines)}`);
      }
    }
    if (stepRecord.note !== undefined) {
      if (typeof stepRecord.note !== 'string') fail(`${here}.note`, `expected a string, got ${describe(stepRecord.note)}`);
      step.note = stepRecord.note as string;
    }
    return step;
  });

  const scenario: Scenario = { name: raw.name as string, lines: count, steps };
  if (raw.expect !== undefined) scenario.expect = raw.expect as Scenario['expect'];
  if (raw.description !== undefined) scenario.description = raw.description as string;
  return scenario;
}

/**
 * Parses a litmus file: one scenario object or an array of them.
 * Throws ScenarioError naming the file and the offending field (e.g. `[1].steps[3].op`).
 */
export function parseScenarioFile(text: string, file: string): Scenario[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(file, '', `invalid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) return [validateScenario(value, file)];
  if (value.length === 0) throw new ScenarioError(file, '', 'expected at least one scenario, got an empty array');
  const scenarios = value.map((item, index) => validateScenario(item, file, `[${index}]`));
  const seen = new Set<string>();
  scenarios.forEach((scenario, index) => {
    if (seen.has(scenario.name)) throw new ScenarioError(file, `[${index}].name`, `duplicate scenario name ${describe(scenario.name)}`);
    seen.add(scenario.name);
  });
  return scenarios;
}

// ------------------------------------------------------------- hand-off ----

export type HandoffKind = 'to-device' | 'from-device' | 'bidirectional';

/** The two halves of a streaming-DMA ownership round trip. */
export interface HandoffPath {
  /** Maintenance done before the device owns the buffer (map / sync_for_device). */
  forDevice?: LitmusStep[];
  /** Maintenance done before the CPU owns the buffer again (unmap / sync_for_cpu). */
  forCpu?: LitmusStep[];
}

/** What arm64 itself does, used for a half the caller does not supply. */
export function referenceForDevice(): LitmusStep[] {
  return [{ op: 'clean', note: 'reference for-device: clean' }, { op: 'dsb', note: 'reference for-device: dsb' }];
}
export function referenceForCpu(): LitmusStep[] {
  return [{ op: 'invalidate', note: 'reference for-cpu: invalidate' }, { op: 'dsb', note: 'reference for-cpu: dsb' }];
}

/**
 * Wraps a code path's maintenance steps in the ownership hand-off it belongs
 * to, so the model can say whether that path leaves the buffer coherent.
 * All lines 0..lines-1 form the buffer; wrapper steps omit `lines` (= all).
 *
 *   to-device:      cpu_write; FOR-DEVICE; device_read
 *       The CPU filled the buffer, the path hands it to a device that reads it.
 *   from-device:    cpu_write; FOR-DEVICE; device_write; FOR-CPU; cpu_read
 *       The buffer was last written by the CPU (as recycled buffers are), so it
 *       may be dirty; FOR-DEVICE (by default the reference clean + dsb, which is
 *       what arm64's map does for every direction) makes that safe, then the
 *       device fills it and FOR-CPU hands it back to a CPU that reads it.
 *   bidirectional:  cpu_write; FOR-DEVICE; device_read; device_write; FOR-CPU; cpu_read
 *
 * `path` is either a plain step list or `{ forDevice, forCpu }`:
 *   - a list is FOR-DEVICE for to-device and FOR-CPU for from-device (whose
 *     FOR-DEVICE is then the reference);
 *   - for bidirectional a list is used in BOTH places (a routine that does the
 *     maintenance for either direction); to check one half alone, pass
 *     `{ forDevice }` or `{ forCpu }` and the other half is the arm64 reference
 *     (for-device: clean + dsb; for-cpu: invalidate + dsb). to-device has no
 *     FOR-CPU slot, so `forCpu` is ignored there.
 * Path steps keep their own `lines`; they must lie within 0..lines-1.
 */
export function embedHandoff(kind: HandoffKind, path: LitmusStep[] | HandoffPath, lines: number): Scenario {
  if (!Number.isInteger(lines) || lines < 1) throw new Error(`embedHandoff: lines must be a positive integer, got ${lines}`);
  let forDevice: LitmusStep[];
  let forCpu: LitmusStep[];
  if (Array.isArray(path)) {
    forDevice = kind === 'from-device' ? referenceForDevice() : path;
    forCpu = kind === 'to-device' ? [] : path;
  } else {
    forDevice = path.forDevice ?? referenceForDevice();
    forCpu = path.forCpu ?? referenceForCpu();
  }
  for (const step of [...forDevice, ...forCpu]) {
    let outside: number | undefined;
    forEachStepLine(step, lines, (line) => {
      if (outside === undefined && !(Number.isInteger(line) && line >= 0 && line < lines)) outside = line;
    });
    if (outside !== undefined) throw new Error(`embedHandoff: step ${step.op} touches line ${outside}, outside 0..${lines - 1}`);
  }

  let steps: LitmusStep[];
  switch (kind) {
    case 'to-device':
      steps = [{ op: 'cpu_write', note: 'hand-off: CPU fills the buffer' }, ...forDevice, { op: 'device_read', note: 'hand-off: device reads the buffer' }];
      break;
    case 'from-device':
      steps = [
        { op: 'cpu_write', note: 'hand-off: buffer last written by the CPU' },
        ...forDevice,
        { op: 'device_write', note: 'hand-off: device fills the buffer' },
        ...forCpu,
        { op: 'cpu_read', note: 'hand-off: CPU reads the buffer' },
      ];
      break;
    case 'bidirectional':
      steps = [
        { op: 'cpu_write', note: 'hand-off: CPU fills the buffer' },
        ...forDevice,
        { op: 'device_read', note: 'hand-off: device reads the buffer' },
        { op: 'device_write', note: 'hand-off: device writes the buffer' },
        ...forCpu,
        { op: 'cpu_read', note: 'hand-off: CPU reads the buffer' },
      ];
      break;
  }
  return { name: `${kind} hand-off`, lines, steps };
}
