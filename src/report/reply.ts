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

export function formatReplies(r: ReviewResult, opts: ReplyOptions): ReplyMessage[] {
  const date = opts.date ?? new Date();
  const messages: ReplyMessage[] = [];
  for (const review of r.patches) {
    if (review.introduced.length === 0) continue;
    messages.push({
      fileName: `${String(review.index).padStart(4, '0')}-re-${slug(review.patch.title || review.subject)}.eml`,
      text: headers(review, opts.from, date) + '\n' + body(review, r.version, opts.signature),
    });
  }
  return messages;
}

// --------------------------------------------------------------- headers ----

function headers(review: PatchReview, from: string, date: Date): string {
  const patch = review.patch;
  const subject = oneLine(patch.subject || review.subject);
  const replySubject = /^re:/i.test(subject) ? subject : `Re: ${subject}`;
  const parentId = patch.messageId ? cleanId(patch.messageId) : '';

  const lines: string[] = [];
  lines.push(...fold('From', encodeWords(oneLine(from))));
  lines.push(...fold('Date', [rfc5322Date(date)]));
  lines.push(...fold('Subject', encodeWords(replySubject)));
  if (parentId) {
    const ancestors = patch.references.length > 0 ? patch.references : patch.inReplyTo ? [patch.inReplyTo] : [];
    const references = [...new Set([...ancestors.map(cleanId).filter((id) => id !== ''), parentId])];
    lines.push(...fold('In-Reply-To', [`<${parentId}>`]));
    lines.push(...fold('References', references.map((id) => `<${id}>`)));
  }
  lines.push(...fold('Message-ID', [replyMessageId(patch, from)]));
  lines.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
  return lines.join('\n') + '\n';
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
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/ {2,}/g, ' ').trim();
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

/** Where a finding is written: under the quoted line it concerns, or after the quote. */
interface Placement {
  finding: Finding;
  fileIndex: number;
  hunkIndex: number;
  /** Index in hunk.lines of the line the finding concerns, or null when it is outside every hunk. */
  anchor: number | null;
  /** Index in hunk.lines to quote around when there is no anchor. */
  focus: number;
}

function body(review: PatchReview, version: string, signature: string | undefined): string {
  const patch = review.patch;
  const out: string[] = [];
  const blank = () => {
    if (out.length > 0 && out[out.length - 1] !== '') out.push('');
  };

  const author = patch.from ? oneLine(patch.from) : '';
  const when = patch.date ? oneLine(patch.date) : '';
  if (author || when) out.push(...wrap(`${when ? `On ${when}, ` : ''}${author || 'you'} wrote:`));

  const placements: Placement[] = [];
  const outside: Finding[] = [];
  for (const finding of review.introduced) {
    const placement = place(patch, finding);
    if (placement) placements.push(placement);
    if (!placement || placement.anchor === null) outside.push(finding);
  }

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
          out.push(...findingProse(p.finding));
        }
        if (here.length > 0) out.push('');
      }
      if (previous !== hunk.lines.length - 1) out.push('> [...]');
    });
  });

  if (outside.length > 0) {
    blank();
    out.push('Outside the lines this patch changes:', '');
    for (const finding of outside) {
      out.push(...findingProse(finding));
      out.push('');
    }
  }

  blank();
  out.push(...wrap(`Found with flushcheck ${version}, a static check that every arm64 DMA cache sync is completed by arch_sync_dma_flush().`));
  let text = out.join('\n') + '\n';
  if (signature !== undefined) text += `\n-- \n${signature.endsWith('\n') ? signature : signature + '\n'}`;
  return text;
}

/**
 * The hunk a finding belongs to. Its own line when the patch changes it;
 * otherwise the hunk holding a step of its path (the change that made the
 * path), or failing that the nearest hunk above it, quoted for context.
 */
function place(patch: Patch, finding: Finding): Placement | null {
  const fileIndex = patch.files.findIndex((f) => f.newPath !== null && samePath(f.newPath, finding.file));
  if (fileIndex < 0) return null;
  const file = patch.files[fileIndex]!;
  const numbered = file.hunks.map(newLineNumbers);

  for (let h = 0; h < file.hunks.length; h++) {
    const anchor = numbered[h]!.indexOf(finding.line);
    if (anchor >= 0) return { finding, fileIndex, hunkIndex: h, anchor, focus: anchor };
  }
  for (const step of finding.path) {
    if (!samePath(step.file, finding.file)) continue;
    for (let h = 0; h < file.hunks.length; h++) {
      const focus = numbered[h]!.indexOf(step.line);
      if (focus >= 0) return { finding, fileIndex, hunkIndex: h, anchor: null, focus };
    }
  }
  let nearest = -1;
  file.hunks.forEach((hunk, h) => {
    if (hunk.newStart <= finding.line && (nearest < 0 || hunk.newStart > file.hunks[nearest]!.newStart)) nearest = h;
  });
  if (nearest < 0) return null;
  return { finding, fileIndex, hunkIndex: nearest, anchor: null, focus: Math.max(0, file.hunks[nearest]!.lines.length - 1) };
}

function samePath(a: string, b: string): boolean {
  return a.replace(/^\.\//, '') === b.replace(/^\.\//, '');
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

function quote(line: string): string {
  return line === '' ? '>' : `> ${line}`;
}

/** The finding as a reviewer would write it: what is wrong, how, what the model says, what to do. */
function findingProse(f: Finding): string[] {
  const out: string[] = [];
  const message = f.message.replace(/\.\s*$/, '');
  out.push(...wrap(`${capitalize(f.severity)} (${f.kind}) in ${f.function}() at ${f.file}:${f.line}: ${message}.`));
  if (f.path.length > 0) {
    out.push('', 'The path:');
    for (const step of f.path) out.push(...wrap(`${step.file}:${step.line} ${step.event}`, '    ', '      '));
  }
  if (f.model) {
    const reason = f.model.reason ? `: ${f.model.reason.replace(/\.\s*$/, '')}` : '';
    const verdict =
      f.model.verdict === 'unknown'
        ? `The cache model could not decide this path${reason}.`
        : `The cache model replays this path and finds it ${f.model.verdict}${reason}.`;
    out.push('', ...wrap(verdict));
  }
  const fix = suggestion(f);
  if (fix) out.push('', ...wrap(fix));
  return out;
}

/**
 * What to do, read off the rule's message. The messages name the completing
 * call and the exit; when they do not (another rule's wording), the advice
 * stays generic rather than guessing a place.
 */
function suggestion(f: Finding): string | undefined {
  const flush = /\bno (\w+)\(\) on this path/.exec(f.message)?.[1];
  const flushCall = flush ? `${flush}()` : 'the completing flush';
  switch (f.kind) {
    case 'unflushed-return': {
      const exit = /when (\w+)\(\) returns at line (\d+)/.exec(f.message);
      if (exit) return `Suggested fix: add ${flushCall} after the last sync and before ${exit[1]}() returns at line ${exit[2]}.`;
      return `Suggested fix: add ${flushCall} after the last sync and before the function returns.`;
    }
    case 'unflushed-access': {
      const access = /when (.+?) touches the buffer from the CPU/.exec(f.message);
      if (access) return `Suggested fix: add ${flushCall} before ${access[1]} touches the buffer.`;
      return `Suggested fix: add ${flushCall} before the CPU touches the buffer.`;
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
