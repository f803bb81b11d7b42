// A patch series as read from a mailing list (mbox), a folder of
// `git format-patch` files, or a git range. Everything here is untrusted input:
// parsers validate and describe problems, they never act on the content.

/** One `@@ -a,b +c,d @@` hunk; `lines` keep their prefix (' ', '+', '-', '\\'). */
export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** The `@@ ... @@ context` line as written. */
  header: string;
  lines: string[];
  /** 1-based line of the `@@` header in the source file (for error messages and quoting). */
  sourceLine: number;
}

/** One file touched by a patch. Paths are as in the diff, without the a/ b/ prefix; null for /dev/null. */
export interface PatchFile {
  oldPath: string | null;
  newPath: string | null;
  /** `GIT binary patch` or `Binary files ... differ`. */
  binary: boolean;
  /** A rename (`rename from`/`rename to`): the old path is gone after the patch (a copy keeps it). */
  renamed?: true;
  hunks: Hunk[];
  /**
   * Mode after the patch as the diff states it (`new file mode`, `new mode`, or
   * the mode on the `index` line), e.g. '100644'; absent when the diff gives none.
   * '120000' (symlink) and '160000' (submodule) are refused by checkPatchPaths.
   * Canonical as git reads it ('0100644' and '+100644' are '100644').
   */
  mode?: string;
  /** Every mode line of the header as written (old/new/new file/deleted file mode, index): checkPatchPaths reads them all as git does. */
  statedModes?: { line: string; value: string }[];
}

export interface MessageSource {
  /** File the message was read from (the mbox, or one format-patch file). */
  file: string;
  /** 1-based index of the message in that file. */
  message: number;
  /** 1-based line where the message starts in that file. */
  line: number;
}

/** A mail header set reduced to what the review needs. Values are decoded (RFC 2047) and unfolded. */
export interface MailHeaders {
  subject: string;
  from?: string;
  date?: string;
  /** Without angle brackets. */
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  /** `To:` and `Cc:` as written (decoded, unfolded): a reply-all goes to them. */
  to?: string;
  cc?: string;
}

export interface Patch extends MailHeaders {
  source: MessageSource;
  /** Subject without the leading `[PATCH ...]` tag. */
  title: string;
  /** From `[PATCH vN M/N]`: version (1 when absent), position M and count N (null when absent). */
  version: number;
  index: number | null;
  total: number | null;
  /** Commit message (body before the diff), decoded. */
  body: string;
  /** The diff text, exactly what `git apply` is given. */
  diff: string;
  files: PatchFile[];
  /** Size of the diff in bytes. */
  bytes: number;
  /**
   * The `git apply -p` value the diff needs: 1 for a/ b/ (or other one-letter)
   * prefixes, 0 for `--no-prefix` diffs. Absent means 1.
   */
  stripComponents?: 0 | 1;
}

/** A message that is part of the input but not a patch to apply. */
export interface SkippedMessage {
  source: MessageSource;
  subject: string;
  reason: string;
}

export interface Series {
  /** The `[PATCH 0/N]` cover letter, if present. */
  cover?: MailHeaders & { source: MessageSource; body: string };
  /** Patches in application order. */
  patches: Patch[];
  /** Replies, other versions, binary or oversize patches, duplicates: each with why. */
  skipped: SkippedMessage[];
  /** The `base-commit:` line `git format-patch --base` and b4 write (cover letter or a patch), if any. */
  baseCommit?: string;
}

/** Input that cannot be read as a series at all; names the file, message and line. */
export class PatchParseError extends Error {
  override name = 'PatchParseError';
  constructor(
    readonly file: string,
    readonly messageIndex: number | null,
    readonly line: number | null,
    readonly reason: string,
  ) {
    super(`${file}${messageIndex !== null ? `: message ${messageIndex}` : ''}${line !== null ? `, line ${line}` : ''}: ${reason}`);
  }
}
