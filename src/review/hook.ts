// `flushcheck hook install`: a git pre-commit hook running `flushcheck diff
// --cached`, so a commit that leaves a DMA sync unflushed is stopped before it
// exists. A hook someone else wrote is never replaced silently, and nothing
// is ever written through a symlink (a shared hook script linked into several
// repositories stays as it is).
//
// A hook is ours when its content is what flushcheck wrote: its last line
// carries the SHA-256 of everything above it, so a hook that merely mentions
// flushcheck, or one the user edited since, is somebody else's.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNewFile } from '../discover/safe-read.js';
import { findRepo, git } from '../discover/git.js';
import type { Severity } from '../types.js';
import { UsageError } from '../errors.js';

/** First comment line of the hook (for people reading it; ownership is decided by the digest). */
export const HOOK_MARKER = '# installed by `flushcheck hook install`';
const DIGEST_PREFIX = '# flushcheck-sha256: ';
const BACKUP_SUFFIX = '.flushcheck-backup';

/** How the hook starts this flushcheck when it is not on PATH: the node and CLI script of this run. */
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

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The hook: flushcheck from PATH if there is one (an upgrade or a move of the
 * clone does not break it), else the CLI recorded at install time run by the
 * node on PATH (node upgraded; through the CLI's #! line when it is
 * executable, as a bin is) or the recorded node; else one line saying how
 * to reinstall. `command` is [node, cli script].
 */
export function hookScript(command: string[], failOn: Severity, resident = false): string {
  const [node, cli] = command;
  const args = `diff --cached --hook${resident ? ' --resident' : ''} --fail-on ${failOn}`;
  const body = [
    '#!/bin/sh',
    HOOK_MARKER,
    '# Checks the staged change for unflushed arm64 DMA cache syncs.',
    '# Skip once with `git commit --no-verify`; remove with `flushcheck hook uninstall`.',
    `if command -v flushcheck >/dev/null 2>&1; then exec flushcheck ${args}; fi`,
    `cli=${shellQuote(cli ?? '')}`,
    `node=${shellQuote(node ?? '')}`,
    'if [ -f "$cli" ]; then',
    '\tif command -v node >/dev/null 2>&1; then',
    // By its #! line when it is executable: that starts the node on PATH with V8's pool sized to the cores (src/cli/main.ts).
    `\t\t[ -x "$cli" ] && exec "$cli" ${args}`,
    `\t\texec node "$cli" ${args}`,
    '\tfi',
    `\tif [ -x "$node" ]; then exec "$node" "$cli" ${args}; fi`,
    'fi',
    `echo "flushcheck pre-commit hook: flushcheck is not on PATH and $cli (or node) is gone; reinstall with 'flushcheck hook install --force', or commit with 'git commit --no-verify'" >&2`,
    'exit 1',
    '',
  ].join('\n');
  return `${body}${DIGEST_PREFIX}${sha256(body)}\n`;
}

/** Whether `content` is a hook flushcheck wrote, unchanged since. */
export function isOurHook(content: string): boolean {
  const at = content.lastIndexOf(`\n${DIGEST_PREFIX}`);
  if (at < 0) return false;
  const body = content.slice(0, at + 1);
  return content.slice(at + 1) === `${DIGEST_PREFIX}${sha256(body)}\n`;
}

/** What is at the hook's path now: nothing, a symlink (never followed), ours, or another file. */
function existingHook(file: string): 'none' | 'symlink' | 'ours' | 'other' {
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!stat) return 'none';
  if (stat.isSymbolicLink()) return 'symlink';
  if (!stat.isFile()) return 'other';
  return isOurHook(fs.readFileSync(file, 'utf8')) ? 'ours' : 'other';
}

export function installHook(opts: { tree: string; force: boolean; failOn: Severity; command: string[]; resident?: boolean }): string {
  const file = hookPath(opts.tree);
  const backup = file + BACKUP_SUFFIX;
  const existing = existingHook(file);
  let note = '';
  if (existing === 'symlink' || existing === 'other') {
    const what = existing === 'symlink' ? `is a symlink (to ${fs.readlinkSync(file)}); flushcheck never writes through it` : 'exists and was not written by flushcheck (or was edited since)';
    if (!opts.force) throw new UsageError(`${file} ${what}; call flushcheck from it yourself, or pass --force to replace it (it is kept as pre-commit${BACKUP_SUFFIX})`);
    if (fs.lstatSync(backup, { throwIfNoEntry: false })) throw new UsageError(`${backup} already exists; move it away first, so no earlier hook is lost`);
    // rename keeps a symlink as the link itself: its target is never touched.
    fs.renameSync(file, backup);
    note = ` (the previous hook${existing === 'symlink' ? ', a symlink,' : ''} is kept as ${path.basename(backup)})`;
  } else if (existing === 'ours') {
    fs.rmSync(file);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeNewFile(file, hookScript(opts.command, opts.failOn, opts.resident), 0o755, true);
  return `flushcheck: pre-commit hook written to ${file}${note}`;
}

export function uninstallHook(tree: string): string {
  const file = hookPath(tree);
  const existing = existingHook(file);
  if (existing === 'none') return `flushcheck: no pre-commit hook at ${file}`;
  if (existing !== 'ours') throw new UsageError(`${file} was not written by flushcheck${existing === 'symlink' ? ' (it is a symlink)' : ' (or was edited since)'}; remove it yourself if you mean to`);
  fs.rmSync(file);
  if (fs.lstatSync(file + BACKUP_SUFFIX, { throwIfNoEntry: false })) {
    fs.renameSync(file + BACKUP_SUFFIX, file);
    return `flushcheck: pre-commit hook removed; the previous hook is restored at ${file}`;
  }
  return `flushcheck: pre-commit hook removed from ${file}`;
}
