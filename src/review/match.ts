// Which findings a change introduces and which it fixes. Findings are matched
// by what they are about, not where (Finding.identity: the rule, the file to
// fix, the issuing call, the way the buffer changes hands), with their kind and
// severity: a harmless note turning into an error is new. Line numbers and
// static helpers' names are left out, so code moving, a helper renamed or a
// file reformatted does not make an old finding look new. Several findings with
// the same identity in one file are told apart by their order, which an edit
// elsewhere in the file does not change. A file the change renamed keeps its
// findings' identities under the new name.
import type { Finding } from '../types.js';

/**
 * `renamed` (old path to new path) puts a finding of a file the change only
 * renamed (`git mv`) under its new name, so the rename alone is no new finding.
 */
export function findingIdentity(f: Finding, renamed?: ReadonlyMap<string, string>): string {
  const about = f.identity ?? [f.ruleId, f.file, f.function, f.sync ? `${f.sync.callee}@${f.sync.file}` : ''].join('|');
  const moved = renamed?.size ? about.split('|').map((part) => renamedPart(part, renamed)).join('|') : about;
  return [moved, f.kind, f.severity].join('\0');
}

/** An identity part that is a path, or ends in `@path`, under its new name. */
function renamedPart(part: string, renamed: ReadonlyMap<string, string>): string {
  const at = part.lastIndexOf('@');
  const file = part.slice(at + 1);
  const to = renamed.get(file);
  return to === undefined ? part : part.slice(0, at + 1) + to;
}

/** Each finding's identity plus its rank among findings of the same identity. */
function keyed(findings: Finding[], renamed?: ReadonlyMap<string, string>): Map<Finding, string> {
  const ordered = [...findings].sort((a, b) => a.line - b.line || a.column - b.column || (a.sync?.line ?? 0) - (b.sync?.line ?? 0));
  const seen = new Map<string, number>();
  const out = new Map<Finding, string>();
  for (const f of ordered) {
    const id = findingIdentity(f, renamed);
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    out.set(f, `${id}\0${n}`);
  }
  return out;
}

export interface FindingChanges {
  /** In `after`, not in `before` (as reported after). */
  introduced: Finding[];
  /** In `before`, not in `after` (as reported before). */
  fixed: Finding[];
}

/** `renamed`: files the change renamed (old path to new path), whose findings keep their identity. */
export function compareFindings(before: Finding[], after: Finding[], renamed?: ReadonlyMap<string, string>): FindingChanges {
  const b = keyed(before, renamed);
  const a = keyed(after);
  const beforeKeys = new Set(b.values());
  const afterKeys = new Set(a.values());
  return {
    introduced: after.filter((f) => !beforeKeys.has(a.get(f)!)),
    fixed: before.filter((f) => !afterKeys.has(b.get(f)!)),
  };
}
