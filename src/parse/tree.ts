// tree-sitter-c, loaded once per thread.
import { createRequire } from 'node:module';
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
    parser = new ParserClass();
    parser.setLanguage(lazyRequire('tree-sitter-c') as Parser.Language);
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
