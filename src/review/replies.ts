// Where `review --reply` writes its mails, and who they are from. The folder
// is the user's: a symlink there is never followed, and replies from an
// earlier run are replaced rather than left mixed in with new ones (anything
// else in the folder stops the run, so nothing of the user's is deleted).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeNewFile } from '../discover/safe-read.js';
import { UsageError } from '../errors.js';
import { OWN_PROCESS_GROUP } from '../discover/git.js';
import { REPLY_FILE_NAME, REPLY_MAILER, type ReplyMessage } from '../report/reply.js';

/** `Name <email>` from git's config as seen from `dir` (the repository's, else the user's); undefined when unset. */
export function gitIdentity(dir: string): string | undefined {
  const get = (key: string) => {
    const run = spawnSync('git', ['config', '--get', key], { cwd: dir, env: { ...process.env, LC_ALL: 'C' }, ...OWN_PROCESS_GROUP });
    return run.status === 0 ? run.stdout.toString('utf8').trim() : '';
  };
  const email = get('user.email');
  if (!email) return undefined;
  const name = get('user.name');
  return name ? `${name} <${email}>` : email;
}

/** A file an earlier `--reply` run wrote: our name pattern and our X-Mailer header. */
function isEarlierReply(dir: string, entry: fs.Dirent): boolean {
  if (!entry.isFile() || !REPLY_FILE_NAME.test(entry.name)) return false;
  const fd = fs.openSync(path.join(dir, entry.name), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const head = Buffer.alloc(4096);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const headers = head.subarray(0, n).toString('utf8').split('\n\n')[0] ?? '';
    return headers.split('\n').some((line) => line === REPLY_MAILER || line.startsWith(`${REPLY_MAILER} `));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes the replies into `dir` (created if missing) and returns its path.
 * Refuses a symlink, a non-folder, and a folder holding anything but earlier
 * replies, which are removed first. `shown` is the folder as the user typed it.
 */
export function writeReplies(dir: string, replies: ReplyMessage[], shown: string): string {
  const fail = (reason: string) => new UsageError(`--reply ${shown}: ${reason}`);
  const stat = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (stat?.isSymbolicLink()) throw fail('is a symlink; pass a real folder (the link is not followed)');
  if (stat && !stat.isDirectory()) throw fail('exists and is not a folder; pass a new or empty folder');
  try {
    if (!stat) fs.mkdirSync(dir, { recursive: true });
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    const foreign = entries.filter((entry) => !isEarlierReply(dir, entry));
    if (foreign.length > 0) {
      throw fail(`holds ${foreign.length} file(s) flushcheck did not write (${foreign.slice(0, 3).map((e) => JSON.stringify(e.name)).join(', ')}); pass a new or empty folder`);
    }
    for (const entry of entries) fs.rmSync(path.join(dir, entry.name));
    for (const reply of replies) writeNewFile(path.join(dir, reply.fileName), reply.text, 0o644);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw fail(`cannot write: ${(error as Error).message}; pass a writable folder`);
  }
  return dir;
}
