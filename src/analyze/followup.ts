// What an analysis round shows is missing from the program: the files the
// next round must read.
import { addressRoots, derivedFrom, readsAddress } from '../ir/dataflow.js';
import type { FunctionIR } from '../ir/types.js';
import type { Program } from './program.js';
import type { RuleAnalysis } from './rule.js';
import type { Summary } from './types.js';

/**
 * Kernel infrastructure never followed to a CPU access: locking, tracing,
 * printing, sanitizers, atomics, compiler builtins and the error checks.
 * They do not copy a DMA buffer, and following their macros would read
 * half of include/ on every run.
 */
const INFRASTRUCTURE = /^(__builtin_|__compiletime|WARN|BUG|likely$|unlikely$|__branch_check|READ_ONCE$|WRITE_ONCE$|(raw_)?spin_|(raw_)?read_|(raw_)?write_|rcu_|local_irq_|preempt_|lockdep_|might_|kmsan_|kasan_|kcsan_|instrument_|trace_|dev_(WARN|err|warn|info|dbg|notice)|pr_|printk|(arch_)?atomic|min(_t|_not_zero)?$|max(_t)?$|clamp|static_branch|static_key|IS_ENABLED$|barrier|smp_)/;

/** Bound on the callees followed from one round (a guard, far above what a kernel needs). */
const MAX_FOLLOWED = 5000;
/** How deep a chain of header helpers is followed to a CPU access. */
const MAX_TEXT_DEPTH = 8;

/** Where a name is defined as seen from a file's includes, and what its body calls (discover/includes.ts). */
export type HeaderDefinition = (file: string, name: string) => { header: string; calls: string[] } | null;

/** A call that passes the buffer of a pending invalidation: the callee, and which of its arguments carry it. */
export interface TaintedCall {
  file: string;
  name: string;
  args: number[];
}

/**
 * Headers to read because a callee defined there can make a CPU access to
 * the buffer of a pending invalidation: the bounce copy behind
 * include/linux/swiotlb.h's static inlines, which name no rule identifier
 * and so are never found by the text scan.
 *
 * The callees considered are those that receive the buffer — passed it by a
 * call made with the invalidation pending (`seeds`), or by such a callee at
 * any depth (what each computes from its parameters: ir/dataflow.ts) — and
 * that have no definition in the program. A header is read only if its
 * definition can reach a CPU access: through its body's calls, to a rule's
 * CPU-access call, to a function of the program that accesses its caller's
 * buffer (by its summary, or before any analysis by what it calls), or to
 * another header definition that can. Helpers that only compute
 * (dma_to_phys(), iova_offset(), min_t()) are never read.
 */
export function headersToRead(
  program: Program,
  seeds: TaintedCall[],
  ruleNames: Set<string>,
  cpuAccess: Set<string>,
  definitionOf: HeaderDefinition,
  summaryOf?: (f: FunctionIR) => Summary[],
): Set<string> {
  const accesses = (sm: Summary) => sm.accesses.length > 0 || sm.ownAccesses.length > 0;
  const reachMemo = new Map<string, string[] | null>();

  /** The headers whose definitions lead from `name` (called in `file`) to a CPU access, or null when none does. */
  const reach = (file: string, name: string, depth: number): string[] | null => {
    if (cpuAccess.has(name)) return [];
    if (INFRASTRUCTURE.test(name) || (name.startsWith('->') && !program.resolve(file, name).length)) return null;
    const key = `${file}\0${name}`;
    if (reachMemo.has(key)) return reachMemo.get(key)!;
    reachMemo.set(key, null); // cycles: not reaching until shown otherwise
    let out: string[] | null = null;
    const defs = program.resolve(file, name);
    if (defs.length) {
      for (const d of defs) {
        if (summaryOf?.(d).some(accesses)) out = [];
        else if (depth < MAX_TEXT_DEPTH) {
          for (const c of d.calls) {
            // Analysed callees speak through their summaries; only what the
            // program lacks, or what no summary covers yet, is followed.
            if (ruleNames.has(c) && !cpuAccess.has(c)) continue;
            if (summaryOf && program.resolve(d.file, c).length) continue;
            const via = reach(d.file, c, depth + 1);
            if (via) out = [...(out ?? []), ...via];
          }
        }
      }
    } else if (!program.defines(name) && depth < MAX_TEXT_DEPTH) {
      const def = definitionOf(file, name);
      if (def) {
        for (const c of def.calls) {
          if (c === name) continue;
          const via = reach(def.header, c, depth + 1);
          if (via) out = [def.header, ...(out ?? []), ...via];
        }
      }
    }
    reachMemo.set(key, out);
    return out;
  };

  const headers = new Set<string>();
  for (const [file, names] of undefinedCallees(program, seeds, ruleNames)) {
    for (const name of names) for (const h of reach(file, name, 0) ?? []) headers.add(h);
  }
  return headers;
}

/** What an analysis round saw: the calls made with an invalidation pending, and those a batched flush would expose. */
export function seedsFromResults(analyses: Map<string, RuleAnalysis>): TaintedCall[] {
  const seeds: TaintedCall[] = [];
  for (const analysis of analyses.values()) {
    for (const [fn, res] of analysis.results) {
      for (const c of res.calls) if (c.taintedArgs?.length) seeds.push({ file: fn.file, name: c.callee, args: c.taintedArgs });
      // What a flush moved after its loop would expose (the batchable check needs to see it).
      for (const site of res.completions) for (const c of site.hoistedCalls ?? []) seeds.push({ file: fn.file, name: c.callee, args: c.taintedArgs });
    }
  }
  return seeds;
}

/**
 * Before any analysis: every call, in a function that issues an
 * invalidation, whose arguments carry that sync's address, wherever it is in
 * the function. A superset of what the analysis finds pending, so the first
 * round already sees the headers it needs.
 */
export function seedsFromSyntax(program: Program, invalidating: Map<string, number | undefined>): TaintedCall[] {
  const seeds: TaintedCall[] = [];
  for (const fn of program.functions) {
    if (!fn.calls.some((c) => invalidating.has(c))) continue;
    const cfg = fn.cfg();
    const roots = new Set<string>();
    for (const n of cfg.nodes) {
      if (n.op !== 'call' || !invalidating.has(n.callee)) continue;
      const at = invalidating.get(n.callee);
      if (at !== undefined && at < n.args.length) for (const r of addressRoots(n.args[at])) roots.add(r);
    }
    if (!roots.size) continue;
    const carried = derivedFrom(cfg, roots);
    for (const n of cfg.nodes) {
      if (n.op !== 'call' || n.viaPointer || invalidating.has(n.callee)) continue;
      const args = n.args.flatMap((a, i) => (readsAddress(a, carried) ? [i] : []));
      if (args.length) seeds.push({ file: fn.file, name: n.callee, args });
    }
  }
  return seeds;
}

/**
 * Callees that receive the buffer (from `seeds`, then through the program's
 * definitions) and have no definition in the program, by the file whose call
 * names them. `ruleNames`: the rules' own functions, never followed.
 */
function undefinedCallees(program: Program, seeds: TaintedCall[], ruleNames: Set<string>): Map<string, Set<string>> {
  const missing = new Map<string, Set<string>>();
  const seen = new Set<string>();
  const queue = [...seeds];
  while (queue.length && seen.size < MAX_FOLLOWED) {
    const { file, name, args } = queue.shift()!;
    const key = `${file}\0${name}\0${args.join(',')}`;
    if (seen.has(key) || ruleNames.has(name)) continue;
    seen.add(key);
    const defs = program.resolve(file, name);
    if (!defs.length) {
      if (!program.defines(name)) {
        let names = missing.get(file);
        if (!names) missing.set(file, (names = new Set()));
        names.add(name);
      }
      continue;
    }
    for (const d of defs) {
      const seedVars = args.flatMap((i) => (i < d.params.length ? [d.params[i]] : []));
      if (!seedVars.length) continue;
      const cfg = d.cfg();
      const carried = derivedFrom(cfg, seedVars);
      for (const n of cfg.nodes) {
        if (n.op !== 'call' || n.viaPointer) continue;
        const passed = n.args.flatMap((a, i) => (readsAddress(a, carried) ? [i] : []));
        if (passed.length) queue.push({ file: d.file, name: n.callee, args: passed });
      }
    }
  }
  return missing;
}
