// What an analysis round shows is missing from the program: the files the
// next round must read.
import { derivedFrom, readsAddress } from '../ir/dataflow.js';
import type { Program } from './program.js';
import type { RuleRun } from './rule.js';
import type { Summary } from './types.js';

/** Bound on the callees followed from one round (a guard, far above what a kernel needs). */
const MAX_FOLLOWED = 5000;
/** How deep a chain of header helpers is followed to a CPU access. */
const MAX_TEXT_DEPTH = 8;

/** Where a name is defined as seen from a file's includes, and what its body calls (discover/includes.ts). */
export type HeaderDefinition = (file: string, name: string) => { header: string; calls: string[] } | null;

/**
 * Headers to read because a callee defined there can make a CPU access to
 * the buffer of a pending invalidation: the bounce copy behind
 * include/linux/swiotlb.h's static inlines, which name no rule identifier
 * and so are never found by the text scan.
 *
 * The callees considered are those that receive the buffer — passed it by a
 * call made with the invalidation pending, or by such a callee at any depth
 * (what each computes from its parameters: ir/dataflow.ts) — and that have no
 * definition in the program. A header is read only if its definition can
 * reach a CPU access: through its body's calls, to a rule's CPU-access call,
 * to a function of the program whose summary accesses its caller's buffer,
 * or to another header definition that can. Helpers that only compute
 * (dma_to_phys(), iova_offset(), min_t()) are never read.
 */
export function headersToRead(
  program: Program,
  runs: Map<string, RuleRun>,
  ruleNames: Set<string>,
  cpuAccess: Set<string>,
  definitionOf: HeaderDefinition,
): Set<string> {
  const summaries = [...runs.values()].map((r) => r.summaries);
  const accesses = (sm: Summary | undefined) => !!sm && (sm.accesses.length > 0 || sm.ownAccesses.length > 0);
  const reachMemo = new Map<string, string[] | null>();

  /** The headers whose definitions lead from `name` (called in `file`) to a CPU access, or null when none does. */
  const reach = (file: string, name: string, depth: number): string[] | null => {
    if (cpuAccess.has(name)) return [];
    const key = `${file}\0${name}`;
    if (reachMemo.has(key)) return reachMemo.get(key)!;
    reachMemo.set(key, null); // cycles: not reaching until shown otherwise
    let out: string[] | null = null;
    const defs = program.resolve(file, name);
    if (defs.length) {
      for (const d of defs) {
        if (summaries.some((m) => accesses(m.get(d)))) out = [];
        else if (depth < MAX_TEXT_DEPTH) {
          for (const c of d.calls) {
            if (program.resolve(d.file, c).length || ruleNames.has(c) && !cpuAccess.has(c)) continue;
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
  for (const [file, names] of undefinedCalleesUnderInvalidation(program, runs, ruleNames)) {
    for (const name of names) for (const h of reach(file, name, 0) ?? []) headers.add(h);
  }
  return headers;
}

/**
 * Callees that receive the buffer of a pending invalidation and have no
 * definition in the program, by the file whose call names them (see
 * headersToRead). `ruleNames`: the rules' own functions, never followed.
 */
export function undefinedCalleesUnderInvalidation(program: Program, runs: Map<string, RuleRun>, ruleNames: Set<string>): Map<string, Set<string>> {
  const missing = new Map<string, Set<string>>();
  const seen = new Set<string>();
  const queue: { file: string; name: string; args: number[] }[] = [];
  for (const run of runs.values()) {
    for (const [fn, res] of run.results) {
      for (const c of res.calls) if (c.taintedArgs?.length) queue.push({ file: fn.file, name: c.callee, args: c.taintedArgs });
      // What a flush moved after its loop would expose (the batchable check needs to see it).
      for (const site of res.completions) for (const c of site.hoistedCalls ?? []) queue.push({ file: fn.file, name: c.callee, args: c.taintedArgs });
    }
  }
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
      const seeds = args.flatMap((i) => (i < d.params.length ? [d.params[i]] : []));
      if (!seeds.length) continue;
      const cfg = d.cfg();
      const carried = derivedFrom(cfg, seeds);
      for (const n of cfg.nodes) {
        if (n.op !== 'call' || n.viaPointer) continue;
        const passed = n.args.flatMap((a, i) => (readsAddress(a, carried) ? [i] : []));
        if (passed.length) queue.push({ file: d.file, name: n.callee, args: passed });
      }
    }
  }
  return missing;
}
