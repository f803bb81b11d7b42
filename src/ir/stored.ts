// A lowered file without its syntax tree: what the call graph and the cache
// keys need (names, calls, positions, digests), stored by content key so that
// a warm run does not parse files whose functions' results it already has.
// The CFG of a stored function is built on first use by parsing the file then.
import type { FileIR, FunctionCFG, FunctionIR } from './types.js';
import { bool, int, list, open, record, schemaCheck, str, strings } from '../cache/schema-check.js';

export interface StoredFile {
  functions: { name: string; line: number; column: number; params: string[]; isStatic: boolean; isMacro: boolean; calls: string[]; digest: string }[];
  exports: string[];
  ops: FileIR['ops'];
  valueRefs: string[];
  macroNames: string[];
  prototypes: string[];
  parseErrors: number;
  /** Diagnostics lowering gave for the file, replayed when it is not lowered again. */
  problems: string[];
}

export function storeFile(ir: FileIR, problems: string[]): StoredFile {
  return {
    functions: ir.functions.map((f) => ({ name: f.name, line: f.line, column: f.column, params: f.params, isStatic: f.isStatic, isMacro: f.isMacro, calls: f.calls, digest: f.digest() })),
    exports: ir.exports,
    ops: ir.ops,
    valueRefs: ir.valueRefs,
    macroNames: ir.macroNames,
    prototypes: ir.prototypes,
    parseErrors: ir.parseErrors,
    problems,
  };
}

/** `lower` parses the file; called at most once, and only if some function's CFG is asked for. */
export function restoreFile(file: string, stored: StoredFile, lower: () => FileIR): FileIR {
  let lowered: FileIR | null = null;
  const functions: FunctionIR[] = stored.functions.map((f) => {
    let cfg: FunctionCFG | null = null;
    return {
      name: f.name,
      file,
      line: f.line,
      column: f.column,
      params: f.params,
      isStatic: f.isStatic,
      isMacro: f.isMacro,
      calls: f.calls,
      digest: () => f.digest,
      cfg() {
        if (cfg) return cfg;
        lowered ??= lower();
        const same = lowered.functions.find((g) => g.name === f.name && g.line === f.line && g.column === f.column);
        // Same content, same lowering: the function is there. If not (a
        // parse that timed out this time), an empty body judges nothing.
        cfg = same ? same.cfg() : { nodes: [{ op: 'exit', next: [], line: f.line, column: f.column }], entry: 0, exit: 0, loops: [], assigned: [], hadErrors: true, cutShort: 'could not be parsed again; not analysed' };
        return cfg;
      },
    };
  });
  return { file, functions, exports: stored.exports, ops: stored.ops, valueRefs: stored.valueRefs, macroNames: stored.macroNames, prototypes: stored.prototypes, parseErrors: stored.parseErrors };
}

/** The JSON Schema of StoredFile: keep it in step with the interface (the cache test fails on a mismatch). */
export const storedFileSchema = record({
  functions: list(record({ name: str, line: int, column: int, params: strings, isStatic: bool, isMacro: bool, calls: strings, digest: str })),
  exports: strings,
  ops: list(record({ struct: str, field: str, target: str, line: int })),
  valueRefs: strings,
  macroNames: strings,
  prototypes: strings,
  parseErrors: int,
  problems: strings,
});

const fitsStoredFile = schemaCheck(storedFileSchema);

export function isStoredFile(value: unknown): value is StoredFile {
  return fitsStoredFile(value);
}

// A function's CFG as stored (corpus.ts keeps those the analysis built): plain
// data, checked down to each node's shape; expressions inside are covered by
// the entry's digest.
const cfgNode = open({ op: { enum: ['nop', 'call', 'assign', 'branch', 'choice', 'goto', 'havoc', 'clobber', 'return', 'exit'] }, next: { type: 'array', items: int }, line: int, column: int });
const ints = { type: 'array', items: int } as const;

export const storedCfgSchema = record(
  {
    nodes: list(cfgNode),
    entry: int,
    exit: int,
    loops: list(record({ id: int, head: int, body: ints, region: ints, exit: int, line: int })),
    assigned: strings,
    hadErrors: bool,
  },
  { cutShort: str },
);

export const isStoredCfg = schemaCheck(storedCfgSchema);
