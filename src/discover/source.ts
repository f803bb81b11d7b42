// The snapshots `lint`, `diff` and `review` analyse (discover/snapshot.ts):
// a folder as it is on disk, a git tree, and either with some files changed
// (the index or the working tree over a commit, a patch over the tree before
// it). Nothing is checked out and nothing is written to the tree.
import fs from 'node:fs';
import path from 'node:path';
import type { ScanIndex } from '../cache/store.js';
import { UsageError } from '../errors.js';
import { FolderBacking, GitTreeBacking, isBuildSource, MAX_READ_BYTES } from './backing.js';
import { blobId, NULL_ID, readNamedBlobs, type GitRepo, type RawChange } from './git.js';
import { readRegularFileInside, UnsafeFileError } from './safe-read.js';
import { Snapshot, type Changes } from './snapshot.js';
import { discoverFiles, type DiscoverOptions } from './walk.js';

export { isBuildSource } from './backing.js';

/**
 * A folder's sources as they are on disk (`paths`: only these, when the root
 * is not a kernel tree). `keyed`: hash every file now, so the scan index can
 * answer later runs (tests of the cache).
 */
export async function folderSnapshot(opts: { root: string; paths?: string[]; arch: string; label?: string; keyed?: boolean; index?: () => ScanIndex }): Promise<Snapshot> {
  const walked = await discoverFiles(walkOf(opts));
  let keys: Map<string, string> | undefined;
  if (opts.keyed) {
    keys = new Map();
    for (const f of walked.files) {
      const content = fs.readFileSync(walked.rawPaths.get(f) ?? path.join(opts.root, f));
      keys.set(f, blobId(content));
    }
  }
  const backing = new FolderBacking(path.resolve(opts.root), walked.files, walked.rawPaths, walked.diagnostics, keys, opts.index);
  return new Snapshot(backing, new Map(), opts.label ?? 'the folder', []);
}

/**
 * The folder as `lint` reads it: walked by its first scan, whose workers read
 * the files as the walk finds them. Until that scan (or Backing.ready), it
 * has no listing.
 */
export function walkedByFirstScan(opts: { root: string; paths?: string[]; arch: string }): Snapshot {
  return new Snapshot(FolderBacking.unwalked(walkOf(opts)), new Map(), 'the folder', []);
}

function walkOf(opts: { root: string; paths?: string[]; arch: string }): DiscoverOptions {
  return { root: opts.root, paths: (opts.paths?.length ? opts.paths : ['.']).map((p) => path.resolve(opts.root, p)), arch: opts.arch };
}

/** A git tree (a commit's): `identity` names its content for the snapshot cache. */
export function treeSnapshot(repo: GitRepo, tree: string, arch: string, label: string, index?: () => ScanIndex): Snapshot {
  return new Snapshot(new GitTreeBacking(repo, tree, arch, index), new Map(), label, [treeIdentity(tree, [])]);
}

/**
 * What names a snapshot's content: the tree it stands on and the content
 * keys of the build sources it changes. The same tree with the same changes
 * has the same identity however it was reached (the index before a commit,
 * the commit's tree over its parent after).
 */
export function treeIdentity(tree: string, changes: { path: string; key: string | null }[]): string {
  if (!changes.length) return `tree:${tree}`;
  const sorted = [...changes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return `tree:${tree}+${sorted.map((c) => `${c.path}\0${c.key ?? '-'}`).join('\0')}`;
}

/**
 * The build sources among git's raw changes, with their contents: blobs from
 * git, and working-tree files (git gives no id for those) read from disk. A
 * file that is no longer a regular file (a symlink, a FIFO) is refused with
 * the reason: it is never read through.
 */
export async function changesFromGit(repo: GitRepo, raw: RawChange[], arch: string): Promise<{ changes: Changes; keys: { path: string; key: string | null }[]; added: Set<string> }> {
  const sources = raw.filter((c) => isBuildSource(c.path, arch));
  const changes: Changes = new Map();
  const added = new Set<string>();
  const fromGit = sources.filter((c) => isRegular(c.mode) && c.id !== NULL_ID);
  const contents = await readNamedBlobs(repo, fromGit);
  fromGit.forEach((c, i) => changes.set(c.path, contents[i]));
  for (const c of sources) {
    if (c.status === 'A') added.add(c.path);
    if (changes.has(c.path)) continue;
    if (c.mode === '000000') {
      changes.set(c.path, null);
      continue;
    }
    if (!isRegular(c.mode) && c.id !== NULL_ID) {
      // Now a symlink or a submodule: not a source of the build.
      changes.set(c.path, null);
      continue;
    }
    changes.set(c.path, readWorkingFile(repo, c.path));
  }
  const keys = [...changes].map(([p, content]) => ({ path: p, key: content ? blobId(content) : null }));
  return { changes, keys, added };
}

function isRegular(mode: string): boolean {
  return mode === '100644' || mode === '100755';
}

/** A tracked file as the working tree has it; refused when it is a FIFO, a symlink or out of the tree. */
function readWorkingFile(repo: GitRepo, rel: string): Buffer | null {
  try {
    return readRegularFileInside(repo.top, rel, MAX_READ_BYTES);
  } catch (error) {
    if (error instanceof UnsafeFileError) throw new UsageError(`${JSON.stringify(error.file)} in the working tree ${error.reason}; restore it (git checkout -- FILE) or check the index with --cached`);
    throw error;
  }
}
