// Splitting an mbox (or one format-patch file, or one .eml) into messages and
// reading their headers and text bodies. Input is untrusted: any bytes decode
// (UTF-8 with replacement), sizes are bounded, and every step is linear in the
// input so a 50 MB mailing-list archive reads in one pass.
import { findDiffStart } from './diff.js';
import { PatchParseError, type MailHeaders, type MessageSource } from './types.js';

export const MAX_MESSAGES = 10_000;
export const MAX_HEADER_LINE_BYTES = 64 * 1024;
/** JavaScript strings stop at about 512 MiB; far below that, input is not a patch series. */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;
/** multipart inside multipart inside...: real mail nests two or three deep. */
const MAX_MIME_DEPTH = 5;

export interface MailMessage {
  source: MessageSource;
  headers: MailHeaders;
  /** The text body (transfer encoding and MIME structure undone), one entry per line, without terminators. */
  bodyLines: string[];
  /** For each body line, the 1-based line of the input file it came from. */
  bodySourceLines: number[];
}

export interface SplitOptions {
  /** Refuse input with more messages than this (default MAX_MESSAGES). */
  maxMessages?: number;
}

interface TextLines {
  lines: string[];
  sourceLines: number[];
}

const NOT_MAIL = "not an mbox or patch: expected a 'From ' line or mail headers at line 1";
const HEADER_LINE = /^([!-9;-~]+):(.*)$/s;
/** The date on a From_ line as mbox writers put it: `From sender Mon Sep 17 00:00:00 2001`. */
const FROM_LINE_DATE = /^From \S+ +(?:[A-Za-z]{3},? +)?[A-Za-z]{3} +\d{1,2} +\d{1,2}:\d{2}/;
/** Headers that open a message after a From_ line, when the From_ line has no date. */
const FIRST_HEADER = /^(?:from|return-path|received|date|subject|message-id|delivered-to|x-[a-z0-9-]+|mime-version|content-type|to|cc|in-reply-to|references|envelope-to|arc-[a-z-]+|dkim-signature|authentication-results|sender|reply-to|list-[a-z-]+|status):/i;
/** Headers that make a file without a From_ line a mail (a saved .eml). */
const IDENTIFYING_HEADERS = ['from', 'subject', 'date', 'message-id'];

/** Decodes a file's bytes as UTF-8 with replacement characters; never throws on encoding. */
export function decodeInput(input: string | Buffer): string {
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: false }).decode(input);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function isBlank(line: string): boolean {
  return line === '' || line === '\r';
}

/** A From_ separator line (after a blank line): dated as mbox writers do, or followed by a mail header. */
function isFromSeparator(line: string, next: string | undefined): boolean {
  if (!line.startsWith('From ')) return false;
  return FROM_LINE_DATE.test(line) || (next !== undefined && FIRST_HEADER.test(next));
}

const decoderCache = new Map<string, TextDecoder | null>();

/** A decoder for a MIME charset label; null when Node does not know it. */
function decoderFor(charset: string | undefined): TextDecoder | null {
  // RFC 2231 adds a language after '*'.
  const label = (charset ?? 'utf-8').split('*')[0].trim().toLowerCase() || 'utf-8';
  const cached = decoderCache.get(label);
  if (cached !== undefined) return cached;
  let decoder: TextDecoder | null;
  try {
    decoder = new TextDecoder(label, { fatal: false });
  } catch {
    decoder = null;
  }
  // Labels come from untrusted headers: bound the cache.
  if (decoderCache.size < 256) decoderCache.set(label, decoder);
  return decoder;
}

function utf8Decoder(): TextDecoder {
  return decoderFor('utf-8') as TextDecoder;
}

const ENCODED_WORD = /=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/g;

function encodedWordBytes(encoding: string, text: string): Buffer {
  if (encoding === 'B' || encoding === 'b') return Buffer.from(text, 'base64');
  return quotedPrintableBytes(text.replace(/_/g, ' '));
}

/**
 * Decodes RFC 2047 encoded words (`=?utf-8?q?...?=`, `=?iso-8859-1?b?...?=`).
 * Adjacent words of one charset are decoded together (a character may be split
 * across them) and the whitespace between encoded words is dropped. Words in a
 * charset Node does not know stay as written.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  let out = '';
  let last = 0;
  let pending: { charset: string; decoder: TextDecoder; bytes: Buffer[] } | null = null;
  const flush = () => {
    if (pending) out += pending.decoder.decode(Buffer.concat(pending.bytes));
    pending = null;
  };
  for (const m of value.matchAll(ENCODED_WORD)) {
    const gap = value.slice(last, m.index);
    last = m.index + m[0].length;
    const decoder = decoderFor(m[1]);
    const charset = m[1].toLowerCase();
    const betweenWords = pending !== null && /^[ \t\r\n]*$/.test(gap);
    if (decoder === null) {
      flush();
      out += gap + m[0];
      continue;
    }
    const bytes = encodedWordBytes(m[2], m[3]);
    if (betweenWords && pending!.charset === charset) {
      pending!.bytes.push(bytes);
      continue;
    }
    flush();
    if (!betweenWords) out += gap;
    pending = { charset, decoder, bytes: [bytes] };
  }
  flush();
  return out + value.slice(last);
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** Bytes of quoted-printable text: `=XX` is a byte, anything else is its UTF-8 encoding. */
function quotedPrintableBytes(text: string): Buffer {
  if (!text.includes('=')) return Buffer.from(text, 'utf8');
  // =XX shrinks three bytes to one, so the UTF-8 length bounds the output.
  const out = Buffer.allocUnsafe(Buffer.byteLength(text, 'utf8'));
  let length = 0;
  let from = 0;
  for (let i = text.indexOf('='); i >= 0 && i + 2 < text.length; i = text.indexOf('=', i + 1)) {
    const high = hexValue(text.charCodeAt(i + 1));
    const low = hexValue(text.charCodeAt(i + 2));
    if (high < 0 || low < 0) continue;
    length += out.write(text.slice(from, i), length, 'utf8');
    out[length++] = high * 16 + low;
    from = i + 3;
    i += 2;
  }
  length += out.write(text.slice(from), length, 'utf8');
  return out.subarray(0, length);
}

function trimEndSpaceTab(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  return end === line.length ? line : line.slice(0, end);
}

function decodeQuotedPrintable(body: TextLines, charset: string | undefined): TextLines {
  const decoder = decoderFor(charset) ?? utf8Decoder();
  const out: TextLines = { lines: [], sourceLines: [] };
  // Encoded pieces of one decoded line (soft line breaks join them): an =XX
  // never spans a break, so the pieces are joined first and decoded once.
  let pieces: string[] = [];
  let firstLine = -1;
  const flush = () => {
    out.lines.push(decoder.decode(quotedPrintableBytes(pieces.join(''))));
    out.sourceLines.push(firstLine);
    pieces = [];
    firstLine = -1;
  };
  for (let i = 0; i < body.lines.length; i++) {
    // Trailing blanks on an encoded line are transport padding (RFC 2045 6.7).
    let line = trimEndSpaceTab(body.lines[i]);
    const softBreak = line.endsWith('=');
    if (softBreak) line = line.slice(0, -1);
    if (firstLine < 0) firstLine = body.sourceLines[i];
    pieces.push(line);
    if (!softBreak) flush();
  }
  if (pieces.length > 0) flush();
  return out;
}

function decodeBase64(body: TextLines, charset: string | undefined): TextLines {
  const decoder = decoderFor(charset) ?? utf8Decoder();
  // MIME text is canonically CRLF; Buffer's base64 decoder skips whitespace and junk.
  const text = decoder.decode(Buffer.from(body.lines.join(''), 'base64')).replace(/\r\n/g, '\n');
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  // Decoded lines have no line of their own in the file: point at the encoded part.
  const at = body.sourceLines[0] ?? 1;
  return { lines, sourceLines: lines.map(() => at) };
}

function headerParam(value: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
  return m ? (m[1] ?? m[2]) : undefined;
}

function mediaType(fields: Map<string, string>): string {
  return (fields.get('content-type') ?? 'text/plain').split(';')[0].trim().toLowerCase();
}

interface HeaderBlock {
  /** Lower-cased name → unfolded raw value of its first occurrence. */
  fields: Map<string, string>;
  /** Index of the first body line. */
  end: number;
}

/**
 * Header lines from `from` until a blank line (consumed) or a line that is not
 * a header (the body starts there, as git mailinfo reads it).
 */
function parseHeaderBlock(lines: readonly string[], from: number, to: number, lineOf: (i: number) => number, file: string, message: number): HeaderBlock {
  const fields = new Map<string, string>();
  let name: string | null = null;
  let parts: string[] = [];
  let size = 0;
  const finish = () => {
    if (name !== null && !fields.has(name)) fields.set(name, parts.join(' '));
    name = null;
  };
  let i = from;
  for (; i < to; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line === '') {
      finish();
      return { fields, end: i + 1 };
    }
    if (line.length * 3 > MAX_HEADER_LINE_BYTES && Buffer.byteLength(line) > MAX_HEADER_LINE_BYTES) {
      throw new PatchParseError(file, message, lineOf(i), `header line over ${MAX_HEADER_LINE_BYTES} bytes`);
    }
    if ((line[0] === ' ' || line[0] === '\t') && name !== null) {
      const continuation = line.trim();
      size += continuation.length + 1;
      if (size > MAX_HEADER_LINE_BYTES) {
        throw new PatchParseError(file, message, lineOf(i), `header '${name}' over ${MAX_HEADER_LINE_BYTES} bytes when unfolded`);
      }
      if (continuation) parts.push(continuation);
      continue;
    }
    const m = HEADER_LINE.exec(line);
    if (!m) break;
    finish();
    name = m[1].toLowerCase();
    parts = [m[2].trim()];
    size = line.length;
  }
  finish();
  return { fields, end: i };
}

function withoutAngles(value: string): string {
  const m = /<([^<>]*)>/.exec(value);
  return (m ? m[1] : value).trim();
}

function mailHeaders(fields: Map<string, string>): MailHeaders {
  const decoded = (name: string) => {
    const value = fields.get(name);
    return value === undefined ? undefined : decodeEncodedWords(value).trim();
  };
  const headers: MailHeaders = { subject: decoded('subject') ?? '', references: [] };
  const from = decoded('from');
  if (from !== undefined) headers.from = from;
  const to = decoded('to');
  if (to !== undefined && to !== '') headers.to = to;
  const cc = decoded('cc');
  if (cc !== undefined && cc !== '') headers.cc = cc;
  const date = decoded('date');
  if (date !== undefined) headers.date = date;
  const messageId = fields.get('message-id');
  if (messageId !== undefined && withoutAngles(messageId)) headers.messageId = withoutAngles(messageId);
  const inReplyTo = fields.get('in-reply-to');
  if (inReplyTo !== undefined && withoutAngles(inReplyTo)) headers.inReplyTo = withoutAngles(inReplyTo);
  const references = fields.get('references');
  if (references !== undefined) {
    const ids = [...references.matchAll(/<([^<>]*)>/g)].map((m) => m[1].trim()).filter(Boolean);
    headers.references = ids.length > 0 ? ids : references.split(/\s+/).filter(Boolean);
  }
  return headers;
}

/** The parts of a multipart body, each with its own header block. */
function multipartParts(body: TextLines, boundary: string): TextLines[] {
  const delimiter = `--${boundary}`;
  const parts: TextLines[] = [];
  let current: TextLines | null = null;
  for (let i = 0; i < body.lines.length; i++) {
    const line = body.lines[i];
    if (line.startsWith(delimiter)) {
      const after = trimEndSpaceTab(line.slice(delimiter.length));
      if (after === '' || after === '--') {
        if (current) parts.push(current);
        current = after === '' ? { lines: [], sourceLines: [] } : null;
        if (after === '--') break;
        continue;
      }
    }
    if (current) {
      current.lines.push(line);
      current.sourceLines.push(body.sourceLines[i]);
    }
  }
  if (current) parts.push(current);
  return parts;
}

interface DecodedEntity {
  text: TextLines;
  /** A text/plain entity (or one containing one). */
  isText: boolean;
  hasDiff: boolean;
}

/**
 * The text of one MIME entity. For multipart: the first text/plain part that
 * contains a diff; else the first text/plain part, marked as having no diff.
 */
function decodeEntity(fields: Map<string, string>, body: TextLines, depth: number, file: string, message: number): DecodedEntity {
  const type = mediaType(fields);
  const contentType = fields.get('content-type') ?? '';
  const boundary = type.startsWith('multipart/') ? headerParam(contentType, 'boundary') : undefined;
  if (boundary !== undefined && boundary !== '') {
    if (depth >= MAX_MIME_DEPTH) return { text: { lines: [], sourceLines: [] }, isText: false, hasDiff: false };
    let firstText: TextLines | undefined;
    for (const part of multipartParts(body, boundary)) {
      const block = parseHeaderBlock(part.lines, 0, part.lines.length, (i) => part.sourceLines[i] ?? 1, file, message);
      const partBody = { lines: part.lines.slice(block.end), sourceLines: part.sourceLines.slice(block.end) };
      const decoded = decodeEntity(block.fields, partBody, depth + 1, file, message);
      if (!decoded.isText) continue;
      if (decoded.hasDiff) return decoded;
      firstText ??= decoded.text;
    }
    return { text: firstText ?? { lines: [], sourceLines: [] }, isText: firstText !== undefined, hasDiff: false };
  }
  const encoding = (fields.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  const charset = headerParam(contentType, 'charset');
  const text = encoding === 'quoted-printable' ? decodeQuotedPrintable(body, charset) : encoding === 'base64' ? decodeBase64(body, charset) : body;
  // A single-part message is read whatever its type says; parts must be text/plain.
  const isText = depth === 0 || type === 'text/plain';
  return { text, isText, hasDiff: isText && depth > 0 && findDiffStart(text.lines) >= 0 };
}

/** Line indices where messages start: From_ separators, or line 0 for a headers-first file. */
function messageStarts(lines: readonly string[], file: string, maxMessages: number): { start: number; fromLine: boolean }[] {
  const starts: { start: number; fromLine: boolean }[] = [];
  if (lines[0].startsWith('From ')) {
    starts.push({ start: 0, fromLine: true });
  } else {
    const block = HEADER_LINE.test(lines[0].replace(/\r$/, '')) ? parseHeaderBlock(lines, 0, lines.length, (i) => i + 1, file, 1) : null;
    if (!block || !IDENTIFYING_HEADERS.some((name) => block.fields.has(name))) throw new PatchParseError(file, null, 1, NOT_MAIL);
    starts.push({ start: 0, fromLine: false });
  }
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].startsWith('From ') && isBlank(lines[i - 1]) && isFromSeparator(lines[i].replace(/\r$/, ''), lines[i + 1])) {
      if (starts.length >= maxMessages) {
        throw new PatchParseError(file, starts.length + 1, i + 1, `more than ${maxMessages} messages; not a patch series`);
      }
      starts.push({ start: i, fromLine: true });
    }
  }
  return starts;
}

/**
 * Splits an mbox, a format-patch file or a single mail into messages. Throws
 * PatchParseError for input that is none of these, has more than
 * `maxMessages` messages, or a header line over 64 KiB.
 */
export function splitMbox(input: string | Buffer, file: string, options: SplitOptions = {}): MailMessage[] {
  const maxMessages = options.maxMessages ?? MAX_MESSAGES;
  if (input.length > MAX_INPUT_BYTES) throw new PatchParseError(file, null, null, `over ${MAX_INPUT_BYTES} bytes; not a patch series`);
  const text = decodeInput(input);
  if (text.trim() === '') throw new PatchParseError(file, null, 1, `${NOT_MAIL} (the file is empty)`);
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();

  const starts = messageStarts(lines, file, maxMessages);
  const messages: MailMessage[] = [];
  for (let m = 0; m < starts.length; m++) {
    const { start, fromLine } = starts[m];
    const end = m + 1 < starts.length ? starts[m + 1].start : lines.length;
    const index = m + 1;
    // A message saved with CRLF endings has them on every line; LF mail keeps a lone CR (it may be file content).
    const crlf = lines[start].endsWith('\r');
    const block = parseHeaderBlock(lines, fromLine ? start + 1 : start, end, (i) => i + 1, file, index);
    const body: TextLines = { lines: [], sourceLines: [] };
    for (let i = block.end; i < end; i++) {
      let line = crlf && lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
      // mboxrd quoting: one level of '>' before 'From ' was added by the writer.
      if (line.startsWith('>') && /^>+From /.test(line)) line = line.slice(1);
      body.lines.push(line);
      body.sourceLines.push(i + 1);
    }
    const decoded = decodeEntity(block.fields, body, 0, file, index);
    messages.push({
      source: { file, message: index, line: start + 1 },
      headers: mailHeaders(block.fields),
      bodyLines: decoded.text.lines,
      bodySourceLines: decoded.text.sourceLines,
    });
  }
  return messages;
}
