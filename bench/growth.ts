// Cost as the work grows (issue 10 point 3), for bench/run.ts:
// - the scan stage alone (discover + prefilter, in this process) over the
//   linux-7.x tree with the identifiers of 1, 5 and 20 rules: the bundled
//   names, then synthetic rules of as many distinct names that no file holds;
// - a whole `flushcheck lint` of the tree, and of the tree with three copies
//   of drivers/ side by side (drivers, drivers-2, drivers-3), each a folder
//   under the system's temp dir made of hard links to the fetched tree's files
//   (no byte copied; nothing ever writes through them; removed at the end).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { discoverFiles } from '../src/discover/walk.js';
import { prefilter } from '../src/discover/prefilter.js';
import { median } from './model.js';

const CLI_PATH = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** The names the bundled rules scan for (analyze/rule.ts scanNames); bench/run.ts's grep pattern too. */
export const BUNDLED_NAMES = [
  'arch_sync_dma_for_device',
  'arch_sync_dma_for_cpu',
  'arch_sync_dma_flush',
  'dcache_clean_poc_nosync',
  'dcache_inval_poc_nosync',
  'dcache_clean_inval_poc_nosync',
  'dma_iova_link',
  'dma_iova_sync',
];

export const RULE_COUNTS = [1, 5, 20] as const;

export interface GrowthFigures {
  scan: { rules: number; names: number; files: number; ms: number[]; median: number }[];
  copies: { copies: number; files: number; parsed: number; findings: number; ms: number[]; median: number }[];
}

/** Rule k's names: the bundled ones for k = 0, else distinct names shaped like them that no kernel file holds. */
function namesOfRules(count: number): string[] {
  const names = [...BUNDLED_NAMES];
  for (let k = 1; k < count; k++) for (const name of BUNDLED_NAMES) names.push(`${name}_synthetic_rule_${k}`);
  return names;
}

async function measureScanGrowth(tree: string, runs: number): Promise<GrowthFigures['scan']> {
  const { files } = await discoverFiles({ root: tree, paths: [], arch: 'arm64' });
  const rows = RULE_COUNTS.map((rules) => ({ rules, names: namesOfRules(rules).length, files: files.length, ms: [] as number[], median: 0 }));
  await prefilter(tree, files, BUNDLED_NAMES); // untimed: the page cache holds the tree for every row alike
  for (let run = 0; run < runs; run++) {
    // Rotated order, so no row always runs first.
    for (let i = 0; i < rows.length; i++) {
      const row = rows[(i + run) % rows.length];
      const started = performance.now();
      await prefilter(tree, files, namesOfRules(row.rules));
      row.ms.push(Math.round(performance.now() - started));
    }
  }
  for (const row of rows) row.median = median(row.ms);
  return rows;
}

/** The tree with `copies` copies of its drivers/ (drivers, drivers-2, ...), as hard links in a folder of its own. */
function linkedCopies(tree: string, copies: number, under: string): string {
  const dir = path.join(under, `x${copies}`);
  const link = (from: string, to: string) => {
    const result = spawnSync('cp', ['-al', from, to]);
    if (result.status !== 0) throw new Error(`cp -al ${from} failed: ${result.stderr.toString().trim()}`);
  };
  link(tree, dir);
  for (let c = 2; c <= copies; c++) link(path.join(tree, 'drivers'), path.join(dir, `drivers-${c}`));
  return dir;
}

function lintOnce(dir: string): { ms: number; files: number; parsed: number; findings: number } {
  const started = performance.now();
  const run = spawnSync(CLI_PATH, ['lint', dir, '--format', 'json', '--fail-on', 'none'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const ms = Math.round(performance.now() - started);
  if (run.status !== 0) throw new Error(`lint ${dir} exited with ${run.status}: ${run.stderr.trim().split('\n').slice(-5).join('\n')}`);
  const report = JSON.parse(run.stdout) as { findings: unknown[]; stats: { files: number; parsed: number } };
  return { ms, files: report.stats.files, parsed: report.stats.parsed, findings: report.findings.length };
}

async function measureCopies(tree: string, runs: number): Promise<GrowthFigures['copies']> {
  const under = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-bench-growth-'));
  try {
    const dirs = [1, 3].map((copies) => ({ copies, dir: linkedCopies(tree, copies, under) }));
    const rows = dirs.map(({ copies }) => ({ copies, files: 0, parsed: 0, findings: 0, ms: [] as number[], median: 0 }));
    for (const { dir } of dirs) lintOnce(dir); // untimed warm-up of the page cache
    for (let run = 0; run < runs; run++) {
      for (let i = 0; i < dirs.length; i++) {
        const k = (i + run) % dirs.length;
        const once = lintOnce(dirs[k].dir);
        Object.assign(rows[k], { files: once.files, parsed: once.parsed, findings: once.findings });
        rows[k].ms.push(once.ms);
      }
    }
    for (const row of rows) row.median = median(row.ms);
    return rows;
  } finally {
    fs.rmSync(under, { recursive: true, force: true });
  }
}

export async function measureGrowth(tree: string, runs: number, progress: (line: string) => void): Promise<GrowthFigures> {
  progress('growth: scan with 1, 5 and 20 rules');
  const scan = await measureScanGrowth(tree, runs);
  progress('growth: lint of the tree with drivers/ once and three times');
  const copies = await measureCopies(tree, runs);
  return { scan, copies };
}

export function formatGrowth(g: GrowthFigures, runs: number): string {
  const int = (n: number) => Math.round(n).toLocaleString('en-US');
  const base = g.scan[0].median;
  const one = g.copies[0];
  const lines = [
    '6. cost as the work grows',
    `   scan stage alone (discover + prefilter, in process) of the linux-7.x tree, ${runs} rotated runs each;`,
    '   rule 1 = the bundled names, every further rule as many distinct names that no file holds',
    '  rules   names    files    median ms   min–max      ÷ 1 rule',
    ...g.scan.map((r) => `  ${String(r.rules).padStart(5)}   ${String(r.names).padStart(5)}   ${int(r.files).padStart(7)}   ${int(r.median).padStart(9)}   ${`${int(Math.min(...r.ms))}–${int(Math.max(...r.ms))}`.padEnd(11)}  ${(r.median / base).toFixed(2)}×`),
    `   whole \`flushcheck lint\` of the tree with drivers/ once and three times side by side (hard links under the temp dir), ${runs} alternating runs each`,
    '  drivers/    files    parsed   findings   median ms   min–max      ÷ once   ms per 1,000 files',
    ...g.copies.map((r) => `  ${String(r.copies).padStart(8)}   ${int(r.files).padStart(7)}   ${String(r.parsed).padStart(6)}   ${String(r.findings).padStart(8)}   ${int(r.median).padStart(9)}   ${`${int(Math.min(...r.ms))}–${int(Math.max(...r.ms))}`.padEnd(11)}  ${(r.median / one.median).toFixed(2)}×    ${((r.median * 1000) / r.files).toFixed(1)}`),
  ];
  return lines.join('\n');
}
