// Which variables of a function hold values derived from others: enough to
// tell whether a CPU access can touch the buffer a sync maintains. The sync's
// address (`arch_sync_dma_for_cpu(paddr, ...)`) taints `paddr`; whatever is
// computed from it (`vaddr = mem->vaddr + tlb_addr - mem->start`) and every
// argument built from it carries the buffer into callees; a copy whose
// arguments carry none of it touches another buffer.
//
// An address is derived by pointer arithmetic and conversions: `v`, `v + n`,
// `n + v`, `v - n`, `f(..., v, ...)` (phys_to_virt(v), dma_to_phys(dev, v)).
// A size or an index computed from it (`end - v`, `(v - start) >> SHIFT`,
// `min(len, v & mask)`) is not the buffer: following those would make every
// loop counter carry the buffer into every call.
//
// Flow-insensitive on purpose: a variable derived from the address anywhere
// in the function counts everywhere, which can only make more accesses match.
import { show, type Expr } from './expr.js';
import type { FunctionCFG } from './types.js';

const derived = new WeakMap<FunctionCFG, Map<string, Set<string>>>();
const sources = new WeakMap<FunctionCFG, Map<string, Set<string>>>();

/** A closure over the function's assignments, computed once per (function, starting set). */
function closure(memo: WeakMap<FunctionCFG, Map<string, Set<string>>>, cfg: FunctionCFG, start: Iterable<string>, grow: (a: { target: string; value: Expr }, out: Set<string>) => string[]): Set<string> {
  const list = [...new Set(start)].sort();
  const key = list.join(',');
  let byKey = memo.get(cfg);
  if (!byKey) memo.set(cfg, (byKey = new Map()));
  const known = byKey.get(key);
  if (known) return known;
  const out = new Set(list);
  const assigns = assignments(cfg);
  for (let changed = true; changed; ) {
    changed = false;
    for (const a of assigns) for (const v of grow(a, out)) if (!out.has(v)) (out.add(v), (changed = true));
  }
  byKey.set(key, out);
  return out;
}

/** `seeds` and every variable assigned (at any depth) an address computed from one of them. */
export function derivedFrom(cfg: FunctionCFG, seeds: Iterable<string>): Set<string> {
  return closure(derived, cfg, seeds, (a, out) => (readsAddress(a.value, out) ? [a.target] : []));
}

function assignments(cfg: FunctionCFG): { target: string; value: Expr }[] {
  return cfg.nodes.flatMap((n) => (n.op === 'assign' && !n.lvalue && n.value ? [{ target: n.target, value: n.value }] : []));
}

/** Is `e` an address computed from one of `vars` (see the top of this file)? */
export function readsAddress(e: Expr, vars: ReadonlySet<string>): boolean {
  switch (e.k) {
    case 'id':
      return vars.has(e.name);
    case 'field':
      // `sg->phys` is the buffer when that very field was synced; `sg->length` is not.
      return vars.has(show(e));
    case 'call':
      return e.args.some((a) => readsAddress(a, vars));
    case 'bin':
      if (e.op === '+') return readsAddress(e.a, vars) || readsAddress(e.b, vars);
      if (e.op === '-') return readsAddress(e.a, vars);
      return false;
    case 'opaque':
      // `&buf[i]`, `*p`, `buf[i]`: the shapes the expression language keeps opaque.
      return e.vars.some((v) => vars.has(v));
    default:
      return false;
  }
}

/**
 * `vars` and every variable their values were computed from (at any depth);
 * a field (`sg->phys`) counts as its base variable (`sg`).
 */
export function sourcesOf(cfg: FunctionCFG, vars: Iterable<string>): Set<string> {
  const base = (v: string) => /^[A-Za-z_]\w*/.exec(v)?.[0] ?? v;
  return closure(sources, cfg, [...vars].map(base), (a, out) => (out.has(a.target) ? addressRoots(a.value).map(base) : []));
}

/**
 * What `e` derives an address from (the inverse of readsAddress): variables,
 * and fields as their text (`sg->phys`), so that a sync of one field taints
 * that field only.
 */
export function addressRoots(e: Expr, out: string[] = []): string[] {
  switch (e.k) {
    case 'id':
      out.push(e.name);
      break;
    case 'field':
      out.push(show(e));
      break;
    case 'call':
      e.args.forEach((a) => addressRoots(a, out));
      break;
    case 'bin':
      if (e.op === '+') (addressRoots(e.a, out), addressRoots(e.b, out));
      else if (e.op === '-') addressRoots(e.a, out);
      break;
    case 'opaque':
      out.push(...e.vars);
      break;
  }
  return out;
}
