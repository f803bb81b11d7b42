// A small expression language for conditions and call arguments. Kernel
// conditions are mostly calls on parameters (`dev_is_dma_coherent(dev)`),
// flag tests (`attrs & DMA_ATTR_SKIP_CPU_SYNC`) and boolean locals, so this is
// all the path-feasibility reasoning needs; anything else becomes `opaque`.
import type { SNode } from '../parse/plain-tree.js';

export type Expr =
  | { k: 'id'; name: string }
  | { k: 'num'; v: number }
  | { k: 'call'; fn: string; args: Expr[] }
  | { k: 'not'; e: Expr }
  | { k: 'and'; a: Expr; b: Expr }
  | { k: 'or'; a: Expr; b: Expr }
  | { k: 'bin'; op: string; a: Expr; b: Expr }
  | { k: 'field'; base: Expr; field: string; arrow: boolean }
  | { k: 'opaque'; text: string; vars: string[] };

const TRANSPARENT_CALLS = new Set(['likely', 'unlikely', '__builtin_expect']);

/**
 * Error checks whose value is their condition argument: `if (WARN_ON(x))` is
 * `if (x)` for feasibility, and its true edge is an error path.
 */
export const ERROR_CHECKS: ReadonlyMap<string, number> = new Map([
  ['WARN_ON', 0],
  ['WARN_ON_ONCE', 0],
  ['WARN', 0],
  ['WARN_ONCE', 0],
  ['BUG_ON', 0],
  ['dev_WARN_ON', 1],
  ['dev_WARN_ONCE', 1],
  ['dev_WARN', 1],
]);

/**
 * Deepest syntax nesting converted structurally; anything deeper becomes one
 * opaque atom. Real conditions are a few levels deep (long `A | B | C` flag
 * chains a few dozen); the cap keeps every recursive consumer of Expr (show,
 * varsOf, substitute, the evaluator) far from the stack limit on generated or
 * hostile input such as 50,000 nested parentheses.
 */
export const MAX_EXPR_DEPTH = 256;

/**
 * Convert a tree-sitter expression node. Never throws: unknown shapes become opaque.
 *
 * `memo` (node id -> Expr, for nodes of one tree) shares the conversion of
 * subexpressions between calls: lowering converts each call's arguments, and
 * then the calls nested in them, so without it `f(g(h(...)))` nested N deep
 * costs N^2. With it, a node deeper than MAX_EXPR_DEPTH below the first node
 * converted may be cut at a slightly different depth; nothing real is that deep.
 */
export function toExpr(node: SNode | null | undefined, memo?: Map<number, Expr>): Expr {
  return convert(node, 0, memo);
}

function convert(node: SNode | null | undefined, depth: number, memo: Map<number, Expr> | undefined): Expr {
  if (!node) return { k: 'opaque', text: '?', vars: [] };
  if (!memo) return convertNode(node, depth, undefined);
  const known = memo.get(node.id);
  if (known) return known;
  const e = convertNode(node, depth, memo);
  memo.set(node.id, e);
  return e;
}

function convertNode(node: SNode, depth: number, memo: Map<number, Expr> | undefined): Expr {
  if (depth > MAX_EXPR_DEPTH) return opaque(node);
  const sub = (n: SNode | null | undefined) => convert(n, depth + 1, memo);
  switch (node.type) {
    case 'identifier':
      return { k: 'id', name: node.text };
    case 'true':
      return { k: 'num', v: 1 };
    case 'false':
      return { k: 'num', v: 0 };
    case 'null':
      return { k: 'num', v: 0 };
    case 'number_literal': {
      const v = Number.parseInt(node.text.replace(/[uUlL]+$/, ''));
      return Number.isFinite(v) ? { k: 'num', v } : opaque(node);
    }
    case 'parenthesized_expression': {
      const inner = node.namedChildren.find((c) => c.type !== 'comment');
      return sub(inner);
    }
    case 'unary_expression': {
      const op = node.childForFieldName('operator')?.text ?? node.child(0)?.text;
      const arg = sub(node.childForFieldName('argument'));
      if (op === '!') return { k: 'not', e: arg };
      return opaque(node);
    }
    case 'binary_expression': {
      const op = node.childForFieldName('operator')?.text ?? '';
      const a = sub(node.childForFieldName('left'));
      const b = sub(node.childForFieldName('right'));
      if (op === '&&') return { k: 'and', a, b };
      if (op === '||') return { k: 'or', a, b };
      return { k: 'bin', op, a, b };
    }
    case 'call_expression': {
      const fnNode = node.childForFieldName('function');
      const argsNode = node.childForFieldName('arguments');
      const args = argsNode ? argsNode.namedChildren.filter((c) => c.type !== 'comment').map((c) => sub(c)) : [];
      if (fnNode?.type === 'identifier') {
        if (TRANSPARENT_CALLS.has(fnNode.text) && args.length >= 1) return args[0];
        const errorArg = ERROR_CHECKS.get(fnNode.text);
        if (errorArg !== undefined && args.length > errorArg) return args[errorArg];
        return { k: 'call', fn: fnNode.text, args };
      }
      return opaque(node);
    }
    case 'field_expression': {
      const base = sub(node.childForFieldName('argument'));
      const field = node.childForFieldName('field')?.text ?? '?';
      const arrow = node.children.some((c) => c.type === '->');
      return { k: 'field', base, field, arrow };
    }
    case 'cast_expression':
      return sub(node.childForFieldName('value'));
    default:
      return opaque(node);
  }
}

/**
 * The identifiers an expression reads, callees excluded. Iterative, and the
 * callee test looks down from the call rather than up (`parent` costs a walk
 * from the root in tree-sitter), so deep nesting is neither a stack overflow
 * nor quadratic.
 */
function opaque(node: SNode): Expr {
  const vars = new Set<string>();
  const stack: { n: SNode; isCallee: boolean }[] = [{ n: node, isCallee: false }];
  while (stack.length > 0) {
    const { n, isCallee } = stack.pop()!;
    if (n.type === 'identifier' && !isCallee) vars.add(n.text);
    const calleeId = n.type === 'call_expression' ? n.childForFieldName('function')?.id : undefined;
    const children = n.namedChildren;
    // Pushed in reverse so the set keeps source order.
    for (let i = children.length - 1; i >= 0; i--) stack.push({ n: children[i], isCallee: calleeId !== undefined && children[i].id === calleeId });
  }
  return { k: 'opaque', text: node.text.replace(/\s+/g, ' '), vars: [...vars] };
}

/** Canonical text: equal conditions print equal. */
export function show(e: Expr): string {
  switch (e.k) {
    case 'id':
      return e.name;
    case 'num':
      return String(e.v);
    case 'opaque':
      return e.text;
  }
  let text = shown.get(e);
  if (text === undefined) shown.set(e, (text = showCompound(e)));
  return text;
}

/**
 * Compound expressions' text, printed once per expression object: the
 * analysis looks conditions up, keys states and kills facts by their text at
 * every visit, and expressions are never modified once made.
 */
const shown = new WeakMap<Expr, string>();

function showCompound(e: Exclude<Expr, { k: 'id' | 'num' | 'opaque' }>): string {
  switch (e.k) {
    case 'call':
      return `${e.fn}(${e.args.map(show).join(', ')})`;
    case 'not':
      return `!${wrap(e.e)}`;
    case 'and':
      return `${wrap(e.a)} && ${wrap(e.b)}`;
    case 'or':
      return `${wrap(e.a)} || ${wrap(e.b)}`;
    case 'bin':
      return `${wrap(e.a)} ${e.op} ${wrap(e.b)}`;
    case 'field':
      return `${wrap(e.base)}${e.arrow ? '->' : '.'}${e.field}`;
  }
}

function wrap(e: Expr): string {
  return e.k === 'and' || e.k === 'or' || e.k === 'bin' ? `(${show(e)})` : show(e);
}

/** Variables an expression reads (callee names excluded). */
export function varsOf(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case 'id':
      if (!isConstantName(e.name)) out.add(e.name);
      break;
    case 'call':
      e.args.forEach((a) => varsOf(a, out));
      break;
    case 'not':
      varsOf(e.e, out);
      break;
    case 'and':
    case 'or':
    case 'bin':
      varsOf(e.a, out);
      varsOf(e.b, out);
      break;
    case 'field':
      varsOf(e.base, out);
      break;
    case 'opaque':
      e.vars.filter((v) => !isConstantName(v)).forEach((v) => out.add(v));
      break;
    case 'num':
      break;
  }
  return out;
}

/** Kernel convention: ALL_CAPS identifiers are macros/enum constants, not variables. */
export function isConstantName(name: string): boolean {
  let constant = constantNames.get(name);
  if (constant === undefined) {
    constant = /^[A-Z_][A-Z0-9_]*$/.test(name) && /[A-Z]/.test(name);
    // The analysis asks again at every visit; a resident process must not grow without bound.
    if (constantNames.size >= MAX_REMEMBERED_NAMES) constantNames.clear();
    constantNames.set(name, constant);
  }
  return constant;
}

const constantNames = new Map<string, boolean>();
const MAX_REMEMBERED_NAMES = 100_000;

/**
 * Replace identifiers by expressions (parameter -> argument at a call site).
 * Each substitution may deepen an expression by its argument's depth; a result
 * past twice MAX_EXPR_DEPTH (only reachable by chains of deliberately nested
 * arguments) is flattened to one opaque atom so the depth stays bounded.
 */
export function substitute(e: Expr, map: Map<string, Expr>): Expr {
  const out = substituteInner(e, map);
  return out === e || depthWithin(out, 2 * MAX_EXPR_DEPTH) ? out : { k: 'opaque', text: show(out), vars: [...varsOf(out)] };
}

/** Whether `e` is at most `limit` levels deep (iterative: `e` may be deeper than the stack allows). */
function depthWithin(e: Expr, limit: number): boolean {
  const stack: [Expr, number][] = [[e, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (d > limit) return false;
    switch (x.k) {
      case 'call':
        for (const a of x.args) stack.push([a, d + 1]);
        break;
      case 'not':
        stack.push([x.e, d + 1]);
        break;
      case 'and':
      case 'or':
      case 'bin':
        stack.push([x.a, d + 1], [x.b, d + 1]);
        break;
      case 'field':
        stack.push([x.base, d + 1]);
        break;
    }
  }
  return true;
}

/**
 * A part that nothing was substituted in is returned as it is, not copied:
 * the analysis keys facts by an expression's text, printed once per object
 * (see show), so an unchanged condition keeps its text instead of being
 * printed again at every visit.
 */
function substituteInner(e: Expr, map: Map<string, Expr>): Expr {
  switch (e.k) {
    case 'id':
      return map.get(e.name) ?? e;
    case 'num':
      return e;
    case 'call': {
      let args: Expr[] | null = null;
      for (let i = 0; i < e.args.length; i++) {
        const arg = substituteInner(e.args[i], map);
        if (arg !== e.args[i]) (args ??= e.args.slice())[i] = arg;
      }
      return args ? { k: 'call', fn: e.fn, args } : e;
    }
    case 'not': {
      const inner = substituteInner(e.e, map);
      return inner === e.e ? e : { k: 'not', e: inner };
    }
    case 'and':
    case 'or': {
      const a = substituteInner(e.a, map);
      const b = substituteInner(e.b, map);
      return a === e.a && b === e.b ? e : { k: e.k, a, b };
    }
    case 'bin': {
      const a = substituteInner(e.a, map);
      const b = substituteInner(e.b, map);
      return a === e.a && b === e.b ? e : { k: 'bin', op: e.op, a, b };
    }
    case 'field': {
      const base = substituteInner(e.base, map);
      return base === e.base ? e : { k: 'field', base, field: e.field, arrow: e.arrow };
    }
    case 'opaque': {
      if (!e.vars.some((v) => map.has(v))) return e;
      // Opaque text cannot be rewritten structurally; rename by token so that
      // equal substitutions still print equal.
      let text = e.text;
      const vars = new Set<string>();
      for (const v of e.vars) {
        const repl = map.get(v);
        if (repl) {
          text = text.replace(new RegExp(`\\b${v}\\b`, 'g'), `(${show(repl)})`);
          varsOf(repl, vars);
        } else vars.add(v);
      }
      return { k: 'opaque', text, vars: [...vars] };
    }
  }
}
