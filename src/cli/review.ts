// `flushcheck review SERIES --tree DIR`: apply a series patch by patch and report what each introduces and fixes.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { ReviewResult } from '../review/types.js';
import { MAX_INPUT_BYTES } from '../patch/mbox.js';
import { escapeControl, quoteFileName } from '../report/escape.js';
import { UsageError } from '../errors.js';
import {
  EXIT_FINDINGS,
  EXIT_OK,
  EXIT_USAGE,
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
  format: 'text' | 'markdown' | 'json' | 'sarif';
  reply?: string;
  from?: string;
  signature?: string;
  failOn: FailOn;
  allowInactive?: boolean;
  jobs?: number;
  cache: boolean;
  color: boolean;
  output?: string;
}

export function registerReview(program: Command, ctx: CommandContext): void {
  program
    .command('review')
    .description('apply a patch series patch by patch and report what each patch introduces and fixes')
    .argument('<series>', 'an mbox file (b4 am), a folder of git format-patch files, a git range A..B in --tree, or - for standard input')
    .requiredOption('--tree <dir>', 'the kernel tree the series applies to (never modified); a git repository only if it is the top of one')
    .option('--keep-going', 'after a patch that does not apply, apply the rest without it')
    .addOption(archOption())
    .addOption(kconfigOption())
    .addOption(rulesOption())
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'markdown', 'json', 'sarif']).default('text'))
    .option('--reply <dir>', 'also write one RFC 5322 reply per patch with findings into this folder (new, or holding only earlier replies)')
    .option('--from <address>', "From: of the replies (default: git's user.name and user.email)")
    .option('--signature <text>', 'signature appended to the replies')
    .addOption(failOnOption('exit 1 when a patch introduces a finding of this severity or worse'))
    .option('--allow-inactive', 'exit 0/1 even when no rule is active on the tree (default: exit 2, nothing was judged)')
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
  // Loaded here, not at start-up: the other commands do not pay for them.
  const [{ formatReviewJson, formatReviewMarkdown, formatReviewSarif, formatReviewText }, { formatReplies }, { gitIdentity, writeReplies }, { runReview }] = await Promise.all([
    import('../report/review.js'),
    import('../report/reply.js'),
    import('../review/replies.js'),
    import('../review/review.js'),
  ]);
  const tree = resolve(cwd, opts.tree);
  // The reply's From is settled before the (long) review, so a missing identity fails fast.
  const from = opts.reply !== undefined ? (opts.from ?? gitIdentity(tree)) : undefined;
  if (opts.reply !== undefined && !from) {
    throw new UsageError("--reply needs a From: address; pass --from 'Name <you@example.org>' or set git's user.name and user.email");
  }
  const seriesPath = resolve(cwd, seriesInput);
  const review = await runReview({
    series: seriesInput === '-' ? '-' : existsSync(seriesPath) ? seriesPath : seriesInput,
    seriesText: seriesInput === '-' ? await readStandardInput(ctx) : undefined,
    tree,
    keepGoing: !!opts.keepGoing,
    arch: opts.arch,
    kconfigFile: existingFile(cwd, opts.kconfig, '--kconfig'),
    rulesDirs: rulesDirsOf(ctx, opts.rules),
    jobs: opts.jobs,
    noCache: opts.cache === false,
    onPatch: io.isTTY.stderr
      ? (p, total) => io.stderr.write(`flushcheck: [${p.index}/${total}] ${p.applied ? 'applied' : p.error ? 'did not apply' : 'skipped'}: ${escapeControl(p.subject)}\n`)
      : undefined,
  });
  const color = useColor(ctx, opts);
  const report =
    opts.format === 'json'
      ? formatReviewJson(review)
      : opts.format === 'markdown'
        ? formatReviewMarkdown(review)
        : opts.format === 'sarif'
          ? formatReviewSarif(review, ctx.deps.loadRules(rulesDirsOf(ctx, opts.rules)))
          : formatReviewText(review, { color });
  emit(ctx, report, opts.output);
  if (opts.reply !== undefined) {
    const replies = formatReplies(review, { from: from!, signature: opts.signature });
    const dir = writeReplies(resolve(cwd, opts.reply), replies, opts.reply);
    io.stderr.write(`flushcheck: ${replies.length} repl${replies.length === 1 ? 'y' : 'ies'} written to ${quoteFileName(dir)}\n`);
    for (const p of review.patches) {
      if (p.introduced.length > 0 && !p.patch.messageId) {
        io.stderr.write(`flushcheck: warning: ${escapeControl(p.label)} has no Message-ID: its reply has no In-Reply-To and will not thread under the patch\n`);
      }
    }
  }
  return exitCode(ctx, review, opts);
}

/** 2 when the review could not judge the series (a patch not applied, no active rule); 1 for findings at --fail-on. */
function exitCode(ctx: CommandContext, review: ReviewResult, opts: ReviewCommandOptions): number {
  const unapplied = review.patches.filter((p) => !p.applied);
  if (unapplied.length > 0) {
    const first = unapplied[0]!;
    ctx.io.stderr.write(
      `flushcheck: error: ${unapplied.length} of ${review.patches.length} patches not applied (${escapeControl(first.label)}: ${escapeControl(first.error ?? first.skipped ?? 'not tried')}); the series was not reviewed whole\n`,
    );
    return EXIT_USAGE;
  }
  if (review.activeRules === 0 && !opts.allowInactive) {
    ctx.io.stderr.write('flushcheck: error: no rule is active on this tree, so no patch was judged; pass --allow-inactive to accept that\n');
    return EXIT_USAGE;
  }
  const introduced = review.patches.flatMap((p) => p.introduced);
  return introduced.some((finding) => failsOn(finding, opts.failOn)) ? EXIT_FINDINGS : EXIT_OK;
}

/** The whole of standard input (b4 am -o - ... | flushcheck review -), refused past the series size limit. */
async function readStandardInput(ctx: CommandContext): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.io.stdin ?? process.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > MAX_INPUT_BYTES) throw new UsageError(`standard input: over ${MAX_INPUT_BYTES} bytes; not a patch series`);
    chunks.push(buffer);
  }
  if (size === 0) throw new UsageError('standard input is empty; pipe a series in (b4 am -o - MSGID | flushcheck review - --tree .)');
  return Buffer.concat(chunks);
}
