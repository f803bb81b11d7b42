// A source file's text as the preprocessor and tree-sitter need it. Old Mac
// line ends (a lone CR) would make a whole file one line, and a `//` comment
// on it hide everything after; a NUL byte would end tree-sitter's input. Both
// are replaced one for one, so lines and columns stay those of the file
// (editors count a lone CR as a line end too).
export function sourceText(text: string): string {
  if (!text.includes('\r') && !text.includes('\0')) return text;
  return text.replace(/\r(?!\n)/g, '\n').replace(/\0/g, ' ');
}
