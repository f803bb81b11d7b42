// Unified diff parsing for one mail body. The diff is untrusted: every count is
// checked against the hunk headers, every file name is taken from all the places
// git itself reads it (header, ---/+++ lines, rename/copy lines) and they must
// agree, so the paths checked before `git apply` are the paths git writes.
import { PatchParseError, type Hunk, type PatchFile } from './types.js';

/** Where a body came from, for error messages. */
export interface BodyLocation {
  file: string;
  message: number;
}

export interface ParsedPatchBody {
  /** Commit message: the body before the `---` line (or before the diff), trailing blank lines dropped. */
  message: string;
  /** From the first file header to the end of the last hunk, '\n'-terminated. */
  diff: string;
  files: PatchFile[];
  /** `git apply -p` value: 1 for a/ b/ prefixes, 0 for --no-prefix. */
  stripComponents: 0 | 1;
}

const HUNK_HEADER = /^@@ -(\d{1,9})(?:,(\d{1,9}))? \+(\d{1,9})(?:,(\d{1,9}))? @@(.*)$/s;
const INDEX_LINE = /^index [0-9a-fA-F]+\.\.[0-9a-fA-F]+(?: (.*))?$/;
const BINARY_BLOCK = /^(?:literal|delta) \d+$/;
/** Longer `diff --git` name parts are not real paths; skip the split heuristics on them. */
const MAX_HEADER_NAMES_LENGTH = 16 * 1024;

function startsPlainFile(lines: readonly string[], i: number): boolean {
  return (
    i + 2 < lines.length && lines[i].startsWith('--- ') && lines[i + 1].startsWith('+++ ') && lines[i + 2].startsWith('@@ -')
  );
}

function startsFile(lines: readonly string[], i: number): boolean {
  return lines[i].startsWith('diff --git ') || startsPlainFile(lines, i);
}

/** Index of the first line of the diff (a `diff --git` line, or a `---`/`+++`/`@@` triple), or -1. */
export function findDiffStart(lines: readonly string[]): number {
  for (let i = 0; i < lines.length; i++) if (startsFile(lines, i)) return i;
  return -1;
}

/** Signature separator git format-patch (and most mailers) put after the diff. */
function isSignature(line: string): boolean {
  return line === '-- ' || line === '--';
}

/** A C-quoted name as git writes it (`"a/with\ttab"`), starting at `from`; null when malformed. */
function parseQuoted(text: string, from: number): { value: string; end: number } | null {
  if (text[from] !== '"') return null;
  const bytes: number[] = [];
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34 };
  for (let i = from + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"') return { value: Buffer.from(bytes).toString('utf8'), end: i + 1 };
    if (c !== '\\') {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) return null;
    if (next in simple) {
      bytes.push(simple[next]);
      i++;
    } else if (/^[0-3][0-7]{2}$/.test(text.slice(i + 1, i + 4))) {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      return null;
    }
  }
  return null;
}

/**
 * A trailing timestamp as git apply's diff_timestamp_len() recognises it
 * (`2020-07-05 19:41:17`, with fractional seconds and a zone optional), after
 * a tab or spaces: `+++ b/x.c 2020-01-01 00:00:00` names `b/x.c`.
 */
const TRAILING_TIMESTAMP = /(?:\t| +)\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [+-]\d{4}| [+-]\d{2}:\d{2})?$/;

/** The name on a `---`/`+++` line: quoted, or before a timestamp, or up to a tab. */
function fileLineName(rest: string): string | null {
  if (rest.startsWith('"')) {
    const quoted = parseQuoted(rest, 0);
    return quoted ? quoted.value : null;
  }
  const stamp = TRAILING_TIMESTAMP.exec(rest);
  if (stamp) return rest.slice(0, stamp.index);
  const tab = rest.indexOf('\t');
  return tab >= 0 ? rest.slice(0, tab) : rest;
}

function unquoteIfQuoted(rest: string): string | null {
  if (!rest.startsWith('"')) return rest;
  const quoted = parseQuoted(rest, 0);
  return quoted && quoted.end === rest.length ? quoted.value : null;
}

function stripFirstComponent(name: string): string | null {
  const slash = name.indexOf('/');
  return slash >= 0 ? name.slice(slash + 1) : null;
}

/**
 * The two names of `diff --git A B`, or null when they cannot be told apart
 * (unquoted names with spaces that differ: a rename, whose names then come
 * from the rename lines). Unquoted equal names split at the middle, as git does.
 */
function gitHeaderNames(rest: string): { a: string; b: string } | null {
  if (rest.length > MAX_HEADER_NAMES_LENGTH) return null;
  if (rest.startsWith('"')) {
    const a = parseQuoted(rest, 0);
    if (!a || rest[a.end] !== ' ') return null;
    const b = unquoteIfQuoted(rest.slice(a.end + 1));
    return b === null ? null : { a: a.value, b };
  }
  if (rest.endsWith('"')) {
    for (let s = rest.indexOf(' "'); s >= 0; s = rest.indexOf(' "', s + 1)) {
      const b = parseQuoted(rest, s + 1);
      if (b && b.end === rest.length) return { a: rest.slice(0, s), b: b.value };
    }
    return null;
  }
  if (rest.length % 2 === 1) {
    const middle = (rest.length - 1) / 2;
    if (rest[middle] === ' ') {
      const a = rest.slice(0, middle);
      const b = rest.slice(middle + 1);
      if (a === b || (stripFirstComponent(a) !== null && stripFirstComponent(a) === stripFirstComponent(b))) return { a, b };
    }
  }
  const space = rest.indexOf(' ');
  if (space >= 0 && rest.indexOf(' ', space + 1) < 0) return { a: rest.slice(0, space), b: rest.slice(space + 1) };
  return null;
}

/** a/ b/, or git's mnemonic prefixes (c/ w/ i/ o/): two different one-letter first components. */
function hasGitPrefixes(a: string, b: string): boolean {
  if (a.startsWith('a/') && b.startsWith('b/')) return true;
  const pa = /^([a-z])\//.exec(a);
  const pb = /^([a-z])\//.exec(b);
  return pa !== null && pb !== null && pa[1] !== pb[1];
}

/** Everything one file part of the diff says about names, before the patch-wide prefix decision. */
interface RawFile {
  /** Index (in the body lines) of the line that starts this file part. */
  at: number;
  git: boolean;
  header?: { a: string; b: string };
  /** `---` / `+++` names as written; null for /dev/null. */
  minus?: string | null;
  plus?: string | null;
  renameFrom?: string;
  renameTo?: string;
  copyFrom?: string;
  copyTo?: string;
  isNew: boolean;
  isDeleted: boolean;
  binary: boolean;
  mode?: string;
  /** Every mode the header states, as written: git reads each of them. */
  statedModes: { line: string; value: string }[];
  hunks: Hunk[];
  /** Whether these names carry a prefix to strip; undefined when they do not tell. */
  prefixed?: boolean;
}

class BodyDiffParser {
  constructor(
    private readonly lines: readonly string[],
    private readonly sourceLines: readonly number[],
    private readonly where: BodyLocation,
  ) {}

  private error(index: number, reason: string): PatchParseError {
    const line = this.sourceLines[Math.min(index, this.sourceLines.length - 1)] ?? null;
    return new PatchParseError(this.where.file, this.where.message, line, reason);
  }

  parse(start: number): ParsedPatchBody {
    const { lines } = this;
    const raw: RawFile[] = [];
    let i = start;
    while (i < lines.length && startsFile(lines, i)) {
      const file = lines[i].startsWith('diff --git ') ? this.gitFile(i) : this.plainFile(i);
      raw.push(file.raw);
      i = file.next;
    }
    const end = i;
    // git apply would pick up a later file part or stray hunk after junk; a diff
    // we validated must be all of what it sees, so later diff text is an error.
    for (let k = end; k < lines.length; k++) {
      if (startsFile(lines, k) || lines[k].startsWith('@@ -') || lines[k] === 'GIT binary patch') {
        throw this.error(k, `diff text after the end of the diff (which ends at line ${this.sourceLines[end - 1]}): '${clip(lines[k])}'`);
      }
    }
    const stripComponents = this.stripComponents(raw);
    const files = raw.map((file) => this.resolve(file, stripComponents));

    let messageEnd = start;
    for (let k = 0; k < start; k++) {
      if (lines[k] === '---') {
        messageEnd = k;
        break;
      }
    }
    while (messageEnd > 0 && lines[messageEnd - 1].trim() === '') messageEnd--;
    return {
      message: lines.slice(0, messageEnd).join('\n'),
      diff: lines.slice(start, end).join('\n') + '\n',
      files,
      stripComponents,
    };
  }

  private gitFile(at: number): { raw: RawFile; next: number } {
    const { lines } = this;
    const header = gitHeaderNames(lines[at].slice('diff --git '.length));
    const raw: RawFile = { at, git: true, header: header ?? undefined, isNew: false, isDeleted: false, binary: false, statedModes: [], hunks: [] };
    if (header) raw.prefixed = hasGitPrefixes(header.a, header.b);
    let k = at + 1;
    for (; k < lines.length; k++) {
      const line = lines[k];
      if (line.startsWith('similarity index ') || line.startsWith('dissimilarity index ')) continue;
      if (line.startsWith('old mode ')) raw.statedModes.push({ line: 'old mode', value: line.slice('old mode '.length) });
      else if (line.startsWith('new mode ')) {
        raw.mode = line.slice('new mode '.length);
        raw.statedModes.push({ line: 'new mode', value: raw.mode });
      } else if (line.startsWith('new file mode ')) {
        raw.isNew = true;
        raw.mode = line.slice('new file mode '.length);
        raw.statedModes.push({ line: 'new file mode', value: raw.mode });
      } else if (line.startsWith('deleted file mode ')) {
        raw.isDeleted = true;
        raw.statedModes.push({ line: 'deleted file mode', value: line.slice('deleted file mode '.length) });
      }
      else if (line.startsWith('rename from ')) raw.renameFrom = this.extendedName(k, 'rename from ');
      else if (line.startsWith('rename to ')) raw.renameTo = this.extendedName(k, 'rename to ');
      else if (line.startsWith('rename old ')) raw.renameFrom = this.extendedName(k, 'rename old ');
      else if (line.startsWith('rename new ')) raw.renameTo = this.extendedName(k, 'rename new ');
      else if (line.startsWith('copy from ')) raw.copyFrom = this.extendedName(k, 'copy from ');
      else if (line.startsWith('copy to ')) raw.copyTo = this.extendedName(k, 'copy to ');
      else if (line.startsWith('index ')) {
        const index = INDEX_LINE.exec(line);
        if (index?.[1] !== undefined) {
          raw.statedModes.push({ line: 'index', value: index[1] });
          if (raw.mode === undefined) raw.mode = index[1];
        }
      } else break;
    }
    if (raw.isNew && raw.isDeleted) throw this.error(at, `${this.displayName(raw)}: both a new and a deleted file`);

    if (k < lines.length && lines[k].startsWith('--- ')) {
      if (!(k + 1 < lines.length && lines[k + 1].startsWith('+++ '))) throw this.error(k, `${this.displayName(raw)}: '---' line without a '+++' line after it`);
      raw.minus = this.fileLine(k);
      raw.plus = this.fileLine(k + 1);
      k += 2;
      if (!(k < lines.length && lines[k].startsWith('@@'))) throw this.error(k, `${this.displayName(raw)}: no hunk ('@@') after the '+++' line`);
    } else if (k < lines.length && lines[k].startsWith('Binary files ') && lines[k].endsWith(' differ')) {
      raw.binary = true;
      k++;
    } else if (k < lines.length && lines[k] === 'GIT binary patch') {
      raw.binary = true;
      k = this.skipBinary(k + 1);
    } else if (k < lines.length && lines[k].startsWith('@@')) {
      throw this.error(k, `${this.displayName(raw)}: hunk without '---'/'+++' lines`);
    }
    if (!header && typeof raw.minus === 'string' && typeof raw.plus === 'string') raw.prefixed = hasGitPrefixes(raw.minus, raw.plus);
    k = this.hunks(k, raw);
    return { raw, next: k };
  }

  private plainFile(at: number): { raw: RawFile; next: number } {
    const raw: RawFile = { at, git: false, isNew: false, isDeleted: false, binary: false, statedModes: [], hunks: [] };
    raw.minus = this.fileLine(at);
    raw.plus = this.fileLine(at + 1);
    if (raw.minus === null) raw.isNew = true;
    if (raw.plus === null) raw.isDeleted = true;
    if (raw.isNew && raw.isDeleted) throw this.error(at, `both file names are /dev/null`);
    if (raw.minus !== null && raw.plus !== null) {
      // quilt-style `linux.orig/x` / `linux/x` strips one component, like a/ b/.
      raw.prefixed =
        raw.minus !== raw.plus && (hasGitPrefixes(raw.minus, raw.plus) || (raw.minus.includes('/') && raw.plus.includes('/')));
    } else if (/^[ab]\//.test(raw.minus ?? raw.plus ?? '')) {
      raw.prefixed = true;
    }
    return { raw, next: this.hunks(at + 2, raw) };
  }

  private extendedName(k: number, keyword: string): string {
    const name = unquoteIfQuoted(this.lines[k].slice(keyword.length));
    if (name === null || name === '') throw this.error(k, `malformed '${keyword.trim()}' line`);
    return name;
  }

  /** Name on a `---`/`+++` line; null for /dev/null. */
  private fileLine(k: number): string | null {
    const name = fileLineName(this.lines[k].slice(4));
    if (name === null || name === '') throw this.error(k, `malformed file name line '${clip(this.lines[k])}'`);
    return name === '/dev/null' ? null : name;
  }

  /** Forward block and optional reverse block of a `GIT binary patch`, each ended by a blank line. */
  private skipBinary(k: number): number {
    const { lines } = this;
    for (let block = 0; block < 2; block++) {
      if (!(k < lines.length && BINARY_BLOCK.test(lines[k]))) {
        if (block === 0) throw this.error(k, "'GIT binary patch' without a 'literal' or 'delta' block");
        break;
      }
      k++;
      while (k < lines.length && lines[k] !== '') k++;
      if (k < lines.length) k++;
    }
    return k;
  }

  private hunks(k: number, raw: RawFile): number {
    while (k < this.lines.length && this.lines[k].startsWith('@@')) {
      const parsed = this.hunk(k, this.displayName(raw));
      raw.hunks.push(parsed.hunk);
      k = parsed.next;
    }
    return k;
  }

  private hunk(at: number, name: string): { hunk: Hunk; next: number } {
    const { lines } = this;
    const header = lines[at];
    const m = HUNK_HEADER.exec(header);
    if (!m) throw this.error(at, `${name}: malformed hunk header '${clip(header)}'`);
    const oldLines = m[2] === undefined ? 1 : Number(m[2]);
    const newLines = m[4] === undefined ? 1 : Number(m[4]);
    const hunk: Hunk = {
      oldStart: Number(m[1]),
      oldLines,
      newStart: Number(m[3]),
      newLines,
      header,
      lines: [],
      sourceLine: this.sourceLines[at],
    };
    let oldLeft = oldLines;
    let newLeft = newLines;
    let k = at + 1;
    for (; oldLeft > 0 || newLeft > 0; k++) {
      if (k >= lines.length) throw this.countMismatch(at, name, hunk);
      const line = lines[k];
      // An empty line is an empty context line whose space a mailer dropped; git accepts it.
      const kind = line.length === 0 ? ' ' : line[0];
      if (kind === ' ' && oldLeft > 0 && newLeft > 0) {
        oldLeft--;
        newLeft--;
        hunk.lines.push(line.length === 0 ? ' ' : line);
      } else if (kind === '-' && oldLeft > 0) {
        oldLeft--;
        hunk.lines.push(line);
      } else if (kind === '+' && newLeft > 0) {
        newLeft--;
        hunk.lines.push(line);
      } else if (kind === '\\' && hunk.lines.length > 0) {
        hunk.lines.push(line);
      } else {
        throw this.countMismatch(at, name, hunk);
      }
    }
    if (k < lines.length && lines[k].startsWith('\\') && hunk.lines.length > 0) hunk.lines.push(lines[k++]);
    if (k < lines.length && /^[ +-]/.test(lines[k]) && !isSignature(lines[k]) && !startsPlainFile(lines, k)) {
      throw this.countMismatch(at, name, hunk);
    }
    return { hunk, next: k };
  }

  /** The hunk body (as far as it goes) does not match the header counts; says by how much. */
  private countMismatch(at: number, name: string, hunk: Hunk): PatchParseError {
    const { lines } = this;
    let oldCount = 0;
    let newCount = 0;
    let trailingEmpty = 0;
    for (let k = at + 1; k < lines.length; k++) {
      const line = lines[k];
      if (isSignature(line) || line.startsWith('@@') || startsFile(lines, k)) break;
      if (line.length === 0) {
        trailingEmpty++;
        continue;
      }
      const kind = line[0];
      if (kind !== ' ' && kind !== '-' && kind !== '+' && kind !== '\\') break;
      oldCount += trailingEmpty;
      newCount += trailingEmpty;
      trailingEmpty = 0;
      if (kind === ' ') {
        oldCount++;
        newCount++;
      } else if (kind === '-') oldCount++;
      else if (kind === '+') newCount++;
    }
    const ranges = `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`;
    return this.error(
      at,
      `${name}: hunk '${ranges}' has ${oldCount} old and ${newCount} new lines; its header says ${hunk.oldLines} and ${hunk.newLines}`,
    );
  }

  /** Best name for messages before the prefix decision: the new name, prefix stripped when this part has one. */
  private displayName(raw: RawFile): string {
    const strip = (name: string) => (raw.prefixed ? (stripFirstComponent(name) ?? name) : name);
    const name =
      raw.renameTo ?? raw.copyTo ?? (raw.plus ? strip(raw.plus) : undefined) ?? (raw.minus ? strip(raw.minus) : undefined) ?? (raw.header ? strip(raw.header.b) : undefined);
    return name === undefined ? '(unnamed file)' : clip(name);
  }

  private stripComponents(raw: RawFile[]): 0 | 1 {
    const prefixed = raw.filter((f) => f.prefixed === true);
    const unprefixed = raw.filter((f) => f.prefixed === false);
    if (prefixed.length > 0 && unprefixed.length > 0) {
      throw this.error(unprefixed[0].at, `mixes a/ b/-prefixed file names with unprefixed ones (--no-prefix); git apply cannot take both`);
    }
    return unprefixed.length > 0 ? 0 : 1;
  }

  private resolve(raw: RawFile, strip: 0 | 1): PatchFile {
    const stripName = (name: string): string => {
      if (strip === 0) return name;
      const stripped = stripFirstComponent(name);
      if (stripped === null || stripped === '') throw this.error(raw.at, `'${clip(name)}' has no a/ b/ prefix to strip`);
      return stripped;
    };
    const a = raw.header ? stripName(raw.header.a) : undefined;
    const b = raw.header ? stripName(raw.header.b) : undefined;
    const minus = raw.minus ? stripName(raw.minus) : undefined;
    const plus = raw.plus ? stripName(raw.plus) : undefined;
    const isNew = raw.isNew || raw.minus === null;
    const isDeleted = raw.isDeleted || raw.plus === null;
    if (isNew && isDeleted) throw this.error(raw.at, `${clip(b ?? a ?? '(unnamed file)')}: both a new and a deleted file`);

    const moved = raw.renameFrom !== undefined || raw.copyFrom !== undefined || raw.renameTo !== undefined || raw.copyTo !== undefined;
    // git takes the names from the rename/copy lines, then the diff --git line; the rest must agree.
    let oldName = raw.renameFrom ?? raw.copyFrom ?? a ?? minus;
    let newName = raw.renameTo ?? raw.copyTo ?? b ?? plus;
    if (oldName === undefined && newName === undefined) throw this.error(raw.at, 'git diff header lacks file names');
    oldName ??= newName;
    newName ??= oldName;
    if (raw.git) {
      // git reads every one of these; any disagreement means a path we did not check could be written.
      const said: [string | undefined, string | undefined, string][] = [
        [minus, oldName, "'---' name"],
        [plus, newName, "'+++' name"],
        [a, isNew ? newName : oldName, 'first name in the diff --git line'],
        [b, isDeleted ? oldName : newName, 'second name in the diff --git line'],
      ];
      for (const [name, expected, what] of said) {
        if (name !== undefined && name !== expected) {
          throw this.error(raw.at, `inconsistent file names: ${what} is '${clip(name)}', expected '${clip(expected ?? '')}'`);
        }
      }
      if (!moved && !isNew && !isDeleted && oldName !== newName) {
        throw this.error(raw.at, `inconsistent file names '${clip(oldName ?? '')}' and '${clip(newName ?? '')}' without a rename`);
      }
    }
    const file: PatchFile = {
      oldPath: isNew ? null : (oldName ?? null),
      newPath: isDeleted ? null : (newName ?? null),
      binary: raw.binary,
      hunks: raw.hunks,
    };
    if ((raw.renameFrom !== undefined || raw.renameTo !== undefined) && oldName !== newName) file.renamed = true;
    if (raw.mode !== undefined && !isDeleted) {
      const mode = parseGitMode(raw.mode);
      file.mode = mode === null ? raw.mode.trim() : mode.toString(8).padStart(6, '0');
    }
    if (raw.statedModes.length > 0) file.statedModes = raw.statedModes;
    return file;
  }
}

const S_IFMT = 0o170000n;
const S_IFREG = 0o100000n;
const S_IFLNK = 0o120000n;
const S_IFDIR = 0o040000n;
const S_IFGITLINK = 0o160000n;

/**
 * A mode as git apply reads it (parse_mode_line + canon_mode): strtoul base 8
 * (leading blanks, a sign, any number of digits, saturating at ULONG_MAX),
 * stopped by a blank or the end of the line, kept to an unsigned int, then
 * a regular file's permissions reduced to 0644/0755 and any type but a
 * regular file, a symlink or a folder taken as a submodule link. Null when
 * git would reject the line.
 */
export function parseGitMode(text: string): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-7]+)(?:[ \t\n\v\f\r]|$)/.exec(text);
  if (!m) return null;
  const ULONG_MAX = (1n << 64n) - 1n;
  let value = BigInt(`0o${m[2]}`);
  if (value > ULONG_MAX) value = ULONG_MAX;
  if (m[1] === '-') value = (ULONG_MAX + 1n - value) & ULONG_MAX;
  value &= 0xffffffffn;
  const type = value & S_IFMT;
  if (type === S_IFREG) return Number(S_IFREG | (value & 0o100n ? 0o755n : 0o644n));
  if (type === S_IFLNK || type === S_IFDIR) return Number(type);
  return Number(S_IFGITLINK);
}

function clip(text: string, max = 120): string {
  const printable = text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return printable.length > max ? `${printable.slice(0, max)}...` : printable;
}

/**
 * Parses the diff in a decoded mail body. `sourceLines[i]` is the line of the
 * input file body line i came from. Null when the body has no diff; throws
 * PatchParseError when the diff is corrupt.
 */
export function parsePatchBody(lines: readonly string[], sourceLines: readonly number[], where: BodyLocation): ParsedPatchBody | null {
  const start = findDiffStart(lines);
  if (start < 0) return null;
  return new BodyDiffParser(lines, sourceLines, where).parse(start);
}
