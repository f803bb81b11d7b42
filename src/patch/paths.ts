// Which paths a patch may write. The series is untrusted and git apply runs on
// it: a path must stay inside the tree, stay out of .git, and not pass through
// a symlink (which could lead anywhere, now or after a later patch).
import fs from 'node:fs';
import path from 'node:path';
import { parseGitMode } from './diff.js';
import type { Patch } from './types.js';

/** PATH_MAX on Linux. */
const MAX_PATH_BYTES = 4096;
const SYMLINK_MODE = 0o120000;
const GITLINK_MODE = 0o160000;
const DIRECTORY_MODE = 0o040000;

/** Why a stated mode is refused: only regular files (100644, 100755 as git canonicalises them) are patched. */
function modeProblem(value: string): string | null {
  const mode = parseGitMode(value);
  if (mode === null) return 'is not a mode git accepts';
  if (mode === SYMLINK_MODE) return 'makes it a symlink';
  if (mode === GITLINK_MODE) return 'makes it a submodule link';
  if (mode === DIRECTORY_MODE) return 'makes it a folder';
  return null;
}

function clipMode(value: string): string {
  const shown = value.replace(/[\x00-\x1f\x7f]/g, '?');
  return shown.length > 24 ? `${shown.slice(0, 24)}...` : shown;
}

/** Why one path is unsafe inside `root`, or null when it is safe. */
function pathProblem(name: string, root: string): string | null {
  if (name === '') return 'empty path';
  if (/[\x00-\x1f\x7f]/.test(name)) return 'path contains a NUL or control character';
  if (name.startsWith('/')) return 'absolute path';
  const components = name.split('/');
  if (components.includes('..')) return "path leaves the tree ('..' component)";
  // Case-insensitive, as git's own verify_path: .GIT is .git on some file systems.
  if (components.some((c) => c.toLowerCase() === '.git')) return 'path is inside .git';
  if (Buffer.byteLength(name) > MAX_PATH_BYTES) return `path longer than ${MAX_PATH_BYTES} bytes`;
  const resolved = path.resolve(root, name);
  const relative = path.relative(root, resolved);
  if (relative === '') return 'path names the tree itself';
  if (relative.startsWith('..') || path.isAbsolute(relative)) return 'path resolves outside the tree';

  // Every existing prefix, the file itself included, must be a real directory
  // or file: a symlink is refused even when it points inside the tree.
  const walked: string[] = [];
  for (const component of components) {
    if (component === '' || component === '.') continue;
    walked.push(component);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(path.join(root, ...walked), { throwIfNoEntry: false });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') return null;
      return `'${walked.join('/')}' cannot be checked (${code ?? (error as Error).message})`;
    }
    if (stat === undefined) return null;
    if (stat.isSymbolicLink()) {
      return walked.length === components.length ? 'the file in the tree is a symlink' : `'${walked.join('/')}' in the tree is a symlink`;
    }
    if (!stat.isDirectory()) return null;
  }
  return null;
}

/**
 * Problems with the paths `patch` writes or reads inside `treeRoot`; empty when
 * all are safe. Each names the path and why, e.g.
 * `"../../etc/passwd": path leaves the tree ('..' component); refused`.
 */
export function checkPatchPaths(patch: Patch, treeRoot: string): string[] {
  const root = path.resolve(treeRoot);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const file of patch.files) {
    for (const name of [file.oldPath, file.newPath]) {
      if (name === null || seen.has(name)) continue;
      seen.add(name);
      const problem = pathProblem(name, root);
      if (problem) problems.push(`${JSON.stringify(name)}: ${problem}; refused`);
    }
    // git apply would create the link; reading the tree afterwards would follow it anywhere.
    // Every mode git reads is checked the way git reads it: '0120000',
    // '+120000', '1120000' and '37777720000' are all symlinks to git.
    const shown = JSON.stringify(file.newPath ?? file.oldPath ?? '');
    const stated = file.statedModes ?? (file.mode !== undefined ? [{ line: 'mode', value: file.mode }] : []);
    for (const { line, value } of stated) {
      const problem = modeProblem(value);
      if (problem) problems.push(`${shown}: '${line} ${clipMode(value)}' ${problem}; refused`);
    }
  }
  return problems;
}
