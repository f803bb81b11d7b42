// Decide `#if` conditionals from the kernel configuration, without a real
// preprocessor (no includes, no macro expansion).
//
// Only conditionals whose outcome is certain under the ConfigEnv are
// rewritten: their directive lines and dead branches become blanks, so
// tree-sitter sees the code that is really built, with every line and column
// where it was. Everything else is left untouched for tree-sitter to see.
import { configMacro, configTest, type ConfigEnv, type Tri } from '../discover/kconfig.js';

export interface PreprocessResult {
  /**
   * Same length in lines as the input: dead branches and the directives of
   * decided conditionals replaced by blanks (spaces; '\n' and '\r' kept), so
   * line/column numbers stay exact.
   */
  text: string;
  /** Conditional chains left in place because some branch could not be decided. */
  unknownConditionals: number;
  /** Conditional chains resolved (directives blanked, dead branches blanked). */
  decided: number;
  /** What a compiler would reject and that changes what is analysed: an unterminated comment, an #if without #endif. Absent when none. */
  problems?: string[];
}

// ---------------------------------------------------------------- lexing ----

interface Directive {
  /** Offset of the start of the directive's first line. */
  start: number;
  /** Offset of the '\n' ending the directive (after continuations and multi-line comments), or the source length. */
  end: number;
  /** `if`, `ifdef`, `define`, ... ('' for a null directive). */
  keyword: string;
  /** The rest of the directive, comments replaced by a space, continuations joined. */
  argument: string;
}

interface LexedSource {
  directives: Directive[];
  /** Offset of the first code character of each line that has code outside directives and comments. */
  codeOffsets: number[];
  /** Offset of a block comment that runs to the end of the file, if one does. */
  unterminatedComment?: number;
}

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const BACKSLASH = 92;
const SLASH = 47;
const STAR = 42;
const HASH = 35;

function isHorizontalSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === CARRIAGE_RETURN;
}

/** Length of a backslash-newline splice at `i` (2, or 3 for "\\\r\n"), or 0. */
function spliceLength(src: string, i: number): number {
  if (src.charCodeAt(i) !== BACKSLASH) return 0;
  const next = src.charCodeAt(i + 1);
  if (next === NEWLINE) return 2;
  if (next === CARRIAGE_RETURN && src.charCodeAt(i + 2) === NEWLINE) return 3;
  return 0;
}

/** Offset just past a block comment whose "/*" is at `i` (the source length if unterminated, noted in `lexed`). */
function skipBlockComment(src: string, i: number, lexed: LexedSource): number {
  const close = src.indexOf('*/', i + 2);
  if (close === -1) {
    lexed.unterminatedComment ??= i;
    return src.length;
  }
  return close + 2;
}

/** Offset of the '\n' ending a line comment that starts at `i` (continuations extend it). */
function lineCommentEnd(src: string, i: number): number {
  for (let k = i; k < src.length; k++) {
    const splice = spliceLength(src, k);
    if (splice) k += splice - 1;
    else if (src.charCodeAt(k) === NEWLINE) return k;
  }
  return src.length;
}

/**
 * Offset just past a string or character literal starting at `i`. An
 * unterminated literal (an apostrophe in prose inside `#if 0`, say) ends at
 * the end of its line, as in GCC.
 */
function skipLiteral(src: string, i: number): number {
  const quote = src.charCodeAt(i);
  for (let k = i + 1; k < src.length; k++) {
    const c = src.charCodeAt(k);
    if (c === BACKSLASH) k++;
    else if (c === quote) return k + 1;
    else if (c === NEWLINE) return k;
  }
  return src.length;
}

/** Find every directive and the lines that hold code, skipping comments and literals. */
function lex(src: string): LexedSource {
  const lexed: LexedSource = { directives: [], codeOffsets: [] };
  const { directives } = lexed;
  const n = src.length;
  let lineStart = 0;
  while (lineStart < n) {
    let k = lineStart;
    while (k < n && isHorizontalSpace(src.charCodeAt(k))) k++;
    if (src.charCodeAt(k) === HASH) {
      const directive = readDirective(src, lineStart, k, lexed);
      directives.push(directive);
      lineStart = directive.end + 1;
    } else {
      lineStart = skipCodeLine(src, k, lexed);
    }
  }
  return lexed;
}

/** Consume one logical line of code from `k`; returns the offset after its '\n'. */
function skipCodeLine(src: string, k: number, lexed: LexedSource): number {
  const { codeOffsets } = lexed;
  const n = src.length;
  let sawCode = false;
  while (k < n) {
    const c = src.charCodeAt(k);
    if (c === NEWLINE) return k + 1;
    const splice = spliceLength(src, k);
    if (splice) {
      k += splice;
    } else if (c === SLASH && src.charCodeAt(k + 1) === STAR) {
      k = skipBlockComment(src, k, lexed);
    } else if (c === SLASH && src.charCodeAt(k + 1) === SLASH) {
      k = lineCommentEnd(src, k);
    } else if (isHorizontalSpace(c)) {
      k++;
    } else {
      if (!sawCode) codeOffsets.push(k);
      sawCode = true;
      k = c === 34 || c === 39 ? skipLiteral(src, k) : k + 1;
    }
  }
  return n;
}

function readDirective(src: string, lineStart: number, hash: number, lexed: LexedSource): Directive {
  const n = src.length;
  // The directive's text is the source minus comments (one space each) and
  // splices, gathered as slices between them.
  const pieces: string[] = [];
  let pieceStart = hash + 1;
  let k = hash + 1;
  let end = n;
  while (k < n) {
    const c = src.charCodeAt(k);
    if (c === NEWLINE) {
      end = k;
      break;
    }
    const splice = spliceLength(src, k);
    if (splice) {
      pieces.push(src.slice(pieceStart, k));
      k += splice;
      pieceStart = k;
    } else if (c === SLASH && src.charCodeAt(k + 1) === STAR) {
      pieces.push(src.slice(pieceStart, k), ' ');
      k = skipBlockComment(src, k, lexed);
      pieceStart = k;
    } else if (c === SLASH && src.charCodeAt(k + 1) === SLASH) {
      end = lineCommentEnd(src, k);
      break;
    } else if (c === 34 || c === 39) {
      k = skipLiteral(src, k);
    } else {
      k++;
    }
  }
  pieces.push(src.slice(pieceStart, Math.min(k, n)));
  const text = pieces.join('').trim();
  const keyword = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text)?.[0] ?? '';
  return { start: lineStart, end, keyword, argument: text.slice(keyword.length).trim() };
}

// ------------------------------------------------------- three-valued ----

function not(a: Tri): Tri {
  return a === 'y' ? 'n' : a === 'n' ? 'y' : 'unknown';
}

function and(a: Tri, b: Tri): Tri {
  if (a === 'n' || b === 'n') return 'n';
  return a === 'y' && b === 'y' ? 'y' : 'unknown';
}

function or(a: Tri, b: Tri): Tri {
  if (a === 'y' || b === 'y') return 'y';
  return a === 'n' && b === 'n' ? 'n' : 'unknown';
}

// ------------------------------------------------- #if expressions ----

/**
 * A preprocessor value: its truth, and its number when known exactly. A
 * CONFIG_ symbol that is set has truth 'y' but no number (it may be an int
 * option); an unset one is 0, like any undefined macro.
 */
interface Value {
  truth: Tri;
  num?: bigint;
}

const UNKNOWN: Value = { truth: 'unknown' };

function numberValue(num: bigint): Value {
  return { truth: num !== 0n ? 'y' : 'n', num };
}

/** A 0/1 result (of !, &&, defined, ...) from its truth. */
function booleanValue(truth: Tri): Value {
  return truth === 'unknown' ? UNKNOWN : numberValue(truth === 'y' ? 1n : 0n);
}

type Token = { kind: 'ident' | 'number' | 'punct' | 'other'; text: string };

const PUNCTUATORS = ['||', '&&', '==', '!=', '<=', '>=', '<<', '>>', '!', '~', '+', '-', '*', '/', '%', '<', '>', '&', '|', '^', '?', ':', '(', ')', ','];

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0] });
      i += ident[0].length;
      continue;
    }
    // pp-number: digits, letters, dots, and exponent signs.
    const num = /^\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*/.exec(rest);
    if (num) {
      tokens.push({ kind: 'number', text: num[0] });
      i += num[0].length;
      continue;
    }
    const punct = PUNCTUATORS.find((p) => rest.startsWith(p));
    if (punct) {
      tokens.push({ kind: 'punct', text: punct });
      i += punct.length;
      continue;
    }
    if (rest[0] === '"' || rest[0] === "'") {
      let k = 1;
      while (k < rest.length && rest[k] !== rest[0]) k += rest[k] === '\\' ? 2 : 1;
      tokens.push({ kind: 'other', text: rest.slice(0, k + 1) });
      i += k + 1;
      continue;
    }
    tokens.push({ kind: 'other', text: rest[0] });
    i += 1;
  }
  return tokens;
}

/** Integer literal value (suffixes u/l allowed), or undefined for floats and oddities. */
function parseInteger(text: string): bigint | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)(?:[uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)?$/.exec(text);
  if (!m) return undefined;
  const digits = m[1];
  if (/^0[0-7]+$/.test(digits)) return BigInt('0o' + digits.slice(1));
  return BigInt(digits);
}

class ExpressionError extends Error {}

/** Parentheses, `!`s and `?:`s nested deeper than this make a condition unknown (instead of a stack overflow). */
const MAX_NESTING = 256;

/** Recursive-descent evaluator of the C #if grammar over three-valued values. */
class ConditionEvaluator {
  private pos = 0;
  private nesting = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly env: ConfigEnv,
  ) {}

  evaluate(): Value {
    const value = this.conditional();
    if (this.pos !== this.tokens.length) throw new ExpressionError('trailing tokens');
    return value;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t !== undefined && t.kind === 'punct' && t.text === text;
  }

  private expect(text: string): void {
    if (!this.isPunct(text)) throw new ExpressionError(`expected ${text}`);
    this.pos++;
  }

  /** Runs `parse` one nesting level deeper. */
  private nested(parse: () => Value): Value {
    if (++this.nesting > MAX_NESTING) throw new ExpressionError('nested too deeply');
    try {
      return parse();
    } finally {
      this.nesting--;
    }
  }

  private conditional(): Value {
    return this.nested(() => this.conditionalInner());
  }

  private conditionalInner(): Value {
    const cond = this.logicalOr();
    if (!this.isPunct('?')) return cond;
    this.pos++;
    const whenTrue = this.conditional();
    this.expect(':');
    const whenFalse = this.conditional();
    if (cond.truth === 'y') return whenTrue;
    if (cond.truth === 'n') return whenFalse;
    if (whenTrue.num !== undefined && whenTrue.num === whenFalse.num) return whenTrue;
    return whenTrue.truth === whenFalse.truth ? { truth: whenTrue.truth } : UNKNOWN;
  }

  private logicalOr(): Value {
    let left = this.logicalAnd();
    while (this.isPunct('||')) {
      this.pos++;
      left = booleanValue(or(left.truth, this.logicalAnd().truth));
    }
    return left;
  }

  private logicalAnd(): Value {
    let left = this.binary(0);
    while (this.isPunct('&&')) {
      this.pos++;
      left = booleanValue(and(left.truth, this.binary(0).truth));
    }
    return left;
  }

  /** Binary operators below && by precedence level (loosest first). */
  private static readonly LEVELS: string[][] = [
    ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%'],
  ];

  private binary(level: number): Value {
    if (level === ConditionEvaluator.LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (!t || t.kind !== 'punct' || !ConditionEvaluator.LEVELS[level].includes(t.text)) return left;
      this.pos++;
      left = applyBinary(t.text, left, this.binary(level + 1));
    }
  }

  private unary(): Value {
    const t = this.peek();
    if (t && t.kind === 'punct' && ['!', '-', '+', '~'].includes(t.text)) {
      this.pos++;
      const operand = this.nested(() => this.unary());
      switch (t.text) {
        case '!':
          return booleanValue(not(operand.truth));
        case '+':
          return operand;
        case '-':
          return operand.num !== undefined ? numberValue(BigInt.asIntN(64, -operand.num)) : { truth: operand.truth };
        default:
          return operand.num !== undefined ? numberValue(BigInt.asIntN(64, ~operand.num)) : UNKNOWN;
      }
    }
    return this.primary();
  }

  private primary(): Value {
    const t = this.peek();
    if (!t) throw new ExpressionError('unexpected end');
    this.pos++;
    if (t.kind === 'punct' && t.text === '(') {
      const inner = this.conditional();
      this.expect(')');
      return inner;
    }
    if (t.kind === 'number') {
      const num = parseInteger(t.text);
      return num === undefined ? UNKNOWN : numberValue(num);
    }
    if (t.kind !== 'ident') throw new ExpressionError(`unexpected ${t.text}`);

    if (t.text === 'defined') {
      const parenthesized = this.isPunct('(');
      if (parenthesized) this.pos++;
      const name = this.peek();
      if (!name || name.kind !== 'ident') throw new ExpressionError('defined without a name');
      this.pos++;
      if (parenthesized) this.expect(')');
      return booleanValue(isConfigName(name.text) ? configMacro(name.text, this.env) : 'unknown');
    }
    if (this.isPunct('(')) {
      const args = this.skipArguments();
      const tested = args.length === 1 && args[0].kind === 'ident' && isConfigName(args[0].text) ? configTest(t.text, args[0].text, this.env) : null;
      if (tested !== null) return booleanValue(tested);
      return UNKNOWN; // some other function-like macro (KERNEL_VERSION, __has_include, ...)
    }
    if (isConfigName(t.text)) {
      const symbol = configMacro(t.text, this.env);
      return symbol === 'n' ? numberValue(0n) : { truth: symbol };
    }
    return UNKNOWN; // a macro we cannot see the definition of
  }

  /** Consume a balanced parenthesized argument list; returns its tokens (without the outer parentheses). */
  private skipArguments(): Token[] {
    const open = this.pos;
    let depth = 0;
    while (this.pos < this.tokens.length) {
      const t = this.tokens[this.pos++];
      if (t.kind !== 'punct') continue;
      if (t.text === '(') depth++;
      else if (t.text === ')' && --depth === 0) return this.tokens.slice(open + 1, this.pos - 1);
    }
    throw new ExpressionError('unbalanced parentheses');
  }
}

function isConfigName(name: string): boolean {
  return name.startsWith('CONFIG_') && name.length > 'CONFIG_'.length;
}

function applyBinary(op: string, left: Value, right: Value): Value {
  if (left.num === undefined || right.num === undefined) return UNKNOWN;
  const a = left.num;
  const b = right.num;
  const wrap = (v: bigint): Value => numberValue(BigInt.asIntN(64, v));
  switch (op) {
    case '*': return wrap(a * b);
    case '/': return b === 0n ? UNKNOWN : wrap(a / b);
    case '%': return b === 0n ? UNKNOWN : wrap(a % b);
    case '+': return wrap(a + b);
    case '-': return wrap(a - b);
    case '<<': return b < 0n || b > 63n ? UNKNOWN : wrap(a << b);
    case '>>': return b < 0n || b > 63n ? UNKNOWN : wrap(a >> b);
    case '<': return booleanValue(a < b ? 'y' : 'n');
    case '<=': return booleanValue(a <= b ? 'y' : 'n');
    case '>': return booleanValue(a > b ? 'y' : 'n');
    case '>=': return booleanValue(a >= b ? 'y' : 'n');
    case '==': return booleanValue(a === b ? 'y' : 'n');
    case '!=': return booleanValue(a !== b ? 'y' : 'n');
    case '&': return wrap(a & b);
    case '^': return wrap(a ^ b);
    case '|': return wrap(a | b);
    default: return UNKNOWN;
  }
}

function stripComments(expr: string): string {
  return expr.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ' ');
}

/**
 * Truth of an `#if`/`#elif` expression under `env`. Only CONFIG_ symbols,
 * integer literals and the operators between them are known; any other macro
 * is 'unknown', and so is an expression this evaluator cannot parse.
 */
export function evalCondition(expr: string, env: ConfigEnv): Tri {
  const tokens = tokenize(stripComments(expr).replace(/\\\r?\n/g, ' '));
  if (tokens.length === 0) return 'unknown';
  try {
    return new ConditionEvaluator(tokens, env).evaluate().truth;
  } catch (err) {
    if (err instanceof ExpressionError) return 'unknown';
    throw err;
  }
}

function evalDefined(argument: string, env: ConfigEnv): Tri {
  const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(argument)?.[0];
  return name !== undefined && isConfigName(name) ? configMacro(name, env) : 'unknown';
}

// ---------------------------------------------------- conditional chains ----

interface Branch {
  directive: Directive;
  /** Body: from after the directive to the start of the chain's next directive. */
  bodyStart: number;
  bodyEnd: number;
  /** Set when the branch's body is blanked (so nested chains need no evaluation). */
  dead: boolean;
}

interface Chain {
  branches: Branch[];
  endif: Directive | null;
  /** Branch whose body holds this chain, if nested. */
  parent: Branch | null;
}

const OPENING = new Set(['if', 'ifdef', 'ifndef']);
const CONTINUING = new Set(['elif', 'else', 'elifdef', 'elifndef']);

/** Group conditional directives into chains, in document order (parents first). */
function buildChains(directives: Directive[], sourceLength: number): Chain[] {
  const chains: Chain[] = [];
  const open: Chain[] = [];
  const branchAt = (d: Directive): Branch => ({
    directive: d,
    bodyStart: Math.min(d.end + 1, sourceLength),
    bodyEnd: sourceLength,
    dead: false,
  });
  for (const d of directives) {
    const top = open[open.length - 1];
    if (OPENING.has(d.keyword)) {
      const chain: Chain = { branches: [branchAt(d)], endif: null, parent: top ? top.branches[top.branches.length - 1] : null };
      chains.push(chain);
      open.push(chain);
    } else if (CONTINUING.has(d.keyword) && top) {
      top.branches[top.branches.length - 1].bodyEnd = d.start;
      top.branches.push(branchAt(d));
    } else if (d.keyword === 'endif' && top) {
      top.branches[top.branches.length - 1].bodyEnd = d.start;
      top.endif = d;
      open.pop();
    }
    // Stray #elif/#else/#endif without an #if: left for tree-sitter to report.
  }
  return chains; // chains still open at the end of the file run to its end
}

function branchCondition(branch: Branch, env: ConfigEnv): Tri {
  const { keyword, argument } = branch.directive;
  switch (keyword) {
    case 'if':
    case 'elif':
      return evalCondition(argument, env);
    case 'ifdef':
    case 'elifdef':
      return evalDefined(argument, env);
    case 'ifndef':
    case 'elifndef':
      return not(evalDefined(argument, env));
    default:
      return 'y'; // else
  }
}

/**
 * The chain that is this file's include guard, if any: `#ifndef X` (or
 * `#if !defined(X)`) as the file's first code, `#define X` right after it,
 * and its `#endif` the file's last code. Its body is certainly compiled (on
 * first inclusion, the only one that matters here). `#ifndef f` + `#define
 * f(...)` is the default-definition idiom instead and stays unknown.
 */
function findIncludeGuard(chains: Chain[], lexed: LexedSource): Chain | null {
  const chain = chains[0];
  if (!chain || chain.parent || chain.branches.length !== 1 || !chain.endif) return null;
  const opening = chain.branches[0].directive;
  const guarded =
    opening.keyword === 'ifndef'
      ? /^([A-Za-z_][A-Za-z0-9_]*)$/.exec(opening.argument)?.[1]
      : opening.keyword === 'if'
        ? /^!\s*defined\s*(?:\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)|([A-Za-z_][A-Za-z0-9_]*))$/.exec(opening.argument)?.slice(1).find(Boolean)
        : undefined;
  if (!guarded) return null;
  const { directives, codeOffsets } = lexed;
  const at = directives.indexOf(opening);
  const define = directives[at + 1];
  if (at !== 0 || !define || define.keyword !== 'define') return null;
  // `#define X`, `#define X 1`, `#define X __FILE__`; not function-like.
  const defined = /^([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_(])/.exec(define.argument)?.[1];
  if (defined !== guarded) return null;
  if (directives[directives.length - 1] !== chain.endif) return null;
  const endifEnd = chain.endif.end;
  const codeBetween = (from: number, to: number): boolean => codeOffsets.some((o) => o >= from && o < to);
  if (codeBetween(0, opening.start) || codeBetween(opening.end, define.start) || codeBetween(endifEnd, Infinity)) return null;
  return chain;
}

export function preprocess(source: string, env: ConfigEnv): PreprocessResult {
  const lexed = lex(source);
  const chains = buildChains(lexed.directives, source.length);
  const guard = findIncludeGuard(chains, lexed);
  const blanks: [number, number][] = [];
  const blankDirective = (d: Directive): void => {
    blanks.push([d.start, d.end]);
  };
  let decided = 0;
  let unknownConditionals = 0;

  for (const chain of chains) {
    if (chain.parent?.dead) {
      // Inside a blanked body: gone with it, nothing to decide.
      for (const branch of chain.branches) branch.dead = true;
      continue;
    }
    // Branch i is taken when its condition holds and every earlier one failed.
    let earlierAllFailed: Tri = 'y';
    const taken = chain.branches.map((branch) => {
      const condition = chain === guard ? 'y' : branchCondition(branch, env);
      const result = and(earlierAllFailed, condition);
      earlierAllFailed = and(earlierAllFailed, not(condition));
      return result;
    });
    const isDecided = taken.every((t) => t !== 'unknown');
    if (isDecided) {
      decided++;
      for (const branch of chain.branches) blankDirective(branch.directive);
      if (chain.endif) blankDirective(chain.endif);
    } else {
      unknownConditionals++;
    }
    // Definitely-dead bodies go even when the chain's directives must stay.
    chain.branches.forEach((branch, i) => {
      if (taken[i] === 'n') {
        branch.dead = true;
        blanks.push([branch.bodyStart, branch.bodyEnd]);
      }
    });
  }
  const problems = sourceProblems(source, lexed, chains);
  return { text: applyBlanks(source, blanks), unknownConditionals, decided, ...(problems.length > 0 ? { problems } : {}) };
}

function sourceProblems(source: string, lexed: LexedSource, chains: Chain[]): string[] {
  const lineOf = (offset: number): number => {
    let line = 1;
    for (let at = source.indexOf('\n'); at !== -1 && at < offset; at = source.indexOf('\n', at + 1)) line++;
    return line;
  };
  const problems: string[] = [];
  if (lexed.unterminatedComment !== undefined) {
    problems.push(`comment opened at line ${lineOf(lexed.unterminatedComment)} is never closed; the rest of the file is not analysed`);
  }
  const unclosed = chains.filter((c) => !c.endif);
  if (unclosed.length > 0) {
    const first = unclosed[0].branches[0].directive;
    const more = unclosed.length > 1 ? ` (and ${unclosed.length - 1} more)` : '';
    problems.push(`#${first.keyword} at line ${lineOf(first.start)} has no #endif${more}; read as running to the end of the file`);
  }
  return problems;
}

/** Replace every character in the ranges with a space, except line breaks. */
function applyBlanks(source: string, ranges: [number, number][]): string {
  if (ranges.length === 0) return source;
  ranges.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let copied = 0;
  for (const [rangeStart, end] of ranges) {
    const start = Math.max(rangeStart, copied);
    if (end <= start) continue;
    parts.push(source.slice(copied, start), source.slice(start, end).replace(/[^\r\n]/g, ' '));
    copied = end;
  }
  parts.push(source.slice(copied));
  return parts.join('');
}
