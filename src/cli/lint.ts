// `flushcheck lint [PATH...]`: check a tree and report unflushed DMA cache syncs.
import { Command, Option } from 'commander';
import type { LintResult } from '../types.js';
import { escapeControl } from '../report/escape.js';
import {
  EXIT_FINDINGS,
  EXIT_OK,
  EXIT_USAGE,
  archOption,
  checkOutputPath,
  collect,
  emit,
  existingFile,
  failOnOption,
  failsOn,
  jobsOption,
  kconfigOption,
  maxStatesOption,
  noColorOption,
  outputOption,
  rulesDirsOf,
  rulesOption,
  startProgress,
  useColor,
  verboseOption,
  writeDiagnostics,
  type CommandContext,
  type FailOn,
  type ReportFormat,
} from './shared.js';

interface LintCommandOptions {
  root?: string;
  exclude?: string[];
  allowEmpty?: boolean;
  arch: string;
  kconfig?: string;
  rules?: string[];
  format: ReportFormat;
  failOn: FailOn;
  jobs?: number;
  maxStates?: number;
  color: boolean;
  verbose?: boolean;
  terse?: boolean;
  output?: string;
}

export function registerLint(program: Command, ctx: CommandContext): void {
  program
    .command('lint')
    .description('check a kernel tree (or part of one) and report unflushed DMA cache syncs')
    .argument('[paths...]', 'files, folders or globs to report on; inside a kernel tree the whole tree is analysed as context (like make M=)')
    .option('--root <dir>', 'top of the tree (default: the kernel tree holding the paths, else the current folder or the single folder given)')
    .addOption(new Option('--exclude <glob>', 'leave findings in matching files or folders (relative to the top) out of the report (repeatable)').argParser(collect))
    .option('--allow-empty', 'exit 0 even when the paths select nothing to check')
    .addOption(archOption())
    .addOption(kconfigOption())
    .addOption(rulesOption())
    .addOption(failOnOption('exit 1 when a finding has this severity or worse'))
    .addOption(jobsOption())
    .addOption(maxStatesOption())
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'))
    .option('--terse', 'one line per finding (text format)')
    .addOption(noColorOption())
    .addOption(verboseOption())
    .addOption(outputOption())
    .action(async (paths: string[] | undefined, opts: LintCommandOptions) => {
      ctx.setExit(await lintCommand(ctx, paths ?? [], opts));
    });
}

async function lintCommand(ctx: CommandContext, paths: string[], opts: LintCommandOptions): Promise<number> {
  // Everything that can be wrong with the command line fails before the analysis.
  const { resolveLintTarget } = await import('./target.js');
  const target = await resolveLintTarget(ctx.cwd, opts.root, paths, opts.exclude ?? []);
  const rulesDirs = rulesDirsOf(ctx, opts.rules);
  const rules = ctx.deps.loadRules(rulesDirs);
  const kconfigFile = existingFile(ctx.cwd, opts.kconfig, '--kconfig');
  checkOutputPath(ctx.cwd, opts.output);

  const progress = startProgress(ctx.io);
  let result: LintResult;
  try {
    result = await ctx.deps.runLint({
      ...target,
      arch: opts.arch,
      kconfigFile,
      rulesDirs,
      jobs: opts.jobs,
      maxStates: opts.maxStates,
      onProgress: progress.onProgress,
    });
  } finally {
    progress.stop();
  }
  if (opts.format !== 'text') writeDiagnostics(ctx, result, !!opts.verbose);
  // Each command loads only the report it prints.
  const report =
    opts.format === 'json'
      ? (await import('../report/json.js')).formatJson(result)
      : opts.format === 'sarif'
        ? (await import('../report/sarif.js')).formatSarif(result, rules)
        : (await import('../report/text.js')).formatText(result, { color: useColor(ctx, opts), verbose: opts.verbose, terse: opts.terse });
  emit(ctx, report, opts.output);

  const problem = nothingRead(result) ?? (opts.allowEmpty ? null : nothingSelected(result));
  if (problem) {
    ctx.io.stderr.write(`flushcheck: error: ${problem}\n`);
    return EXIT_USAGE;
  }
  return result.findings.some((finding) => failsOn(finding, opts.failOn)) ? EXIT_FINDINGS : EXIT_OK;
}

/** A run that read no file checked nothing: never a clean result. */
function nothingRead(result: LintResult): string | null {
  const { files, unreadable } = result.stats;
  if (files === 0) return 'nothing checked: no .c or .h file of the build found';
  if (unreadable !== undefined && unreadable >= files) return `nothing checked: none of the ${files} files could be read`;
  return null;
}

/**
 * The paths select no function any rule judges (a rule inactive there, or no
 * sync): say so rather than report a clean result.
 */
function nothingSelected(result: LintResult): string | null {
  const scope = result.stats.scope;
  if (!scope || scope.functions > 0) return null;
  const where = scope.paths.length ? scope.paths.map(escapeControl).join(', ') : 'the tree';
  // A rule off for the whole tree is the reason only when nothing anywhere was judged.
  const inactive = [...new Set(result.inactiveRules.map((r) => r.ruleId))];
  const why = result.stats.syncSites === 0 && inactive.length ? ` (inactive in this tree: ${inactive.join(', ')})` : '';
  return `nothing checked under ${where}: no function there issues, defers or completes DMA cache maintenance${why}; pass --allow-empty to accept that`;
}
