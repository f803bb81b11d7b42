// Which working-tree files git vouches for: their bytes on disk are the
// index's blob, so a git tree snapshot (discover/backing.ts) can take the
// tree's blob id as their content key without hashing them (1.2 GB on a
// kernel tree). A file is vouched for only when git itself has just compared
// it with the index, strictly, and nothing can make its disk bytes differ
// from the blob while git calls it clean:
// - `git diff-files` lists the files whose stat data no longer matches the
//   index entry's (without hashing them: a stale index, a copied tree, costs
//   git no more than a clean one), and those whose content differs among the
//   racily clean ones (recorded in the same instant the index was written,
//   which git hashes itself). `git ls-files` gives the index's blob ids. The
//   two run together; the index file, stat'ed before both and after both,
//   must not have changed in between (git replaces it whole, by a rename),
//   so ids and verdicts come from one state of the index.
// - fsmonitor is off (its "unchanged" comes from a daemon, not a stat) and
//   the stat check is git's full one: ctime trusted, all fields compared,
//   whatever the user configured for speed.
// - assume-unchanged ("h") and skip-worktree ("S") entries are never
//   compared by git: not vouched for. Nor unmerged entries, nor symlinks.
// - A conversion makes the disk bytes differ from the blob while git calls
//   the file clean (a clean/smudge filter, CRLF, ident, an encoding): files
//   with such an attribute are left out (pathspec attr magic), and nothing is
//   vouched for when core.autocrlf is set.
// - What git checked may change after: the time just before the check is
//   kept, and a file whose ctime or mtime is not clearly before it is hashed
//   after all (see trustedBefore).
// git compares timestamps to the second (unless built with USE_NSEC): a file
// rewritten within the second git recorded it, with its size kept and its
// mtime set back by hand, is clean to git, and so to this check once that
// second is more than the margin past. git's own status and diff share that
// blind spot.
import { forEachRecord, gitAsync, indexFileOf, indexState, PATHSPEC_ENV, SOURCES, type GitRepo } from './git.js';

export interface WorkTreeTrust {
  /** Root-relative path -> the blob id git found the file on disk to hold. */
  ids: Map<string, string>;
  /**
   * A vouched-for file is taken as its blob only if its ctime and mtime,
   * read after its bytes, are before this (ms since the epoch). Any change
   * to a file (a write, a rename onto it, a chmod) sets its ctime to the
   * time of the change, and ctime cannot be set back by hand: a file whose
   * ctime is before git's check was not changed during or after the check,
   * so the bytes read are the ones git compared. The margin (2 s before the
   * check started) covers file systems' coarse timestamps (the kernel's
   * clock tick, FAT's 2 s) and the gap between the clock the kernel stamps
   * files with and the one Date.now() reads.
   */
  trustedBefore: number;
}

/** See WorkTreeTrust.trustedBefore. */
export const TIMESTAMP_MARGIN_MS = 2000;

/**
 * Whether a vouched-for file, stat'ed after its bytes were read, still holds
 * what git compared (see WorkTreeTrust.trustedBefore). Self-contained: the
 * scan's workers run its source (discover/prefilter.ts).
 */
export function unchangedSinceCheck(stat: { ctimeMs: number; mtimeMs: number }, trustedBefore: number): boolean {
  return stat.ctimeMs < trustedBefore && stat.mtimeMs < trustedBefore;
}

/** Config that makes git's comparison of each file with the index strict, whatever the user set. */
const STRICT_STAT = ['-c', 'core.fsmonitor=false', '-c', 'core.checkStat=default', '-c', 'core.trustctime=true', '-c', 'core.ignoreStat=false'];
/** Of those, the ones none of whose attributes converts bytes between the blob and the disk: set, unset or given a value, it leaves the file out. */
const SOURCES_WITHOUT_CONVERSION = SOURCES.map((glob) => `:(attr:!filter !text !eol !crlf !ident !working-tree-encoding)${glob}`);

/**
 * The files of `repo`'s work tree that git finds byte-identical to the
 * index's blob, or null when git cannot say (not a work tree, git failed,
 * the index changed meanwhile, core.autocrlf set, `signal` aborted): then
 * nothing is trusted and every file is hashed. `now`: the clock read just
 * before git looks (tests move it). `onStart`: the check's trustedBefore,
 * as soon as it starts (a scan can read files meanwhile: see ScanTrust).
 */
export async function askGitForCleanFiles(repo: GitRepo, now: () => number = Date.now, signal?: AbortSignal, onStart?: (trustedBefore: number) => void): Promise<WorkTreeTrust | null> {
  const git = (args: string[]) => gitAsync(repo.top, args, { env: PATHSPEC_ENV, signal });
  try {
    const index = await indexFileOf(repo);
    const before = indexState(index);
    const checkStarts = now();
    onStart?.(checkStarts - TIMESTAMP_MARGIN_MS);
    const [autocrlf, listed, changed] = await Promise.all([
      git(['config', '--default', 'false', '--get', 'core.autocrlf']),
      git(['ls-files', '-z', '--stage', '-v', '--cached', '--', ...SOURCES_WITHOUT_CONVERSION]),
      git([...STRICT_STAT, 'diff-files', '--name-only', '-z', '--', ...SOURCES]),
    ]);
    if (indexState(index) !== before) return null;
    if (!['false', 'no', 'off', '0', ''].includes(autocrlf.toString('utf8').trim().toLowerCase())) return null;
    const ids = parseCleanEntries(listed);
    for (const file of changed.toString('utf8').split('\0')) ids.delete(file);
    return { ids, trustedBefore: checkStarts - TIMESTAMP_MARGIN_MS };
  } catch {
    return null;
  }
}

/**
 * `ls-files -z --stage -v --cached` records (`TAG MODE ID STAGE<TAB>PATH`)
 * -> the paths git lists as a regular file at stage 0 with tag "H": neither
 * assume-unchanged ("h"), skip-worktree ("S") nor unmerged (a path's records
 * come together, and one at another stage removes it). Exported for tests.
 */
export function parseCleanEntries(out: Buffer): Map<string, string> {
  const clean = new Map<string, string>();
  // "H 100644 " is 9 characters; the id runs to " 0" before the tab.
  forEachRecord(out, (text, record, tab, end) => {
    const file = text.slice(tab + 1, end);
    // A name that is not UTF-8 decodes to U+FFFD and could be mistaken for another file's.
    const regular =
      (text.startsWith('H 100644 ', record) || text.startsWith('H 100755 ', record)) && text.startsWith(' 0', tab - 2) && (tab - record - 11 === 40 || tab - record - 11 === 64) && !file.includes('\uFFFD');
    if (regular) clean.set(file, text.slice(record + 9, tab - 2));
    else clean.delete(file);
  });
  return clean;
}
