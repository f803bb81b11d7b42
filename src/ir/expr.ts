// A small expression language for conditions and call arguments. Kernel
// conditions are mostly calls on parameters (`dev_is_dma_coherent(dev)`),
// flag tests (`attrs & DMA_ATTR_SKIP_CPU_SYNC`) and boolean locals, so this is
// all the path-feasibility reasoning needs; anything else becomes `opaque`.
import type Parser from 'tree-sitter';

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

/** Convert a tree-sitter expression node. Never throws: unknown shapes become opaque. */
export function toExpr(node: Parser.SyntaxNode | null | undefined): Expr {
  if (!node) return { k: 'opaque', text: '?', vars: [] };
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
      return toExpr(inner);
    }
    case 'unary_expression': {
      const op = node.childForFieldName('operator')?.text ?? node.child(0)?.text;
      const arg = toExpr(node.childForFieldName('argument'));
      if (op === '!') return { k: 'not', e: arg };
      return opaque(node);
    }
    case 'binary_expression': {
      const op = node.childForFieldName('operator')?.text ?? '';
      const a = toExpr(node.childForFieldName('left'));
      const b = toExpr(node.childForFieldName('right'));
      if (op === '&&') return { k: 'and', a, b };
      if (op === '||') return { k: 'or', a, b };
      return { k: 'bin', op, a, b };
    }
    case 'call_expression': {
      const fnNode = node.childForFieldName('function');
      const argsNode = node.childForFieldName('arguments');
      const args = argsNode ? argsNode.namedChildren.filter((c) => c.type !== 'comment').map(toExpr) : [];
      if (fnNode?.type === 'identifier') {
        if (TRANSPARENT_CALLS.has(fnNode.text) && args.length >= 1) return args[0];
        const errorArg = ERROR_CHECKS.get(fnNode.text);
        if (errorArg !== undefined && args.length > errorArg) return args[errorArg];
        return { k: 'call', fn: fnNode.text, args };
      }
      return opaque(node);
    }
    case 'field_expression': {
      const base = toExpr(node.childForFieldName('argument'));
      const field = node.childForFieldName('field')?.text ?? '?';
      const arrow = node.children.some((c) => c.type === '->');
      return { k: 'field', base, field, arrow };
    }
    case 'cast_expression':
      return toExpr(node.childForFieldName('value'));
    default:
      return opaque(node);
  }
}

function opaque(node: Parser.SyntaxNode): Expr {
  const vars = new Set<string>();
  const walk = (n: Parser.SyntaxNode) => {
    if (n.type === 'identifier') {
      const parent = n.parent;
      const isCallee = parent?.type === 'call_expression' && parent.childForFieldName('function')?.id === n.id;
      if (!isCallee) vars.add(n.text);
    }
    for (const c of n.namedChildren) walk(c);
  };
  walk(node);
  return { k: 'opaque', text: node.text.replace(/\s+/g, ' '), vars: [...vars] };
}

/** Canonical text: equal conditions print equal. */
export function show(e: Expr): string {
  switch (e.k) {
    case 'id':
      return e.name;
    case 'num':
      return String(e.v);
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
    case 'opaque':
      return e.text;
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
  return /^[A-Z_][A-Z0-9_]*$/.test(name) && /[A-Z]/.test(name);
}

/** Replace identifiers by expressions (parameter -> argument at a call site). */
export function substitute(e: Expr, map: Map<string, Expr>): Expr {
  switch (e.k) {
    case 'id':
      return map.get(e.name) ?? e;
    case 'num':
      return e;
    case 'call':
      return { k: 'call', fn: e.fn, args: e.args.map((a) => substitute(a, map)) };
    case 'not':
      return { k: 'not', e: substitute(e.e, map) };
    case 'and':
    case 'or':
      return { k: e.k, a: substitute(e.a, map), b: substitute(e.b, map) };
    case 'bin':
      return { k: 'bin', op: e.op, a: substitute(e.a, map), b: substitute(e.b, map) };
    case 'field':
      return { k: 'field', base: substitute(e.base, map), field: e.field, arrow: e.arrow };
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
