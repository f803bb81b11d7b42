// Reusing one function's analysis result across runs. The key covers all the
// analysis of a function reads: its text and position, the rule and the
// configuration (`scope`), whether it hands the buffer over, and for every name
// it calls, the definitions that name resolves to with their summaries. If any
// of these differs, the function is analysed again; so is everything above it
// whose callee summaries change as a result.
import type { FunctionIR } from '../ir/types.js';
import type { ResultStore } from '../cache/store.js';
import { digest } from '../cache/store.js';
import type { CallRecord, CompletionSite, FunctionResult, RawFinding, Summary } from './engine.js';
import type { Program } from './program.js';

export interface FunctionMemo {
  store: ResultStore;
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

/** A stored result back in the shapes the rule runner uses; null when it does not look like one. */
export function loadResult(raw: unknown, fn: FunctionIR, program: Program): FunctionResult | null {
  const stored = raw as StoredResult;
  if (!stored || typeof stored !== 'object' || !stored.summary || !Array.isArray(stored.findings) || !Array.isArray(stored.completions) || !Array.isArray(stored.calls)) return null;
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
