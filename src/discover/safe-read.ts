// Reading a file a hostile input may have put in place: the copy a patch
// series left after `git apply`, or a tracked file in a work tree that is no
// longer what git recorded. Such a path may be a symlink (to /dev/zero, to
// /dev/stdin, to a file outside the tree), a FIFO that blocks forever, or a
// huge file. Only a regular file inside `container`, opened without following
// a final symlink and without blocking, and no larger than the cap, is read.
// The one write of that kind is here too: a new file, never through a link.
import fs from 'node:fs';
import path from 'node:path';

/** Why a file was not read; `reason` names the file and says what it is. */
export class UnsafeFileError extends Error {
  override name = 'UnsafeFileError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

function kindOf(stat: fs.Stats): string {
  if (stat.isSymbolicLink()) return 'a symlink';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isDirectory()) return 'a folder';
  return 'not a regular file';
}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * The content of `rel` under `container`, or null when there is no such file.
 * Throws UnsafeFileError when it is not a regular file inside the container
 * (checked with lstat, realpath and O_NOFOLLOW on the open file) or is over
 * `maxBytes`.
 */
export function readRegularFileInside(container: string, rel: string, maxBytes: number): Buffer | null {
  return readRegularFileWithStat(container, rel, maxBytes)?.content ?? null;
}

/**
 * readRegularFileInside, with the file's stat taken after its bytes were read
 * (a change during the read shows in it). `realContainer`: the container's
 * realpath, when the caller reads many files of it (one realpath of the
 * container instead of one per file).
 */
export function readRegularFileWithStat(container: string, rel: string, maxBytes: number, realContainer?: string): { content: Buffer; stat: fs.Stats } | null {
  const full = path.join(container, rel);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(full, { throwIfNoEntry: false });
  } catch (error) {
    // A path component that is a file (ENOTDIR) means there is no such file.
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw new UnsafeFileError(rel, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (stat === undefined) return null;
  if (!stat.isFile()) throw new UnsafeFileError(rel, `is ${kindOf(stat)}, not a regular file; not read`);
  // realpath(3) itself: node's own realpathSync lstat's each component from JavaScript, several times slower.
  const real = fs.realpathSync.native(full);
  if (!isInside(realContainer ?? fs.realpathSync.native(container), real)) throw new UnsafeFileError(rel, 'resolves outside the tree; not read');
  if (stat.size > maxBytes) throw new UnsafeFileError(rel, `is ${stat.size} bytes, over the ${maxBytes}-byte limit; not read`);
  // O_NOFOLLOW and O_NONBLOCK: a file swapped for a link or a FIFO since the lstat neither leads elsewhere nor blocks.
  let fd: number;
  try {
    fd = fs.openSync(full, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UnsafeFileError(rel, code === 'ELOOP' ? 'is a symlink, not a regular file; not read' : `cannot be read (${code ?? (error as Error).message})`);
  }
  try {
    const opened = fs.fstatSync(fd);
    if (!opened.isFile()) throw new UnsafeFileError(rel, `is ${kindOf(opened)}, not a regular file; not read`);
    if (opened.size > maxBytes) throw new UnsafeFileError(rel, `is ${opened.size} bytes, over the ${maxBytes}-byte limit; not read`);
    const buffer = Buffer.alloc(opened.size);
    let length = 0;
    while (length < buffer.length) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, length);
      if (n === 0) break;
      length += n;
    }
    return { content: length === buffer.length ? buffer : buffer.subarray(0, length), stat: fs.fstatSync(fd) };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a file that must be new: O_EXCL|O_NOFOLLOW, never through a link
 * someone put there meanwhile. `exactMode`: set `mode` whatever the umask
 * (an executable hook); otherwise the umask applies as usual.
 */
export function writeNewFile(file: string, content: string, mode: number, exactMode = false): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  try {
    fs.writeSync(fd, content);
    if (exactMode) fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}
