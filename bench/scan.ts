// Timing of the discover + prefilter stages on a real tree, for the bench and
// for /work/notes/discover.md. Compare with:
//   grep -rlE 'arch_sync_dma_for_device|arch_sync_dma_for_cpu|arch_sync_dma_flush|dcache_clean_poc_nosync|dcache_inval_poc_nosync|dma_iova_link|dma_iova_sync' TREE
import fs from 'node:fs';
import { discoverFiles } from '../src/discover/walk.js';
import { prefilter } from '../src/discover/prefilter.js';

/** The names the grep baseline looks for (issuing, completing and contract calls). */
export const BENCH_IDENTIFIERS = [
  'arch_sync_dma_for_device',
  'arch_sync_dma_for_cpu',
  'arch_sync_dma_flush',
  'dcache_clean_poc_nosync',
  'dcache_inval_poc_nosync',
  'dma_iova_link',
  'dma_iova_sync',
];

export interface ScanMeasurement {
  ms: number;
  /** Files handed to the prefilter. */
  files: number;
  /** Bytes the prefilter read. */
  bytes: number;
  /** Files that mention at least one identifier. */
  matched: number;
}

export interface MeasureScanOptions {
  arch?: string;
  jobs?: number;
  /**
   * Scan every .c/.h file under the tree (no arch filter, no default skips),
   * the strictest comparison with grep -r. Default: the checker's own
   * discovery for `arch`.
   */
  everyFile?: boolean;
}

export async function measureScan(tree: string, opts: MeasureScanOptions = {}): Promise<ScanMeasurement> {
  const start = performance.now();
  const files = opts.everyFile
    ? listEverySource(tree)
    : (await discoverFiles({ root: tree, paths: [], arch: opts.arch ?? 'arm64' })).files;
  const scan = await prefilter(tree, files, BENCH_IDENTIFIERS, { jobs: opts.jobs });
  const ms = performance.now() - start;
  return { ms: Math.round(ms), files: files.length, bytes: scan.bytesRead, matched: scan.matched.size };
}

/** Every *.c / *.h regular file under `tree`, root-relative (symlinks not followed). */
function listEverySource(tree: string): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string): void => {
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(`${abs}/${entry.name}`, childRel);
      else if (entry.isFile() && (entry.name.endsWith('.c') || entry.name.endsWith('.h'))) out.push(childRel);
    }
  };
  walk(tree, '');
  return out;
}
