// The process's current folder. A shell can stay in a folder that was removed
// (or moved away) meanwhile; node then cannot say where it is, and
// process.cwd() throws. Here, beside errors.ts, so the CLI and the resident
// client (which must not import the CLI) share it.

/** The current folder, or null when it no longer exists. */
export function currentFolder(): string | null {
  try {
    return process.cwd();
  } catch {
    return null;
  }
}
