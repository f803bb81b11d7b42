// Reports of `flushcheck diff`: the lint report restricted to what the change
// introduces, plus what it fixes.
import type { DiffResult } from '../review/diff.js';
import { findingJson, lintReport } from './json.js';
import { escapeControl, quoteFileName } from './escape.js';
import { ANSI, formatFinding, formatText, painter, SEVERITY_COLOR, type TextOptions } from './text.js';

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

/**
 * What the pre-commit hook prints: one gcc-style line per new finding (the
 * editor jumps to it), then one line saying the commit was stopped and how to
 * commit anyway. The full report is one `flushcheck diff --cached` away.
 */
export function formatHookText(diff: DiffResult, opts: { color: boolean; blocked: boolean }): string {
  const paint = painter(opts.color);
  const lines = diff.result.findings.map(
    (f) => `${quoteFileName(f.file)}:${f.line}:${f.column}: ${paint(ANSI.bold + SEVERITY_COLOR[f.severity], f.severity)}: ${escapeControl(f.message)} [${f.ruleId}]`,
  );
  const n = diff.result.findings.length;
  if (opts.blocked) {
    lines.push(
      `flushcheck: commit stopped: ${n} new finding${n === 1 ? '' : 's'} (details: flushcheck diff --cached); fix, or commit anyway with git commit --no-verify`,
    );
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
