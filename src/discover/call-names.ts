// The names a piece of C calls, read from its text without a parser: the
// call graph's edges, and the include walk's look-ups of callee definitions.
// Both need the same reading, and both read text that has comments and
// literals in it; so do the file-level reads of lowering (exports, functions
// used as values).

// One pass, left to right, so whichever starts first wins: a quote inside a
// comment does not open a string, and `/*` inside a string does not open a
// comment. An unterminated literal ends at its line's end, as in GCC; an
// unterminated block comment is left as text (a compiler rejects the file).
const COMMENT_OR_LITERAL = /\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:[^"\\\n]|\\[\s\S])*"?|'(?:[^'\\\n]|\\[\s\S])*'?/g;

const CALL_NAME = /(?<![\w.>])([A-Za-z_]\w*)\s*\(/g;
const NOT_CALLS = new Set(['if', 'for', 'while', 'switch', 'return', 'sizeof', 'typeof', '__typeof__', 'defined', 'do', 'case', 'else']);

/** A call through a structure's function pointer: `ops->map_phys(` or `ops.map_phys(`. */
const FIELD_CALL = /(?:->|\.)\s*([A-Za-z_]\w*)\s*\(/g;

/**
 * The names `text` calls, each once, in order of first call; with
 * `fieldCalls`, also its calls through function pointers as `->field`.
 * Comments and string and character literals call nothing: "available (" in
 * a comment is prose, and would send the include walk through every header
 * for a definition that does not exist.
 */
export function callNames(text: string, fieldCalls = false): string[] {
  const code = codeOnly(text);
  const out = new Set<string>();
  for (const m of code.matchAll(CALL_NAME)) if (!NOT_CALLS.has(m[1])) out.add(m[1]);
  if (fieldCalls) for (const m of code.matchAll(FIELD_CALL)) out.add(`->${m[1]}`);
  return [...out];
}

/** `text` with each comment and string or character literal replaced by a space: what the compiler reads as code. */
export function codeOnly(text: string): string {
  return text.replace(COMMENT_OR_LITERAL, ' ');
}
