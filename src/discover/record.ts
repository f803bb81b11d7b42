// What the analysis of a snapshot learned about its files (discover/snapshot.ts):
// enough for the analysis of the same tree with a few files changed to ask the
// disk or git only about those files. Every entry says something about file
// contents or paths, so the adjustment for a change is mechanical: answers
// about changed files are recomputed from their new content, answers that
// depended on a changed file are dropped (and recomputed when asked again).
import { directivesDigest, type IncludeRecord } from './includes.js';
import { buildWholeWordMatcher, wholeWordTest } from './prefilter.js';
import { int, list, open, record, schemaCheck, str, strings, bool } from '../cache/schema-check.js';
import type { Changes } from './snapshot.js';

export type { IncludeRecord } from './includes.js';

export interface SnapshotRecord {
  /** How many source files the snapshot has; -1 until known. */
  files: number;
  /** The content key (git blob id) of every file read or matched; '' when the backing has no keys (a folder). */
  keys: Record<string, string>;
  /** Per name scanned for: every file naming it (under `within` when the scan was limited to those folders). */
  names: Record<string, { within: string[] | null; files: string[] }>;
  /** Paths asked about (the include resolver's candidates) and whether they exist. */
  exists: Record<string, boolean>;
  /** The include walks and answers (discover/includes.ts). */
  includes?: IncludeRecord;
}

export function emptyRecord(): SnapshotRecord {
  return { files: -1, keys: {}, names: {}, exists: {} };
}

/**
 * `parent`, as it holds for the snapshot `parent` describes with `delta`
 * applied (null: the file is deleted). `existed`: whether a path was in the
 * parent snapshot.
 */
export function adjustRecord(parent: SnapshotRecord, delta: Changes, existed: (file: string) => boolean): { record: SnapshotRecord; unseen: boolean } {
  const keys = { ...parent.keys };
  const exists = { ...parent.exists };
  let files = parent.files;
  let pathsChanged = false;
  for (const [file, content] of delta) {
    delete keys[file];
    exists[file] = content !== null;
    const before = existed(file);
    if (before !== (content !== null)) {
      pathsChanged = true;
      if (files >= 0) files += content === null ? -1 : 1;
    }
  }
  const names: SnapshotRecord['names'] = {};
  const allNames = Object.keys(parent.names);
  // One pass over the changed files for every name, then each name only where some name is.
  const anyName = allNames.length ? buildWholeWordMatcher(allNames) : () => false;
  const naming = [...delta].filter((entry): entry is [string, Buffer] => entry[1] !== null && anyName(entry[1]));
  for (const [name, answer] of Object.entries(parent.names)) {
    const test = wholeWordTest(name);
    const kept = answer.files.filter((f) => !delta.has(f));
    for (const [file, content] of naming) {
      if ((!answer.within || answer.within.some((dir) => file.startsWith(dir))) && test(content)) kept.push(file);
    }
    names[name] = { within: answer.within, files: kept.sort() };
  }
  // A path that appears or disappears can change where any #include resolves.
  const includes = parent.includes && !pathsChanged ? adjustIncludes(parent.includes, delta) : undefined;
  return { record: { files, keys, names, exists, ...(includes ? { includes } : {}) }, unseen: !pathsChanged && unseenBy(parent, delta, naming.length > 0) };
}

/**
 * Whether the analysis the record describes never looked at the changed
 * files: none was read, matched a scan, or asked about, and none names what
 * a scan looked for. That analysis then reads the same bytes in the changed
 * snapshot, so its result is the changed snapshot's result.
 */
function unseenBy(parent: SnapshotRecord, delta: Changes, someNamesAName: boolean): boolean {
  if (someNamesAName) return false;
  const seen = new Set(Object.values(parent.names).flatMap((a) => a.files));
  for (const file of delta.keys()) {
    if (file in parent.keys || file in parent.exists || seen.has(file)) return false;
  }
  return true;
}

/**
 * The include record for the tree with `delta` applied (no path added or
 * removed): a walk stays if its file's #include lines are unchanged and none
 * of its headers changed; an answer stays if it looked at no changed header.
 */
function adjustIncludes(known: IncludeRecord, delta: Changes): IncludeRecord {
  const changedAt = (order: number[]) => order.findIndex((i) => delta.has(known.headers[i]));
  const walks: IncludeRecord['walks'] = {};
  const answers: IncludeRecord['answers'] = {};
  for (const [file, walk] of Object.entries(known.walks)) {
    const content = delta.get(file);
    if (content !== undefined && (content === null || directivesDigest(content.toString('latin1')) !== walk.directives)) continue;
    const first = changedAt(walk.order);
    if (first < 0) walks[file] = walk;
    const kept = Object.entries(known.answers[file] ?? {}).filter(([, a]) => first < 0 || a.k <= first);
    if (kept.length) answers[file] = Object.fromEntries(kept);
  }
  return { headers: known.headers, walks, answers };
}

/** A snapshot's stored analysis: its result (the lint JSON's shape) and its record. */
export interface StoredSnapshot {
  result: unknown;
  record: SnapshotRecord;
}

const includeRecord = record({
  headers: strings,
  walks: { type: 'object', additionalProperties: record({ directives: str, order: { type: 'array', items: int }, expanded: int }) },
  answers: {
    type: 'object',
    additionalProperties: { type: 'object', additionalProperties: record({ k: int, header: { anyOf: [{ type: 'null' }, int] }, calls: strings }) },
  },
});

/**
 * The JSON Schema of StoredSnapshot: the record exactly, the result as the
 * lint JSON's top level (its findings are checked where they are read:
 * report/json.ts's shape is the lint output's, covered by its own tests).
 */
export const storedSnapshotSchema = record({
  result: open({
    tool: str,
    version: str,
    root: str,
    arch: str,
    findings: list(open({ ruleId: str, severity: str, kind: str, file: str, line: int, column: int, function: str, message: str })),
    inactiveRules: list(open({ ruleId: str, reason: str })),
    stats: open({ files: int, parsed: int, functions: int, syncSites: int, ms: int, diagnostics: list(open({ file: str, reason: str })) }),
  }),
  record: record(
    {
      files: int,
      keys: { type: 'object', additionalProperties: str },
      names: { type: 'object', additionalProperties: record({ within: { anyOf: [{ type: 'null' }, strings] }, files: strings }) },
      exists: { type: 'object', additionalProperties: bool },
    },
    { includes: includeRecord },
  ),
});

export const isStoredSnapshot = schemaCheck(storedSnapshotSchema);
