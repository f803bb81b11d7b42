// A snapshot of a tree to analyse without checking it out: the files of a
// commit, of the index or of the working tree, read from disk where they match
// it and from git (or from a patched copy) where they do not. `diff` and
// `review` analyse two or more snapshots of one tree this way; only the files
// that differ between them are ever read from anywhere but the disk, and
// nothing is written to the tree.
import fs from 'node:fs';
import path from 'node:path';
import { blobId, changedPathsAsync, listCommit, listIndex, readObjectsAsync, type GitRepo } from './git.js';
import { buildSkipReason, isSourceName } from './walk.js';
import { readRegularFileInside, UnsafeFileError } from './safe-read.js';
import { UsageError } from '../errors.js';

/** A working-tree file larger than this is not a source anyone changed by hand. */
const MAX_WORKTREE_FILE_BYTES = 64 * 1024 * 1024;

export interface TreeSource {
  /** Where files not in `overlay` are read from. */
  root: string;
  /** Root-relative source files of the snapshot ('/' separated, sorted). */
  files: string[];
  /** Contents that differ from the disk (another revision, the index, a patch). */
  overlay: Map<string, Buffer>;
  /** A content key per file (the git blob id) when known without reading it; caches key on it. */
  keys: Map<string, string>;
  /** For messages: 'HEAD (1a2b3c4d)', 'index', 'working tree', 'after 2/3'. */
  label: string;
}


function isBuildSource(rel: string, arch: string): boolean {
  return isSourceName(rel) && buildSkipReason(rel, arch) === null;
}

/** The build's sources among git's entries (paths are relative to the work tree's top, which is the root). */
function keyed(entries: Map<string, string>, arch: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [rel, id] of entries) if (isBuildSource(rel, arch)) keys.set(rel, id);
  return keys;
}

/**
 * Tracked files as they are on disk now (untracked files are not part of any
 * change). `unstaged`: the paths whose working tree differs from the index, if
 * already known (from `git status`).
 */
export async function worktreeSource(repo: GitRepo, root: string, arch: string, unstaged?: Promise<string[]>): Promise<TreeSource> {
  const differing = unstaged ?? changedPathsAsync(repo, 'index', 'worktree');
  const keys = keyed(listIndex(repo), arch);
  const overlay = new Map<string, Buffer>();
  for (const rel of await differing) {
    if (!isBuildSource(rel, arch)) continue;
    // A tracked file replaced by a FIFO, or by a symlink to /dev/zero or out
    // of the tree, is refused with the reason rather than read.
    let content: Buffer | null;
    try {
      content = readRegularFileInside(repo.top, rel, MAX_WORKTREE_FILE_BYTES);
    } catch (error) {
      if (error instanceof UnsafeFileError) throw new UsageError(`${JSON.stringify(error.file)} in the working tree ${error.reason}; restore it (git checkout -- FILE) or check the index with --cached`);
      throw error;
    }
    if (content === null) {
      keys.delete(rel); // deleted in the working tree
      continue;
    }
    overlay.set(rel, content);
    keys.set(rel, blobId(content));
  }
  return { root, files: [...keys.keys()].sort(), overlay, keys, label: 'working tree' };
}

/** The contents (from git, by blob id) of the snapshot's files that differ on disk. */
async function gitContents(repo: GitRepo, keys: Map<string, string>, differing: string[]): Promise<Map<string, Buffer>> {
  const differ = differing.filter((rel) => keys.has(rel));
  const contents = await readObjectsAsync(repo, differ.map((rel) => keys.get(rel)!));
  return new Map(differ.map((rel, i) => [rel, contents[i] ?? Buffer.alloc(0)]));
}

/** The index (what `git commit` would record), whatever the working tree holds. */
export async function indexSource(repo: GitRepo, root: string, arch: string): Promise<TreeSource> {
  // The working tree is compared (a stat of every file) while the index is listed.
  const differing = changedPathsAsync(repo, 'index', 'worktree');
  const keys = keyed(listIndex(repo), arch);
  const overlay = await gitContents(repo, keys, await differing);
  return { root, files: [...keys.keys()].sort(), overlay, keys, label: 'index' };
}

/** A commit, read from disk where the working tree matches it. */
export async function commitSource(repo: GitRepo, root: string, arch: string, commit: string, label: string): Promise<TreeSource> {
  const differing = changedPathsAsync(repo, commit, 'worktree');
  const keys = keyed(listCommit(repo, commit), arch);
  const overlay = await gitContents(repo, keys, await differing);
  return { root, files: [...keys.keys()].sort(), overlay, keys, label };
}

/**
 * `from` with the given paths as they are in `commit`: the base
 * of a diff, built from the changed tree plus the few files the change touched.
 */
export async function withPathsFromCommit(repo: GitRepo, from: TreeSource, changed: string[], commit: string, arch: string, label: string): Promise<TreeSource> {
  const keys = new Map(from.keys);
  const overlay = new Map(from.overlay);
  const rels = changed.filter((rel) => isBuildSource(rel, arch));
  const ids = listCommitPaths(repo, commit, rels);
  const present = rels.filter((rel) => ids.has(rel));
  const contents = await readObjectsAsync(repo, present.map((rel) => ids.get(rel)!));
  for (const rel of rels) {
    keys.delete(rel);
    overlay.delete(rel);
  }
  present.forEach((rel, i) => {
    keys.set(rel, ids.get(rel)!);
    overlay.set(rel, contents[i] ?? Buffer.alloc(0));
  });
  return { root: from.root, files: [...keys.keys()].sort(), overlay, keys, label };
}

/** Blob ids of some paths in a commit (absent paths are left out). */
function listCommitPaths(repo: GitRepo, commit: string, fromTop: string[]): Map<string, string> {
  const ids = new Map<string, string>();
  // Batched so a large change does not exceed the argument-size limit.
  for (let i = 0; i < fromTop.length; i += 500) {
    for (const [p, id] of listCommit(repo, commit, fromTop.slice(i, i + 500))) ids.set(p, id);
  }
  return ids;
}

/**
 * A source from an explicit file set: a tree that is not a git repository, or
 * a patched copy. `overlay` replaces disk contents; `removed` files are gone.
 */
export function overlaySource(base: TreeSource, overlay: Map<string, Buffer | null>, arch: string, label: string): TreeSource {
  const keys = new Map(base.keys);
  const merged = new Map(base.overlay);
  const files = new Set(base.files);
  for (const [rel, content] of overlay) {
    if (!isBuildSource(rel, arch)) continue;
    if (content === null) {
      files.delete(rel);
      keys.delete(rel);
      merged.delete(rel);
      continue;
    }
    files.add(rel);
    merged.set(rel, content);
    keys.set(rel, blobId(content));
  }
  return { root: base.root, files: [...files].sort(), overlay: merged, keys, label };
}
