// The intermediate representation: one control-flow graph per function (or
// per function-like macro whose body calls something of interest). Nodes carry
// only what the obligation analysis reads: calls, assignments, branches.
import type { Expr } from './expr.js';

export interface Loc {
  line: number; // 1-based
  column: number; // 1-based
}

export type IRNode =
  | ({ op: 'nop'; next: number[]; label?: string } & Loc)
  | ({ op: 'call'; callee: string; args: Expr[]; text: string; next: number[]; viaPointer?: boolean } & Loc)
  /** `lvalue`: set when a field or element is written (`s->off = ...`): only conditions reading it die. */
  | ({ op: 'assign'; target: string; value: Expr | null; next: number[]; lvalue?: string } & Loc)
  /** Two-way branch on a C condition; `errorEdge` marks the successor that only an error check reaches. */
  | ({ op: 'branch'; cond: Expr; text: string; next: [number, number]; errorEdge?: 0 | 1 } & Loc)
  /** Any successor may be taken (switch cases, unknown #if, iterator-macro loop heads). */
  | ({ op: 'choice'; reason: string; next: number[]; loop?: number } & Loc)
  /** Whether the label is an error label is the rule's call (`errorLabels`). */
  | ({ op: 'goto'; label: string; next: number[] } & Loc)
  /** Kill facts about variables (loop-variable update of an iterator macro). */
  | ({ op: 'havoc'; vars: string[]; next: number[] } & Loc)
  /**
   * A call was given pointers: what it can reach through them may change.
   * Facts reading memory through one of `lvalues` die (`iter->bi_size` after
   * `f(iter)`, `st->x.y` after `f(&st->x)`); predicates over the pointer
   * itself (`dev_is_dma_coherent(dev)`) are taken to read stable properties.
   */
  | ({ op: 'clobber'; lvalues: string[]; next: number[] } & Loc)
  /** `errorValue`: returns an error code (-EIO, DMA_MAPPING_ERROR, ERR_PTR(...)): the caller sees a failure. */
  | ({ op: 'return'; next: number[]; errorValue?: boolean; value?: Expr } & Loc)
  | ({ op: 'exit'; next: number[] } & Loc);

export interface LoopInfo {
  id: number;
  head: number;
  /** Nodes of the body (not including the head). */
  body: number[];
  /** Every node of the loop: head, condition, update, body. */
  region: number[];
  /** Where control goes when the loop ends normally (its condition fails, or `break`). */
  exit: number;
  line: number;
}

/** The control-flow graph of a function body, built on first use. */
export interface FunctionCFG {
  nodes: IRNode[];
  entry: number;
  exit: number;
  loops: LoopInfo[];
  /** Variables assigned anywhere in the body (a summary may not speak about such parameters). */
  assigned: string[];
  /** The body had tree-sitter ERROR nodes: lowered best-effort. */
  hadErrors: boolean;
  /** Why part of the body was left out (nesting or size past the lowering limits), if it was. */
  cutShort?: string;
}

export interface FunctionIR {
  name: string;
  file: string; // root-relative
  line: number;
  column: number;
  params: string[];
  isStatic: boolean;
  /** A function-like macro lowered as a function: it is inlined at its uses, never a hand-off. */
  isMacro: boolean;
  /**
   * Names this function calls (read off the body text), and `->field` for
   * each call through a function pointer. Enough for the call graph; the CFG
   * is only built for functions that matter.
   */
  calls: string[];
  cfg(): FunctionCFG;
  /** Digest of the definition's text: with file and position, identifies the function's content for caches. */
  digest(): string;
}

/** A struct initializer field that names a function: `.sync_single_for_device = f`. */
export interface OpsAssignment {
  struct: string; // variable name of the table
  field: string;
  target: string;
  line: number;
}

export interface FileIR {
  file: string;
  functions: FunctionIR[];
  exports: string[];
  ops: OpsAssignment[];
  /** Identifiers used as values (initializers, arguments, &f): candidates for address-taken functions. */
  valueRefs: string[];
  /** Names declared by a prototype (functions implemented elsewhere, e.g. in assembly). */
  prototypes: string[];
  /** Names defined as macros (object- or function-like). */
  macroNames: string[];
  parseErrors: number;
}
