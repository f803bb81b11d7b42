// Lower a tree-sitter C tree to per-function CFGs.
//
// Kernel C is not what tree-sitter-c was written for: iterator macros
// (`for_each_sg(...) stmt`) parse as a call statement with a MISSING ';'
// followed by the body, `#if` inside bodies becomes preproc_* nodes, and
// unknown macros leave ERROR nodes. Lowering is best-effort and never throws:
// whatever it cannot read becomes straight-line calls, which keeps the calls
// we care about in order.
import { createHash } from 'node:crypto';
import type Parser from 'tree-sitter';
import { ERROR_CHECKS, toExpr, type Expr } from './expr.js';
import type { FileIR, FunctionCFG, FunctionIR, IRNode, LoopInfo, OpsAssignment } from './types.js';
import { ParseTimeout, parseC } from '../parse/tree.js';
import { plainCopy, type SNode } from '../parse/plain-tree.js';
import { callNames, codeOnly } from '../discover/call-names.js';

/**
 * Calls that only read what they are given: predicates (`dma_use_iova(state)`,
 * `dev_is_dma_coherent(dev)`), error checks, and accessors. Their pointer
 * arguments keep the facts about what they point to.
 */
const NEVER_WRITES = /^(likely|unlikely|WARN_ON(_ONCE)?|WARN(_ONCE)?|BUG_ON|dev_WARN\w*|READ_ONCE|sizeof|typeof|IS_ENABLED|IS_ERR(_OR_NULL)?|PTR_ERR|ERR_PTR)$|(^|_)(is|has|can|needs?|should|uses?)(_|$)|_to_|coherent|enabled|capable/;

/** Any `*for_each*` / `*foreach*` macro is a loop over its last argument's body. */
const ITERATOR_MACRO = /(^|_)for_each(_|$)|foreach/;
const MAX_DEPTH = 400;
/** Return values that report failure to the caller. */
const ERROR_RETURN = /^(\(?-E[A-Z0-9]+\)?|DMA_MAPPING_ERROR|ERR_PTR\(.*\)|-\d+|BLK_STS_[A-Z_]+(?<!BLK_STS_OK))$/;
const MAX_NODES = 50_000;

/** A tree-sitter node: what the file-level lowering walks (the CFG builder walks PlainNode copies). */
type NativeNode = Parser.SyntaxNode;

interface LoopCtx {
  breakTo: number;
  continueTo: number | null;
}

class FunctionBuilder {
  nodes: IRNode[] = [];
  labels = new Map<string, number>();
  gotos: number[] = [];
  loops: LoopInfo[] = [];
  assigned = new Set<string>();
  hadErrors = false;
  /** Set when nesting past MAX_DEPTH left statements or expressions out. */
  cutShort?: string;
  private depth = 0;
  /** Conversions of this function's expressions, by node id (see toExpr). */
  private readonly exprs = new Map<number, Expr>();

  constructor(private readonly lineOffset: number) {}

  expr(node: SNode | null | undefined): Expr {
    return toExpr(node, this.exprs);
  }

  add(n: IRNode): number {
    if (this.nodes.length >= MAX_NODES) throw new TooLarge();
    this.nodes.push(n);
    return this.nodes.length - 1;
  }

  loc(node: SNode) {
    return { line: node.startPosition.row + 1 + this.lineOffset, column: node.startPosition.column + 1 };
  }

  nop(node: SNode, next: number): number {
    return this.add({ op: 'nop', next: [next], ...this.loc(node) });
  }

  /** Lower a statement so that it continues to `next`; returns its entry node. */
  stmt(node: SNode, next: number, loop: LoopCtx | null, sw: LoopCtx | null): number {
    if (++this.depth > MAX_DEPTH) {
      this.depth--;
      this.hadErrors = true;
      this.cutShort ??= `statements nested more than ${MAX_DEPTH} deep at line ${this.loc(node).line} are not analysed`;
      return next;
    }
    try {
      return this.stmtInner(node, next, loop, sw);
    } finally {
      this.depth--;
    }
  }

  private stmtInner(node: SNode, next: number, loop: LoopCtx | null, sw: LoopCtx | null): number {
    switch (node.type) {
      case 'compound_statement':
      case 'translation_unit':
        return this.sequence(node.namedChildren, next, loop, sw);
      case 'ERROR':
        this.hadErrors = true;
        return this.sequence(node.namedChildren, next, loop, sw);
      case 'expression_statement':
      case 'expression':
        return this.effects(node, next);
      case 'declaration':
        return this.declaration(node, next);
      case 'if_statement': {
        const condNode = node.childForFieldName('condition');
        const cons = node.childForFieldName('consequence');
        const altClause = node.childForFieldName('alternative');
        const alt = altClause?.type === 'else_clause' ? altClause.namedChildren.find((c) => c.type !== 'comment') : altClause;
        const t = cons ? this.stmt(cons, next, loop, sw) : next;
        const f = alt ? this.stmt(alt, next, loop, sw) : next;
        return this.condition(condNode, t, f);
      }
      case 'for_statement':
        return this.forLoop(node, next, sw);
      case 'while_statement': {
        const head = this.add({ op: 'nop', next: [], ...this.loc(node) });
        const bodyNode = node.childForFieldName('body');
        const bodyStart = this.nodes.length;
        const bodyEntry = bodyNode ? this.stmt(bodyNode, head, { breakTo: next, continueTo: head }, sw) : head;
        const body = range(bodyStart, this.nodes.length);
        const condEntry = this.condition(node.childForFieldName('condition'), bodyEntry, next);
        (this.nodes[head] as { next: number[] }).next = [condEntry];
        this.loops.push({ id: this.loops.length, head, body, region: range(head, this.nodes.length), exit: next, line: this.loc(node).line });
        return head;
      }
      case 'do_statement': {
        const condHead = this.add({ op: 'nop', next: [], ...this.loc(node) });
        const bodyNode = node.childForFieldName('body');
        const bodyStart = this.nodes.length;
        const bodyEntry = bodyNode ? this.stmt(bodyNode, condHead, { breakTo: next, continueTo: condHead }, sw) : condHead;
        const body = range(bodyStart, this.nodes.length);
        const condEntry = this.condition(node.childForFieldName('condition'), bodyEntry, next);
        (this.nodes[condHead] as { next: number[] }).next = [condEntry];
        // do { } while (0) is not a loop worth reporting on; still a loop for the CFG.
        const cond = node.childForFieldName('condition');
        if (!(cond && /^\(\s*0\s*\)$/.test(cond.text))) {
          this.loops.push({ id: this.loops.length, head: condHead, body, region: range(condHead, this.nodes.length), exit: next, line: this.loc(node).line });
        }
        return bodyEntry;
      }
      case 'switch_statement':
        return this.switchStmt(node, next, loop);
      case 'break_statement': {
        const target = sw?.breakTo ?? loop?.breakTo ?? next;
        return this.add({ op: 'nop', next: [target], ...this.loc(node) });
      }
      case 'continue_statement': {
        const target = loop?.continueTo ?? next;
        return this.add({ op: 'nop', next: [target], ...this.loc(node) });
      }
      case 'return_statement': {
        const value = node.namedChildren.find((c) => c.type !== 'comment');
        const errorValue = !!value && ERROR_RETURN.test(value.text.replace(/\s+/g, ''));
        const ret = this.add({ op: 'return', next: [-1], ...(errorValue ? { errorValue } : {}), ...(value ? { value: this.expr(value) } : {}), ...this.loc(node) });
        return value ? this.effects(value, ret) : ret;
      }
      case 'goto_statement': {
        const label = node.childForFieldName('label')?.text ?? '';
        const id = this.add({ op: 'goto', label, next: [], ...this.loc(node) });
        this.gotos.push(id);
        return id;
      }
      case 'labeled_statement': {
        const label = node.childForFieldName('label')?.text ?? '';
        const inner = node.namedChildren.filter((c) => c.type !== 'statement_identifier' && c.type !== 'comment');
        const entry = this.sequence(inner, next, loop, sw);
        const marker = this.add({ op: 'nop', next: [entry], label, ...this.loc(node) });
        this.labels.set(label, marker);
        return marker;
      }
      case 'case_statement':
        // Only reached for malformed switches; lower the statements in order.
        return this.sequence(caseBody(node), next, loop, sw);
      case 'preproc_if':
      case 'preproc_ifdef':
      case 'preproc_elif':
      case 'preproc_elifdef':
      case 'preproc_else':
        return this.preprocBranch(node, next, loop, sw);
      case 'comment':
      case 'preproc_include':
      case 'preproc_def':
      case 'preproc_function_def':
      case 'preproc_call':
      case 'type_definition':
      case 'struct_specifier':
      case 'enum_specifier':
      case 'union_specifier':
      case 'function_definition':
        return next;
      default:
        // Unknown statement shapes (attributes, asm, macros misparsed as types):
        // keep the calls inside them.
        return this.effects(node, next);
    }
  }

  /** Statements in order, recognising `iterator_macro(args) body` pairs. */
  sequence(children: readonly SNode[], next: number, loop: LoopCtx | null, sw: LoopCtx | null): number {
    const items = children.filter((c) => c.type !== 'comment');
    // Build backwards so each statement knows its continuation.
    let entry = next;
    const groups: SNode[][] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (iteratorCall(it) && i + 1 < items.length && !isPreproc(items[i + 1])) {
        groups.push([it, items[i + 1]]);
        i++;
      } else groups.push([it]);
    }
    for (let g = groups.length - 1; g >= 0; g--) {
      const group = groups[g];
      entry = group.length === 2 ? this.iteratorLoop(group[0], group[1], entry, sw) : this.stmt(group[0], entry, loop, sw);
    }
    return entry;
  }

  private iteratorLoop(macroStmt: SNode, body: SNode, next: number, sw: LoopCtx | null): number {
    const call = iteratorCall(macroStmt)!;
    const loc = this.loc(macroStmt);
    const args = call.childForFieldName('arguments')?.namedChildren ?? [];
    const iterVars = args.filter((a) => a.type === 'identifier').map((a) => a.text);
    iterVars.forEach((v) => this.assigned.add(v));
    const head = this.add({ op: 'choice', reason: `${call.childForFieldName('function')?.text} loop`, next: [], ...loc });
    const havoc = this.add({ op: 'havoc', vars: iterVars, next: [head], ...loc });
    const bodyStart = this.nodes.length;
    const bodyEntry = this.stmt(body, havoc, { breakTo: next, continueTo: havoc }, sw);
    const bodyNodes = range(bodyStart, this.nodes.length);
    const loopId = this.loops.length;
    (this.nodes[head] as { next: number[]; loop?: number }).next = [bodyEntry, next];
    (this.nodes[head] as { loop?: number }).loop = loopId;
    this.loops.push({ id: loopId, head, body: bodyNodes, region: range(head, this.nodes.length), exit: next, line: loc.line });
    // The macro's own arguments are evaluated once, before the first iteration.
    const entryHavoc = this.add({ op: 'havoc', vars: iterVars, next: [head], ...loc });
    return entryHavoc;
  }

  private forLoop(node: SNode, next: number, sw: LoopCtx | null): number {
    const init = node.childForFieldName('initializer');
    const condNode = node.childForFieldName('condition');
    const update = node.childForFieldName('update');
    const bodyNode = node.childForFieldName('body');
    const head = this.add({ op: 'nop', next: [], ...this.loc(node) });
    const updateEntry = update ? this.effects(update, head) : head;
    const bodyStart = this.nodes.length;
    const bodyEntry = bodyNode ? this.stmt(bodyNode, updateEntry, { breakTo: next, continueTo: updateEntry }, sw) : updateEntry;
    const body = range(bodyStart, this.nodes.length);
    const condEntry = condNode ? this.condition(condNode, bodyEntry, next) : bodyEntry;
    (this.nodes[head] as { next: number[] }).next = [condEntry];
    this.loops.push({ id: this.loops.length, head, body, region: range(head, this.nodes.length), exit: next, line: this.loc(node).line });
    if (!init) return head;
    return init.type === 'declaration' ? this.declaration(init, head) : this.effects(init, head);
  }

  private switchStmt(node: SNode, next: number, loop: LoopCtx | null): number {
    const body = node.childForFieldName('body');
    const cases = body ? body.namedChildren.filter((c) => c.type !== 'comment') : [];
    const swCtx: LoopCtx = { breakTo: next, continueTo: null };
    const entries: number[] = [];
    let fallthrough = next;
    let hasDefault = false;
    for (let i = cases.length - 1; i >= 0; i--) {
      const c = cases[i];
      if (c.type === 'case_statement') {
        if (!c.childForFieldName('value')) hasDefault = true;
        fallthrough = this.sequence(caseBody(c), fallthrough, loop, swCtx);
        entries.unshift(fallthrough);
      } else {
        fallthrough = this.stmt(c, fallthrough, loop, swCtx);
      }
    }
    if (!hasDefault) entries.push(next);
    const choice = this.add({ op: 'choice', reason: 'switch', next: entries.length ? entries : [next], ...this.loc(node) });
    const cond = node.childForFieldName('condition');
    return cond ? this.effects(cond, choice) : choice;
  }

  /** `#if` that the preprocessor could not decide: either branch may be compiled. */
  private preprocBranch(node: SNode, next: number, loop: LoopCtx | null, sw: LoopCtx | null): number {
    const alt = node.childForFieldName('alternative');
    const cond = node.childForFieldName('condition') ?? node.childForFieldName('name');
    const body = node.namedChildren.filter((c) => c.id !== alt?.id && c.id !== cond?.id);
    const thenEntry = this.sequence(body, next, loop, sw);
    if (node.type === 'preproc_else') return thenEntry;
    const elseEntry = alt ? this.stmt(alt, next, loop, sw) : next;
    return this.add({ op: 'choice', reason: '#if', next: [thenEntry, elseEntry], ...this.loc(node) });
  }

  /** Evaluate a condition's calls, then branch. */
  condition(condNode: SNode | null, t: number, f: number): number {
    if (!condNode) return this.add({ op: 'choice', reason: 'condition', next: [t, f], line: 0, column: 0 });
    const cond = this.expr(condNode);
    const errorEdge = errorCheckPolarity(condNode);
    const br = this.add({
      op: 'branch',
      cond,
      text: condNode.text.replace(/\s+/g, ' ').replace(/^\((.*)\)$/, '$1'),
      next: [t, f],
      ...(errorEdge === undefined ? {} : { errorEdge }),
      ...this.loc(condNode),
    });
    return this.effects(condNode, br, true);
  }

  private declaration(node: SNode, next: number): number {
    let entry = next;
    const declarators = node.namedChildren.filter((c) => c.type === 'init_declarator' || c.type === 'identifier');
    for (let i = declarators.length - 1; i >= 0; i--) {
      const d = declarators[i];
      if (d.type === 'identifier') {
        entry = this.add({ op: 'assign', target: d.text, value: null, next: [entry], ...this.loc(d) });
        continue;
      }
      const name = declaratorName(d.childForFieldName('declarator'));
      const value = d.childForFieldName('value');
      if (name) {
        const isList = value?.type === 'initializer_list';
        entry = this.add({ op: 'assign', target: name, value: value && !isList ? this.expr(value) : null, next: [entry], ...this.loc(d) });
      }
      if (value) entry = this.effects(value, entry);
    }
    return entry;
  }

  /**
   * Calls and assignments in evaluation order (arguments before the call).
   * `inCondition`: the value itself is consumed by a branch, not assigned.
   */
  effects(node: SNode, next: number, inCondition = false): number {
    const items: IRNode[] = [];
    this.collect(node, items, inCondition);
    let entry = next;
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i];
      item.next = [entry];
      entry = this.add(item);
    }
    return entry;
  }

  private collect(node: SNode, out: IRNode[], inCondition: boolean, depth = 0): void {
    if (depth > MAX_DEPTH) {
      this.cutShort ??= `an expression nested more than ${MAX_DEPTH} deep at line ${this.loc(node).line} is only partly analysed`;
      return;
    }
    switch (node.type) {
      case 'call_expression': {
        const fn = node.childForFieldName('function');
        const args = node.childForFieldName('arguments');
        const argNodes = args ? args.namedChildren.filter((c) => c.type !== 'comment') : [];
        for (const a of argNodes) this.collect(a, out, false, depth + 1);
        if (fn?.type === 'identifier') {
          out.push({ op: 'call', callee: fn.text, args: argNodes.map((a) => this.expr(a)), text: node.text.replace(/\s+/g, ' '), next: [], ...this.loc(node) });
        } else if (fn) {
          this.collect(fn, out, false, depth + 1);
          const callee = fn.type === 'field_expression' ? fn.childForFieldName('field')?.text ?? fn.text : fn.text;
          out.push({ op: 'call', callee, args: argNodes.map((a) => this.expr(a)), text: node.text.replace(/\s+/g, ' '), next: [], viaPointer: true, ...this.loc(node) });
        }
        // `f(&x)` may write the local x; `f(p)` and `f(&st->field)` may write
        // what they point to (`p->...`, `st->field...`): conditions reading
        // that memory die. A loop `while (iter->bi_size)` whose body calls
        // `bvec_iter_advance(bv, iter, n)` must be able to end.
        const clobbered: string[] = [];
        for (const a of argNodes) {
          if (a.type === 'pointer_expression' && a.child(0)?.type === '&') {
            const arg = a.childForFieldName('argument');
            if (arg?.type === 'identifier') out.push(this.assignNode(arg.text, null, a));
            else if (arg && baseVar(arg)) {
              const lvalue = arg.text.replace(/\s+/g, '');
              clobbered.push(`${lvalue}.`, `${lvalue}->`, `${lvalue}[`);
            }
          } else if (a.type === 'identifier') {
            clobbered.push(`${a.text}->`, `*${a.text}`, `${a.text}[`);
          }
        }
        if (clobbered.length && fn?.type === 'identifier' && !NEVER_WRITES.test(fn.text)) out.push({ op: 'clobber', lvalues: clobbered, next: [], ...this.loc(node) });
        return;
      }
      case 'assignment_expression': {
        const left = node.childForFieldName('left');
        const right = node.childForFieldName('right');
        const op = node.childForFieldName('operator')?.text ?? '=';
        if (right) this.collect(right, out, false, depth + 1);
        if (left && left.type !== 'identifier') this.collect(left, out, false, depth + 1);
        const target = baseVar(left);
        if (target) {
          const simple = left?.type === 'identifier' && op === '=';
          out.push(this.assignNode(target, simple && right ? this.expr(right) : null, node, left?.type === 'identifier' ? undefined : left?.text));
        }
        return;
      }
      case 'update_expression': {
        const arg = node.childForFieldName('argument');
        const target = baseVar(arg);
        if (target) out.push(this.assignNode(target, null, node, arg?.type === 'identifier' ? undefined : arg?.text));
        return;
      }
      case 'identifier':
        return;
      case 'sizeof_expression':
      case 'string_literal':
      case 'concatenated_string':
      case 'char_literal':
      case 'number_literal':
        return;
      default:
        for (const c of node.namedChildren) this.collect(c, out, inCondition, depth + 1);
    }
  }

  private assignNode(target: string, value: Expr | null, at: SNode, lvalue?: string): IRNode {
    if (lvalue) return { op: 'assign', target, value: null, lvalue: lvalue.replace(/\s+/g, ''), next: [], ...this.loc(at) };
    this.assigned.add(target);
    return { op: 'assign', target, value, next: [], ...this.loc(at) };
  }
}

class TooLarge extends Error {}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

function isPreproc(n: SNode): boolean {
  return n.type.startsWith('preproc_');
}

/** The call node if `stmt` is `iterator_macro(...)` used as a loop header. */
function iteratorCall(stmt: SNode): SNode | null {
  if (stmt.type !== 'expression_statement') return null;
  const call = stmt.namedChildren[0];
  if (call?.type !== 'call_expression') return null;
  const fn = call.childForFieldName('function');
  if (fn?.type !== 'identifier' || !ITERATOR_MACRO.test(fn.text)) return null;
  // A real statement ends in ';'; the loop-header form has a MISSING one.
  const last = stmt.child(stmt.childCount - 1);
  if (last && last.type === ';' && !last.isMissing) return null;
  return call;
}

function caseBody(c: SNode): SNode[] {
  const value = c.childForFieldName('value');
  return c.namedChildren.filter((x) => x.id !== value?.id && x.type !== 'comment');
}

/** Which branch of a condition only an error check reaches (WARN_ON true edge). */
function errorCheckPolarity(cond: SNode): 0 | 1 | undefined {
  let n: SNode | null = cond;
  let negated = false;
  for (;;) {
    if (!n) return undefined;
    if (n.type === 'parenthesized_expression') n = n.namedChildren[0] ?? null;
    else if (n.type === 'unary_expression' && n.child(0)?.text === '!') {
      negated = !negated;
      n = n.childForFieldName('argument');
    } else if (n.type === 'call_expression' && ['likely', 'unlikely'].includes(n.childForFieldName('function')?.text ?? '')) {
      n = n.childForFieldName('arguments')?.namedChildren[0] ?? null;
    } else break;
  }
  if (n.type !== 'call_expression') return undefined;
  const fn = n.childForFieldName('function')?.text ?? '';
  if (!ERROR_CHECKS.has(fn)) return undefined;
  return negated ? 1 : 0;
}

function baseVar(n: SNode | null | undefined): string | null {
  while (n) {
    if (n.type === 'identifier') return n.text;
    if (n.type === 'field_expression') n = n.childForFieldName('argument');
    else if (n.type === 'subscript_expression') n = n.childForFieldName('argument');
    else if (n.type === 'pointer_expression') n = n.childForFieldName('argument');
    else if (n.type === 'parenthesized_expression') n = n.namedChildren[0];
    else if (n.type === 'cast_expression') n = n.childForFieldName('value');
    else return null;
  }
  return null;
}

function declaratorName(n: SNode | null | undefined): string | null {
  while (n) {
    if (n.type === 'identifier' || n.type === 'field_identifier') return n.text;
    const inner: SNode | null = n.childForFieldName('declarator');
    if (!inner) return n.namedChildren.find((c) => c.type === 'identifier')?.text ?? null;
    n = inner;
  }
  return null;
}

function findFunctionDeclarator(n: SNode | null): SNode | null {
  while (n) {
    if (n.type === 'function_declarator') return n;
    n = n.childForFieldName('declarator');
  }
  return null;
}

function paramNames(fd: SNode): string[] {
  const list = fd.childForFieldName('parameters');
  if (!list) return [];
  return list.namedChildren
    .filter((p) => p.type === 'parameter_declaration')
    .map((p) => declaratorName(p.childForFieldName('declarator')) ?? '')
    .filter((n) => n !== '');
}

export interface LowerOptions {
  /** Function-like macros are lowered only if their body mentions one of these. */
  interesting: (name: string) => boolean;
  /** performance.now() after which parsing and reading the tree give up with ParseTimeout. */
  deadline?: number;
}

/** An identifier in value position: after `=`, `,`, `(`, `&`, `return`, before `,` `;` `)` `}`. */
// (`\s*(?:&\s*)?` rather than `\s*&?\s*`: the same matches, without quadratic backtracking over long blank runs.)
const VALUE_REF = /(?:[=,(&]|\breturn)\s*(?:&\s*)?([A-Za-z_]\w*)\s*(?=[,;)}])/g;
const EXPORT = /\bEXPORT_SYMBOL\w*\s*\(\s*(\w+)/g;

export function lowerFile(file: string, source: string, opts: LowerOptions): FileIR {
  const remaining = () => (opts.deadline === undefined ? undefined : opts.deadline - performance.now());
  // Reading the tree is linear (no `parent` walks below); the check still
  // bounds what a hostile file can cost.
  const checkDeadline = () => {
    if (opts.deadline !== undefined && performance.now() > opts.deadline) throw new ParseTimeout('reading the syntax tree ran out of time');
  };
  const tree = parseC(source, remaining());
  const root = tree.rootNode;
  const functions: FunctionIR[] = [];
  const ops: OpsAssignment[] = [];
  const macroNames: string[] = [];
  const prototypes: string[] = [];
  // Native queries: walking every node from JS costs far more than parsing.
  // One walk finds every kind of node read below (each further kind asked for
  // separately is another walk of the whole tree); matches come in document
  // order, and so does each kind's share of them. A definition nested in
  // another (error recovery) starts before the end of an earlier one. (Asking
  // for `parent` instead costs a walk from the root in tree-sitter: quadratic
  // when deep.)
  const byType = nodesByType(root, root.hasError ? [...LOWERED_NODE_TYPES, 'ERROR'] : LOWERED_NODE_TYPES);
  let outerEnd = -1;
  for (const def of byType.get('function_definition') ?? []) {
    checkDeadline();
    if (def.startIndex < outerEnd) continue;
    outerEnd = def.endIndex;
    const fn = functionHeader(file, source, def, 0);
    if (fn) functions.push(fn);
  }
  for (const def of byType.get('preproc_definitions') ?? []) {
    checkDeadline();
    const name = def.childForFieldName('name')?.text;
    if (!name) continue;
    macroNames.push(name);
    if (def.type === 'preproc_function_def') {
      const m = lowerMacro(file, def, name, opts, remaining());
      if (m) functions.push(m);
    }
  }
  // The table a `.field = fn` pair belongs to is its innermost enclosing
  // init_declarator: both lists are in document order and ranges nest, so a
  // stack of the declarators still open finds it without `parent`.
  const pairs = byType.get('initializer_pair') ?? [];
  // Every initialised variable has one: asked for only when there are pairs.
  const declarators = pairs.length ? root.descendantsOfType('init_declarator') : [];
  const open: SNode[] = [];
  let nextDeclarator = 0;
  for (const pair of pairs) {
    checkDeadline();
    while (nextDeclarator < declarators.length && declarators[nextDeclarator].startIndex <= pair.startIndex) {
      const d = declarators[nextDeclarator++];
      while (open.length > 0 && open[open.length - 1].endIndex <= d.startIndex) open.pop();
      open.push(d);
    }
    while (open.length > 0 && open[open.length - 1].endIndex <= pair.startIndex) open.pop();
    const designator = pair.namedChildren[0];
    const value = pair.childForFieldName('value');
    if (value?.type === 'identifier' && designator?.type === 'field_designator') {
      const table = open.length > 0 ? declaratorName(open[open.length - 1].childForFieldName('declarator')) ?? '?' : '?';
      ops.push({ struct: table, field: designator.text.replace(/^\./, ''), target: value.text, line: value.startPosition.row + 1 });
    }
  }
  // Prototypes: function declarators that are a declaration's child or grandchild.
  for (const decl of byType.get('declaration') ?? []) {
    checkDeadline();
    for (const child of decl.children) {
      for (const fd of [child, ...child.children]) {
        if (fd.type !== 'function_declarator') continue;
        const name = declaratorName(fd.childForFieldName('declarator'));
        if (name) prototypes.push(name);
      }
    }
  }
  // A comment's "(see dma_map_foo)" neither exports a function nor takes its address.
  const code = codeOnly(source);
  const exports = [...code.matchAll(EXPORT)].map((m) => m[1]);
  const withoutExports = code.replace(EXPORT, ' ');
  const valueRefs = [...new Set([...withoutExports.matchAll(VALUE_REF)].map((m) => m[1]))];
  const parseErrors = byType.get('ERROR')?.length ?? 0;
  return { file, functions, exports, ops, valueRefs, macroNames, prototypes, parseErrors };
}

/** The node kinds lowerFile reads from a whole file. */
const LOWERED_NODE_TYPES = ['function_definition', 'preproc_function_def', 'preproc_def', 'initializer_pair', 'declaration'];

/** The nodes of `types` under `root`, by type (both macro kinds under 'preproc_definitions'), each list in document order. */
function nodesByType(root: NativeNode, types: string[]): Map<string, NativeNode[]> {
  const out = new Map<string, NativeNode[]>();
  for (const node of root.descendantsOfType(types)) {
    const type = node.type === 'preproc_function_def' || node.type === 'preproc_def' ? 'preproc_definitions' : node.type;
    let list = out.get(type);
    if (!list) out.set(type, (list = []));
    list.push(node);
  }
  return out;
}

/** Name, parameters and calls now; the CFG when the analysis first asks. */
function functionHeader(file: string, source: string, def: NativeNode, lineOffset: number, macro?: { name: string; params: string[] }): FunctionIR | null {
  const fd = findFunctionDeclarator(def.childForFieldName('declarator'));
  const name = macro?.name ?? (fd ? declaratorName(fd.childForFieldName('declarator')) : null);
  const body = def.childForFieldName('body');
  if (!name || !body) return null;
  const isStatic = def.namedChildren.some((c) => c.type === 'storage_class_specifier' && c.text === 'static');
  let built: FunctionCFG | null = null;
  let textDigest: string | null = null;
  return {
    name,
    file,
    line: def.startPosition.row + 1 + lineOffset,
    column: def.startPosition.column + 1,
    params: macro?.params ?? (fd ? paramNames(fd) : []),
    isStatic: macro ? true : isStatic,
    isMacro: !!macro,
    calls: callNames(body.text, true),
    cfg() {
      built ??= buildCFG(source, def, body, lineOffset);
      return built;
    },
    digest() {
      textDigest ??= createHash('sha1').update(def.text).digest('hex');
      return textDigest;
    },
  };
}

function buildCFG(source: string, def: NativeNode, body: NativeNode, lineOffset: number): FunctionCFG {
  const b = new FunctionBuilder(lineOffset);
  const pos = { line: def.startPosition.row + 1 + lineOffset, column: def.startPosition.column + 1 };
  try {
    const exit = b.add({ op: 'exit', next: [], line: body.endPosition.row + 1 + lineOffset, column: 1 });
    const end = b.add({ op: 'return', next: [exit], line: body.endPosition.row + 1 + lineOffset, column: body.endPosition.column });
    const entryStmt = b.stmt(plainCopy(body, source), end, null, null);
    const entry = b.add({ op: 'nop', next: [entryStmt], ...pos });
    for (const n of b.nodes) if (n.op === 'return') n.next = [exit];
    for (const g of b.gotos) {
      const node = b.nodes[g] as Extract<IRNode, { op: 'goto' }>;
      node.next = [b.labels.get(node.label) ?? exit];
    }
    return { nodes: b.nodes, entry, exit, loops: b.loops, assigned: [...b.assigned], hadErrors: b.hadErrors || body.hasError, ...(b.cutShort ? { cutShort: b.cutShort } : {}) };
  } catch (e) {
    if (!(e instanceof TooLarge)) throw e;
    // Pathologically large body: an empty CFG (the function is not judged).
    const exit = 0;
    return { nodes: [{ op: 'exit', next: [], ...pos }, { op: 'nop', next: [exit], ...pos }], entry: 1, exit, loops: [], assigned: [], hadErrors: true, cutShort: `body over ${MAX_NODES} CFG nodes; not analysed` };
  }
}

/** A function-like macro whose body calls something of interest, lowered as a function. */
function lowerMacro(file: string, def: SNode, name: string, opts: LowerOptions, timeoutMs: number | undefined): FunctionIR | null {
  const value = def.childForFieldName('value');
  if (!value) return null;
  const text = value.text.replace(/\\\r?\n/g, ' \n');
  const idents = text.match(/[A-Za-z_]\w*/g) ?? [];
  if (!idents.some((id) => opts.interesting(id))) return null;
  const params = (def.childForFieldName('parameters')?.namedChildren ?? []).map((p) => p.text).filter((p) => p !== '...');
  // Parse the body as a statement list of a synthetic function on one line, so
  // that line numbers map back with a constant offset.
  const wrapped = `void __flushcheck_macro(void) { ${text} ; }`;
  const tree = parseC(wrapped, timeoutMs);
  const fnDef = tree.rootNode.namedChildren.find((c) => c.type === 'function_definition');
  if (!fnDef) return null;
  const fn = functionHeader(file, wrapped, fnDef, value.startPosition.row, { name, params });
  if (fn) {
    fn.line = def.startPosition.row + 1;
    fn.column = def.startPosition.column + 1;
  }
  return fn;
}
