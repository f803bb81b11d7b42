// `flushcheck diff [REV | A..B] [--cached]`: the findings a change introduces (and fixes).
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { quoteFileName } from '../report/escape.js';
import type { DiffResult } from '../review/diff.js';
import {
  EXIT_FINDINGS,
  EXIT_OK,
  archOption,
  emit,
  existingFile,
  failOnOption,
  failsOn,
  jobsOption,
  kconfigOption,
  noColorOption,
  outputOption,
  rulesDirsOf,
  rulesOption,
  startProgress,
  useColor,
  verboseOption,
  type CommandContext,
  type FailOn,
  type ReportFormat,
} from './shared.js';

interface DiffCommandOptions {
  cached?: boolean;
  tree?: string;
  showFixed?: boolean;
  arch: string;
  kconfig?: string;
  rules?: string[];
  format: ReportFormat;
  failOn: FailOn;
  jobs?: number;
  cache: boolean;
  color: boolean;
  verbose?: boolean;
  hook?: boolean;
  resident?: boolean;
  output?: string;
}

export function registerDiff(program: Command, ctx: CommandContext): void {
  program
    .command('diff')
    .description('check only what a change does: findings it introduces (and fixes) against a git revision')
    .argument('[rev]', 'base revision (default HEAD; the working tree is checked against it), or A..B to check commit B against A')
    .option('--cached', 'check the index against HEAD (what `git commit` would record): the pre-commit check')
    .option('--tree <dir>', 'the git work tree (default: the current folder)')
    .option('--show-fixed', 'also list the findings the change removes')
    .addOption(archOption())
    .addOption(kconfigOption())
    .addOption(rulesOption())
    .addOption(failOnOption('exit 1 when a new finding has this severity or worse'))
    .addOption(jobsOption())
    .option('--no-cache', 'do not read or write the cache under .git/flushcheck')
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(noColorOption())
    .addOption(verboseOption())
    .option('--hook', 'as the pre-commit hook prints it: one line per new finding, then how to commit anyway')
    .option('--resident', 'run in the resident process (started by the first such run, gone after 15 idle minutes): no node start-up per commit; see `flushcheck resident`')
    .addOption(outputOption())
    .allowExcessArguments(false)
    .action(async (rev: string | undefined, opts: DiffCommandOptions) => {
      ctx.setExit(await diffCommand(ctx, rev, opts));
    });
}

async function diffCommand(ctx: CommandContext, rev: string | undefined, opts: DiffCommandOptions): Promise<number> {
  // Loaded here, not at start-up: a pre-commit hook must not pay for the other commands.
  const { parseDiffTarget, runDiff } = await import('../review/diff.js');
  const rulesDirs = rulesDirsOf(ctx, opts.rules);
  const rules = opts.format === 'sarif' ? ctx.deps.loadRules(rulesDirs) : [];
  const progress = startProgress(ctx.io);
  let diff: DiffResult;
  try {
    diff = await runDiff({
      tree: resolve(ctx.cwd, opts.tree ?? '.'),
      target: parseDiffTarget(rev, !!opts.cached),
      arch: opts.arch,
      kconfigFile: existingFile(ctx.cwd, opts.kconfig, '--kconfig'),
      rulesDirs,
      jobs: opts.jobs,
      noCache: opts.cache === false,
      onProgress: progress.onProgress,
    });
  } finally {
    progress.stop();
  }
  // Only what concerns the change: a pre-commit hook must not repeat the
  // whole tree's diagnostics on every commit (-v shows them all).
  const changed = new Set(diff.changedSources);
  const own = diff.result.stats.diagnostics.filter((d) => opts.verbose || changed.has(d.file));
  for (const diagnostic of own) ctx.io.stderr.write(`flushcheck: ${diagnostic.file}: ${diagnostic.reason}\n`);
  const elsewhere = diff.result.stats.diagnostics.length - own.length;
  if (elsewhere > 0) ctx.io.stderr.write(`flushcheck: ${elsewhere} diagnostic${elsewhere === 1 ? '' : 's'} in files the change does not touch (-v lists them)\n`);
  if (diff.cacheNote) ctx.io.stderr.write(`flushcheck: ${diff.cacheNote}\n`);
  if (diff.untracked.length > 0) {
    const shown = diff.untracked.slice(0, 3).map(quoteFileName).join(', ') + (diff.untracked.length > 3 ? ', ...' : '');
    ctx.io.stderr.write(`flushcheck: ${diff.untracked.length} untracked C file${diff.untracked.length === 1 ? '' : 's'} left out (${shown}); 'git add -N <file>' to check ${diff.untracked.length === 1 ? 'it' : 'them'} too\n`);
  }
  const blocked = diff.result.findings.some((finding) => failsOn(finding, opts.failOn));
  const { formatDiffJson, formatDiffText, formatHookText } = await import('../report/diff.js');
  if (opts.hook && opts.format === 'text') {
    emit(ctx, formatHookText(diff, { color: useColor(ctx, opts), blocked }), opts.output);
    return blocked ? EXIT_FINDINGS : EXIT_OK;
  }
  const report =
    opts.format === 'json'
      ? formatDiffJson(diff)
      : opts.format === 'sarif'
        ? // Every finding of the changed tree, marked new or unchanged, and the fixed ones as absent.
          (await import('../report/sarif.js')).formatSarif({ ...diff.result, findings: [...diff.result.findings, ...diff.unchanged] }, rules, { baseline: { introduced: diff.result.findings, absent: diff.fixed } })
        : formatDiffText(diff, { color: useColor(ctx, opts), verbose: opts.verbose, showFixed: !!opts.showFixed });
  emit(ctx, report, opts.output);
  return blocked ? EXIT_FINDINGS : EXIT_OK;
}
