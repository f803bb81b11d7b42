// `flushcheck review SERIES --tree DIR`: apply a series patch by patch and report what each introduces and fixes.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { formatReviewJson, formatReviewMarkdown, formatReviewText } from '../report/review.js';
import { formatReplies } from '../report/reply.js';
import { runReview } from '../review/review.js';
import { UsageError } from '../errors.js';
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
  useColor,
  type CommandContext,
  type FailOn,
} from './shared.js';

interface ReviewCommandOptions {
  tree: string;
  keepGoing?: boolean;
  arch: string;
  kconfig?: string;
  rules?: string[];
  format: 'text' | 'markdown' | 'json';
  reply?: string;
  from: string;
  signature?: string;
  failOn: FailOn;
  jobs?: number;
  cache: boolean;
  color: boolean;
  output?: string;
}

export function registerReview(program: Command, ctx: CommandContext): void {
  program
    .command('review')
    .description('apply a patch series patch by patch and report what each patch introduces and fixes')
    .argument('<series>', 'an mbox file (b4 am), a folder of git format-patch files, or a git range A..B in --tree')
    .requiredOption('--tree <dir>', 'the kernel tree the series applies to (never modified)')
    .option('--keep-going', 'after a patch that does not apply, apply the rest without it')
    .addOption(archOption())
    .addOption(kconfigOption())
    .addOption(rulesOption())
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'markdown', 'json']).default('text'))
    .option('--reply <dir>', 'also write one RFC 5322 reply per patch with findings into this folder')
    .option('--from <address>', 'From: of the replies', 'flushcheck <flushcheck@localhost>')
    .option('--signature <text>', 'signature appended to the replies')
    .addOption(failOnOption('exit 1 when a patch introduces a finding of this severity or worse'))
    .addOption(jobsOption())
    .option('--no-cache', 'do not read or write the cache under .git/flushcheck')
    .addOption(noColorOption())
    .addOption(outputOption())
    .allowExcessArguments(false)
    .action(async (series: string, opts: ReviewCommandOptions) => {
      ctx.setExit(await reviewCommand(ctx, series, opts));
    });
}

async function reviewCommand(ctx: CommandContext, seriesInput: string, opts: ReviewCommandOptions): Promise<number> {
  const { io, cwd } = ctx;
  const seriesPath = resolve(cwd, seriesInput);
  const review = await runReview({
    series: existsSync(seriesPath) ? seriesPath : seriesInput,
    tree: resolve(cwd, opts.tree),
    keepGoing: !!opts.keepGoing,
    arch: opts.arch,
    kconfigFile: existingFile(cwd, opts.kconfig, '--kconfig'),
    rulesDirs: rulesDirsOf(ctx, opts.rules),
    jobs: opts.jobs,
    noCache: opts.cache === false,
    onPatch: io.isTTY.stderr ? (p, total) => io.stderr.write(`flushcheck: [${p.index}/${total}] ${p.applied ? 'applied' : p.error ? 'did not apply' : 'skipped'}: ${p.subject}\n`) : undefined,
  });
  const color = useColor(ctx, opts);
  const report = opts.format === 'json' ? formatReviewJson(review) : opts.format === 'markdown' ? formatReviewMarkdown(review) : formatReviewText(review, { color });
  emit(ctx, report, opts.output);
  if (opts.reply !== undefined) {
    const dir = resolve(cwd, opts.reply);
    const replies = formatReplies(review, { from: opts.from, signature: opts.signature });
    try {
      mkdirSync(dir, { recursive: true });
      for (const reply of replies) writeFileSync(resolve(dir, reply.fileName), reply.text);
    } catch (error) {
      throw new UsageError(`--reply ${opts.reply}: cannot write: ${(error as Error).message}; pass a writable folder`);
    }
    io.stderr.write(`flushcheck: ${replies.length} repl${replies.length === 1 ? 'y' : 'ies'} written to ${dir}\n`);
  }
  const introduced = review.patches.flatMap((p) => p.introduced);
  return introduced.some((finding) => failsOn(finding, opts.failOn)) ? EXIT_FINDINGS : EXIT_OK;
}
