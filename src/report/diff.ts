// Reports of `flushcheck diff`: the lint report restricted to what the change
// introduces, plus what it fixes.
import type { DiffResult } from '../review/diff.js';
import { findingJson, lintReport } from './json.js';
import { formatFinding, formatText, painter, type TextOptions } from './text.js';

/** The lint JSON with only the new findings in `findings`, the removed ones in `fixed`. */
export function formatDiffJson(diff: DiffResult): string {
  const report = {
    ...lintReport(diff.result),
    fixed: diff.fixed.map(findingJson),
    base: diff.base,
    head: diff.head,
    changedFiles: diff.changedSources,
  };
  return JSON.stringify(report, null, 2) + '\n';
}

export function formatDiffText(diff: DiffResult, opts: TextOptions & { showFixed: boolean }): string {
  const header = `flushcheck diff: ${diff.head} against ${diff.base}: ${diff.changedSources.length} C file${diff.changedSources.length === 1 ? '' : 's'} changed, ${diff.result.findings.length} new finding${diff.result.findings.length === 1 ? '' : 's'}, ${diff.fixed.length} fixed`;
  if (diff.changedSources.length === 0) return `${header}\n`;
  const lines = [header, ...formatText(diff.result, opts).trimEnd().split('\n')];
  if (opts.showFixed && diff.fixed.length) {
    const paint = painter(opts.color);
    lines.push('fixed by this change:');
    for (const f of diff.fixed) lines.push(...formatFinding(f, paint).map((l) => `  ${l}`));
  }
  return lines.join('\n') + '\n';
}
