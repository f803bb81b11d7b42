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

/** What is stored: FunctionResult without object references (functions, sets). */
interface StoredResult {
  summary: Summary;
  findings: Omit<RawFinding, 'fn'>[];
  completions: (Omit<CompletionSite, 'localOrigins'> & { localOrigins: number[] })[];
  calls: Omit<CallRecord, 'targets'>[];
  truncated: boolean;
  syncSites: number;
  cutShort?: string;
}

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
  return {
    summary: res.summary,
    findings: res.findings.map(({ fn: _fn, ...rest }) => rest),
    completions: res.completions.map((c) => ({ ...c, localOrigins: [...c.localOrigins] })),
    calls: res.calls.map(({ targets: _targets, ...rest }) => rest),
    truncated: res.truncated,
    syncSites: res.syncSites,
    ...(res.cutShort ? { cutShort: res.cutShort } : {}),
  };
}

// The JSON Schema of StoredResult, beside it: keep them in step (the cache
// test, which expects a warm run to reuse every result, fails otherwise).
// StoredResult's own fields and the elements of its lists are typed; what
// lies deeper (conditions, chains, dataflow) is typed where a reader depends
// on it and otherwise left open, and the digest every entry carries covers it.
const pathStep = open({ file: str, line: int, event: str }, { column: int, op: str });
const lits = list(open({ atom: open({ k: str }), value: bool }));
const origin = open({ file: str, line: int, function: str });
const effect = { enum: ['clean', 'invalidate', 'clean_invalidate', 'none'] } as const;
const deferredItem = open({ callee: str, effect, inner: list(pathStep), origin }, { uncertain: bool });
const outcome = open({ lits, keepsCaller: bool, error: bool, ret: { enum: ['T', 'F', 'U'] }, failed: bool, items: list(deferredItem) });
const summary = open(
  { outcomes: { anyOf: [{ type: 'null' }, list(outcome)] }, accesses: list(open({ lits, steps: list(pathStep) })), handoff: bool, handoffWhy: str },
  { ownAccesses: list(open({ lits, callee: str, effect, origin, steps: list(pathStep) })) },
);
const pendingItem = open({ key: str, callee: str, effect, node: int, line: int, column: int, inner: list(pathStep), origin }, { via: str, uncertain: bool });

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
        path: list(pathStep),
      }),
    ),
    completions: list(
      open(
        { node: int, line: int, column: int, sawLocal: bool, sawCaller: bool, localOrigins: { type: 'array', items: int } },
        { samplePath: list(pathStep), loop: { anyOf: [{ type: 'null' }, open({ line: int, issuedInside: bool })] } },
      ),
    ),
    calls: list(open({ callee: str, withLocal: bool, withCaller: bool })),
    truncated: bool,
    syncSites: int,
  },
  { cutShort: str },
);

/** Whether a value read from the cache is a StoredResult. */
export const isStoredResult = schemaCheck(storedResultSchema);

/** A stored result back in the shapes the rule runner uses (`raw` comes from FunctionMemo.store, which checked it with isStoredResult). */
export function loadResult(raw: unknown, fn: FunctionIR, program: Program): FunctionResult {
  const stored = raw as StoredResult;
  return {
    summary: stored.summary,
    findings: stored.findings.map((f) => ({ ...f, fn })),
    completions: stored.completions.map((c) => ({ ...c, localOrigins: new Set(c.localOrigins) })),
    calls: stored.calls.map((c) => ({ ...c, targets: program.resolve(fn.file, c.callee) })),
    truncated: stored.truncated,
    syncSites: stored.syncSites,
    ...(stored.cutShort ? { cutShort: stored.cutShort } : {}),
  };
}
