// Human-readable report in gcc's diagnostic format, so editors and terminals
// that understand `file:line:col: error: message` link straight to the code.
import type { Finding, LintResult, Severity } from '../types.js';

export interface TextOptions {
  /** ANSI colours; the CLI decides (stdout is a TTY, NO_COLOR unset, no --no-color). */
  color: boolean;
  /** List every diagnostic (files that could not be analysed) instead of counting them. */
  verbose?: boolean;
}

export const ANSI = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  magenta: '\x1b[35m',
  cyan: '\x1b[36m',
} as const;

/** gcc's colours for the severity word. */
export const SEVERITY_COLOR: Record<Severity, string> = { error: ANSI.red, warning: ANSI.magenta, note: ANSI.cyan };

export const VERDICT_COLOR = { incoherent: ANSI.red, coherent: ANSI.green, unknown: ANSI.yellow } as const;

export function painter(color: boolean): Paint {
  return (codes: string, text: string) => (color ? `${codes}${text}${ANSI.reset}` : text);
}

export function formatText(result: LintResult, opts: TextOptions): string {
  const paint = painter(opts.color);
  const lines: string[] = [];

  for (const finding of result.findings) lines.push(...formatFinding(finding, paint));

  const reportedInactive = new Set<string>();
  for (const inactive of result.inactiveRules) {
    if (reportedInactive.has(inactive.ruleId)) continue;
    reportedInactive.add(inactive.ruleId);
    lines.push(`flushcheck: rule ${inactive.ruleId} inactive: ${inactive.reason}`);
  }

  const { diagnostics } = result.stats;
  if (opts.verbose) {
    for (const diagnostic of diagnostics) lines.push(`flushcheck: ${diagnostic.file}: ${diagnostic.reason}`);
  } else if (diagnostics.length > 0) {
    lines.push(`flushcheck: ${plural(diagnostics.length, 'diagnostic')} (--verbose lists them)`);
  }

  lines.push(summaryLine(result));
  return lines.join('\n') + '\n';
}

export type Paint = (codes: string, text: string) => string;

export function formatFinding(finding: Finding, paint: Paint): string[] {
  const location = paint(ANSI.bold, `${finding.file}:${finding.line}:${finding.column}:`);
  const severity = paint(ANSI.bold + SEVERITY_COLOR[finding.severity], `${finding.severity}:`);
  const lines = [`${location} ${severity} ${finding.message} [${finding.ruleId}]`];
  for (const step of finding.path) lines.push(`    ${step.file}:${step.line}: ${step.event}`);
  if (finding.model) {
    const verdict = paint(VERDICT_COLOR[finding.model.verdict], finding.model.verdict);
    lines.push(`    model: ${verdict}${finding.model.reason ? ` — ${finding.model.reason}` : ''}`);
    if (finding.model.timeline) for (const t of finding.model.timeline.split('\n')) lines.push(`      ${t}`);
  }
  return lines;
}

function summaryLine(result: LintResult): string {
  const count = (severity: Severity) => result.findings.filter((f) => f.severity === severity).length;
  const { stats } = result;
  return (
    `${plural(count('error'), 'error')}, ${plural(count('warning'), 'warning')}, ${plural(count('note'), 'note')}` +
    ` in ${plural(stats.files, 'file')}` +
    ` (${stats.parsed} parsed, ${plural(stats.functions, 'function')}, ${plural(stats.syncSites, 'sync site')})` +
    ` in ${Math.round(stats.ms)} ms` +
    (stats.model
      ? `\ncache model: ${plural(stats.syncSites, 'sync site')} checked, ${plural(stats.model.pathsReplayed, 'path')} replayed: ${stats.model.coherent} coherent, ${stats.model.incoherent} incoherent`
      : '')
  );
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
