// Where a kernel tree starts. `flushcheck lint drivers/iommu` (like
// `make M=drivers/iommu`) analyses the whole tree holding the path and reports
// only what lies under it; `flushcheck lint ~/src/linux` from another folder
// analyses that tree with its own top as the root, so the arch/, tools/ and
// scripts/ filters apply where the kernel has them.
import fs from 'node:fs';
import path from 'node:path';

/** A kernel tree's top holds these (the top-level Kconfig and Makefile, and arch/). */
function isKernelTop(dir: string): boolean {
  return isFile(path.join(dir, 'Kconfig')) && isFile(path.join(dir, 'Makefile')) && isDirectory(path.join(dir, 'arch'));
}

/**
 * The top of the kernel tree holding `start` (a file or folder, absolute):
 * the nearest folder from `start` upwards with Kconfig, Makefile and arch/.
 * null when `start` is in no kernel tree.
 */
export function findKernelTop(start: string): string | null {
  let dir = isDirectory(start) ? start : path.dirname(start);
  for (;;) {
    if (isKernelTop(dir)) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * Whether `dir` is the top of a git work tree (it has a .git folder or file).
 * A Debian source tree's .gitignore ignores everything, so .gitignore files
 * are honoured only in a real work tree; a tree that is an untracked folder
 * inside another repository is a plain folder too.
 */
export function isGitWorkTreeTop(dir: string): boolean {
  return fs.existsSync(path.join(dir, '.git'));
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Whether `p` exists and is a folder (a symlink to one counts). */
export function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
