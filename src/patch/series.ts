// A patch series from an mbox, a folder of format-patch files, or
// `git format-patch --stdout` text: which messages are the patches, in which
// order, and why every other message is left out.
import fs from 'node:fs';
import path from 'node:path';
import { parsePatchBody, findDiffStart } from './diff.js';
import { MAX_INPUT_BYTES, MAX_MESSAGES, splitMbox, type MailMessage } from './mbox.js';
import { PatchParseError, type Patch, type Series, type SkippedMessage } from './types.js';

export const DEFAULT_MAX_PATCH_BYTES = 8 * 1024 * 1024;
const SERIES_FILE = /\.(?:patch|mbox|eml)$/;

export interface SeriesOptions {
  /** Patches whose diff is larger are skipped (default 8 MiB). */
  maxPatchBytes?: number;
}

export interface SubjectTags {
  /** `Re:` / `Aw:` in front. */
  reply: boolean;
  /** The subject has a `[PATCH ...]`-style tag (PATCH, RFC, or an M/N number). */
  tagged: boolean;
  version: number;
  index: number | null;
  total: number | null;
  /** The subject without its leading bracket tags. */
  title: string;
}

const REPLY_PREFIX = /^\s*(?:re|aw)(?:\[\d+\])?\s*:/i;
const BRACKET_TAG = /\s*\[([^\]]*)\]/y;

/** Reads `[RFC PATCH net-next v3 01/12]`-style tags, in any token order, across leading bracket groups. */
export function parseSubject(subject: string): SubjectTags {
  const tags: SubjectTags = { reply: REPLY_PREFIX.test(subject), tagged: false, version: 1, index: null, total: null, title: '' };
  let version: number | null = null;
  BRACKET_TAG.lastIndex = 0;
  let end = 0;
  for (let m = BRACKET_TAG.exec(subject); m; m = BRACKET_TAG.exec(subject)) {
    end = BRACKET_TAG.lastIndex;
    for (const token of m[1].split(/[\s,]+/)) {
      const numbered = /^(\d{1,5})\/(\d{1,5})$/.exec(token);
      const versioned = /^(?:patch|rfc)?v(\d{1,4})$/i.exec(token);
      if (numbered && tags.index === null) {
        tags.index = Number(numbered[1]);
        tags.total = Number(numbered[2]);
        tags.tagged = true;
      } else if (versioned && version === null) {
        version = Math.max(1, Number(versioned[1]));
        if (!/^v/i.test(token)) tags.tagged = true;
      } else if (/^(?:patch|rfc)$/i.test(token)) {
        tags.tagged = true;
      }
    }
  }
  tags.version = version ?? 1;
  tags.title = subject.slice(end).trim();
  return tags;
}

interface Candidate {
  message: MailMessage;
  tags: SubjectTags;
}

function skip(message: MailMessage, reason: string): SkippedMessage {
  return { source: message.source, subject: message.headers.subject, reason };
}

function describeMessage(kept: MailMessage, other: MailMessage): string {
  return kept.source.file === other.source.file ? `message ${kept.source.message}` : `${path.basename(kept.source.file)} message ${kept.source.message}`;
}

/**
 * Picks the series out of parsed messages: drops replies, messages without a
 * diff, other versions and duplicates; parses and orders the patches.
 */
export function assembleSeries(messages: MailMessage[], options: SeriesOptions = {}): Series {
  const maxPatchBytes = options.maxPatchBytes ?? DEFAULT_MAX_PATCH_BYTES;
  const skipped: SkippedMessage[] = [];
  const covers: Candidate[] = [];
  const patches: Candidate[] = [];
  const byMessageId = new Map<string, MailMessage>();
  for (const message of messages) {
    const id = message.headers.messageId;
    const earlier = id !== undefined ? byMessageId.get(id) : undefined;
    if (earlier) {
      skipped.push(skip(message, `duplicate of ${describeMessage(earlier, message)} (same Message-ID)`));
      continue;
    }
    if (id !== undefined) byMessageId.set(id, message);
    const tags = parseSubject(message.headers.subject);
    if (tags.reply) skipped.push(skip(message, 'reply'));
    else if (tags.index === 0) covers.push({ message, tags });
    else if (findDiffStart(message.bodyLines) < 0) skipped.push(skip(message, 'no diff'));
    else patches.push({ message, tags });
  }

  // Only the newest version of the series is reviewed.
  let newest = 0;
  for (const c of patches.length > 0 ? patches : covers) newest = Math.max(newest, c.tags.version);
  const ofNewest = (candidates: Candidate[]) =>
    candidates.filter((c) => {
      if (c.tags.version === newest) return true;
      skipped.push(skip(c.message, `v${c.tags.version}; the series has v${newest}`));
      return false;
    });
  const currentCovers = ofNewest(covers);
  const currentPatches = ofNewest(patches);

  const firstByNumber = new Map<string, MailMessage>();
  const unique = (candidates: Candidate[]) =>
    candidates.filter((c) => {
      if (c.tags.index === null) return true;
      const number = `${c.tags.index}/${c.tags.total}`;
      const first = firstByNumber.get(number);
      if (first) {
        skipped.push(skip(c.message, `duplicate of ${number} (${describeMessage(first, c.message)})`));
        return false;
      }
      firstByNumber.set(number, c.message);
      return true;
    });
  const cover = unique(currentCovers)[0];

  const kept: Patch[] = [];
  const uniquePatches = unique(currentPatches);
  for (const { message, tags } of uniquePatches) {
    const where = { file: message.source.file, message: message.source.message };
    let parsed;
    try {
      parsed = parsePatchBody(message.bodyLines, message.bodySourceLines, where);
    } catch (error) {
      // Without a [PATCH] tag the message may only quote a diff: not worth failing the series for.
      if (error instanceof PatchParseError && !tags.tagged) {
        skipped.push(skip(message, `corrupt diff: ${error.reason}`));
        continue;
      }
      throw error;
    }
    if (!parsed) {
      skipped.push(skip(message, 'no diff'));
      continue;
    }
    const bytes = Buffer.byteLength(parsed.diff, 'utf8');
    if (parsed.files.some((f) => f.binary)) {
      skipped.push(skip(message, 'binary patch: not applied'));
      continue;
    }
    if (bytes > maxPatchBytes) {
      skipped.push(skip(message, `oversize: ${bytes} bytes over the ${maxPatchBytes}-byte limit`));
      continue;
    }
    const patch: Patch = {
      ...message.headers,
      source: message.source,
      title: tags.title,
      version: tags.version,
      index: tags.index,
      total: tags.total,
      body: parsed.message,
      diff: parsed.diff,
      files: parsed.files,
      bytes,
    };
    if (parsed.stripComponents !== 1) patch.stripComponents = parsed.stripComponents;
    kept.push(patch);
  }
  if (kept.every((p) => p.index !== null)) kept.sort((a, b) => (a.index as number) - (b.index as number));

  // Reported in input order, whichever step skipped them.
  const position = new Map(messages.map((m, i) => [m.source, i]));
  skipped.sort((a, b) => (position.get(a.source) ?? 0) - (position.get(b.source) ?? 0));
  const series: Series = { patches: kept, skipped };
  const base = baseCommitOf([...(cover ? [cover.message] : []), ...uniquePatches.map((c) => c.message)]);
  if (base) series.baseCommit = base;
  if (cover) {
    const { message } = cover;
    let end = message.bodyLines.length;
    while (end > 0 && message.bodyLines[end - 1].trim() === '') end--;
    series.cover = { ...message.headers, source: message.source, body: message.bodyLines.slice(0, end).join('\n') };
  }
  return series;
}

const BASE_COMMIT = /^base-commit: ([0-9a-f]{7,64})\s*$/;

/** The first `base-commit:` line (after the diff, or in the cover letter) of the series' messages. */
function baseCommitOf(messages: MailMessage[]): string | undefined {
  for (const message of messages) {
    for (const line of message.bodyLines) {
      const m = BASE_COMMIT.exec(line);
      if (m) return m[1];
    }
  }
  return undefined;
}

/** A series from mbox / format-patch text (one file's content, or `git format-patch --stdout`). */
export function parseSeriesText(text: string | Buffer, file: string, options: SeriesOptions = {}): Series {
  return assembleSeries(splitMbox(text, file), options);
}

function readInputFile(file: string): Buffer {
  let size: number;
  try {
    size = fs.statSync(file).size;
    if (size > MAX_INPUT_BYTES) throw new PatchParseError(file, null, null, `over ${MAX_INPUT_BYTES} bytes; not a patch series`);
    return fs.readFileSync(file);
  } catch (error) {
    if (error instanceof PatchParseError) throw error;
    throw new PatchParseError(file, null, null, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * A series from a path: an mbox file, or a folder whose regular `.patch`,
 * `.mbox` and `.eml` files (by name order) are read as one series.
 */
export function readSeries(input: string, options: SeriesOptions = {}): Series {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PatchParseError(input, null, null, code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file or folder' : `cannot read: ${code ?? (error as Error).message}`);
  }
  if (!stat.isDirectory()) return parseSeriesText(readInputFile(input), input, options);

  let names: string[];
  try {
    names = fs
      .readdirSync(input, { withFileTypes: true })
      .filter((entry) => entry.isFile() && SERIES_FILE.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    throw new PatchParseError(input, null, null, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (names.length === 0) throw new PatchParseError(input, null, null, 'no .patch, .mbox or .eml files in the folder');
  const messages: MailMessage[] = [];
  for (const name of names) {
    const file = path.join(input, name);
    const left = MAX_MESSAGES - messages.length;
    if (left <= 0) throw new PatchParseError(file, null, null, `more than ${MAX_MESSAGES} messages in the folder; not a patch series`);
    messages.push(...splitMbox(readInputFile(file), file, { maxMessages: left }));
  }
  return assembleSeries(messages, options);
}
