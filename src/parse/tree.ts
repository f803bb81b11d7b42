// tree-sitter-c, loaded once per thread.
import Parser from 'tree-sitter';
import C from 'tree-sitter-c';

let parser: Parser | null = null;

export function parseC(source: string): Parser.Tree {
  if (!parser) {
    parser = new Parser();
    parser.setLanguage(C as unknown as Parser.Language);
  }
  // The binding reads the input in chunks; a large buffer size avoids the
  // many round-trips a 1 MB generated file would otherwise cost.
  return parser.parse(source, undefined, { bufferSize: Math.max(64 * 1024, source.length * 2 + 1) });
}
