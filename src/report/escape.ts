// Text from the inputs (a tree's source, a series' subjects and code, file
// names) reaches terminals and mail clients: control characters in it must be
// shown, never interpreted. `\e[1A\e[2K` could erase an `error` line and
// `\e]0;...\a` set the window title; a newline in a file name would split one
// finding's line into two and let a file fake a finding.

/** Every C0 control character but tab, DEL and C1 controls, written as `\xNN`. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/** A single-line text from an input, with control characters (newlines included) shown as `\xNN`. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A file name for a `file:line:col:` location: as it is when plain, else in
 * double quotes with `\\`, `"` and control characters escaped (as git quotes
 * unusual path names), so a name cannot end the location early.
 */
export function quoteFileName(name: string): string {
  if (!/[\x00-\x1f\x7f-\x9f\\"]/.test(name)) return name;
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`).replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}
