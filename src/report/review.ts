// Report formats for `flushcheck review`: what each patch of a series did to
// the findings, whether the series stays correct at every step (bisectable),
// and what is left at the end. JSON for tools, text for a terminal, markdown
// for a pull-request or forge comment.
import type { Finding, LintResult, Rule } from '../types.js';
import { compareFindings } from '../review/match.js';
import { formatSarif } from './sarif.js';
import type { PatchReview, ReviewResult } from '../review/types.js';
import { findingJson } from './json.js';
import { escapeControl, quoteFileName } from './escape.js';
import { ANSI, painter, SEVERITY_COLOR, VERDICT_COLOR, type Paint } from './text.js';

// ------------------------------------------------------------------ json ----

export function formatReviewJson(r: ReviewResult): string {
  // Rebuilt field by field, like the lint report, so the key order is the
  // documented one whatever order the review built its objects in.
  const report = {
    tool: r.tool,
    version: r.version,
    tree: r.tree,
    base: r.base,
    notes: r.notes,
    patches: r.patches.map((p) => ({
      index: p.index,
      label: p.label,
      subject: p.subject,
      applied: p.applied,
      error: p.error,
      skipped: p.skipped,
      introduced: p.introduced.map(findingJson),
      fixed: p.fixed.map(findingJson),
    })),
    bisectable: r.bisectable,
    breaks: r.breaks.map((b) => ({ introducedBy: b.introducedBy, fixedBy: b.fixedBy, text: b.text, finding: findingJson(b.finding) })),
    findings: r.findings.map(findingJson),
    batchable: r.batchable.map(findingJson),
    inactiveRules: r.inactiveRules.map((inactive) => ({ ruleId: inactive.ruleId, reason: inactive.reason })),
    skippedMessages: r.series.skipped.map((s) => ({
      file: s.source.file,
      message: s.source.message,
      line: s.source.line,
      subject: s.subject,
      reason: s.reason,
    })),
    ms: Math.round(r.ms),
  };
  return JSON.stringify(report, null, 2) + '\n';
}

// ----------------------------------------------------------------- sarif ----

/**
 * The tree after the series, for code scanning: findings the series
 * introduces are `new`, those the tree had before are `unchanged`, and
 * those it fixes are `absent`.
 */
export function formatReviewSarif(r: ReviewResult, rules: Rule[]): string {
  const { introduced, fixed } = compareFindings(r.baseFindings, r.findings, r.renamed);
  const result: LintResult = {
    tool: r.tool,
    version: r.version,
    root: r.tree,
    arch: r.arch,
    findings: r.findings,
    inactiveRules: r.inactiveRules,
    stats: { files: 0, parsed: 0, functions: 0, syncSites: 0, ms: r.ms, diagnostics: [] },
  };
  return formatSarif(result, rules, { baseline: { introduced, absent: fixed } });
}

// ------------------------------------------------------------------ text ----

export interface ReviewTextOptions {
  /** ANSI colours; the CLI decides (stdout is a TTY, NO_COLOR unset, no --no-color). */
  color: boolean;
}

const BISECTABLE_TEXT = 'no patch leaves a sync unflushed for a later patch to fix';


export function formatReviewText(r: ReviewResult, opts: ReviewTextOptions): string {
  const paint = painter(opts.color);
  const lines: string[] = [`flushcheck ${r.version} review of ${quoteFileName(r.tree)} at ${escapeControl(r.base)}`];
  for (const note of r.notes) lines.push(paint(ANSI.yellow, `note: ${escapeControl(note)}`));
  for (const inactive of r.inactiveRules) lines.push(paint(ANSI.yellow, `rule ${inactive.ruleId} inactive: ${escapeControl(inactive.reason)}; it judged no patch`));
  lines.push('');

  for (const p of r.patches) {
    lines.push(paint(ANSI.bold, `[${escapeControl(p.label)}] ${escapeControl(patchTitle(p))}`));
    if (p.skipped !== undefined) lines.push(`  ${paint(ANSI.yellow, `skipped: ${escapeControl(p.skipped)}`)}`);
    else if (!p.applied) lines.push(`  ${paint(ANSI.red, `did not apply: ${escapeControl(p.error ?? 'unknown reason')}`)}`);
    else if (p.introduced.length === 0 && p.fixed.length === 0) lines.push('  (applied, no change)');
    for (const f of p.introduced) {
      const mark = paint(ANSI.bold + SEVERITY_COLOR[f.severity], `+ ${f.severity}`);
      lines.push(`  ${mark}  ${findingTextLine(f, paint)}`);
      for (const step of f.path) lines.push(`      ${quoteFileName(step.file)}:${step.line}: ${escapeControl(step.event)}`);
    }
    for (const f of p.fixed) lines.push(`  ${paint(ANSI.green, '- fixed')}  ${findingTextLine(f, paint)}`);
  }

  for (const s of r.series.skipped) {
    lines.push(`not reviewed: ${quoteFileName(s.source.file)}: message ${s.source.message}, line ${s.source.line}: ${escapeControl(s.subject)} (${escapeControl(s.reason)})`);
  }

  lines.push('');
  if (r.bisectable === null) {
    lines.push(`${paint(ANSI.yellow, 'bisectability not judged')}: ${notJudgedReason(r)}`);
    for (const b of r.breaks) lines.push(`  ${escapeControl(b.text)}`);
  } else if (r.bisectable) {
    lines.push(`${paint(ANSI.green, 'bisectable')}: ${BISECTABLE_TEXT}`);
  } else {
    lines.push(`${paint(ANSI.yellow, 'not bisectable')}: a build in the middle of the series has syncs that a later patch completes`);
    for (const b of r.breaks) lines.push(`  ${escapeControl(b.text)}`);
  }

  if (r.batchable.length > 0) {
    lines.push('');
    lines.push('batchable flushes in the functions the series touches:');
    for (const f of r.batchable) lines.push(`  ${paint(SEVERITY_COLOR[f.severity], f.severity)}  ${findingTextLine(f, paint)}`);
  }

  lines.push('');
  lines.push(summaryLine(r));
  return lines.join('\n') + '\n';
}

function findingTextLine(f: Finding, paint: Paint): string {
  const verdict = f.model ? ` [model: ${paint(VERDICT_COLOR[f.model.verdict], f.model.verdict)}]` : '';
  return `${quoteFileName(f.file)}:${f.line}  ${escapeControl(f.function)}: ${escapeControl(f.message)}${verdict}`;
}

/** Why no bisectability verdict: some patches were never applied. */
function notJudgedReason(r: ReviewResult): string {
  const unapplied = r.patches.filter((p) => !p.applied).length;
  return `${unapplied} of ${plural(r.patches.length, 'patch')} not applied; only a series applied whole is judged`;
}

function summaryLine(r: ReviewResult): string {
  const applied = r.patches.filter((p) => p.applied).length;
  const introduced = r.patches.reduce((n, p) => n + p.introduced.length, 0);
  const fixed = r.patches.reduce((n, p) => n + p.fixed.length, 0);
  return (
    `${plural(r.patches.length, 'patch')}, ${applied} applied, ${introduced} introduced, ${fixed} fixed,` +
    ` ${plural(r.findings.length, 'finding')} at the end (${Math.round(r.ms)} ms)`
  );
}

// -------------------------------------------------------------- markdown ----

export function formatReviewMarkdown(r: ReviewResult): string {
  const out: string[] = [];
  out.push('## flushcheck review', '');
  out.push(`Series applied to ${codeSpan(r.tree)} at ${codeSpan(r.base)} by flushcheck ${escapeInline(r.version)}.`, '');
  for (const note of r.notes) out.push(`> **Note:** ${escapeInline(note)}`, '');
  for (const inactive of r.inactiveRules) out.push(`> **Rule ${codeSpan(inactive.ruleId)} inactive:** ${escapeInline(inactive.reason)}; it judged no patch.`, '');

  out.push('| Patch | Subject | Result | Introduced | Fixed |');
  out.push('| --- | --- | --- | ---: | ---: |');
  for (const p of r.patches) {
    out.push(`| ${escapeCell(p.label)} | ${escapeCell(patchTitle(p))} | ${escapeCell(patchResult(p))} | ${p.introduced.length} | ${p.fixed.length} |`);
  }
  out.push('');

  for (const p of r.patches) {
    if (p.introduced.length === 0 && p.fixed.length === 0) continue;
    out.push(`### ${escapeInline(p.label)} ${escapeInline(patchTitle(p))}`, '');
    if (p.introduced.length > 0) {
      out.push('Introduced:', '');
      for (const f of p.introduced) out.push(...findingMarkdown(f, true));
    }
    if (p.fixed.length > 0) {
      out.push('Fixed:', '');
      for (const f of p.fixed) out.push(...findingMarkdown(f, false));
    }
  }

  out.push('### Bisectability', '');
  if (r.bisectable === null) {
    out.push(`Not judged: ${escapeInline(notJudgedReason(r))}.`, '');
    for (const b of r.breaks) out.push(`- ${escapeInline(b.text)}`);
    if (r.breaks.length > 0) out.push('');
  } else if (r.bisectable) {
    out.push(`Bisectable: ${BISECTABLE_TEXT}.`, '');
  } else {
    out.push('Not bisectable: a build in the middle of the series has syncs that a later patch completes.', '');
    for (const b of r.breaks) out.push(`- ${escapeInline(b.text)}`);
    out.push('');
  }

  if (r.batchable.length > 0) {
    out.push('### Batchable flushes', '');
    out.push('Flushes in the functions the series touches that could still be hoisted out of their loop:', '');
    for (const f of r.batchable) out.push(...findingMarkdown(f, false));
  }

  if (r.series.skipped.length > 0) {
    out.push('### Messages not reviewed', '');
    for (const s of r.series.skipped) {
      out.push(`- ${codeSpan(`${s.source.file}:${s.source.line}`)} ${escapeInline(s.subject)}: ${escapeInline(s.reason)}`);
    }
    out.push('');
  }

  out.push(`**${escapeInline(summaryLine(r))}**`);
  return out.join('\n') + '\n';
}

function patchResult(p: PatchReview): string {
  if (p.skipped !== undefined) return `skipped: ${p.skipped}`;
  if (!p.applied) return `did not apply: ${p.error ?? 'unknown reason'}`;
  return 'applied';
}

/** A bullet, then the path in a collapsed block so a long series stays skimmable. */
function findingMarkdown(f: Finding, withPath: boolean): string[] {
  const verdict = f.model ? ` (model: **${f.model.verdict}**${f.model.reason ? `, ${escapeInline(f.model.reason)}` : ''})` : '';
  const lines = [`- **${f.severity}** ${codeSpan(`${f.file}:${f.line}`)} in ${codeSpan(`${f.function}()`)}: ${escapeInline(f.message)}${verdict}`];
  if (withPath && f.path.length > 0) {
    // The blank lines inside <details> let GitHub render the list as markdown.
    lines.push('', `  <details><summary>Path (${plural(f.path.length, 'step')})</summary>`, '');
    f.path.forEach((step, i) => lines.push(`  ${i + 1}. ${codeSpan(`${step.file}:${step.line}`)} ${escapeInline(step.event)}`));
    lines.push('', '  </details>');
  }
  lines.push('');
  return lines;
}

/** Markdown punctuation in messages (`__func__`, `a[i]`, `<linux/dma.h>`) is literal text; control characters are shown. */
function escapeInline(text: string): string {
  return escapeControl(text.replace(/[\r\n]+/g, ' ')).replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
}

function escapeCell(text: string): string {
  return escapeInline(text);
}

/** A code span whose fence is longer than any backtick run inside it. */
function codeSpan(text: string): string {
  const flat = escapeControl(text.replace(/[\r\n]+/g, ' '));
  const longestRun = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

// ---------------------------------------------------------------- shared ----

/** The subject without its `[PATCH ...]` tag: the label already says where the patch sits. */
function patchTitle(p: PatchReview): string {
  if (p.patch.title) return p.patch.title;
  return p.subject.replace(/^\s*(\[[^\]]*\]\s*)+/, '');
}

function plural(n: number, noun: string): string {
  if (n === 1) return `${n} ${noun}`;
  return `${n} ${noun}${/(s|sh|ch|x|z)$/.test(noun) ? 'es' : 's'}`;
}
