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
