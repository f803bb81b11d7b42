// Discover the C sources (*.c, *.h) that belong to the build of one architecture.
//
// The walk reads folders synchronously on purpose: readdirSync(withFileTypes)
// over the ~6,200 folders of a kernel tree takes ~100-200 ms warm, several
// times faster than promise-per-folder walking. When the caller scans the
// files as they are found (lint's first scan), it yields to the event loop
// every few folders so the scan's workers are fed meanwhile.
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Diagnostic } from '../types.js';

export interface DiscoverOptions {
  root: string;
  paths: string[];
  arch: string;
  /** picomatch globs relative to root ('/' separated). */
  exclude?: string[];
  /**
   * Each file as the walk finds it (once; with its raw path when its name is
   * not valid UTF-8). The walk then yields to the event loop every few
   * folders, so the caller can act on the files while it goes on.
   */
  onFile?: (file: string, rawPath?: Buffer) => void;
}

/** Folders walked between two yields to the event loop, when the files are taken as found (DiscoverOptions.onFile). */
const FOLDERS_PER_YIELD = 32;

export interface DiscoverResult {
  /** root-relative, '/'-separated, sorted */
  files: string[];
  diagnostics: Diagnostic[];
  /**
   * Files whose path is not valid UTF-8 (paths are bytes): the name in
   * `files` shows each such byte as `\xNN`; this maps it to the real path.
   */
  rawPaths: Map<string, Buffer>;
}

/** A directory entry's name as shown (invalid UTF-8 bytes as `\xNN`), and as bytes when it was read as bytes. */
interface EntryName {
  shown: string;
  raw?: Buffer;
  valid: boolean;
}

function entryName(raw: Buffer): EntryName {
  const decoded = raw.toString('utf8');
  if (Buffer.from(decoded, 'utf8').equals(raw)) return { shown: decoded, raw, valid: true };
  let shown = '';
  for (const byte of raw) shown += byte < 0x80 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  return { shown, raw, valid: false };
}

/** The entries of a folder; names that are not valid UTF-8 keep their bytes. */
function readFolder(absDir: string | Buffer): { entry: fs.Dirent; name: EntryName }[] {
  const entries = fs.readdirSync(absDir, { withFileTypes: true });
  // Decoding replaced invalid bytes by U+FFFD: read the names again as bytes.
  if (typeof absDir === 'string' && !entries.some((e) => e.name.includes('\ufffd'))) {
    // No bytes kept: a valid name under a folder named by a string is joined as a string (childPath).
    return entries.map((entry) => ({ entry, name: { shown: entry.name, valid: true } }));
  }
  const raw = fs.readdirSync(absDir, { withFileTypes: true, encoding: 'buffer' }) as unknown as (fs.Dirent & { name: Buffer })[];
  return raw.map((entry) => ({ entry: entry as unknown as fs.Dirent, name: entryName(entry.name) }));
}

function childPath(absDir: string | Buffer, name: EntryName): string | Buffer {
  if (typeof absDir === 'string' && name.valid) return `${absDir}/${name.shown}`;
  return Buffer.concat([typeof absDir === 'string' ? Buffer.from(absDir) : absDir, Buffer.from('/'), name.raw ?? Buffer.from(name.shown)]);
}

/** Top-level folders that never hold kernel build sources. */
const SKIPPED_TOP_LEVEL = new Set(['Documentation', 'tools', 'scripts']);
/** Folders skipped at any depth. */
const SKIPPED_ANYWHERE = new Set(['.git', 'node_modules']);

/**
 * Why a root-relative folder or file is not part of the build for `arch`, or
 * null. Checks every component, so it serves for requested paths and for file
 * lists that come from git rather than from a walk.
 */
export function buildSkipReason(rel: string, arch: string): string | null {
  if (rel === '') return null;
  // Fast path for file lists from git (~90k paths): most start with none of the skipped names.
  if (!/^(?:Documentation|tools|scripts|arch)(?:\/|$)|(?:^|\/)(?:\.git|node_modules)(?:\/|$)/.test(rel)) return null;
  const parts = rel.split('/');
  if (SKIPPED_TOP_LEVEL.has(parts[0])) return `${parts[0]}/ is skipped by default`;
  if (parts.some((p) => SKIPPED_ANYWHERE.has(p))) return 'inside a skipped folder (.git/node_modules)';
  if (parts[0] === 'arch' && parts.length >= 2 && parts[1] !== arch) {
    // A lone file directly in arch/ (e.g. arch/Kconfig) is not arch-specific.
    if (parts.length > 2 || !isSourceName(parts[1])) return `arch/${parts[1]}/ is not the target arch (${arch})`;
  }
  return null;
}

export function isSourceName(name: string): boolean {
  return name.endsWith('.c') || name.endsWith('.h');
}

/** True when `inner` is `outer` or lies below it (both absolute, normalized). */
export function isWithin(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A relative path with `/` separators, whatever the platform's. */
export function toPosix(rel: string): string {
  return path.sep === '/' ? rel : rel.split(path.sep).join('/');
}

function errorReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  // Node's messages already start with the code ("ELOOP: too many symbolic links ...").
  if (e && e.code) return e.message?.startsWith(`${e.code}:`) ? e.message : `${e.code}: ${e.message}`;
  return String(err);
}

export async function discoverFiles(opts: DiscoverOptions): Promise<DiscoverResult> {
  const diagnostics: Diagnostic[] = [];
  const found = new Set<string>();

  // Requested paths are checked lexically against the root as given (which
  // may itself be reached through a symlink), then for real against its
  // resolved location.
  const lexicalRoot = path.resolve(opts.root);
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(lexicalRoot);
  } catch (err) {
    diagnostics.push({ file: opts.root, reason: `cannot read root: ${errorReason(err)}` });
    return { files: [], diagnostics, rawPaths: new Map() };
  }

  const isExcludedByUser = opts.exclude && opts.exclude.length > 0
    ? picomatch(opts.exclude, { dot: true })
    : () => false;

  const skipReason = (rel: string): string | null => buildSkipReason(rel, opts.arch) ?? (isExcludedByUser(rel) ? 'matches an exclude pattern' : null);

  const rawPaths = new Map<string, Buffer>();
  const addFile = (abs: string | Buffer, rel: string): void => {
    if (found.has(rel)) return;
    found.add(rel);
    if (typeof abs !== 'string') rawPaths.set(rel, abs);
    opts.onFile?.(rel, typeof abs === 'string' ? undefined : abs);
  };

  /**
   * One folder's entries: its files added, its folders returned (to walk,
   * depth first, in the order listed). Synchronous and small: V8 compiles
   * it once, where an async walker recursing through every folder was
   * compiled several times (~70 ms on a kernel).
   */
  const readDir = (absDir: string | Buffer, relDir: string): [string | Buffer, string][] => {
    let entries: { entry: fs.Dirent; name: EntryName }[];
    try {
      entries = readFolder(absDir);
    } catch (err) {
      diagnostics.push({ file: relDir || '.', reason: `unreadable folder: ${errorReason(err)}` });
      return [];
    }
    const folders: [string | Buffer, string][] = [];
    for (const { entry, name } of entries) {
      const rel = relDir ? `${relDir}/${name.shown}` : name.shown;
      if (entry.isDirectory()) {
        if (skipReason(rel) === null) folders.push([childPath(absDir, name), rel]);
      } else if (entry.isFile()) {
        if (isSourceName(name.shown) && !isExcludedByUser(rel)) addFile(childPath(absDir, name), rel);
      } else if (entry.isSymbolicLink()) {
        // Symlinked folders are never followed (no loops, no escapes). A
        // symlinked source file is kept under its link name when its target
        // is a regular file inside the root: the compiler sees it there.
        if (isSourceName(name.shown) && !isExcludedByUser(rel)) addSymlinkedFile(childPath(absDir, name), rel);
      }
    }
    return folders;
  };

  let foldersSinceYield = 0;
  const walkDir = async (absDir: string | Buffer, relDir: string): Promise<void> => {
    const stack: [string | Buffer, string][] = [[absDir, relDir]];
    while (stack.length) {
      if (opts.onFile && ++foldersSinceYield >= FOLDERS_PER_YIELD) {
        foldersSinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const [abs, rel] = stack.pop()!;
      const folders = readDir(abs, rel);
      for (let i = folders.length - 1; i >= 0; i--) stack.push(folders[i]);
    }
  };

  const addSymlinkedFile = (absLink: string | Buffer, rel: string): void => {
    let target: string;
    try {
      target = fs.realpathSync(absLink).toString();
    } catch (err) {
      diagnostics.push({ file: rel, reason: `broken symlink: ${errorReason(err)}` });
      return;
    }
    if (!isWithin(realRoot, target)) {
      diagnostics.push({ file: rel, reason: 'symlink points outside the root; not followed' });
      return;
    }
    try {
      if (fs.statSync(absLink).isFile()) addFile(absLink, rel);
    } catch (err) {
      diagnostics.push({ file: rel, reason: `cannot stat symlink target: ${errorReason(err)}` });
    }
  };

  const requested = opts.paths.length > 0 ? opts.paths : ['.'];
  for (const requestedPath of requested) {
    const lexical = path.resolve(lexicalRoot, requestedPath);
    if (!isWithin(lexicalRoot, lexical)) {
      diagnostics.push({ file: requestedPath, reason: 'path is outside the root; skipped' });
      continue;
    }
    // Resolve symlinks in the requested path itself and re-check containment,
    // so `paths: ['link-to-elsewhere']` cannot escape.
    let real: string;
    let stat: fs.Stats;
    try {
      real = fs.realpathSync(lexical);
      stat = fs.statSync(real);
    } catch (err) {
      diagnostics.push({ file: requestedPath, reason: `cannot read path: ${errorReason(err)}` });
      continue;
    }
    if (!isWithin(realRoot, real)) {
      diagnostics.push({ file: requestedPath, reason: 'path reaches outside the root through a symlink; not followed' });
      continue;
    }
    const rel = toPosix(path.relative(realRoot, real));
    const reason = skipReason(rel);
    if (reason !== null) {
      diagnostics.push({ file: rel, reason: `requested path not scanned: ${reason}` });
      continue;
    }
    if (stat.isDirectory()) {
      await walkDir(real, rel);
    } else if (stat.isFile()) {
      if (isSourceName(rel)) addFile(real, rel);
      else diagnostics.push({ file: rel, reason: 'not a .c or .h file; skipped' });
    } else {
      diagnostics.push({ file: rel, reason: 'not a regular file or folder; skipped' });
    }
  }

  return { files: [...found].sort(), diagnostics, rawPaths };
}
