// Abstract state of one path: pending maintenance, what the path's branches
// have established about conditions (facts), and what boolean-ish locals hold
// (bindings). Facts are keyed by the canonical text of an atomic condition and
// die when any variable they read is assigned: that is what "the same
// condition, none of its variables assigned in between" means.
import { isConstantName, show, substitute, varsOf, type Expr } from '../ir/expr.js';
import type { CacheEffect, PathStep } from '../types.js';
import { configTest } from '../discover/kconfig.js';

/** The variables a fact's condition reads, listed once per condition object. */
function varsOfAtom(atom: Expr): string[] {
  let vars = atomVars.get(atom);
  if (vars === undefined) atomVars.set(atom, (vars = [...varsOf(atom)]));
  return vars;
}

const atomVars = new WeakMap<Expr, string[]>();

export type Tri = 'T' | 'F' | 'U';
/**
 * What a path returns: its truth; 'N', negative (`return -EIO;`): true, and
 * below zero; or 'P', true and no error code (`return 1;`, a count).
 */
export type ReturnValue = Tri | 'N' | 'P';

export interface Fact {
  atom: Expr;
  vars: string[];
  value: boolean;
}

/**
 * A variable's known value: a constant's truth (`negative`: below zero, an
 * error code; `success`: what a callee returned on a way out that was no
 * error), or the condition it holds.
 */
export type Binding = { kind: 'const'; value: boolean; negative?: true; success?: true } | { kind: 'alias'; expr: Expr; vars: string[] };

/** One pending maintenance obligation, identified by where it arose in this function. */
export interface PendingItem {
  /** Stable key: local node id + effect (so loop iterations merge). */
  key: string;
  /** The issuing call (`arch_sync_dma_for_device`) at the root of the chain. */
  callee: string;
  effect: CacheEffect;
  /** Location in this function where it became pending (the sync, or the call that deferred it). */
  node: number;
  line: number;
  column: number;
  /** Name of the deferring callee it came through, if any. */
  via?: string;
  /** Steps inside callees that led to it (for the reported path). */
  inner: PathStep[];
  /** The original sync location (deepest callee). */
  origin: { file: string; line: number; function: string };
  /** It came through a callee whose analysis ran out of budget (may be infeasible). */
  uncertain?: boolean;
  /**
   * The variables of this function that hold the maintained buffer's address
   * or something computed from it (ir/dataflow.ts); a CPU access must read
   * one of them to touch the buffer. Unset: unknown, any access counts.
   */
  addr?: string[];
  /** The variables the address was given as (the sync's argument), which `addr` is derived from. */
  addrRoots?: string[];
  /**
   * Where it came from, deepest first: the sync, then each call that passed
   * it up to this function. The place to fix is the lowest level not
   * allowed to leave it pending (see rule.ts placeToFix).
   */
  chain?: ChainSite[];
}

/** One level of an item's way up: a sync or a call, in the function that made it. */
export interface ChainSite {
  file: string;
  line: number;
  column: number;
  function: string;
  /** For a call: its constant arguments (`5=0` for `f(a, b, c, d, e, false)`), which decide what the callee does. */
  consts?: string;
  /**
   * This function may leave the item pending for its caller: a flag
   * parameter its caller chose (`f(..., false)`), a contract's deferring
   * function, or a macro (inlined where it is used).
   */
  deferOk?: boolean;
}

export const CALLER_TOKEN = 'caller';

/** Binding key prefix for the known truth of the last call's result. */
export const RET_PREFIX = '$ret:';

/** Remember (or forget) what the call just made returned. */
export function setReturned(s: State, call: Expr, value: ReturnValue): State {
  // Nothing to forget or learn: the same map (and so the same state key, computed once).
  if (value === 'U' && !hasReturned(s.bindings)) return s;
  const bindings = new Map(s.bindings);
  for (const k of bindings.keys()) if (k.startsWith(RET_PREFIX)) bindings.delete(k);
  if (value !== 'U') bindings.set(RET_PREFIX + show(call), value === 'N' ? NEGATIVE_CONST : value === 'P' ? SUCCESS_CONST : { kind: 'const', value: value === 'T' });
  return { ...s, bindings };
}

const NEGATIVE_CONST: Binding = { kind: 'const', value: true, negative: true };
/** A true value a callee returned on a way out that was no error return (see ReturnValue 'P'). */
const SUCCESS_CONST: Binding = { kind: 'const', value: true, success: true };

/** Does `e` (a variable, or a call just made) hold what a callee returned on a way out that was no error return? */
export function isSuccessIn(e: Expr, s: State): boolean {
  const b = e.k === 'id' ? s.bindings.get(e.name) : e.k === 'call' ? s.bindings.get(RET_PREFIX + show(e)) : undefined;
  return b?.kind === 'const' && !!b.success;
}

/**
 * A value below zero the path knows no more of: what a variable bound to an
 * error code, or a call that returned one, reads as (`ret:<0`). Not a
 * number, so that it is never taken for a particular constant (`ret ==
 * -EAGAIN` stays open); named after what holds it, so that what the path
 * learns of one (`ret == -EAGAIN` taken) is not learnt of another.
 */
function negativeValue(holder: string, vars: string[]): Expr {
  return { k: 'opaque', text: holder + NEGATIVE_SUFFIX, vars };
}
const NEGATIVE_SUFFIX = ':<0';
/** An error code written out: `-EIO`, `-ENOMEM`, `-1`. */
const NEGATIVE_LITERAL = /^-\s*(?:E[A-Z][A-Z0-9_]*|[1-9][0-9]*)$/;

/** Is `e` (resolved) a value below zero: an error code, or one the path knows a variable or call holds? */
function isNegative(e: Expr): boolean {
  return e.k === 'opaque' && (e.text.endsWith(NEGATIVE_SUFFIX) || NEGATIVE_LITERAL.test(e.text));
}

/** Is `e` below zero on this path (`return ret;` after `ret = -EIO;`)? */
export function isNegativeIn(e: Expr, s: State): boolean {
  return isNegative(resolvedIn(e, s.bindings));
}

/** `a OP b` is `b MIRRORED[OP] a`. */
const MIRRORED: Readonly<Record<string, string>> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' };

/**
 * `neg OP n` for a value below zero and a number `n` ≥ 0, or `n OP neg`
 * (`ents > 0`, `ret < 0`, `ret == 0`); null when that does not decide it.
 */
function compareNegative(op: string, a: Expr, b: Expr): Tri | null {
  const aNeg = isNegative(a);
  const other = aNeg ? b : a;
  if ((!aNeg && !isNegative(b)) || other.k !== 'num' || other.v < 0) return null;
  // With the negative value on the left: below, so <, <= and != hold.
  const op2 = aNeg ? op : MIRRORED[op];
  if (op2 === '<' || op2 === '<=' || op2 === '!=') return 'T';
  if (op2 === '>' || op2 === '>=' || op2 === '==') return 'F';
  return null;
}

export interface Trail {
  step: PathStep;
  prev: Trail | null;
  length: number;
}

export interface State {
  pending: ReadonlyMap<string, PendingItem>;
  facts: ReadonlyMap<string, Fact>;
  bindings: ReadonlyMap<string, Binding>;
  /** The path went through an error check (WARN_ON true edge, goto error label). */
  error: boolean;
  /**
   * The path reports failure: it jumped to an error label or returns an error
   * code. A map that failed is never handed to the device.
   */
  failed?: boolean;
  /** The returned value, once the path has returned (callers test it). */
  ret?: ReturnValue;
  trail: Trail | null;
}

/**
 * What distinguishes states at a node: knowledge, not which syncs are pending
 * (those are joined). The facts and bindings are named by short ids from
 * `ids`, one per distinct text: equal keys stay equal, and the key hashed at
 * every visit is a few characters instead of every condition's text.
 */
export function stateKey(s: State, ids: KeyIds): string {
  const p = (s.pending.has(CALLER_TOKEN) ? 'C' : '') + (s.pending.size > (s.pending.has(CALLER_TOKEN) ? 1 : 0) ? 'L' : '');
  return `${p}|${ids.facts(s.facts)}|${ids.bindings(s.bindings)}|${s.error ? 'E' : ''}${s.failed ? 'F' : ''}${s.ret ?? ''}`;
}

/** Numbers for the distinct facts and bindings keys seen by one exploration (see stateKey). */
export class KeyIds {
  private readonly factIds = new Map<string, number>();
  private readonly bindingIds = new Map<string, number>();
  private readonly ofFacts = new WeakMap<ReadonlyMap<string, Fact>, number>();
  private readonly ofBindings = new WeakMap<ReadonlyMap<string, Binding>, number>();
  /** A number per condition text, so a facts key lists short numbers instead of the conditions. */
  private readonly conditionIds = new Map<string, number>();

  facts(facts: ReadonlyMap<string, Fact>): number {
    let id = this.ofFacts.get(facts);
    if (id === undefined) {
      id = numberFor(this.factIds, this.factsKey(facts));
      this.ofFacts.set(facts, id);
    }
    return id;
  }

  bindings(bindings: ReadonlyMap<string, Binding>): number {
    let id = this.ofBindings.get(bindings);
    if (id === undefined) {
      id = numberFor(this.bindingIds, bindingsKey(bindings));
      this.ofBindings.set(bindings, id);
    }
    return id;
  }

  // The text behind a facts number, computed once per map (many states share
  // one facts or bindings map: a step or a pending item changes neither): the
  // conditions known true and false, as sorted numbers (equal sets, equal text).
  private factsKey(facts: ReadonlyMap<string, Fact>): string {
    const known: number[] = [];
    for (const [k, v] of facts) known.push(2 * numberFor(this.conditionIds, k) + (v.value ? 1 : 0));
    return known.sort((a, b) => a - b).join(',');
  }
}

function numberFor(ids: Map<string, number>, text: string): number {
  let id = ids.get(text);
  if (id === undefined) ids.set(text, (id = ids.size));
  return id;
}

function bindingsKey(bindings: ReadonlyMap<string, Binding>): string {
  const texts: string[] = [];
  for (const [k, v] of bindings) texts.push(k + '=' + (v.kind === 'const' ? constKey(v) : show(v.expr)));
  return texts.sort().join(';');
}

export function pushStep(s: State, step: PathStep): State {
  return { ...s, trail: { step, prev: s.trail, length: (s.trail?.length ?? 0) + 1 } };
}

export function trailSteps(t: Trail | null): PathStep[] {
  const out: PathStep[] = [];
  for (let c = t; c; c = c.prev) out.push(c.step);
  return out.reverse();
}

/** Environment hooks for constants the checker knows (IS_ENABLED(CONFIG_X)). */
export interface EvalEnv {
  /** Whether CONFIG_<name> is enabled (name without the prefix); a ConfigEnv is one. */
  symbol(name: string): 'y' | 'n' | 'unknown';
  /** Its tristate value, when known (IS_BUILTIN/IS_MODULE need it). */
  tristate?(name: string): 'y' | 'm' | 'n' | 'unknown';
}

const PREDICATE_CALL = /(^|_)(is|has|can|needs?|should|use|uses)(_|$)|capable|coherent|enabled/;

function bindingFor(value: Expr | null, target: string, uniq: string): Binding | null {
  if (!value) return null;
  if (value.k === 'num') return { kind: 'const', value: value.v !== 0 };
  // `ret = -EIO;`: an error code, which `return ret;` and the caller's `if (ret < 0)` read.
  if (isNegative(value)) return NEGATIVE_CONST;
  const vars = varsOf(value);
  if (vars.has(target)) return null;
  // Only conditions are worth remembering: arithmetic (idx = (idx + 1) % N)
  // would grow a new expression on every loop iteration.
  if (!isConditionLike(value) || show(value).length > 160) return null;
  // The result of an arbitrary call is a fresh value: two `ret = f()` are not
  // the same condition. Predicates (dev_is_dma_coherent) are treated as pure.
  if (containsImpureCall(value)) {
    return { kind: 'alias', expr: { k: 'opaque', text: `${target}@${uniq}`, vars: [target] }, vars: [target] };
  }
  return { kind: 'alias', expr: value, vars: [...vars] };
}

const CONDITION_OPS = new Set(['==', '!=', '<', '>', '<=', '>=', '&']);

function isConditionLike(e: Expr): boolean {
  switch (e.k) {
    case 'id':
    case 'call':
    case 'field':
      return true;
    case 'not':
      return isConditionLike(e.e) || e.e.k === 'opaque';
    case 'and':
    case 'or':
      return true;
    case 'bin':
      return CONDITION_OPS.has(e.op);
    default:
      return false;
  }
}

function containsImpureCall(e: Expr): boolean {
  switch (e.k) {
    case 'call':
      return !PREDICATE_CALL.test(e.fn) || e.args.some(containsImpureCall);
    case 'not':
      return containsImpureCall(e.e);
    case 'and':
    case 'or':
    case 'bin':
      return containsImpureCall(e.a) || containsImpureCall(e.b);
    case 'field':
      return containsImpureCall(e.base);
    default:
      return false;
  }
}

export function assign(s: State, target: string, value: Expr | null, uniq: string): State {
  // Copy the maps only when the assignment changes them: states that share
  // a map share its key (see stateKey).
  let facts: Map<string, Fact> | null = null;
  for (const [k, f] of s.facts) {
    if (!f.vars.includes(target)) continue;
    facts ??= new Map(s.facts);
    facts.delete(k);
  }
  let bindings: Map<string, Binding> | null = null;
  for (const [k, b] of s.bindings) {
    if (b.kind !== 'alias' || !b.vars.includes(target)) continue;
    bindings ??= new Map(s.bindings);
    bindings.delete(k);
  }
  // Resolve the value through existing bindings so `coherent = x; y = coherent` chains.
  const resolved = value ? resolve(value, s.bindings) : null;
  // `err = f(...)` right after the call: the callee's summary may know the result.
  const known = value?.k === 'call' ? s.bindings.get(RET_PREFIX + show(value)) : undefined;
  const b = known ?? bindingFor(resolved, target, uniq);
  const current = (bindings ?? s.bindings).get(target);
  if (b ? !(current && sameBindingValue(current, b)) : current !== undefined) {
    bindings ??= new Map(s.bindings);
    if (b) bindings.set(target, b);
    else bindings.delete(target);
  }
  return facts || bindings ? { ...s, facts: facts ?? s.facts, bindings: bindings ?? s.bindings } : s;
}

/** A constant binding as text: `<0`, `ok`, `true` or `false`. */
export function constKey(b: Extract<Binding, { kind: 'const' }>): string {
  return b.negative ? '<0' : b.success ? 'ok' : String(b.value);
}

function sameBindingValue(a: Binding, b: Binding): boolean {
  if (a.kind === 'const' || b.kind === 'const') return a.kind === 'const' && b.kind === 'const' && constKey(a) === constKey(b);
  return a.expr === b.expr || show(a.expr) === show(b.expr);
}

/**
 * A write to a field or element (`st->offset += n`, `f(&st->dma_state)`):
 * conditions reading that lvalue, or the whole object (`g(st)`), die; others
 * about the same object (`dma_use_iova(&st->dma_state)`) survive.
 */
export function assignField(s: State, base: string, lvalue: string): State {
  const wholeObject = wholeObjectPattern(base);
  const dies = (text: string) => text.replace(/\s+/g, '').includes(lvalue) || wholeObject.test(text);
  let facts: Map<string, Fact> | null = null;
  for (const [k, f] of s.facts) {
    if (!f.vars.includes(base) || !dies(k)) continue;
    facts ??= new Map(s.facts);
    facts.delete(k);
  }
  let bindings: Map<string, Binding> | null = null;
  for (const [k, b] of s.bindings) {
    if (b.kind !== 'alias' || !b.vars.includes(base) || !dies(show(b.expr))) continue;
    bindings ??= new Map(s.bindings);
    bindings.delete(k);
  }
  return facts || bindings ? { ...s, facts: facts ?? s.facts, bindings: bindings ?? s.bindings } : s;
}

const wholeObjectPatterns = new Map<string, RegExp>();

/** `base` itself, not one of its fields or elements (`st`, not `st->offset`); one pattern per name. */
function wholeObjectPattern(base: string): RegExp {
  let re = wholeObjectPatterns.get(base);
  if (!re) {
    // A resident process must not grow without bound.
    if (wholeObjectPatterns.size >= 10_000) wholeObjectPatterns.clear();
    wholeObjectPatterns.set(base, (re = new RegExp(`\\b${base}\\b(?!\\s*(->|\\.|\\[))`)));
  }
  return re;
}

/**
 * Facts and bindings that read memory through one of `lvalues` (see the IR's
 * `clobber`) die. Calls inside a condition are predicates on stable
 * properties (`dev_is_dma_coherent(ring->dev)`) and keep it alive.
 */
export function clobber(s: State, lvalues: string[]): State {
  const dies = (e: Expr) => {
    const flat = showReads(e).replace(/\s+/g, '');
    return lvalues.some((l) => flat.includes(l));
  };
  let facts: Map<string, Fact> | null = null;
  for (const [k, f] of s.facts) {
    if (!dies(f.atom)) continue;
    facts ??= new Map(s.facts);
    facts.delete(k);
  }
  let bindings: Map<string, Binding> | null = null;
  for (const [k, b] of s.bindings) {
    if (b.kind !== 'alias' || !dies(b.expr)) continue;
    bindings ??= new Map(s.bindings);
    bindings.delete(k);
  }
  return facts || bindings ? { ...s, facts: facts ?? s.facts, bindings: bindings ?? s.bindings } : s;
}

/** The text of what `e` reads directly: its calls (predicates) left out. */
function showReads(e: Expr): string {
  switch (e.k) {
    case 'call':
      return '()';
    case 'not':
      return `!${showReads(e.e)}`;
    case 'and':
    case 'or':
    case 'bin':
      return `${showReads(e.a)} ${e.k === 'bin' ? e.op : e.k} ${showReads(e.b)}`;
    default:
      return show(e);
  }
}

export function havoc(s: State, vars: string[]): State {
  let out = s;
  for (const v of vars) out = assign(out, v, null, '');
  return out;
}

function resolve(e: Expr, bindings: ReadonlyMap<string, Binding>): Expr {
  if (bindings.size === 0) return e;
  let map: Map<string, Expr> | null = null;
  for (const v of varsOf(e)) {
    const b = bindings.get(v);
    if (!b) continue;
    (map ??= new Map()).set(v, b.kind === 'const' ? constExpr(b, v, [v]) : b.expr);
  }
  return map ? substitute(e, map) : e;
}

/** What a constant binding of `holder` reads as in a condition: 1, 0, or a value below zero. */
function constExpr(b: Extract<Binding, { kind: 'const' }>, holder: string, vars: string[]): Expr {
  return b.negative ? negativeValue(holder, vars) : { k: 'num', v: b.value ? 1 : 0 };
}

/** Split `a | B | C` into its constant flag names (and whether anything non-constant remains). */
function flagSet(e: Expr): { flags: Set<string>; rest: boolean } {
  if (e.k === 'id' && isConstantName(e.name)) return { flags: new Set([e.name]), rest: false };
  if (e.k === 'bin' && e.op === '|') {
    const a = flagSet(e.a);
    const b = flagSet(e.b);
    return { flags: new Set([...a.flags, ...b.flags]), rest: a.rest || b.rest };
  }
  return { flags: new Set(), rest: true };
}

function isConstLike(e: Expr): boolean {
  return e.k === 'num' || (e.k === 'id' && isConstantName(e.name));
}

/** Three-valued truth of a condition in a state. */
export function evaluate(e: Expr, s: State, env: EvalEnv): Tri {
  return evalResolved(resolvedIn(e, s.bindings), s, env);
}

/**
 * `e` as the path knows it: the calls whose result it knows replaced by that
 * result, then its variables by what they are bound to. Once per condition and
 * bindings map: states share a bindings map until an assignment changes it
 * (maps are never modified once in a state), and a branch is evaluated and
 * assumed in every state that reaches it. The same object for the same
 * question also keeps its text, printed once (see show).
 */
function resolvedIn(e: Expr, bindings: ReadonlyMap<string, Binding>): Expr {
  if (bindings.size === 0) return e;
  let known = resolvedConditions.get(bindings);
  if (!known) resolvedConditions.set(bindings, (known = new WeakMap()));
  let out = known.get(e);
  if (out === undefined) known.set(e, (out = resolve(withReturned(e, bindings), bindings)));
  return out;
}

const resolvedConditions = new WeakMap<ReadonlyMap<string, Binding>, WeakMap<Expr, Expr>>();

/**
 * `e` with the calls whose result the path knows (`if (f(x))` right after
 * `f(x)` returned) replaced by that result, before variables are resolved:
 * resolving `x` through a binding would change the call's text.
 */
/** Whether a call's result is known (a `$ret:` binding). */
export function hasReturned(bindings: ReadonlyMap<string, Binding>): boolean {
  for (const k of bindings.keys()) if (k.startsWith(RET_PREFIX)) return true;
  return false;
}

function withReturned(e: Expr, bindings: ReadonlyMap<string, Binding>): Expr {
  if (!hasReturned(bindings)) return e;
  const walk = (x: Expr): Expr => {
    switch (x.k) {
      case 'call': {
        const known = bindings.get(RET_PREFIX + show(x));
        if (known?.kind === 'const') return constExpr(known, show(x), [...varsOf(x)]);
        return x;
      }
      case 'not':
        return { k: 'not', e: walk(x.e) };
      case 'and':
      case 'or':
        return { k: x.k, a: walk(x.a), b: walk(x.b) };
      case 'bin':
        return { k: 'bin', op: x.op, a: walk(x.a), b: walk(x.b) };
      default:
        return x;
    }
  };
  return walk(e);
}

function evalResolved(e: Expr, s: State, env: EvalEnv): Tri {
  switch (e.k) {
    case 'num':
      return e.v !== 0 ? 'T' : 'F';
    case 'not':
      return neg(evalResolved(e.e, s, env));
    case 'and': {
      const a = evalResolved(e.a, s, env);
      if (a === 'F') return 'F';
      const b = evalResolved(e.b, s, env);
      if (b === 'F') return 'F';
      if (a === 'T') return b === 'U' ? lookup(e, s) : b;
      return b === 'T' ? lookup(e, s) === 'U' ? a : lookup(e, s) : lookup(e, s);
    }
    case 'or': {
      const a = evalResolved(e.a, s, env);
      if (a === 'T') return 'T';
      const b = evalResolved(e.b, s, env);
      if (b === 'T') return 'T';
      if (a === 'F') return b === 'U' ? lookup(e, s) : b;
      return b === 'F' ? lookup(e, s) === 'U' ? a : lookup(e, s) : lookup(e, s);
    }
    case 'call': {
      const returned = s.bindings.get(RET_PREFIX + show(e));
      if (returned?.kind === 'const') return returned.value ? 'T' : 'F';
      if (e.args.length === 1 && e.args[0].k === 'id' && e.args[0].name.startsWith('CONFIG_')) {
        const v = configTest(e.fn, e.args[0].name, env);
        if (v !== null && v !== 'unknown') return v === 'y' ? 'T' : 'F';
      }
      return lookup(e, s);
    }
    case 'opaque':
      return isNegative(e) ? 'T' : lookup(e, s);
    case 'bin': {
      const signed = compareNegative(e.op, e.a, e.b);
      if (signed) return signed;
      if ((e.op === '==' || e.op === '!=') && isConstLike(e.a) && isConstLike(e.b)) {
        const eq = show(e.a) === show(e.b);
        // Distinct enum constants / numbers are distinct values.
        return (e.op === '==') === eq ? 'T' : 'F';
      }
      if ((e.op === '==' || e.op === '!=') && (e.b.k === 'num' && e.b.v === 0)) {
        const v = evalResolved(e.a, s, env);
        return e.op === '==' ? neg(v) : v;
      }
      if (e.op === '&' && ((e.a.k === 'num' && e.a.v === 0) || (e.b.k === 'num' && e.b.v === 0))) return 'F';
      if (e.a.k === 'num' && e.b.k === 'num') {
        const v = arith(e.op, e.a.v, e.b.v);
        if (v !== undefined) return v !== 0 ? 'T' : 'F';
      }
      if (e.op === '&') {
        const a = flagSet(e.a);
        const b = flagSet(e.b);
        if (!b.rest && [...a.flags].some((f) => b.flags.has(f))) return 'T';
        if (!a.rest && !b.rest && ![...a.flags].some((f) => b.flags.has(f))) return 'F';
      }
      return lookup(e, s);
    }
    default:
      return lookup(e, s);
  }
}

function arith(op: string, a: number, b: number): number | undefined {
  switch (op) {
    case '&':
      return a & b;
    case '|':
      return a | b;
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    default:
      return undefined;
  }
}

function lookup(e: Expr, s: State): Tri {
  const f = s.facts.get(show(e));
  return f ? (f.value ? 'T' : 'F') : 'U';
}

function neg(t: Tri): Tri {
  return t === 'T' ? 'F' : t === 'F' ? 'T' : 'U';
}

/** The state with `e == value` assumed, or null if that contradicts what the path knows. */
export function assume(e: Expr, value: boolean, s: State, env: EvalEnv): State | null {
  return assumeResolved(resolvedIn(e, s.bindings), value, s, env);
}

function assumeResolved(e: Expr, value: boolean, s: State, env: EvalEnv): State | null {
  const now = evalResolved(e, s, env);
  if (now !== 'U') return (now === 'T') === value ? s : null;
  if (e.k === 'not') return assumeResolved(e.e, !value, s, env);
  if ((e.k === 'and' && value) || (e.k === 'or' && !value)) {
    const a = assumeResolved(e.a, value, s, env);
    if (!a) return null;
    const b = assumeResolved(e.b, value, a, env);
    if (!b) return null;
    return b;
  }
  if (e.k === 'and' || e.k === 'or') {
    // `a && b` false (or `a || b` true) with one side decided pins the other.
    const decided = e.k === 'and' ? 'T' : 'F';
    if (evalResolved(e.a, s, env) === decided) return assumeResolved(e.b, value, s, env);
    if (evalResolved(e.b, s, env) === decided) return assumeResolved(e.a, value, s, env);
  }
  if (e.k === 'bin' && (e.op === '==' || e.op === '!=') && e.b.k === 'num' && e.b.v === 0) {
    return assumeResolved(e.a, e.op === '==' ? !value : value, s, env);
  }
  return addFact(s, e, value);
}

function addFact(s: State, atom: Expr, value: boolean): State {
  const facts = new Map(s.facts);
  facts.set(show(atom), { atom, vars: varsOfAtom(atom), value });
  return { ...s, facts };
}
