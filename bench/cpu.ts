// What a measured command cost in CPU, and what the rest of the machine used
// meanwhile: shared by `npm run bench` (lint against grep) and `bench:cocci`
// (lint against spatch). flushcheck's lint keeps both cores of the bench
// machine busy, grep one: a ratio between them moves with whatever else takes
// CPU, and these figures say whether something did.
import { readFileSync } from 'node:fs';
import { median } from './model.js';

/** GNU time's -f format: peak RSS and CPU, each behind a marker (time may also write "Command exited with non-zero status"). */
export const TIME_FORMAT = 'maxrss_kb=%M cpu_s=%U+%S';

/** What GNU time wrote with TIME_FORMAT: peak RSS (kB) and CPU, user + system (ms, 10 ms steps). */
export function parseTimeReport(written: string): { peakKb: number | null; cpuMs: number | null } {
  const rss = /maxrss_kb=(\d+)/.exec(written);
  const cpu = /cpu_s=([\d.]+)\+([\d.]+)/.exec(written);
  return { peakKb: rss ? Number(rss[1]) : null, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : null };
}

/** USER_HZ, the unit of /proc/stat: 100 on every Linux architecture the kernel ships. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Busy time of all cores since boot (ms), from /proc/stat's first line, or null where there is none. */
export function machineBusyMs(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is counted in user already).
    const [user, nice, system, , , irq, softirq, steal] = fields;
    const ticks = user + nice + system + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/** The CPU the rest of the machine used while a command ran (ms): all cores' busy time over the run, less the command's own. */
export function otherCpuMs(busyBefore: number | null, busyAfter: number | null, cpuMs: number | null): number | null {
  if (busyBefore === null || busyAfter === null || cpuMs === null) return null;
  // Both counters step by 10 ms: a small negative difference is rounding.
  return Math.max(0, busyAfter - busyBefore - cpuMs);
}

/** One side of a comparison: its runs' wall and CPU times, and the rest of the machine's (ms; the CPU figures null where not measured). */
export interface CpuRuns {
  wallMs: number[];
  cpuMs: (number | null)[];
  otherCpuMs: (number | null)[];
}

/** Those figures of a list of runs, in run order. */
export function cpuRuns(runs: { wallMs: number; cpuMs: number | null; otherCpuMs: number | null }[]): CpuRuns {
  return { wallMs: runs.map((r) => r.wallMs), cpuMs: runs.map((r) => r.cpuMs), otherCpuMs: runs.map((r) => r.otherCpuMs) };
}

/**
 * Lines saying how many cores each side used (median CPU over median wall),
 * and the rest of the machine's CPU during each run, in % of one core.
 */
export function formatCpuUse(sides: [string, CpuRuns][]): string[] {
  const known = (xs: (number | null)[]): number[] | null => (xs.length && xs.every((x): x is number => x !== null) ? xs : null);
  const int = (n: number) => Math.round(n).toLocaleString('en-US');
  const cpuOf = sides.map(([name, r]) => [name, r, known(r.cpuMs), known(r.otherCpuMs)] as const);
  if (cpuOf.some(([, , cpu]) => cpu === null)) return ['  CPU: not measured (needs GNU time)'];
  const lines = [
    `  CPU, user + system, and the cores it keeps busy over its wall time (medians): ${cpuOf.map(([name, r, cpu]) => `${name} ${int(median(cpu!))} ms, ${(median(cpu!) / median(r.wallMs)).toFixed(2)} cores`).join('; ')}`,
  ];
  if (cpuOf.every(([, , , other]) => other !== null)) {
    const share = ([name, r, , other]: (typeof cpuOf)[number]) =>
      `during ${name} ${Math.round((100 * median(other!)) / median(r.wallMs))}% (runs: ${other!.map((ms, i) => Math.round((100 * ms) / r.wallMs[i])).join(' ')})`;
    lines.push(`  the rest of the machine meanwhile, % of one core (from /proc/stat): ${cpuOf.map(share).join('; ')}`);
  }
  return lines;
}
