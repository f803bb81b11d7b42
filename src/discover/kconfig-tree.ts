// The values a defconfig leaves to Kconfig, worked out as `make olddefconfig`
// would. A defconfig (savedefconfig's output, arch/<arch>/configs/*) lists
// only the symbols that differ from their defaults: every other symbol takes
// its Kconfig default under its dependencies, raised by the `select`s of
// symbols that are on. Reading such a file as a full .config (absent = n)
// turns off what the arch always selects, and with it the rule.
//
// Values are intervals over n < m < y (0..2): a symbol this reader cannot
// decide (a choice, a `$(shell ...)` default, a cycle) is [0, 2], never a
// guess, so an #if on it keeps both branches.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** [lowest, highest] possible value, n = 0, m = 1, y = 2. */
export type Interval = readonly [number, number];

const N: Interval = [0, 0];
const Y: Interval = [2, 2];
const UNKNOWN: Interval = [0, 2];

type Expr =
  | { k: 'sym'; name: string }
  | { k: 'const'; v: Interval }
  | { k: 'not'; a: Expr }
  | { k: 'and' | 'or'; a: Expr; b: Expr }
  | { k: 'cmp'; op: string; a: Expr; b: Expr };

interface Conditional {
  expr: Expr;
  /** The `if` of the line, and the dependencies of the definition it is in. */
  cond: Expr;
}

interface SymbolDef {
  type?: 'bool' | 'tristate' | 'string' | 'int' | 'hex';
  /** A `config` entry defines it (a `select` of a symbol no Kconfig defines does nothing). */
  defined: boolean;
  /** Dependencies of each definition (`depends on`, enclosing if/menu), OR-ed. */
  deps: Expr[];
  /** When each prompt is shown: a value the file sets counts only for a visible symbol. */
  prompts: Expr[];
  defaults: Conditional[];
  /** Symbols that select (or imply) this one, with their conditions. */
  selectedBy: Conditional[];
  impliedBy: Conditional[];
  inChoice: boolean;
}

export interface KconfigTree {
  symbols: Map<string, SymbolDef>;
  /** Sources that could not be followed: a symbol defined in none of the files read is then unknown, not n. */
  unread: string[];
  /** A digest of every file read (its path and text, in reading order): what the answers depend on, for cache keys. */
  digest: string;
}

const TRUE: Expr = { k: 'const', v: Y };

// ------------------------------------------------------------- parsing ----

/** Reads `<root>/Kconfig` and every file it sources, for `arch` (SRCARCH). */
export function readKconfigTree(root: string, arch: string): KconfigTree {
  const tree: KconfigTree = { symbols: new Map(), unread: [], digest: '' };
  const read = createHash('sha1');
  const reader = new KconfigReader(root, arch, tree, (file, text) => read.update(`${file}\0${text}\0`));
  reader.readFile(path.join(root, 'Kconfig'), [], false);
  tree.digest = read.digest('hex');
  return tree;
}

const ENTRY_KEYWORDS = new Set(['config', 'menuconfig', 'if', 'endif', 'menu', 'endmenu', 'choice', 'endchoice', 'source', 'osource', 'rsource', 'orsource', 'comment', 'mainmenu']);

/** Where reading one Kconfig file is: the open blocks and the definition being read. */
interface FileState {
  file: string;
  /** Conditions of the blocks around the `source` that brought this file in. */
  context: Expr[];
  inChoice: boolean;
  blocks: { kind: 'if' | 'menu' | 'choice'; cond: Expr }[];
  current: { name: string; def: SymbolDef; deps: Expr[]; lines: string[] } | null;
  /** The last entry was `menu`: a `depends on` now belongs to the menu. */
  menuHeader: boolean;
}

class KconfigReader {
  private readonly seen = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly arch: string,
    private readonly tree: KconfigTree,
    private readonly onRead: (file: string, text: string) => void,
  ) {}

  /** `context`: the conditions of the enclosing if/menu blocks (they apply across `source`). */
  readFile(file: string, context: Expr[], inChoice: boolean, optional = false): void {
    if (this.seen.has(file)) return;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      if (!optional) this.tree.unread.push(path.relative(this.root, file));
      return;
    }
    this.seen.add(file);
    this.onRead(path.relative(this.root, file), text);
    const state: FileState = { file, context, inChoice, blocks: [], current: null, menuHeader: false };
    for (const { text: line } of kconfigLogicalLines(text)) {
      const [keyword, ...rest] = line.split(/\s+/);
      if (ENTRY_KEYWORDS.has(keyword)) {
        this.finish(state);
        this.entry(state, keyword, rest.join(' '));
      } else if (state.current) {
        state.current.lines.push(line);
      } else if (state.menuHeader && keyword === 'depends') {
        // `menu ... depends on X`: the whole menu depends on X.
        const menu = state.blocks[state.blocks.length - 1];
        menu.cond = and(menu.cond, parseExpr(line.replace(/^depends\s+on\s+/, '')));
      }
    }
    this.finish(state);
  }

  /** A line that starts an entry: a definition, a block, a source. */
  private entry(state: FileState, keyword: string, arg: string): void {
    const conditions = [...state.context, ...state.blocks.map((b) => b.cond)];
    const inChoice = state.inChoice || state.blocks.some((b) => b.kind === 'choice');
    state.menuHeader = keyword === 'menu';
    switch (keyword) {
      case 'config':
      case 'menuconfig':
        state.current = { name: arg, def: this.define(arg, inChoice), deps: conditions, lines: [] };
        state.current.def.defined = true;
        return;
      case 'if':
        state.blocks.push({ kind: 'if', cond: parseExpr(arg) });
        return;
      case 'menu':
      case 'choice':
        state.blocks.push({ kind: keyword, cond: TRUE });
        return;
      case 'endif':
      case 'endmenu':
      case 'endchoice': {
        const at = state.blocks.map((b) => b.kind as string).lastIndexOf(keyword.slice(3));
        if (at >= 0) state.blocks.splice(at);
        return;
      }
      case 'source':
      case 'osource':
      case 'rsource':
      case 'orsource':
        this.source(state.file, keyword, arg, conditions, inChoice);
        return;
      default:
        // comment, mainmenu: their own attributes (a comment's `depends on`) are skipped.
        return;
    }
  }

  private finish(state: FileState): void {
    const { current } = state;
    if (current) this.finishDefinition(current.name, current.def, current.deps, current.lines);
    state.current = null;
  }

  private source(from: string, keyword: string, arg: string, context: Expr[], inChoice: boolean): void {
    const name = unquote(arg).replace(/\$\((SRCARCH|HEADER_ARCH)\)/g, this.arch);
    if (name.includes('$(')) {
      this.tree.unread.push(name);
      return;
    }
    const relative = keyword === 'rsource' || keyword === 'orsource';
    const file = relative ? path.join(path.dirname(from), name) : path.join(this.root, name);
    this.readFile(file, context, inChoice, keyword.startsWith('o'));
  }

  private define(name: string, inChoice: boolean): SymbolDef {
    let def = this.tree.symbols.get(name);
    if (!def) this.tree.symbols.set(name, (def = { defined: false, deps: [], prompts: [], defaults: [], selectedBy: [], impliedBy: [], inChoice: false }));
    def.inChoice ||= inChoice;
    return def;
  }

  /** One definition's attributes: its dependencies apply to its defaults and to what it selects. */
  private finishDefinition(self: string, def: SymbolDef, context: Expr[], lines: string[]): void {
    let deps = context.reduce(and, TRUE);
    for (const line of lines) if (/^depends\s+on\s/.test(line)) deps = and(deps, parseExpr(line.replace(/^depends\s+on\s+/, '')));
    def.deps.push(deps);
    for (const line of lines) {
      const [keyword, ...rest] = line.split(/\s+/);
      const arg = rest.join(' ');
      const type = /^(bool|tristate|string|int|hex|def_bool|def_tristate)$/.exec(keyword)?.[1];
      if (type) {
        const base = type.replace('def_', '') as SymbolDef['type'];
        def.type ??= base;
        if (type.startsWith('def_')) def.defaults.push(withCondition(arg, deps));
        else if (/^["']/.test(arg)) def.prompts.push(withCondition(arg, deps).cond);
        continue;
      }
      if (keyword === 'prompt') def.prompts.push(withCondition(arg, deps).cond);
      if (keyword === 'default') def.defaults.push(withCondition(arg, deps));
      else if (keyword === 'select' || keyword === 'imply') {
        const { expr, cond } = withCondition(arg, deps);
        if (expr.k !== 'sym') continue;
        const target = this.define(expr.name, false);
        (keyword === 'select' ? target.selectedBy : target.impliedBy).push({ expr: { k: 'sym', name: self }, cond });
      }
    }
  }

}

function withCondition(text: string, deps: Expr): Conditional {
  const split = splitIf(text);
  return { expr: parseExpr(split.value), cond: split.cond === null ? deps : and(deps, parseExpr(split.cond)) };
}

/** `X if Y` -> X and Y, at the top level (not inside parentheses or quotes). */
function splitIf(text: string): { value: string; cond: string | null } {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && /\sif\s/.test(text.slice(i, i + 4))) return { value: text.slice(0, i).trim(), cond: text.slice(i + 4).trim() };
  }
  return { value: text.trim(), cond: null };
}

function and(a: Expr, b: Expr): Expr {
  if (a === TRUE) return b;
  if (b === TRUE) return a;
  return { k: 'and', a, b };
}

function unquote(text: string): string {
  const t = text.trim();
  return /^".*"$/.test(t) || /^'.*'$/.test(t) ? t.slice(1, -1) : t;
}

export interface KconfigLine {
  /** Line number (1-based) of the first physical line. */
  line: number;
  /** Comment-free text with continuations joined, trimmed. */
  text: string;
}

/** Join `\` continuations, drop comments and help text. */
export function kconfigLogicalLines(source: string): KconfigLine[] {
  const physical = source.split(/\r?\n/);
  const out: KconfigLine[] = [];
  let inHelp = false;
  let helpIndent = -1; // indentation of the help text, once its first line is seen
  for (let i = 0; i < physical.length; i++) {
    const start = i;
    let raw = physical[i];
    if (inHelp) {
      if (raw.trim() === '') continue;
      const indent = indentationWidth(raw);
      if (helpIndent < 0) helpIndent = indent;
      if (indent >= helpIndent && indent > 0) continue;
      inHelp = false;
    }
    while (raw.endsWith('\\') && i + 1 < physical.length) raw = raw.slice(0, -1) + ' ' + physical[++i];
    const text = stripKconfigComment(raw).trim();
    if (text === '') continue;
    if (text === 'help' || text === '---help---') {
      inHelp = true;
      helpIndent = -1;
      continue;
    }
    out.push({ line: start + 1, text });
  }
  return out;
}

function indentationWidth(line: string): number {
  let width = 0;
  for (const ch of line) {
    if (ch === ' ') width += 1;
    else if (ch === '\t') width = (Math.floor(width / 8) + 1) * 8;
    else break;
  }
  return width;
}

function stripKconfigComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '#') {
      return line.slice(0, i);
    }
  }
  return line;
}

// ---------------------------------------------------------- expressions ----

const TOKEN = /\s*(\$\((?:[^()]|\([^()]*\))*\)|"(?:[^"\\]|\\.)*"|'[^']*'|&&|\|\||!=|<=|>=|[!=<>()]|[A-Za-z0-9_.+-]+)/y;

/** A Kconfig expression; anything this parser does not know (`$(...)`) is an unknown constant. */
export function parseExpr(text: string): Expr {
  const tokens: string[] = [];
  let end = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m; m = TOKEN.exec(text)) {
    tokens.push(m[1]);
    end = TOKEN.lastIndex;
  }
  if (text.slice(end).trim() !== '') return { k: 'const', v: UNKNOWN };
  let pos = 0;
  const peek = () => tokens[pos];
  const or = (): Expr => {
    let left = andExpr();
    while (peek() === '||') {
      pos++;
      left = { k: 'or', a: left, b: andExpr() };
    }
    return left;
  };
  const andExpr = (): Expr => {
    let left = unary();
    while (peek() === '&&') {
      pos++;
      left = { k: 'and', a: left, b: unary() };
    }
    return left;
  };
  const unary = (): Expr => {
    if (peek() === '!') {
      pos++;
      return { k: 'not', a: unary() };
    }
    const left = primary();
    const op = peek();
    if (op === '=' || op === '!=' || op === '<' || op === '>' || op === '<=' || op === '>=') {
      pos++;
      return { k: 'cmp', op, a: left, b: primary() };
    }
    return left;
  };
  const primary = (): Expr => {
    const t = tokens[pos++];
    if (t === undefined) throw new Error('end of expression');
    if (t === '(') {
      const inner = or();
      if (tokens[pos++] !== ')') throw new Error('missing )');
      return inner;
    }
    if (t === 'y' || t === 'm' || t === 'n') return { k: 'const', v: t === 'y' ? Y : t === 'm' ? [1, 1] : N };
    if (t.startsWith('$(')) return { k: 'const', v: UNKNOWN };
    if (t.startsWith('"') || t.startsWith("'")) return { k: 'sym', name: `"${t.slice(1, -1)}` };
    return { k: 'sym', name: t };
  };
  try {
    const e = or();
    return pos === tokens.length ? e : { k: 'const', v: UNKNOWN };
  } catch {
    return { k: 'const', v: UNKNOWN };
  }
}

// ----------------------------------------------------------- evaluation ----

/** A symbol's value as set by the config file: tristate, or a string/number (on). */
export type ExplicitValue = 'y' | 'm' | 'n' | 'value';

/**
 * The value of every symbol under a defconfig: what the file sets (raised by
 * `select`s), else its first applicable default under its dependencies,
 * raised by `select`s and `imply`s. Memoised; cycles are unknown.
 */
export function defconfigValues(tree: KconfigTree, explicit: Map<string, ExplicitValue>, fixed: Map<string, Interval>): (name: string) => Interval {
  const memo = new Map<string, Interval | 'busy'>();
  const value = (name: string): Interval => {
    const known = memo.get(name);
    if (known === 'busy') return UNKNOWN;
    if (known) return known;
    memo.set(name, 'busy');
    const v = computeValue(name);
    memo.set(name, v);
    return v;
  };

  const computeValue = (name: string): Interval => {
    const pinned = fixed.get(name);
    if (pinned) return pinned;
    const def = tree.symbols.get(name);
    if (!def?.defined) return tree.unread.length ? UNKNOWN : N;
    const set = explicit.get(name);
    const visible = def.prompts.map(evalExpr).reduce(max, N);
    // What the file sets counts only where the symbol is shown (a prompt-less one ignores it).
    if (set === undefined || visible[1] === 0) return fromKconfig(def);
    const chosen = fromFile(def, set, visible);
    return visible[0] > 0 ? chosen : hull(chosen, fromKconfig(def));
  };

  const selects = (def: SymbolDef): Interval => def.selectedBy.map((s) => min(evalExpr(s.expr), evalExpr(s.cond))).reduce(max, N);

  /** A bool cannot be m; neither can anything when modules are off. */
  const round = (def: SymbolDef, v: Interval): Interval => (def.type === 'tristate' && value('MODULES')[1] > 0 ? v : [v[0] === 1 ? 2 : v[0], v[1] === 1 ? 2 : v[1]]);

  /** A value the file sets, within what the prompt allows, raised by selects. */
  const fromFile = (def: SymbolDef, set: ExplicitValue, visible: Interval): Interval => {
    if (def.type !== 'bool' && def.type !== 'tristate') return set === 'n' ? N : round(def, visible);
    return round(def, max(min(set === 'y' || set === 'value' ? Y : set === 'm' ? [1, 1] : N, visible), selects(def)));
  };

  /** The first default whose condition holds, under the dependencies, raised by selects and implies. */
  const fromKconfig = (def: SymbolDef): Interval => {
    if (def.inChoice) return UNKNOWN;
    const deps = def.deps.map(evalExpr).reduce(max, N);
    let chosen: Interval = N;
    for (const d of def.defaults) {
      const cond = evalExpr(d.cond);
      if (cond[1] === 0) continue;
      // A string or number default makes the symbol defined.
      const v = def.type === 'bool' || def.type === 'tristate' ? evalExpr(d.expr) : Y;
      chosen = cond[0] > 0 ? v : UNKNOWN;
      break;
    }
    const fromDefault = min(chosen, deps);
    // A shown string or number always has a value (`""` when nothing else).
    if (def.type !== 'bool' && def.type !== 'tristate') return round(def, max(fromDefault, def.prompts.map(evalExpr).reduce(max, N)));
    const implied = def.impliedBy.map((s) => min(evalExpr(s.expr), evalExpr(s.cond))).reduce(max, N);
    const withImply: Interval = [fromDefault[0], Math.max(fromDefault[1], min(implied, deps)[1])];
    return round(def, max(withImply, selects(def)));
  };

  const evalExpr = (e: Expr): Interval => {
    switch (e.k) {
      case 'const':
        return e.v;
      case 'sym':
        return e.name.startsWith('"') ? UNKNOWN : value(e.name);
      case 'not':
        return not(evalExpr(e.a));
      case 'and':
        return min(evalExpr(e.a), evalExpr(e.b));
      case 'or':
        return max(evalExpr(e.a), evalExpr(e.b));
      case 'cmp':
        return compare(e, evalExpr);
    }
  };
  return value;
}

/** `A = B` between tristates known exactly; anything else (strings, numbers) is unknown. */
function compare(e: Extract<Expr, { k: 'cmp' }>, evalExpr: (e: Expr) => Interval): Interval {
  if (e.op !== '=' && e.op !== '!=') return UNKNOWN;
  const isTristateConst = (x: Expr) => x.k === 'const';
  if (!isTristateConst(e.a) && !isTristateConst(e.b)) return UNKNOWN;
  const a = evalExpr(e.a);
  const b = evalExpr(e.b);
  if (a[0] !== a[1] || b[0] !== b[1]) return UNKNOWN;
  return (a[0] === b[0]) === (e.op === '=') ? Y : N;
}

function min(a: Interval, b: Interval): Interval {
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
}

function max(a: Interval, b: Interval): Interval {
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
}

function not(a: Interval): Interval {
  return [2 - a[1], 2 - a[0]];
}

function hull(a: Interval, b: Interval): Interval {
  return [Math.min(a[0], b[0]), Math.max(a[1], b[1])];
}
