// `flushcheck hook install`: a git pre-commit hook running `flushcheck diff
// --cached`, so a commit that leaves a DMA sync unflushed is stopped before it
// exists. A hook someone else wrote is never replaced silently.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRepo, git } from '../discover/git.js';
import type { Severity } from '../types.js';
import { UsageError } from '../errors.js';

/** Marks a hook as ours: only such a hook is replaced or removed without --force. */
export const HOOK_MARKER = '# installed by `flushcheck hook install`';
const BACKUP_SUFFIX = '.flushcheck-backup';

/** How the hook starts this flushcheck: the same node and CLI script as this run. */
export function hookCommand(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const sibling = path.resolve(here, '..', 'cli', 'main.js');
  // Run from the TypeScript sources (tests), the built CLI is in dist/.
  const cli = fs.existsSync(sibling) ? sibling : path.resolve(here, '..', '..', 'dist', 'cli', 'main.js');
  return [process.execPath, cli];
}

function hookPath(tree: string): string {
  const repo = findRepo(tree);
  if (!repo) throw new UsageError(`${tree} is not in a git work tree; run 'flushcheck hook install' inside the kernel repository (or pass --tree)`);
  // Honours core.hooksPath and linked worktrees.
  const rel = git(tree, ['rev-parse', '--git-path', 'hooks/pre-commit']).toString('utf8').trim();
  return path.resolve(tree, rel);
}

/** POSIX sh single quoting: the paths may hold spaces. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function hookScript(command: string[], failOn: Severity): string {
  return [
    '#!/bin/sh',
    HOOK_MARKER,
    '# Checks the staged change for unflushed arm64 DMA cache syncs.',
    '# Skip once with `git commit --no-verify`; remove with `flushcheck hook uninstall`.',
    `exec ${command.map(shellQuote).join(' ')} diff --cached --fail-on ${failOn}`,
    '',
  ].join('\n');
}

export function installHook(opts: { tree: string; force: boolean; failOn: Severity; command: string[] }): string {
  const file = hookPath(opts.tree);
  let existing: string | null = null;
  try {
    existing = fs.readFileSync(file, 'utf8');
  } catch {
    existing = null;
  }
  let note = '';
  if (existing !== null && !existing.includes(HOOK_MARKER)) {
    if (!opts.force) throw new UsageError(`${file} exists and was not written by flushcheck; call flushcheck from it yourself, or pass --force to replace it (it is kept as pre-commit${BACKUP_SUFFIX})`);
    fs.copyFileSync(file, file + BACKUP_SUFFIX);
    note = ` (the previous hook is kept as ${path.basename(file)}${BACKUP_SUFFIX})`;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, hookScript(opts.command, opts.failOn), { mode: 0o755 });
  fs.chmodSync(file, 0o755);
  return `flushcheck: pre-commit hook written to ${file}${note}`;
}

export function uninstallHook(tree: string): string {
  const file = hookPath(tree);
  let existing: string;
  try {
    existing = fs.readFileSync(file, 'utf8');
  } catch {
    return `flushcheck: no pre-commit hook at ${file}`;
  }
  if (!existing.includes(HOOK_MARKER)) throw new UsageError(`${file} was not written by flushcheck; remove it yourself if you mean to`);
  if (fs.existsSync(file + BACKUP_SUFFIX)) {
    fs.renameSync(file + BACKUP_SUFFIX, file);
    return `flushcheck: pre-commit hook removed; the previous hook is restored at ${file}`;
  }
  fs.rmSync(file);
  return `flushcheck: pre-commit hook removed from ${file}`;
}
