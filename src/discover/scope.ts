// The part of a tree a report covers. The analysis always reads the whole tree
// (callers, flushes and deferring helpers live anywhere); the scope only
// decides which findings are shown, as `make M=dir` builds one folder against
// the whole kernel.
import picomatch from 'picomatch';

export interface ReportScope {
  /** The paths and globs as the user gave them, for messages. */
  given: string[];
  /** Root-relative files and folders ('/'-separated) the report covers; empty means the whole tree. */
  include: string[];
  /** Root-relative globs: matching files, and everything below a matching folder, are left out. */
  exclude: string[];
}

/** A test "is this root-relative file inside the scope?". */
export function scopeFilter(scope: ReportScope): (file: string) => boolean {
  const files = new Set(scope.include);
  const folders = scope.include.map((dir) => (dir === '' ? '' : `${dir}/`));
  const excluded = scope.exclude.length ? picomatch(scope.exclude, { dot: true }) : null;
  const isExcluded = (file: string): boolean => {
    if (!excluded) return false;
    // A pattern naming a folder (`drivers/gpu`, `drivers/*/`) leaves out everything below it.
    for (let at = file.indexOf('/'); at > 0; at = file.indexOf('/', at + 1)) if (excluded(file.slice(0, at))) return true;
    return excluded(file);
  };
  return (file) => {
    if (isExcluded(file)) return false;
    if (scope.include.length === 0 || files.has(file)) return true;
    return folders.some((dir) => file.startsWith(dir));
  };
}
