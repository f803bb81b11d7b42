// Human-readable report in gcc's diagnostic format, so editors and terminals
// that understand `file:line:col: severity: message` jump straight to the code:
// a one-line headline per finding, then one `file:line:col: note:` line per
// related place and path step (quickfix lists take each as an entry), then
// the cache model's verdict. Text from the tree (file names, code in path
// steps) is escaped: it must never move the cursor or fake a finding line.
import type { Finding, LintResult, LintStats, Severity } from '../types.js';
import { escapeControl, quoteFileName } from './escape.js';

export interface TextOptions {
  /** ANSI colours; the CLI decides (stdout is a TTY, NO_COLOR unset, TERM not dumb, no --no-color). */
  color: boolean;
  /** Full messages, the cache timeline, every diagnostic. */
  verbose?: boolean;
  /** One line per finding (checkpatch --terse): no notes, no model verdict. */
  terse?: boolean;
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

/** A headline longer than this is shortened; -v prints the whole message on a note line. */
const MAX_HEADLINE = 200;

export function painter(color: boolean): Paint {
  return (codes: string, text: string) => (color ? `${codes}${text}${ANSI.reset}` : text);
}

export type Paint = (codes: string, text: string) => string;

export function formatText(result: LintResult, opts: TextOptions): string {
  const paint = painter(opts.color);
  const lines: string[] = [];

  for (const finding of result.findings) lines.push(...formatFinding(finding, paint, opts));

  const reportedInactive = new Set<string>();
  for (const inactive of result.inactiveRules) {
    if (reportedInactive.has(inactive.ruleId)) continue;
    reportedInactive.add(inactive.ruleId);
    lines.push(`flushcheck: rule ${inactive.ruleId} inactive: ${escapeControl(inactive.reason)}`);
  }
  if (!opts.terse) lines.push(...diagnosticLines(result.stats, !!opts.verbose));
  lines.push(...summaryLines(result.stats, result.findings, !!opts.terse));
  return lines.join('\n') + '\n';
}

/** `file:line:col:` with the file name quoted when it holds a newline, a quote or a backslash. */
function location(file: string, line: number, column: number): string {
  return `${quoteFileName(file)}:${line}:${column}:`;
}

export function formatFinding(finding: Finding, paint: Paint, opts: Omit<TextOptions, 'color'> = {}): string[] {
  const at = paint(ANSI.bold, location(finding.file, finding.line, finding.column));
  const severity = paint(ANSI.bold + SEVERITY_COLOR[finding.severity], `${finding.severity}:`);
  const message = escapeControl(finding.message);
  const fixedWidth = `${location(finding.file, finding.line, finding.column)} ${finding.severity}: [${finding.ruleId}]`.length + 1;
  const short = headline(message, MAX_HEADLINE - fixedWidth);
  const lines = [`${at} ${severity} ${short} [${finding.ruleId}]`];
  if (opts.terse) return lines;

  const note = (file: string, line: number, column: number, text: string) =>
    `${paint(ANSI.bold, location(file, line, column))} ${paint(ANSI.bold + SEVERITY_COLOR.note, 'note:')} ${escapeControl(text)}`;
  if (opts.verbose && short !== message) lines.push(note(finding.file, finding.line, finding.column, finding.message));
  for (const related of finding.related ?? []) lines.push(note(related.file, related.line, related.column, related.message));
  for (const step of finding.path) lines.push(note(step.file, step.line, step.column ?? 1, step.event));
  if (finding.model) {
    const verdict = paint(VERDICT_COLOR[finding.model.verdict], finding.model.verdict);
    lines.push(`  model: ${verdict}${finding.model.reason ? ` — ${escapeControl(finding.model.reason)}` : ''}`);
    if (opts.verbose && finding.model.timeline) for (const t of finding.model.timeline.split('\n')) lines.push(`    ${escapeControl(t)}`);
  }
  return lines;
}

/**
 * Ways to shorten a message for a headline, mildest first. The places it
 * names are also on the note lines that follow, so they shrink and go first;
 * the place a function returns at stays longest (two findings can differ
 * only by it).
 */
const SHORTENINGS: ((text: string, max: number) => string)[] = [
  // `at kernel/dma/mapping.c:299` -> `at mapping.c:299`
  (t) => t.replace(/ at [^\s:;()]+\/([^\s/:;()]+:\d+)/g, ' at $1'),
  // Trailing clauses (`; no flush on this path`, the model's verdict), one at a time.
  (t, max) => {
    const clauses = t.split('; ');
    while (clauses.join('; ').length > max && clauses.length > 1) clauses.pop();
    return clauses.join('; ');
  },
  (t) => t.replace(/ \(through [^()]*\(\) at line \d+\)/g, ''),
  // Why the function hands the buffer over: a note line says it.
  (t) => t.replace(/ and hands the buffer over \([^()]*\)/g, '').replace(/ \((?:it is exported|its address is taken|it has no caller[^()]*)\)/g, ''),
  // The first place (the sync's, on a note line), then every place.
  (t) => t.replace(/ at (?:line \d+|[^\s:;()]+:\d+)/, ''),
  (t) => t.replace(/ at (?:line \d+|[^\s:;()]+:\d+)/g, ''),
];

/** The message shortened to `max` characters for a headline (see SHORTENINGS); at worst cut at a word, ending in `…`. */
export function headline(message: string, max: number): string {
  let text = message;
  for (const shorten of SHORTENINGS) {
    if (text.length <= max) return text;
    text = shorten(text, max);
  }
  if (text.length <= max) return text;
  const cut = text.lastIndexOf(' ', max - 1);
  return `${text.slice(0, cut > max / 2 ? cut : max - 1)}…`;
}

/** Files and functions not fully analysed: a count, or with -v the list (each printed once, here). */
function diagnosticLines(stats: LintStats, verbose: boolean): string[] {
  const { diagnostics, scope } = stats;
  if (verbose) return diagnostics.map((d) => `flushcheck: ${quoteFileName(d.file)}: ${escapeControl(d.reason)}`);
  if (!diagnostics.length) return [];
  const where = scope ? ` (${scope.diagnostics} under the paths)` : '';
  return [`flushcheck: ${plural(diagnostics.length, 'file or function', 'files or functions')} not fully analysed${where} (-v lists them)`];
}

function summaryLines(stats: LintStats, findings: Finding[], terse: boolean): string[] {
  const count = (severity: Severity) => findings.filter((f) => f.severity === severity).length;
  const found = `${plural(count('error'), 'error')}, ${plural(count('warning'), 'warning')}, ${plural(count('note'), 'note')}`;
  const notJudged = stats.syncSitesNotJudged ? `, ${stats.syncSitesNotJudged} not judged` : '';
  const notParsed = stats.notParsed ? `, ${stats.notParsed} too large to parse` : '';
  const analysed = `${plural(stats.files, 'file')} (${stats.parsed} parsed${notParsed}, ${plural(stats.functions, 'function')}, ${plural(stats.syncSites, 'sync site')}${notJudged})`;
  const lines: string[] = [];
  const scope = stats.scope;
  if (scope) {
    const paths = scope.paths.length ? scope.paths.map((p) => quoteFileName(p)).join(', ') : 'the tree';
    const excluded = scope.exclude.length ? ` without ${scope.exclude.map((p) => quoteFileName(p)).join(', ')}` : '';
    const outside = scope.findingsOutside ? `; ${plural(scope.findingsOutside, 'finding')} elsewhere in the tree not shown` : '';
    lines.push(`${found} under ${paths}${excluded} (${plural(scope.files, 'file')}, ${plural(scope.functions, 'function')} judged, ${plural(scope.syncSites, 'sync site')})${outside}`);
    if (!terse) lines.push(`context: ${analysed} analysed in ${Math.round(stats.ms)} ms`);
  } else {
    lines.push(`${found} in ${analysed} in ${Math.round(stats.ms)} ms`);
  }
  if (stats.model && !terse) {
    lines.push(`cache model: ${plural(stats.model.pathsReplayed, 'path')} replayed: ${stats.model.coherent} coherent, ${stats.model.incoherent} incoherent`);
  }
  return lines;
}

function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}
