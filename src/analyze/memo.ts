// Reusing one function's analysis result across runs. The key covers all the
// analysis of a function reads: its text and position, the rule and the
// configuration (`scope`), whether it hands the buffer over, and for every name
// it calls, the definitions that name resolves to with their summaries. If any
// of these differs, the function is analysed again; so is everything above it
// whose callee summaries change as a result.
import type { FunctionIR } from '../ir/types.js';
import type { EntryStore } from '../cache/store.js';
import { digest } from '../cache/store.js';
import type { CallRecord, CompletionSite, FunctionResult, RawFinding, Summary } from './engine.js';
import type { AccessClause, DeferredItem, Literal, Outcome, OwnAccess } from './types.js';
import type { PathStep } from '../types.js';
import type { Program } from './program.js';
import { bool, int, list, open, record, schemaCheck, str } from '../cache/schema-check.js';

export interface FunctionMemo {
  /** Checked with isStoredResult: what it returns fits StoredResult. */
  store: EntryStore;
  /** Rule and configuration fingerprint. */
  scope: string;
  hits: number;
  misses: number;
}

/**
 * What is stored: FunctionResult without object references (functions, sets),
 * its path steps and condition literals as indexes into two tables. A callee's
 * steps repeat in every access and outcome that goes through it, and its
 * conditions in every clause: on 7.2 the tables hold the function results in
 * 55% of the text, which a warm diff parses and checks on every commit.
 */
interface StoredResult {
  summary: Interned<Summary>;
  findings: Omit<Interned<RawFinding>, 'fn'>[];
  completions: (Omit<Interned<CompletionSite>, 'localOrigins'> & { localOrigins: number[] })[];
  calls: Omit<CallRecord, 'targets'>[];
  truncated: boolean;
  syncSites: number;
  cutShort?: string;
  /** summaryDigest of the summary: the callers' keys, without writing the summary out again. */
  summaryDigest: string;
  /** Every PathStep the lists above name, once. */
  steps: PathStep[];
  /** Every Literal they name, once. */
  lits: Literal[];
}

/** T with its step and literal lists as indexes into StoredResult's tables, at the places the analysis puts them. */
type Interned<T> = T extends Summary
  ? Omit<Summary, 'outcomes' | 'accesses' | 'ownAccesses'> & {
      outcomes: (Omit<Outcome, 'lits' | 'items'> & { lits: number[]; items: (Omit<DeferredItem, 'inner'> & { inner: number[] })[] })[] | null;
      accesses: (Omit<AccessClause, 'lits' | 'steps'> & { lits: number[]; steps: number[] })[];
      ownAccesses: (Omit<OwnAccess, 'lits' | 'steps'> & { lits: number[]; steps: number[] })[];
    }
  : T extends RawFinding
    ? Omit<RawFinding, 'path' | 'item'> & { path: number[]; item: Omit<RawFinding['item'], 'inner'> & { inner: number[] } }
    : T extends CompletionSite
      ? Omit<CompletionSite, 'samplePath'> & { samplePath?: number[] }
      : never;

const summaryDigests = new WeakMap<Summary, string>();

function summaryDigest(summary: Summary | undefined): string {
  if (!summary) return '-';
  let d = summaryDigests.get(summary);
  if (d === undefined) {
    d = digest(JSON.stringify(summary));
    summaryDigests.set(summary, d);
  }
  return d;
}

export function memoKey(
  memo: FunctionMemo,
  fn: FunctionIR,
  program: Program,
  summaryOf: (f: FunctionIR) => Summary | undefined,
  handoff: { handoff: boolean; why: string },
): string {
  const parts = [memo.scope, fn.file, fn.name, String(fn.line), String(fn.column), fn.digest(), String(handoff.handoff), handoff.why];
  for (const callee of fn.calls) {
    const targets = program.resolve(fn.file, callee);
    parts.push(`${callee}=${targets.map((t) => `${t.file}|${t.name}|${t.isMacro}|${t.params.join(',')}|${summaryDigest(summaryOf(t))}`).join(';')}`);
  }
  return digest(...parts);
}

export function storeResult(res: FunctionResult): StoredResult {
  const steps = new Table<PathStep>();
  const lits = new Table<Literal>();
  const interned = mapLists(
    {
      summary: res.summary,
      findings: res.findings.map(({ fn: _fn, ...rest }) => rest),
      completions: res.completions.map((c) => ({ ...c, localOrigins: [...c.localOrigins] })),
    },
    (list: PathStep[]) => steps.indexes(list),
    (list: Literal[]) => lits.indexes(list),
  );
  return {
    ...(interned as Pick<StoredResult, 'summary' | 'findings' | 'completions'>),
    calls: res.calls.map(({ targets: _targets, ...rest }) => rest),
    truncated: res.truncated,
    syncSites: res.syncSites,
    ...(res.cutShort ? { cutShort: res.cutShort } : {}),
    summaryDigest: summaryDigest(res.summary),
    steps: steps.values,
    lits: lits.values,
  };
}

/** What holds step lists (S[]) and literal lists (L[]): a summary, findings and completion sites, as analysed or as stored. */
interface ListHolders<S, L> {
  summary: { outcomes: { lits: L[]; items: { inner: S[] }[] }[] | null; accesses: { lits: L[]; steps: S[] }[]; ownAccesses?: { lits: L[]; steps: S[] }[] };
  findings: { path: S[]; item: { inner: S[] } }[];
  completions: { samplePath?: S[] }[];
}

/**
 * The summary, findings and completion sites with each step list passed
 * through `steps` and each literal list through `lits`: the one place that
 * knows where the analysis puts them (stored as indexes, read back, checked
 * in range). Each key keeps its place, so the same result is the same text.
 */
function mapLists<S, L, S2, L2>(from: ListHolders<S, L>, steps: (list: S[]) => S2[], lits: (list: L[]) => L2[]): ListHolders<S2, L2> {
  const sm = from.summary;
  return {
    summary: {
      ...sm,
      outcomes: sm.outcomes && sm.outcomes.map((o) => ({ ...o, lits: lits(o.lits), items: o.items.map((i) => ({ ...i, inner: steps(i.inner) })) })),
      accesses: sm.accesses.map((a) => ({ ...a, lits: lits(a.lits), steps: steps(a.steps) })),
      ...(sm.ownAccesses ? { ownAccesses: sm.ownAccesses.map((a) => ({ ...a, lits: lits(a.lits), steps: steps(a.steps) })) } : {}),
    } as ListHolders<S2, L2>['summary'],
    findings: from.findings.map((f) => ({ ...f, path: steps(f.path), item: { ...f.item, inner: steps(f.item.inner) } })),
    completions: from.completions.map((c) => (c.samplePath ? { ...c, samplePath: steps(c.samplePath) } : (c as { samplePath?: S2[] }))),
  };
}

/** Values by their JSON text, each kept once; `indexes` gives a list's places in `values`. */
class Table<T> {
  readonly values: T[] = [];
  private readonly index = new Map<string, number>();

  indexes(list: T[]): number[] {
    return list.map((value) => {
      const text = JSON.stringify(value);
      let at = this.index.get(text);
      if (at === undefined) {
        at = this.values.push(value) - 1;
        this.index.set(text, at);
      }
      return at;
    });
  }
}

// The JSON Schema of StoredResult, beside it: keep them in step (the cache
// test, which expects a warm run to reuse every result, fails otherwise).
// StoredResult's own fields and the elements of its lists are typed; what
// lies deeper (conditions, chains, dataflow) is typed where a reader depends
// on it and otherwise left open, and the digest every entry carries covers it.
const pathStep = open({ file: str, line: int, event: str }, { column: int, op: str });
const literal = open({ atom: open({ k: str }), value: bool });
/** Places in StoredResult's `steps` or `lits` (in range: see indexesInRange). */
const indexes = { type: 'array', items: { type: 'integer', minimum: 0 } } as const;
const origin = open({ file: str, line: int, function: str });
const effect = { enum: ['clean', 'invalidate', 'clean_invalidate', 'none'] } as const;
const deferredItem = open({ callee: str, effect, inner: indexes, origin }, { uncertain: bool });
const outcome = open({ lits: indexes, keepsCaller: bool, error: bool, ret: { enum: ['T', 'F', 'U', 'N', 'P'] }, failed: bool, items: list(deferredItem) });
const summary = open(
  { outcomes: { anyOf: [{ type: 'null' }, list(outcome)] }, accesses: list(open({ lits: indexes, steps: indexes })), handoff: bool, handoffWhy: str },
  { ownAccesses: list(open({ lits: indexes, callee: str, effect, origin, steps: indexes })) },
);
const pendingItem = open({ key: str, callee: str, effect, node: int, line: int, column: int, inner: indexes, origin }, { via: str, uncertain: bool });

export const storedResultSchema = record(
  {
    summary,
    findings: list(
      open({
        kind: { enum: ['unflushed-return', 'unflushed-access'] },
        item: pendingItem,
        at: open({ line: int, column: int, what: str }),
        error: bool,
        failed: bool,
        path: indexes,
      }),
    ),
    completions: list(
      open(
        { node: int, line: int, column: int, sawLocal: bool, sawCaller: bool, localOrigins: { type: 'array', items: int } },
        { samplePath: indexes, loop: { anyOf: [{ type: 'null' }, open({ line: int, issuedInside: bool })] } },
      ),
    ),
    calls: list(open({ callee: str, withLocal: bool, withCaller: bool })),
    truncated: bool,
    syncSites: int,
    summaryDigest: str,
    steps: list(pathStep),
    lits: list(literal),
  },
  { cutShort: str },
);

const fitsStoredResultSchema = schemaCheck(storedResultSchema);

/** Whether a value read from the cache is a StoredResult: its schema, and every index naming an entry of its tables. */
export function isStoredResult(value: unknown): value is StoredResult {
  return fitsStoredResultSchema(value) && indexesInRange(value as StoredResult);
}

function indexesInRange(stored: StoredResult): boolean {
  let inRange = true;
  const within = (size: number) => (list: number[]) => {
    if (!list.every((i) => i < size)) inRange = false;
    return list;
  };
  mapLists(stored, within(stored.steps.length), within(stored.lits.length));
  return inRange;
}

/**
 * Results and summaries made from a stored value, by that value: a function
 * recalled again (the next round, another snapshot of the same run) gets the
 * very same summary, which its callers' reuse compares by identity (see
 * rule.ts keptComponent). Stored values are never modified.
 */
const loaded = new WeakMap<StoredResult, { summary: Summary; findings: Omit<RawFinding, 'fn'>[]; completions: StoredCompletion[] }>();

/** A completion site as stored, its path expanded. */
type StoredCompletion = Omit<CompletionSite, 'localOrigins'> & { localOrigins: number[] };

/** A stored result back in the shapes the rule runner uses (`raw` comes from FunctionMemo.store, which checked it with isStoredResult). */
export function loadResult(raw: unknown, fn: FunctionIR, program: Program): FunctionResult {
  const stored = raw as StoredResult;
  let parts = loaded.get(stored);
  if (!parts) {
    parts = expand(stored);
    loaded.set(stored, parts);
    summaryDigests.set(parts.summary, stored.summaryDigest);
  }
  return {
    summary: parts.summary,
    findings: parts.findings.map((f) => ({ ...f, fn })),
    completions: parts.completions.map((c) => ({ ...c, localOrigins: new Set(c.localOrigins) })),
    calls: stored.calls.map((c) => ({ ...c, targets: program.resolve(fn.file, c.callee) })),
    truncated: stored.truncated,
    syncSites: stored.syncSites,
    ...(stored.cutShort ? { cutShort: stored.cutShort } : {}),
  };
}

/** The stored lists of indexes as the steps and literals they name (shared: the analysis never modifies a step or a literal). */
function expand(stored: StoredResult): { summary: Summary; findings: Omit<RawFinding, 'fn'>[]; completions: StoredCompletion[] } {
  return mapLists(
    stored,
    (list: number[]) => list.map((i) => stored.steps[i]),
    (list: number[]) => list.map((i) => stored.lits[i]),
  ) as unknown as { summary: Summary; findings: Omit<RawFinding, 'fn'>[]; completions: StoredCompletion[] };
}
