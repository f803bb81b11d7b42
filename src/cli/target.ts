// What `lint PATH...` and `graph PATH` analyse and what they report, the way
// kernel developers name code: `make M=drivers/iommu` builds one folder
// against the whole tree. A PATH inside a kernel tree (or under --root) is
// analysed with the whole tree as context, and the report keeps what lies
// under the PATHs. A PATH in no kernel tree is the tree itself, as before.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import picomatch from 'picomatch';
import { findKernelTop, isDirectory, isGitWorkTreeTop } from '../discover/tree-top.js';
import { isSourceName, isWithin, toPosix } from '../discover/walk.js';
import { UsageError } from '../errors.js';
import type { LintOptions } from '../lint.js';

export type LintTarget = Pick<LintOptions, 'root' | 'paths' | 'scope'>;

interface NamedPath {
  /** As the user typed it. */
  arg: string;
  /** Absolute; for a glob, the folder before its first wildcard. */
  anchor: string;
  glob: boolean;
}

/**
 * Decides the root (the tree analysed), the paths discovery walks (only
 * outside a kernel tree) and the report's scope.
 * - `--root DIR`: DIR is the tree; PATHs (relative to it) are the scope.
 * - PATHs in a kernel tree: its top is the root; the PATHs are the scope.
 * - PATHs in no kernel tree: a single folder is the root (the tree);
 *   otherwise as `resolveScanTarget` (the current folder is the root, only the
 *   PATHs are read).
 * `exclude`: root-relative globs left out of the report.
 */
export async function resolveLintTarget(
  cwd: string,
  rootOption: string | undefined,
  args: string[],
  exclude: string[] = [],
  opts: { currentFolderAsTree?: boolean } = {},
): Promise<LintTarget> {
  const base = rootOption === undefined ? cwd : resolve(cwd, rootOption);
  if (rootOption !== undefined && !isDirectory(base)) throw new UsageError(`--root ${rootOption}: not a folder; pass the top of the tree to check`);
  const named = (args.length ? args : ['.']).map((arg) => namePath(base, arg));
  // Outside a kernel tree `graph` takes the current folder as the tree (PATH is what it shows).
  const top = rootOption !== undefined ? base : (treeTop(named) ?? (opts.currentFolderAsTree && named.every((p) => isWithin(cwd, p.anchor)) ? cwd : null));

  if (top === null) {
    // No kernel tree: a single folder is the tree; otherwise globs name files to read, like paths.
    const [only] = named;
    if (named.length === 1 && !only.glob && isDirectory(only.anchor)) {
      return exclude.length ? { root: only.anchor, scope: { given: [], include: [], exclude } } : { root: only.anchor };
    }
    const files = await expandGlobs(base, named, isGitWorkTreeTop(base));
    const target = resolveScanTarget(cwd, rootOption, [...named.filter((p) => !p.glob).map((p) => p.anchor), ...files]);
    const include = (target.paths ?? []).map((p) => toPosix(relative(target.root, p)));
    return include.length || exclude.length ? { ...target, scope: { given: args, include, exclude } } : target;
  }

  const include: string[] = [];
  // For messages: paths as the tree names them (`drivers/iommu`, whatever the current folder), globs as typed.
  const given = named.map((p) => (p.glob ? p.arg : toPosix(relative(top, p.anchor)) || '.'));
  let wholeTree = false;
  for (const path of named.filter((p) => !p.glob)) {
    if (!isWithin(top, path.anchor)) throw new UsageError(`${path.arg} is outside the root ${top}; pass a --root that contains it`);
    const rel = toPosix(relative(top, path.anchor));
    if (rel === '') wholeTree = true;
    else include.push(rel);
  }
  for (const file of await expandGlobs(base, named, isGitWorkTreeTop(top))) {
    if (isWithin(top, file)) include.push(toPosix(relative(top, file)));
  }
  if (wholeTree) return exclude.length ? { root: top, scope: { given: [], include: [], exclude } } : { root: top };
  return include.length || exclude.length ? { root: top, scope: { given, include: [...new Set(include)], exclude } } : { root: top };
}

function namePath(base: string, arg: string): NamedPath {
  const full = resolve(base, arg);
  if (existsSync(full)) return { arg, anchor: full, glob: false };
  const scan = picomatch.scan(arg);
  if (!scan.isGlob) throw new UsageError(`${arg}: no such file or folder${isAbsolute(arg) ? '' : ` in ${base}`}`);
  return { arg, anchor: resolve(base, scan.base || '.'), glob: true };
}

/** The kernel tree all the paths are in, or null when none is in one. */
function treeTop(named: NamedPath[]): string | null {
  const tops = named.map((p) => findKernelTop(p.anchor));
  if (tops.every((t) => t === null)) return null;
  const distinct = [...new Set(tops)];
  if (distinct.length > 1) {
    const where = named.map((p, i) => `${p.arg} (${tops[i] ?? 'no kernel tree'})`).join(', ');
    throw new UsageError(`the paths are not in one kernel tree: ${where}; lint one tree at a time, or pass --root DIR`);
  }
  return distinct[0];
}

/** The .c/.h files the globs match (absolute); a glob matching none is a usage error. */
async function expandGlobs(base: string, named: NamedPath[], gitignore: boolean): Promise<string[]> {
  const globs = named.filter((p) => p.glob);
  if (!globs.length) return [];
  const { globby } = await import('globby');
  const out: string[] = [];
  for (const { arg } of globs) {
    const matches = (await globby(arg, { cwd: base, absolute: true, onlyFiles: true, followSymbolicLinks: false, gitignore })).filter(isSourceName);
    if (!matches.length) throw new UsageError(`'${arg}' matches no .c or .h file${isAbsolute(arg) ? '' : ` in ${base}`}`);
    out.push(...matches);
  }
  return out;
}

/**
 * Outside a kernel tree: the scanned root and the paths under it.
 * - `--root` given: paths are relative to it and must stay inside it.
 * - no `--root`: the current folder is the root when every path is inside it;
 *   a single path outside it becomes the root itself (`flushcheck lint
 *   /some/tree`), so findings are relative to the scanned folder.
 * `paths` is omitted when the only path is the root; otherwise paths are absolute.
 */
export function resolveScanTarget(cwd: string, rootOption: string | undefined, paths: string[]): Pick<LintOptions, 'root' | 'paths'> {
  const base = rootOption === undefined ? cwd : resolve(cwd, rootOption);
  if (rootOption !== undefined && !isDirectory(base)) {
    throw new UsageError(`--root ${rootOption}: not a folder; pass the top of the tree to check`);
  }
  const absolute = paths.map((path) => {
    const full = resolve(base, path);
    if (!existsSync(full)) {
      throw new UsageError(`${path}: no such file or folder${isAbsolute(path) ? '' : ` in ${base}`}`);
    }
    return full;
  });

  let root = base;
  if (rootOption === undefined && !absolute.every((path) => isWithin(cwd, path))) {
    if (absolute.length !== 1) {
      throw new UsageError('paths lie outside the current folder; pass --root DIR with a folder that holds them all');
    }
    root = isDirectory(absolute[0]) ? absolute[0] : dirname(absolute[0]);
  }
  for (const [i, path] of absolute.entries()) {
    if (!isWithin(root, path)) {
      throw new UsageError(`${paths[i]} is outside the root ${root}; pass a --root that contains it`);
    }
  }
  return absolute.length === 1 && absolute[0] === root ? { root } : { root, paths: absolute };
}

