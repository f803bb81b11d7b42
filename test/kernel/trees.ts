// Where `npm run kernel:fetch` extracted the Debian kernel trees.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const KERNEL_CACHE = process.env.FLUSHCHECK_KERNEL_CACHE ?? path.join(os.homedir(), '.cache', 'flushcheck-kernels');

function complete(dir: string): boolean {
  return fs.existsSync(path.join(dir, '.complete'));
}

/** The newest extracted linux-7.* tree (7.2 when the archive still has it). */
export function linux7(): string | null {
  if (!fs.existsSync(KERNEL_CACHE)) return null;
  const trees = fs
    .readdirSync(KERNEL_CACHE)
    .filter((d) => /^linux-7\.\d+$/.test(d) && complete(path.join(KERNEL_CACHE, d)))
    .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
  return trees.length ? path.join(KERNEL_CACHE, trees[trees.length - 1]) : null;
}

export function linux612(): string | null {
  const dir = path.join(KERNEL_CACHE, 'linux-6.12');
  return complete(dir) ? dir : null;
}

/**
 * The git dir kernel-fetch.sh made beside the tree linux7() returns
 * (`linux-7.x.git`, tracking it with one commit), or null. It is built under
 * `.tmp` and renamed when complete, so its existence means it is usable. Use it
 * with GIT_DIR=<it> GIT_WORK_TREE=<tree>: nothing lives inside the tree.
 */
export function linux7GitDir(): string | null {
  const tree = linux7();
  if (!tree) return null;
  const dir = `${tree}.git`;
  return fs.existsSync(path.join(dir, 'HEAD')) ? dir : null;
}
