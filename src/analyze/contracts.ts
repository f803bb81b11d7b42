// What rules declare, checked against the code. A contract says that its
// `defer` function may return with maintenance pending and that its
// `complete` function completes it (`dma_iova_link()` -> `dma_iova_sync()`);
// callers are judged on that word, so the word is verified:
// - the `complete` function, entered with the defer function's maintenance
//   pending, must complete it on every normal way out (a removed flush, or a
//   flush under a condition false for the devices that defer, breaks every
//   caller at once: one finding here says so);
// - the `defer` function must defer something: one that completes all it
//   issues makes its partner's calls pointless (a stale contract).
import { show, varsOf } from '../ir/expr.js';
import type { FunctionIR } from '../ir/types.js';
import type { DeferralContract, Finding } from '../types.js';
import { analyzeFunction } from './engine.js';
import type { Program } from './program.js';
import { assume, type State } from './state.js';
import type { FunctionResult, Literal, RuleContext, Summary } from './types.js';

export function checkContracts(program: Program, ctx: RuleContext, summaries: Map<FunctionIR, Summary>, results: Map<FunctionIR, FunctionResult>): Finding[] {
  const out: Finding[] = [];
  for (const contract of ctx.rule.contracts) {
    const defers = program.resolve('', contract.defer);
    for (const complete of program.resolve('', contract.complete)) {
      // Alternatives for another configuration (the `#else` stubs in a
      // header) go together: a stub that never defers needs no completion.
      const sameFile = defers.filter((d) => d.file === complete.file);
      const partners = sameFile.length ? sameFile : defers;
      const deferrals = partners.length ? partners.flatMap((d) => deferralConditions(d, summaries.get(d), results.has(d))) : [{ lits: [], params: [] }];
      out.push(...checkCompleting(complete, contract, deferrals, ctx, program, summaries));
    }
    for (const d of defers) {
      const sm = summaries.get(d);
      // Stale: it issues maintenance (has a summary) yet never leaves any.
      if (sm?.outcomes && !sm.outcomes.some((o) => o.items.length > 0)) out.push(staleContract(d, contract, ctx));
    }
  }
  return out;
}

/**
 * The conditions (on the defer function's parameters, by name) under which it
 * leaves maintenance pending on a normal way out. Analysed and doing nothing
 * the rule cares about (a stub): never. Not analysed: always.
 */
function deferralConditions(defer: FunctionIR, sm: Summary | undefined, analysed: boolean): { lits: Literal[]; params: string[] }[] {
  if (!sm?.outcomes) return analysed ? [] : [{ lits: [], params: defer.params }];
  return sm.outcomes.filter((o) => o.items.length > 0 && !o.failed).map((o) => ({ lits: o.lits, params: defer.params }));
}

function checkCompleting(
  complete: FunctionIR,
  contract: DeferralContract,
  deferrals: { lits: Literal[]; params: string[] }[],
  ctx: RuleContext,
  program: Program,
  summaries: Map<FunctionIR, Summary>,
): Finding[] {
  if (complete.isMacro) return [];
  let res: FunctionResult;
  try {
    res = analyzeFunction(complete, ctx, program, (t) => summaries.get(t), { handoff: false, why: '' }, { traceCaller: true });
  } catch {
    return [];
  }
  if (res.truncated || !deferrals.length) return [];
  for (const exit of res.keptCaller ?? []) {
    // A way out that keeps the caller's maintenance is a broken promise only
    // where the defer function does defer: its conditions, carried over by
    // parameter name (`dev` is `dev` in both), must be consistent with the exit's.
    const deferring = deferrals.find((d) => consistent(exit.lits, mapByName(d.lits, d.params, complete.params), ctx));
    if (!deferring) continue;
    const when = exit.lits.length ? ` when ${exit.lits.map(showLit).join(' && ')}` : '';
    return [
      {
        ruleId: ctx.rule.id,
        kind: 'broken-contract',
        severity: exit.error ? 'warning' : 'error',
        identity: [ctx.rule.id, complete.file, contract.defer, contract.complete].join('|'),
        file: complete.file,
        line: exit.line,
        column: 1,
        function: complete.name,
        message: `${complete.name}() returns here${when} without completing what ${contract.defer}() left pending; every caller relying on the contract (${contract.defer}() -> ${contract.complete}()) hands the buffer over with maintenance in flight`,
        path: exit.steps,
        related: [{ file: complete.file, line: complete.line, column: complete.column, message: `${complete.name}() is declared to complete ${contract.defer}()'s maintenance (${ctx.rule.source})` }],
      },
    ];
  }
  return [];
}

function staleContract(defer: FunctionIR, contract: DeferralContract, ctx: RuleContext): Finding {
  return {
    ruleId: ctx.rule.id,
    kind: 'broken-contract',
    severity: 'note',
    identity: [ctx.rule.id, defer.file, contract.defer, contract.complete, 'stale'].join('|'),
    file: defer.file,
    line: defer.line,
    column: defer.column,
    function: defer.name,
    message: `${defer.name}() is declared to leave maintenance for ${contract.complete}() but completes all it issues: the contract in ${ctx.rule.source} is stale, and its callers' ${contract.complete}() calls do nothing for it`,
    path: [],
  };
}

/** The defer function's conditions with its parameters renamed to the complete function's; the others are dropped (unknown). */
function mapByName(lits: Literal[], from: string[], to: string[]): Literal[] {
  const shared = new Set(from.filter((p) => to.includes(p)));
  return lits.filter((l) => [...varsOf(l.atom)].every((v) => shared.has(v)));
}

function consistent(a: Literal[], b: Literal[], ctx: RuleContext): boolean {
  let s: State | null = { pending: new Map(), facts: new Map(), bindings: new Map(), error: false, trail: null };
  for (const l of [...a, ...b]) {
    s = assume(l.atom, l.value, s, ctx.env);
    if (!s) return false;
  }
  return true;
}

function showLit(l: Literal): string {
  const text = show(l.atom);
  return l.value ? text : `!${/[ &|]/.test(text) ? `(${text})` : text}`;
}
