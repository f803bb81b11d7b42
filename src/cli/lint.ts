// `flushcheck lint [PATH...]`: check a tree and report unflushed DMA cache syncs.
import { Command, Option } from 'commander';
import type { LintResult } from '../types.js';
import { formatJson } from '../report/json.js';
import { formatSarif } from '../report/sarif.js';
import { formatText } from '../report/text.js';
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
  resolveScanTarget,
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
  arch: string;
  kconfig?: string;
  rules?: string[];
  format: ReportFormat;
  failOn: FailOn;
  jobs?: number;
  color: boolean;
  verbose?: boolean;
  output?: string;
}

export function registerLint(program: Command, ctx: CommandContext): void {
  program
    .command('lint')
    .description('check a kernel tree (or part of one) and report unflushed DMA cache syncs')
    .argument('[paths...]', 'files or folders to check, relative to --root (default: the whole root)')
    .option('--root <dir>', 'root of the tree; finding paths are relative to it (default: the current folder, or the single folder given)')
    .addOption(archOption())
    .addOption(kconfigOption())
    .addOption(rulesOption())
    .addOption(failOnOption('exit 1 when a finding has this severity or worse'))
    .addOption(jobsOption())
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(noColorOption())
    .addOption(verboseOption())
    .addOption(outputOption())
    .action(async (paths: string[] | undefined, opts: LintCommandOptions) => {
      ctx.setExit(await lintCommand(ctx, paths ?? [], opts));
    });
}

async function lintCommand(ctx: CommandContext, paths: string[], opts: LintCommandOptions): Promise<number> {
  const target = resolveScanTarget(ctx.cwd, opts.root, paths.length > 0 ? paths : ['.']);
  // SARIF describes every rule, so the rules are loaded here too (a broken rule file fails early).
  const rulesDirs = rulesDirsOf(ctx, opts.rules);
  const rules = opts.format === 'sarif' ? ctx.deps.loadRules(rulesDirs) : [];
  const kconfigFile = existingFile(ctx.cwd, opts.kconfig, '--kconfig');
  const progress = startProgress(ctx.io);
  let result: LintResult;
  try {
    result = await ctx.deps.runLint({
      ...target,
      arch: opts.arch,
      kconfigFile,
      rulesDirs,
      jobs: opts.jobs,
      onProgress: progress.onProgress,
    });
  } finally {
    progress.stop();
  }
  writeDiagnostics(ctx, result);
  const report =
    opts.format === 'json'
      ? formatJson(result)
      : opts.format === 'sarif'
        ? formatSarif(result, rules)
        : formatText(result, { color: useColor(ctx, opts), verbose: opts.verbose });
  emit(ctx, report, opts.output);
  return result.findings.some((finding) => failsOn(finding, opts.failOn)) ? EXIT_FINDINGS : EXIT_OK;
}
