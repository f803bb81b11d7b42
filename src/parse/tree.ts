// tree-sitter-c, loaded once per thread.
import { createRequire } from 'node:module';
import path from 'node:path';
import type Parser from 'tree-sitter';

// Loaded on the first parse: a warm `diff` served from the cache may parse nothing.
const lazyRequire = createRequire(import.meta.url);
let parser: Parser | null = null;

/** Parsing ran past its time budget (see LowerOptions.deadline). */
export class ParseTimeout extends Error {
  override name = 'ParseTimeout';
}

/** tree-sitter takes the timeout as a 32-bit count of microseconds. */
const MAX_TIMEOUT_MICROS = 0xffff_ffff;

/**
 * Parse C. With `timeoutMs`, tree-sitter gives up after that long (error
 * recovery on pathological input can run for minutes) and ParseTimeout is
 * thrown.
 */
export function parseC(source: string, timeoutMs?: number): Parser.Tree {
  if (!parser) {
    const ParserClass = lazyRequire('tree-sitter') as typeof Parser;
    const language = lazyRequire('tree-sitter-c') as Parser.Language;
    parser = new ParserClass();
    prepareNodeClasses(ParserClass, language);
    parser.setLanguage(language);
  }
  // 0 means no limit to tree-sitter; a spent budget still gets 1 µs.
  const micros = timeoutMs === undefined ? 0 : Math.min(MAX_TIMEOUT_MICROS, Math.max(1, Math.floor(timeoutMs * 1000)));
  parser.setTimeoutMicros(micros);
  // The binding reads the input in chunks; a large buffer size avoids the
  // many round-trips a 1 MB generated file would otherwise cost.
  const tree = parser.parse(source, undefined, { bufferSize: Math.max(64 * 1024, source.length * 2 + 1) }) as Parser.Tree | null;
  if (!tree) {
    // A halted parse resumes on the next call unless reset.
    parser.reset();
    throw new ParseTimeout(`parsing took longer than ${Math.round(timeoutMs ?? 0)} ms`);
  }
  return tree;
}

/**
 * tree-sitter's setLanguage builds a table of node classes, one subclass of
 * SyntaxNode per named type, each made by `eval()` (~200 of them, ~7 ms in
 * every process that parses) for field getters this code never reads: it
 * asks childForFieldName. Its `prototype.type = name` on each class is lost
 * (SyntaxNode's `type` is a getter without a setter), so every `type` read
 * still calls into the binding. The table made here, which setLanguage keeps,
 * puts the type on each class's prototype instead, by the binding's own
 * id -> name list (the one tree-sitter reads, from the binding it loaded).
 * plain-tree.test.ts checks every node's type against the binding's answer.
 */
function prepareNodeClasses(ParserClass: typeof Parser, language: Parser.Language): void {
  const lang = language as Parser.Language & { nodeSubclasses?: unknown[] };
  if (lang.nodeSubclasses) return;
  let typeNames: (string | null)[];
  try {
    const treeSitterDir = path.dirname(lazyRequire.resolve('tree-sitter'));
    const binding = createRequire(path.join(treeSitterDir, 'index.js'))('node-gyp-build')(treeSitterDir) as { getNodeTypeNamesById?: (l: unknown) => (string | null)[] };
    if (typeof binding.getNodeTypeNamesById !== 'function') return;
    typeNames = binding.getNodeTypeNamesById(language);
  } catch {
    return; // tree-sitter makes its own table
  }
  const named = new Set((language.nodeTypeInfo ?? []).filter((info) => info.named).map((info) => info.type));
  const { SyntaxNode } = ParserClass as unknown as { SyntaxNode: new (...args: unknown[]) => object };
  lang.nodeSubclasses = typeNames.map((typeName) => {
    if (!typeName || !named.has(typeName)) return SyntaxNode;
    const subclass = class extends SyntaxNode {};
    Object.defineProperty(subclass.prototype, 'type', { value: typeName, writable: true, enumerable: true, configurable: true });
    return subclass;
  });
}
