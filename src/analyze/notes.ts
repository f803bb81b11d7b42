// Notes that need the whole program: flushes in loops that could run once
// after the loop (batchable), and flushes with nothing to complete.
import type { FunctionIR } from '../ir/types.js';
import type { Finding } from '../types.js';
import { analyzeFunction } from './engine.js';
import type { Program } from './program.js';
import type { CompletionSite, FunctionResult, RawFinding, RuleContext, SiteLoop, Summary } from './types.js';

/**
 * Whether a flush inside a loop that issues maintenance could run once after
 * the loop instead. Decided by analysing the function again as if it did:
 * batchable when that finds nothing new — no CPU access in the rest of the
 * iteration (here or through any callee) sees the maintenance pending, no
 * way out of the loop but its end relies on it, and callers get nothing
 * more left pending.
 */
export function batchability(
  fn: FunctionIR,
  site: CompletionSite,
  res: FunctionResult,
  ctx: RuleContext,
  program: Program,
  summaryOf: (f: FunctionIR) => Summary | undefined,
  handoff: { handoff: boolean; why: string },
): Pick<CompletionSite, 'loop' | 'batch' | 'hoistedCalls'> {
  const cfg = fn.cfg();
  const loop = [...cfg.loops].reverse().find((l) => l.body.includes(site.node));
  if (!loop) return { loop: null };
  const body = new Set(loop.body);
  const siteLoop: SiteLoop = { line: loop.line, issuedInside: [...site.localOrigins].some((o) => body.has(o)) };
  if (!siteLoop.issuedInside || !site.sawLocal) return { loop: siteLoop };
  let hoisted: FunctionResult;
  try {
    hoisted = analyzeFunction(fn, ctx, program, summaryOf, handoff, { hoist: { flushNode: site.node, loop } });
  } catch {
    return { loop: siteLoop, batch: { ok: false, why: 'the function could not be analysed with the flush moved' } };
  }
  if (hoisted.truncated) return { loop: siteLoop, batch: { ok: false, why: 'the function could not be analysed with the flush moved' } };
  const hoistedCalls = hoisted.calls.flatMap((c) => (c.taintedArgs?.length ? [{ callee: c.callee, taintedArgs: c.taintedArgs }] : []));
  const verdict = judgeHoisted(res, hoisted);
  return { loop: siteLoop, batch: verdict, ...(hoistedCalls.length ? { hoistedCalls } : {}) };
}

/** Batchable when the analysis with the flush moved after the loop finds nothing the real one does not. */
function judgeHoisted(res: FunctionResult, hoisted: FunctionResult): { ok: boolean; why?: string } {
  const known = new Set(res.findings.map(findingKey));
  const fresh = hoisted.findings.find((f) => !known.has(findingKey(f)));
  if (fresh) return { ok: false, why: whyNeeded(fresh) };
  const owned = new Set(res.summary.ownAccesses.map((a) => `${a.callee}@${a.origin.line}`));
  const ownAccess = hoisted.summary.ownAccesses.find((a) => !owned.has(`${a.callee}@${a.origin.line}`));
  if (ownAccess) return { ok: false, why: `${stepCall(ownAccess.steps[0]?.event)} may reach a CPU access (${last(ownAccess.steps)}) inside the loop` };
  if (deferredCount(hoisted.summary) > deferredCount(res.summary)) {
    return { ok: false, why: 'a way out of the loop other than its end would leave the maintenance pending for the caller' };
  }
  return { ok: true };
}

function findingKey(f: RawFinding): string {
  return `${f.kind}:${f.at.node}:${f.item.effect}`;
}

function deferredCount(s: Summary): number {
  return (s.outcomes ?? []).filter((o) => !o.error).reduce((n, o) => n + o.items.length, 0);
}

function last(steps: { file: string; line: number; event: string }[]): string {
  const st = steps[steps.length - 1];
  return st ? `${st.event.replace(/ accesses the buffer from the CPU$/, '')} at ${st.file}:${st.line}` : 'a CPU access';
}

function stepCall(event: string | undefined): string {
  const m = event?.match(/^([A-Za-z_]\w*)\(/);
  return m ? `${m[1]}()` : 'a call';
}

/** What in the iteration needs the maintenance complete, for a developer who wants to batch. */
function whyNeeded(f: RawFinding): string {
  if (f.kind === 'unflushed-return') return `the return at line ${f.at.line} inside the loop relies on it`;
  const call = f.path.find((st) => st.file === f.fn.file && st.line === f.at.line)?.event;
  const callee = stepCall(call);
  return `${callee === 'a call' ? 'a CPU access' : callee} at line ${f.at.line} may read the buffer (${last(f.path)}) before the loop ends`;
}

/** Batchable per-entry flushes and flushes with nothing pending. */
export function notes(program: Program, ctx: RuleContext, results: Map<FunctionIR, FunctionResult>): { notes: Finding[]; unbatchable: { fn: FunctionIR; line: number; loopLine: number; why: string }[] } {
  const out: Finding[] = [];
  const unbatchable: { fn: FunctionIR; line: number; loopLine: number; why: string }[] = [];
  const mayEnterPending = entryWithPending(program, ctx, results);
  const flushName = [...ctx.completing][0];
  const note = (kind: 'redundant-flush' | 'batchable', fn: FunctionIR, site: CompletionSite, message: string, path: Finding['path']): Finding => ({
    ruleId: ctx.rule.id,
    kind,
    severity: 'note',
    identity: [ctx.rule.id, fn.file, flushName].join('|'),
    file: fn.file,
    line: site.line,
    column: site.column,
    function: fn.name,
    message,
    path,
  });
  for (const [fn, res] of results) {
    for (const site of res.completions) {
      if (!site.sawLocal && !(site.sawCaller && mayEnterPending(fn))) {
        const message = `${flushName}() here has nothing to complete: no maintenance is pending on any path that reaches it`;
        out.push(note('redundant-flush', fn, site, message, [{ file: fn.file, line: site.line, event: `${flushName}() with nothing pending` }]));
        continue;
      }
      if (!site.loop?.issuedInside || !site.batch) continue;
      if (!site.batch.ok) {
        unbatchable.push({ fn, line: site.line, loopLine: site.loop.line, why: site.batch.why ?? '' });
        continue;
      }
      const message = `${flushName}() runs once per iteration of the loop at line ${site.loop.line}: N entries cost N DSBs; nothing later in the iteration needs the maintenance complete, so one ${flushName}() after the loop costs 1`;
      out.push(
        note('batchable', fn, site, message, [
          { file: fn.file, line: site.loop.line, event: 'loop issues maintenance per entry' },
          { file: fn.file, line: site.line, event: `${flushName}() inside the loop` },
        ]),
      );
    }
  }
  return { notes: out, unbatchable };
}

/** Whether a function may be entered with maintenance pending (its flushes of the caller's are not redundant). */
function entryWithPending(program: Program, ctx: RuleContext, results: Map<FunctionIR, FunctionResult>): (fn: FunctionIR) => boolean {
  const contractDefers = new Set(ctx.contractDefers.keys());
  const calledWithPending = new Set<FunctionIR>();
  const callerEdges: [FunctionIR, FunctionIR][] = [];
  for (const [fn, res] of results) {
    if (program.isHandoff(fn, ctx.rule.handoff, contractDefers).handoff || fn.isMacro) calledWithPending.add(fn);
    for (const c of res.calls) {
      for (const t of c.targets) {
        if (c.withLocal) calledWithPending.add(t);
        if (c.withCaller) callerEdges.push([fn, t]);
      }
    }
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const [from, to] of callerEdges) {
      if (calledWithPending.has(from) && !calledWithPending.has(to)) {
        calledWithPending.add(to);
        changed = true;
      }
    }
  }
  // Functions with no analysed result still call: a caller with unknown
  // entry state is treated as possibly pending.
  const calledFromUnanalysed = new Set<FunctionIR>();
  for (const caller of program.functions) {
    if (results.has(caller)) continue;
    for (const c of caller.calls) program.resolve(caller.file, c).forEach((t) => calledFromUnanalysed.add(t));
  }
  return (fn) => calledWithPending.has(fn) || !program.called.has(fn.name) || calledFromUnanalysed.has(fn);
}
