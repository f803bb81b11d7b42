// Review replies for `flushcheck review --reply`: one RFC 5322 message per
// patch that introduces findings, quoting the hunk each finding concerns the
// way a human reviewer would, so it can go out with `git send-email` or be
// opened in a mail client and edited first.
//
// Everything that comes from the series (subject, Message-IDs, author, hunk
// lines) is untrusted: header values are flattened to one line so a crafted
// subject cannot add headers, and ids are reduced to id characters.
import { createHash } from 'node:crypto';
import type { Finding } from '../types.js';
import type { Hunk, Patch, PatchFile } from '../patch/types.js';
import type { PatchReview, ReviewResult } from '../review/types.js';
import { escapeControl, quoteFileName } from './escape.js';


export interface ReplyOptions {
  /** The reviewer, as the From header: `Name <addr@example.org>`. */
  from: string;
  /** Appended after the `-- ` separator. */
  signature?: string;
  /** Date header; default now. Fixing it makes the output reproducible. */
  date?: Date;
}

export interface ReplyMessage {
  /** `NNNN-re-<slug>.eml`, NNNN the patch's position in the series. */
  fileName: string;
  text: string;
}

/** Header lines are folded before this column (RFC 5322's recommended limit). */
const HEADER_WIDTH = 78;
/** Lines carrying encoded-words stay within RFC 2047's limit. */
const ENCODED_HEADER_WIDTH = 76;
/** Longest encoded-word we emit, so one fits after `Subject: ` on the first line. */
const ENCODED_WORD_MAX = 60;
const BODY_WIDTH = 80;
/** Hunk lines quoted before and after the line a finding concerns. */
const QUOTE_CONTEXT = 4;
/** Hunks up to this many lines are quoted whole; trimming them would save little. */
const QUOTE_WHOLE_MAX = 2 * QUOTE_CONTEXT + 5;

/** Names of the files `--reply` writes: `NNNN-re-<slug>.eml`. */
export const REPLY_FILE_NAME = /^\d{4}-re-[a-z0-9-]+\.eml$/;
/** The header that marks a reply as flushcheck's (an earlier run's replies are replaced, nothing else is). */
export const REPLY_MAILER = 'X-Mailer: flushcheck';

export function formatReplies(r: ReviewResult, opts: ReplyOptions): ReplyMessage[] {
  const date = opts.date ?? new Date();
  const messages: ReplyMessage[] = [];
  for (const review of r.patches) {
    if (review.introduced.length === 0) continue;
    const replyId = replyMessageId(review.patch, opts.from);
    const ctx: ReplyContext = { review, result: r, from: opts.from, replyId, completing: r.completingCalls ?? [] };
    messages.push({
      fileName: `${String(review.index).padStart(4, '0')}-re-${slug(review.patch.title || review.subject)}.eml`,
      text: headers(review, opts.from, date, replyId, r.version) + '\n' + body(ctx, opts.signature),
    });
  }
  return messages;
}

// --------------------------------------------------------------- headers ----

function headers(review: PatchReview, from: string, date: Date, replyId: string, version: string): string {
  const patch = review.patch;
  const subject = oneLine(patch.subject || review.subject);
  const replySubject = /^re:/i.test(subject) ? subject : `Re: ${subject}`;
  const parentId = patch.messageId ? cleanId(patch.messageId) : '';

  const lines: string[] = [];
  lines.push(...fold('From', encodeWords(oneLine(from))));
  // Reply-all, as a mail client does: the author in To, the patch's To and Cc in Cc.
  const { to, cc } = recipients(patch, from);
  if (to.length > 0) lines.push(...foldAddresses('To', to));
  if (cc.length > 0) lines.push(...foldAddresses('Cc', cc));
  lines.push(...fold('Date', [rfc5322Date(date)]));
  lines.push(...fold('Subject', encodeWords(replySubject)));
  if (parentId) {
    const ancestors = patch.references.length > 0 ? patch.references : patch.inReplyTo ? [patch.inReplyTo] : [];
    const references = [...new Set([...ancestors.map(cleanId).filter((id) => id !== ''), parentId])];
    lines.push(...fold('In-Reply-To', [`<${parentId}>`]));
    lines.push(...fold('References', references.map((id) => `<${id}>`)));
  }
  lines.push(...fold('Message-ID', [replyId]));
  lines.push(`${REPLY_MAILER} ${oneLine(version)}`);
  lines.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
  return lines.join('\n') + '\n';
}

/**
 * The addresses of an address-list header, split at commas outside quotes,
 * comments and angle brackets. Each stays as written (display name and all).
 */
function splitAddresses(list: string | undefined): string[] {
  if (!list) return [];
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let depth = 0;
  let angle = false;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (c === '\\' && quoted) {
      current += c + (list[++i] ?? '');
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')' && depth > 0) depth--;
    else if (!quoted && depth === 0 && c === '<') angle = true;
    else if (!quoted && depth === 0 && c === '>') angle = false;
    if (c === ',' && !quoted && depth === 0 && !angle) {
      if (current.trim()) out.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim()) out.push(current.trim());
  return out.map(oneLine);
}

/** The bare address of `Name <addr>` or `addr`, lower-cased, for comparing. */
function bareAddress(address: string): string {
  return (/<([^<>]*)>/.exec(address)?.[1] ?? address).trim().toLowerCase();
}

/** To: the patch's author; Cc: its To and Cc; without the reviewer and without repeats. */
function recipients(patch: Patch, from: string): { to: string[]; cc: string[] } {
  const seen = new Set([bareAddress(from)]);
  const keep = (list: string[]) =>
    list.filter((address) => {
      const bare = bareAddress(address);
      if (!bare.includes('@') || seen.has(bare)) return false;
      seen.add(bare);
      return true;
    });
  const to = keep(splitAddresses(patch.from));
  const cc = keep([...splitAddresses(patch.to), ...splitAddresses(patch.cc)]);
  return { to, cc };
}

/** An address list folded after its commas, each address's display name RFC 2047-encoded when not ASCII. */
function foldAddresses(name: string, addresses: string[]): string[] {
  const tokens: string[] = [];
  addresses.forEach((address, i) => {
    const words = encodeWords(address);
    if (i < addresses.length - 1) words[words.length - 1] += ',';
    tokens.push(...words);
  });
  return fold(name, tokens);
}

/** Derived from the patch, so rerunning the review does not mint a new id for the same reply. */
function replyMessageId(patch: Patch, from: string): string {
  const seed = patch.messageId ? cleanId(patch.messageId) : `${patch.subject}\n${patch.diff}`;
  const hash = createHash('sha256').update(`${seed}\0flushcheck`).digest('hex').slice(0, 16);
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim())?.[1]?.replace(/^\.+|\.+$/g, '') || 'localhost';
  return `<flushcheck.${hash}@${domain}>`;
}

function cleanId(id: string): string {
  return id.replace(/[^\x21-\x7e]|[<>]/g, '');
}

function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** In UTC, so the same opts.date gives the same text on every machine. */
export function rfc5322Date(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAY_NAMES[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTH_NAMES[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

/**
 * Splits a header value into foldable tokens, turning each run of words with
 * non-ASCII into RFC 2047 Q encoded-words. A run is encoded as a whole because
 * the space between two encoded-words disappears when decoded.
 */
export function encodeWords(value: string): string[] {
  const words = value.split(' ').filter((w) => w !== '');
  const needsEncoding = (w: string) => /[^\x20-\x7e]/.test(w) || w.includes('=?');
  const tokens: string[] = [];
  for (let i = 0; i < words.length; ) {
    if (!needsEncoding(words[i]!)) {
      tokens.push(words[i++]!);
      continue;
    }
    const run: string[] = [];
    while (i < words.length && needsEncoding(words[i]!)) run.push(words[i++]!);
    tokens.push(...qEncode(run.join(' ')));
  }
  return tokens;
}

function qEncode(text: string): string[] {
  const open = '=?UTF-8?Q?';
  const close = '?=';
  const words: string[] = [];
  let payload = '';
  // Whole characters only: an encoded-word must not end inside a UTF-8 sequence.
  for (const ch of text) {
    const piece = /[A-Za-z0-9!*+\-/]/.test(ch)
      ? ch
      : ch === ' '
        ? '_'
        : [...Buffer.from(ch, 'utf8')].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    if (payload && open.length + payload.length + piece.length + close.length > ENCODED_WORD_MAX) {
      words.push(open + payload + close);
      payload = '';
    }
    payload += piece;
  }
  if (payload) words.push(open + payload + close);
  return words;
}

/** `Name: tokens...` folded at whitespace; a token longer than a line stays whole. */
function fold(name: string, tokens: string[]): string[] {
  const width = tokens.some((t) => t.startsWith('=?')) ? ENCODED_HEADER_WIDTH : HEADER_WIDTH;
  const lines: string[] = [];
  let line = `${name}:`;
  let lineHasToken = false;
  for (const token of tokens) {
    if (lineHasToken && line.length + 1 + token.length > width) {
      lines.push(line);
      line = ` ${token}`;
    } else {
      line += ` ${token}`;
    }
    lineHasToken = true;
  }
  lines.push(line);
  return lines;
}

// ------------------------------------------------------------------ body ----

/**
 * Findings written together under one quoted line. A flush the patch removes
 * can leave several hand-off functions unflushed (one finding each); they are
 * one problem with one fix, so they get one paragraph under the `-` line.
 */
interface Placement {
  findings: Finding[];
  fileIndex: number;
  hunkIndex: number;
  /** Index in hunk.lines of the line the findings concern, or null when it is outside every hunk. */
  anchor: number | null;
  /** Index in hunk.lines to quote around when there is no anchor. */
  focus: number;
  /** The completing call a `-` line at the anchor removes, if that is what the findings come from. */
  removedFlush?: string;
}

/** What the body needs besides the patch under review. */
interface ReplyContext {
  review: PatchReview;
  result: ReviewResult;
  from: string;
  replyId: string;
  completing: string[];
}

function body(ctx: ReplyContext, signature: string | undefined): string {
  const { review } = ctx;
  const patch = review.patch;
  const out: string[] = [];
  const blank = () => {
    if (out.length > 0 && out[out.length - 1] !== '') out.push('');
  };

  const author = patch.from ? oneLine(patch.from) : '';
  const when = patch.date ? oneLine(patch.date) : '';
  if (author || when) out.push(...wrap(`${when ? `On ${when}, ` : ''}${author || 'you'} wrote:`));

  const { placements, outside } = placeAll(patch, review.introduced, ctx.completing);
  patch.files.forEach((file, fileIndex) => {
    const inFile = placements.filter((p) => p.fileIndex === fileIndex);
    if (inFile.length === 0) return;
    out.push(quote(diffGitLine(patch, file)));
    file.hunks.forEach((hunk, hunkIndex) => {
      const inHunk = inFile.filter((p) => p.hunkIndex === hunkIndex);
      if (inHunk.length === 0) return;
      out.push(quote(hunk.header));
      const visible = visibleLines(hunk, inHunk.map((p) => p.anchor ?? p.focus));
      let previous = -1;
      for (const i of visible) {
        if (i !== previous + 1) out.push('> [...]');
        previous = i;
        out.push(quote(hunk.lines[i]!));
        const here = inHunk.filter((p) => p.anchor === i);
        for (const p of here) {
          blank();
          out.push(...placementProse(ctx, p));
        }
        if (here.length > 0) out.push('');
      }
      if (previous !== hunk.lines.length - 1) out.push('> [...]');
    });
  });

  const unanchored = [...placements.filter((p) => p.anchor === null), ...outside.map((f) => ({ findings: [f] }) as Placement)];
  if (unanchored.length > 0) {
    blank();
    out.push(...wrap('Outside the lines this patch changes, but caused by it:'), '');
    for (const p of unanchored) {
      out.push(...placementProse(ctx, p));
      out.push('');
    }
  }

  blank();
  out.push(...zeroDayTrailer(ctx));
  blank();
  out.push(...wrap(`Found with flushcheck ${ctx.result.version}, a static check that every arm64 DMA cache sync is completed by arch_sync_dma_flush().`));
  let text = out.join('\n') + '\n';
  if (signature !== undefined) text += `\n-- \n${signature.endsWith('\n') ? signature : signature + '\n'}`;
  return text;
}

/**
 * Where each finding is written. First choice: under a `-` line that removes
 * a completing call in the file the finding's sync (or path) is in, when that
 * is what left it pending. Else under its own line when the patch changes
 * it; else quoted near a step of its path the patch changes; else after the
 * quote. Findings placed under the same removed line share one paragraph.
 */
function placeAll(patch: Patch, findings: Finding[], completing: string[]): { placements: Placement[]; outside: Finding[] } {
  const placements: Placement[] = [];
  const outside: Finding[] = [];
  for (const finding of findings) {
    const removed = addsFindingLine(patch, finding) ? null : removedFlushFor(patch, finding, completing);
    if (removed) {
      const same = placements.find((p) => p.fileIndex === removed.fileIndex && p.hunkIndex === removed.hunkIndex && p.anchor === removed.anchor);
      if (same) same.findings.push(finding);
      else placements.push({ findings: [finding], ...removed });
      continue;
    }
    const placement = place(patch, finding);
    if (placement) placements.push(placement);
    else outside.push(finding);
  }
  return { placements, outside };
}

/**
 * The `-` line removing a completing call (arch_sync_dma_flush()) in a hunk
 * the finding's maintenance goes through: a hunk holding a line of its path
 * or its sync, or one inside its sync's function (git names it after `@@`).
 * That is the flush whose loss the finding reports. Null when there is none.
 */
function removedFlushFor(patch: Patch, finding: Finding, completing: string[]): Omit<Placement, 'findings'> | null {
  if (!finding.kind.startsWith('unflushed')) return null;
  const names = completing.length > 0 ? completing : ['arch_sync_dma_flush'];
  const call = new RegExp(`^-(?!\\s*(?://|/?\\*)).*\\b(${names.map(escapeRegExp).join('|')})\\s*\\(`);
  const stepLines = [...finding.path.map((s) => ({ file: s.file, line: s.line })), ...(finding.sync ? [{ file: finding.sync.file, line: finding.sync.line }] : [])];
  const functions = [finding.sync?.function, finding.function].filter((f): f is string => !!f);
  for (const [fileIndex, file] of patch.files.entries()) {
    if (!file.oldPath || !file.newPath) continue;
    const lines = stepLines.filter((s) => samePath(s.file, file.newPath!)).map((s) => s.line);
    for (const [hunkIndex, hunk] of file.hunks.entries()) {
      const holdsStep = lines.some((line) => line >= hunk.newStart && line < hunk.newStart + Math.max(1, hunk.newLines));
      const context = hunk.header.replace(/^@@[^@]*@@/, '');
      const inFunction = functions.some((fn) => new RegExp(`\\b${escapeRegExp(fn)}\\s*\\(`).test(context));
      if (!holdsStep && !inFunction) continue;
      for (const [i, text] of hunk.lines.entries()) {
        const m = call.exec(text);
        if (m) return { fileIndex, hunkIndex, anchor: i, focus: i, removedFlush: m[1] };
      }
    }
  }
  return null;
}

/** Whether the patch adds or changes the finding's own line (a `+` line): then the finding is written under it. */
function addsFindingLine(patch: Patch, finding: Finding): boolean {
  const file = patch.files.find((f) => f.newPath !== null && samePath(f.newPath, finding.file));
  if (!file) return false;
  return file.hunks.some((hunk) => {
    const numbers = newLineNumbers(hunk);
    return hunk.lines.some((text, i) => text.startsWith('+') && numbers[i] === finding.line);
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function normalise(file: string): string {
  return file.replace(/^\.\//, '');
}

/**
 * The hunk a finding belongs to. Its own line when the patch changes it;
 * otherwise the hunk holding a step of its path (the change that made the
 * path), or failing that the nearest hunk above it, quoted for context.
 */
function place(patch: Patch, finding: Finding): Placement | null {
  const fileIndex = patch.files.findIndex((f) => f.newPath !== null && samePath(f.newPath, finding.file));
  const file = fileIndex >= 0 ? patch.files[fileIndex]! : undefined;
  if (file) {
    const numbered = file.hunks.map(newLineNumbers);
    for (let h = 0; h < file.hunks.length; h++) {
      const anchor = numbered[h]!.indexOf(finding.line);
      if (anchor >= 0) return { findings: [finding], fileIndex, hunkIndex: h, anchor, focus: anchor };
    }
  }
  // A step of the path in a line the patch changes (in any file it touches).
  for (const step of finding.path) {
    const stepFile = patch.files.findIndex((f) => f.newPath !== null && samePath(f.newPath, step.file));
    if (stepFile < 0) continue;
    const hunks = patch.files[stepFile]!.hunks;
    for (let h = 0; h < hunks.length; h++) {
      const focus = newLineNumbers(hunks[h]!).indexOf(step.line);
      if (focus >= 0) return { findings: [finding], fileIndex: stepFile, hunkIndex: h, anchor: null, focus };
    }
  }
  if (!file) return null;
  let nearest = -1;
  file.hunks.forEach((hunk, h) => {
    if (hunk.newStart <= finding.line && (nearest < 0 || hunk.newStart > file.hunks[nearest]!.newStart)) nearest = h;
  });
  if (nearest < 0) return null;
  return { findings: [finding], fileIndex, hunkIndex: nearest, anchor: null, focus: Math.max(0, file.hunks[nearest]!.lines.length - 1) };
}

function samePath(a: string, b: string): boolean {
  return normalise(a) === normalise(b);
}

/** New-file line number of each hunk line; null for lines only the old file has ('-', '\'). */
export function newLineNumbers(hunk: Hunk): (number | null)[] {
  let line = hunk.newStart;
  return hunk.lines.map((text) => {
    // An empty line is a context line whose leading space a mailer stripped.
    const prefix = text === '' ? ' ' : text[0];
    return prefix === ' ' || prefix === '+' ? line++ : null;
  });
}

/** Indices of the hunk lines to quote, ascending. */
function visibleLines(hunk: Hunk, focuses: number[]): number[] {
  const count = hunk.lines.length;
  if (count <= QUOTE_WHOLE_MAX) return [...Array(count).keys()];
  const shown = new Set<number>();
  for (const focus of focuses) {
    for (let i = Math.max(0, focus - QUOTE_CONTEXT); i <= Math.min(count - 1, focus + QUOTE_CONTEXT); i++) shown.add(i);
  }
  return [...shown].sort((a, b) => a - b);
}

/** The file's `diff --git` line as the patch wrote it, or git's form when it cannot be found. */
function diffGitLine(patch: Patch, file: PatchFile): string {
  const path = file.newPath ?? file.oldPath ?? '';
  for (const line of patch.diff.split('\n')) {
    if (line.startsWith('diff --git ') && (line.endsWith(`/${path}`) || line.endsWith(` ${path}`))) return line;
  }
  return `diff --git a/${file.oldPath ?? path} b/${path}`;
}

/** A line of the series, quoted: control characters shown, never sent raw to the reader's terminal. */
function quote(line: string): string {
  return line === '' ? '>' : `> ${escapeControl(line)}`;
}

/** What a group of findings under one line says: the problem once, the affected hand-offs, the fix, the bisect note. */
function placementProse(ctx: ReplyContext, p: Placement): string[] {
  if (p.removedFlush && p.findings.length > 0) return removedFlushProse(ctx, p);
  const out: string[] = [];
  for (const [i, f] of p.findings.entries()) {
    if (i > 0) out.push('');
    out.push(...findingProse(ctx, f));
  }
  return out;
}

function removedFlushProse(ctx: ReplyContext, p: Placement): string[] {
  const first = p.findings[0]!;
  const flush = `${p.removedFlush}()`;
  const sync = first.sync ? ` issued by ${first.sync.callee}() in ${first.sync.function}() (${quoteFileName(first.sync.file)}:${first.sync.line})` : '';
  const out = wrap(`This removes the ${flush} that completed the maintenance${sync}. Without it, the maintenance is still pending when the buffer changes hands:`);
  out.push('');
  for (const f of p.findings) {
    out.push(...wrap(`${capitalize(f.severity)} (${f.kind}) ${quoteFileName(f.file)}:${f.line} in ${flat(f.function)}(): ${flat(f.message)}`, '  - ', '    '));
    for (const r of f.related ?? []) out.push(...wrap(`${quoteFileName(r.file)}:${r.line}: ${flat(r.message)}`, '    see ', '      '));
  }
  out.push(...modelProse(first));
  out.push('', ...wrap(`Suggested fix: keep this ${flush}, so the function this patch changes completes what it issued before the buffer changes hands. Its callers need no flush of their own.`));
  out.push(...bisectProse(ctx, p.findings));
  return out;
}

/** The finding as a reviewer would write it: what is wrong, how, what the model says, what to do. */
function findingProse(ctx: ReplyContext, f: Finding): string[] {
  const out: string[] = [];
  out.push(...wrap(`${capitalize(f.severity)} (${f.kind}) in ${flat(f.function)}() at ${quoteFileName(f.file)}:${f.line}: ${flat(f.message).replace(/\.\s*$/, '')}.`));
  for (const r of f.related ?? []) out.push(...wrap(`See ${quoteFileName(r.file)}:${r.line}: ${flat(r.message)}`));
  if (f.path.length > 0) {
    out.push('', 'The path:');
    for (const step of f.path) out.push(...wrap(`${quoteFileName(step.file)}:${step.line} ${flat(step.event)}`, '    ', '      '));
  }
  out.push(...modelProse(f));
  const fix = suggestion(ctx, f);
  if (fix) out.push('', ...wrap(fix));
  out.push(...bisectProse(ctx, [f]));
  return out;
}

function modelProse(f: Finding): string[] {
  if (!f.model) return [];
  const reason = f.model.reason ? `: ${flat(f.model.reason).replace(/\.\s*$/, '')}` : '';
  const verdict =
    f.model.verdict === 'unknown'
      ? `The cache model could not decide this path${reason}.`
      : `The cache model replays this path and finds it ${f.model.verdict}${reason}.`;
  return ['', ...wrap(verdict)];
}

/** "3/3 fixes this, but the series is not bisectable between 2/3 and 3/3". */
function bisectProse(ctx: ReplyContext, findings: Finding[]): string[] {
  const fixes = ctx.result.breaks.filter((b) => findings.includes(b.finding) && b.introducedBy === ctx.review.index);
  if (fixes.length === 0) return [];
  const by = ctx.result.patches.find((p) => p.index === fixes[0]!.fixedBy);
  if (!by) return [];
  const title = by.patch.title || by.subject;
  return ['', ...wrap(`Fixed by ${by.label} ("${oneLine(title)}"); the series is not bisectable between ${ctx.review.label} and ${by.label}: a kernel built at ${ctx.review.label} has this bug. Please fold the fix into this patch.`)];
}

/** The files this patch touches, '/' separated. */
function touchedFiles(patch: Patch): Set<string> {
  return new Set(patch.files.flatMap((f) => [f.oldPath, f.newPath]).filter((f): f is string => f !== null).map(normalise));
}

/**
 * What to do, in the function the patch changed: the finding's own function
 * when the patch touches its file, else the function holding the sync. Never
 * a flush in a caller the patch does not touch.
 */
function suggestion(ctx: ReplyContext, f: Finding): string | undefined {
  const flush = /\bno (\w+)\(\) on this path/.exec(f.message)?.[1] ?? ctx.completing[0] ?? 'arch_sync_dma_flush';
  const flushCall = `${flush}()`;
  const touched = touchedFiles(ctx.review.patch);
  const changed = touched.has(normalise(f.file)) ? f.function : f.sync && touched.has(normalise(f.sync.file)) ? f.sync.function : undefined;
  const where = changed ? `in ${changed}()` : 'in the code this patch changes';
  switch (f.kind) {
    case 'unflushed-return': {
      // "returns at line 31" or "returns at drivers/foo/foo_dma.c:53"
      const exit = /when (\w+)\(\) returns at (?:line (\d+)|\S+:(\d+))/.exec(f.message);
      const returns = exit && exit[1] === changed ? ` at line ${exit[2] ?? exit[3]}` : '';
      return `Suggested fix: call ${flushCall} once ${where} after its last sync (after the loop, if the syncs are in one) and before it returns${returns}.`;
    }
    case 'unflushed-access': {
      const access = /when (.+?) touches the buffer from the CPU/.exec(f.message);
      return `Suggested fix: call ${flushCall} ${where} before ${access ? access[1] : 'the CPU'} touches the buffer.`;
    }
    case 'batchable': {
      const name = /^(\w+)\(\) runs once per iteration/.exec(f.message)?.[1];
      return `Suggested fix: call ${name ? `${name}()` : 'the flush'} once after the loop instead of once per entry.`;
    }
    case 'redundant-flush': {
      const name = /^(\w+)\(\) here has nothing to complete/.exec(f.message)?.[1];
      return `Suggested fix: drop this ${name ? `${name}()` : 'flush'}, or check that the sync it was meant to complete is still issued.`;
    }
    default:
      return undefined;
  }
}

/**
 * What the 0-day robot's mails give, for a maintainer who knows them: the
 * base and the configuration, an excerpt of each finding's code with the
 * line marked `>>`, and tags to paste into a fix.
 */
function zeroDayTrailer(ctx: ReplyContext): string[] {
  const { result, review } = ctx;
  const out: string[] = [];
  const config = result.kconfig ? `${result.arch}, ${result.kconfig}` : `${result.arch}, #if CONFIG_* from what arch/${result.arch}/Kconfig selects (no .config)`;
  out.push(...wrap(`Base: ${flat(result.base)}; config: ${config}.`));
  for (const f of review.introduced) {
    const excerpt = codeExcerpt(ctx, f);
    if (excerpt.length === 0) continue;
    out.push('', `vim +${f.line} ${quoteFileName(f.file)}`, '', ...excerpt);
  }
  out.push('', ...wrap('If you fix the issue in a separate patch (not just a new version of this one), kindly add these tags:'));
  out.push(`| Reported-by: ${oneLine(ctx.from)}`);
  out.push(`| Closes: https://lore.kernel.org/r/${ctx.replyId.replace(/^<|>$/g, '')}/`);
  return out;
}

const EXCERPT_CONTEXT = 3;

/** The lines around a finding in the file as the patch left it, numbered, the finding's line marked `>>`. */
function codeExcerpt(ctx: ReplyContext, f: Finding): string[] {
  const content = fileAfter(ctx, f.file);
  if (!content) return [];
  const lines = content.toString('utf8').split('\n');
  if (f.line < 1 || f.line > lines.length) return [];
  const from = Math.max(1, f.line - EXCERPT_CONTEXT);
  const to = Math.min(lines.length, f.line + EXCERPT_CONTEXT);
  const width = String(to).length;
  const out: string[] = [];
  for (let n = from; n <= to; n++) {
    const mark = n === f.line ? '>>' : '  ';
    out.push(`${mark} ${String(n).padStart(width)}\t${escapeControl(lines[n - 1]!)}`.trimEnd());
  }
  return out;
}

/** A file as the series left it after this patch: the last applied patch that touched it, else the base. */
function fileAfter(ctx: ReplyContext, rel: string): Buffer | null {
  for (const p of [...ctx.result.patches].reverse()) {
    if (p.index > ctx.review.index || !p.files?.has(rel)) continue;
    return p.files.get(rel) ?? null;
  }
  return ctx.result.baseFile?.(rel) ?? null;
}

/** Text from a finding on one line, control characters shown. */
function flat(text: string): string {
  return escapeControl(text.replace(/\s*\n\s*/g, ' '));
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Greedy word wrap; a word longer than the line (a path) is kept whole on its own line. */
export function wrap(text: string, indent = '', hangingIndent = indent, width = BODY_WIDTH): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const lines: string[] = [];
  let line = indent;
  let lineHasWord = false;
  for (const word of words) {
    if (lineHasWord && columns(line) + 1 + columns(word) > width) {
      lines.push(line);
      line = hangingIndent + word;
    } else {
      line += (lineHasWord ? ' ' : '') + word;
    }
    lineHasWord = true;
  }
  if (lineHasWord) lines.push(line);
  return lines;
}

function columns(text: string): number {
  return [...text].length;
}

/** Like git format-patch's file names: the title's words, lower case, joined by '-'. */
function slug(title: string): string {
  const words = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return words.slice(0, 52).replace(/-+$/, '') || 'patch';
}
