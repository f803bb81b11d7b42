// Human-readable rendering of a witness: one row per event, in lanes
// CPU | cache line | memory | device, each row showing the line's state after it.
import type { ModelResult, Scenario, WitnessEvent, WitnessState } from './scenario.js';

function cacheText(state: WitnessState): string {
  const base = state.cache === 'invalid' ? 'invalid' : `${state.cache} v${state.cacheVersion}`;
  return state.pending ? `${base} [pending: ${state.pending.join(', ')}]` : base;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  // The last column (note) is not padded, so rows do not end in spaces.
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join(' | ').trimEnd());
}

export function formatTimeline(r: ModelResult, s: Scenario): string {
  const expected = r.expect ? ` (expected ${r.expect}${r.agrees ? '' : ' — DISAGREES'})` : '';
  const header = `${r.name}: ${r.verdict}${expected}, ${r.statesExplored} states explored`;
  if (r.witness.length === 0) return `${header}\n  no execution reads stale data`;

  const lines = new Set(r.witness.map((event) => event.line));
  const singleLine = lines.size === 1 ? r.witness[0].line : undefined;
  const onLine = (event: WitnessEvent, text: string) => (singleLine === undefined ? `[line ${event.line}] ${text}` : text);
  const last = r.witness[r.witness.length - 1];

  const rows: string[][] = [['#', 'step', 'CPU', singleLine === undefined ? 'cache line' : `cache line ${singleLine}`, 'memory', 'device', 'note']];
  r.witness.forEach((event, index) => {
    const cache = cacheText(event.state);
    const memory = `v${event.state.memoryVersion}`;
    rows.push([
      String(index + 1),
      event.step === undefined ? '' : String(event.step),
      event.actor === 'cpu' ? onLine(event, event.event) : '',
      event.actor === 'cache' ? onLine(event, `${event.event} → ${cache}`) : cache,
      event.actor === 'memory' ? onLine(event, `${event.event} → ${memory}`) : memory,
      event.actor === 'device' ? onLine(event, event.event) : '',
      event.step === undefined ? '' : (s.steps[event.step]?.note ?? ''),
    ]);
  });
  const where = singleLine === undefined ? '' : ` on line ${singleLine}`;
  const shownSteps = r.witness.filter((event) => event.step !== undefined).length;
  const skipsSteps = last.step !== undefined && shownSteps < last.step + 1;
  const footer =
    singleLine !== undefined && skipsSteps
      ? [`  (steps not listed do not change line ${singleLine}: they touch other lines, or are a dsb with nothing pending on the line)`]
      : [];
  return [
    header,
    `  shortest stale read${where}: ${r.witness.length} events, ending at step ${last.step ?? '?'} (${s.steps[last.step ?? -1]?.op ?? '?'})`,
    ...table(rows).map((row) => `  ${row}`),
    ...footer,
  ].join('\n');
}
