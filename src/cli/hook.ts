// `flushcheck hook install|uninstall`: the git pre-commit hook running `diff --cached`.
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { hookCommand, installHook, uninstallHook } from '../review/hook.js';
import type { Severity } from '../types.js';
import { EXIT_OK, type CommandContext } from './shared.js';

export function registerHook(program: Command, ctx: CommandContext): void {
  const hook = program.command('hook').description('install flushcheck as a git pre-commit hook');
  hook
    .command('install')
    .description('write .git/hooks/pre-commit running `flushcheck diff --cached`')
    .option('--tree <dir>', 'the git work tree (default: the current folder)')
    .option('--force', 'replace a pre-commit hook flushcheck did not write (it is kept as pre-commit.flushcheck-backup)')
    .addOption(new Option('--fail-on <severity>', 'severity that blocks the commit').choices(['error', 'warning', 'note']).default('warning'))
    .option('--resident', 'the hook runs `diff --resident`: a resident process (gone after 15 idle minutes) saves node start-up on each commit')
    .action((opts: { tree?: string; force?: boolean; failOn: Severity; resident?: boolean }) => {
      const result = installHook({ tree: resolve(ctx.cwd, opts.tree ?? '.'), force: !!opts.force, failOn: opts.failOn, command: hookCommand(), resident: !!opts.resident });
      ctx.io.stdout.write(`${result}\n`);
      ctx.setExit(EXIT_OK);
    });
  hook
    .command('uninstall')
    .description('remove the pre-commit hook flushcheck wrote (and restore a backed-up one)')
    .option('--tree <dir>', 'the git work tree (default: the current folder)')
    .action((opts: { tree?: string }) => {
      ctx.io.stdout.write(`${uninstallHook(resolve(ctx.cwd, opts.tree ?? '.'))}\n`);
      ctx.setExit(EXIT_OK);
    });
}
