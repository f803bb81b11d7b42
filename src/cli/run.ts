// The flushcheck command line, as a function: argv in, exit code out. main.ts
// wires it to the process; tests call it with buffers and stub dependencies.
//
// Exit codes: 0 no finding at or above --fail-on, 1 some, 2 usage or internal error.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { LintOptions } from '../lint.js';
import { formatGraphDot, formatGraphText } from '../report/graph.js';
import { formatJson } from '../report/json.js';
import { formatSarif } from '../report/sarif.js';
import { formatText } from '../report/text.js';
import { formatDiffJson, formatDiffText } from '../report/diff.js';
import { formatReviewJson, formatReviewMarkdown, formatReviewText } from '../report/review.js';
import { formatReplies } from '../report/reply.js';
import { parseDiffTarget, runDiff, type DiffResult } from '../review/diff.js';
import { runReview } from '../review/review.js';
import { hookCommand, installHook, uninstallHook } from './hook.js';
import { packageVersion } from '../rules/paths.js';
import type { Finding, LintResult, Severity } from '../types.js';
import { defaultDeps, type CliDeps, type ModelFormat } from './deps.js';
import { UsageError } from './errors.js';

export type { CliDeps } from './deps.js';

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

/** Where text output goes: process.stdout/stderr, or a buffer in tests. */
export interface TextSink {
  write(chunk: string): unknown;
}

export interface CliIO {
  stdout: TextSink;
  stderr: TextSink;
  /** Colour needs a terminal on stdout; the progress bar needs one on stderr. */
  isTTY: { stdout: boolean; stderr: boolean };
  /** Defaults to process.env (read for NO_COLOR and FLUSHCHECK_DEBUG). */
  env?: Record<string, string | undefined>;
  /** Defaults to process.cwd(). */
  cwd?: string;
}

type ReportFormat = 'text' | 'json' | 'sarif';
type FailOn = Severity | 'none';

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
  output?: string;
}

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

interface GraphCommandOptions {
  root?: string;
  arch: string;
  kconfig?: string;
  rules?: string[];
  format: 'text' | 'dot';
  output?: string;
}

const SEVERITY_RANK: Record<Severity, number> = { note: 0, warning: 1, error: 2 };

export async function main(argv: string[], io: CliIO, deps: CliDeps = defaultDeps): Promise<number> {
  const env = io.env ?? process.env;
  const cwd = io.cwd ?? process.cwd();
  let exitCode = EXIT_OK;
  let commanderMessage = '';

  const program = new Command('flushcheck')
    .description('Prove that every arm64 DMA cache sync is completed by arch_sync_dma_flush() on every feasible path.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Printed by us in the catch below, in flushcheck's own one-line format.
      outputError: (text) => {
        commanderMessage = text;
      },
    });

  program
    .command('lint')
    .description('check a kernel tree (or part of one) and report unflushed DMA cache syncs')
    .argument('[paths...]', 'files or folders to check, relative to --root (default: the whole root)')
    .option('--root <dir>', 'root of the tree; finding paths are relative to it (default: the current folder, or the single folder given)')
    .addOption(archOption())
    .addOption(kconfigOption())
    .addOption(rulesOption())
    .addOption(failOnOption('exit 1 when a finding has this severity or worse'))
    .option('--jobs <n>', 'worker threads for the scan', positiveInteger)
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(noColorOption())
    .addOption(verboseOption())
    .addOption(outputOption())
    .action(async (paths: string[] | undefined, opts: LintCommandOptions) => {
      exitCode = await lintCommand(paths ?? [], opts);
    });

  program
    .command('graph')
    .description('print the call graph around the rules\' calls')
    .argument('[path]', 'file or folder to graph, relative to --root')
    .option('--root <dir>', 'root of the tree (default: the current folder, or the folder given)')
    .addOption(archOption())
    .addOption(kconfigOption())
    .addOption(rulesOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'dot']).default('text'))
    .option('-o, --output <file>', 'write the graph to a file instead of stdout')
    .allowExcessArguments(false)
    .action(async (path: string | undefined, opts: GraphCommandOptions) => {
      exitCode = await graphCommand(path, opts);
    });

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
    .option('--jobs <n>', 'worker threads for the scan', positiveInteger)
    .option('--no-cache', 'do not read or write the cache under .git/flushcheck')
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(noColorOption())
    .addOption(verboseOption())
    .addOption(outputOption())
    .allowExcessArguments(false)
    .action(async (rev: string | undefined, opts: DiffCommandOptions) => {
      exitCode = await diffCommand(rev, opts);
    });

  const hook = program.command('hook').description('install flushcheck as a git pre-commit hook');
  hook
    .command('install')
    .description('write .git/hooks/pre-commit running `flushcheck diff --cached`')
    .option('--tree <dir>', 'the git work tree (default: the current folder)')
    .option('--force', 'replace a pre-commit hook flushcheck did not write (it is kept as pre-commit.flushcheck-backup)')
    .addOption(new Option('--fail-on <severity>', 'severity that blocks the commit').choices(['error', 'warning', 'note']).default('warning'))
    .action((opts: { tree?: string; force?: boolean; failOn: Severity }) => {
      const result = installHook({ tree: resolve(cwd, opts.tree ?? '.'), force: !!opts.force, failOn: opts.failOn, command: hookCommand() });
      io.stdout.write(`${result}\n`);
      exitCode = EXIT_OK;
    });
  hook
    .command('uninstall')
    .description('remove the pre-commit hook flushcheck wrote (and restore a backed-up one)')
    .option('--tree <dir>', 'the git work tree (default: the current folder)')
    .action((opts: { tree?: string }) => {
      io.stdout.write(`${uninstallHook(resolve(cwd, opts.tree ?? '.'))}\n`);
      exitCode = EXIT_OK;
    });

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
    .option('--jobs <n>', 'worker threads for the scan', positiveInteger)
    .option('--no-cache', 'do not read or write the cache under .git/flushcheck')
    .addOption(noColorOption())
    .addOption(outputOption())
    .allowExcessArguments(false)
    .action(async (series: string, opts: ReviewCommandOptions) => {
      exitCode = await reviewCommand(series, opts);
    });

  program
    .command('model')
    .description('check cache-model litmus scenarios (JSON) and print their verdicts')
    .argument('<files...>', 'litmus files')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (files: string[], opts: { format: ModelFormat }) => {
      // Names stay as typed when they resolve the same way, since the model prints them.
      const asGiven = (file: string) => (isAbsolute(file) || cwd === process.cwd() ? file : resolve(cwd, file));
      exitCode = await deps.runModelCommand(
        files.map(asGiven),
        opts.format,
        (line) => io.stdout.write(`${line}\n`),
      );
    });

  async function lintCommand(paths: string[], opts: LintCommandOptions): Promise<number> {
    const target = resolveScanTarget(cwd, opts.root, paths.length > 0 ? paths : ['.']);
    // SARIF describes every rule, so the rules are loaded here too (a broken rule file fails early).
    const rulesDirs = (opts.rules ?? []).map((dir) => resolve(cwd, dir));
    const rules = opts.format === 'sarif' ? deps.loadRules(rulesDirs) : [];
    const kconfigFile = existingFile(cwd, opts.kconfig, '--kconfig');
    const progress = startProgress(io);
    let result: LintResult;
    try {
      result = await deps.runLint({
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
    writeDiagnostics(result);

    const color = opts.color && io.isTTY.stdout && !opts.output && !noColorRequested(env);
    const report =
      opts.format === 'json'
        ? formatJson(result)
        : opts.format === 'sarif'
          ? formatSarif(result, rules)
          : formatText(result, { color, verbose: opts.verbose });
    emit(report, opts.output);
    return result.findings.some((finding) => failsOn(finding, opts.failOn)) ? EXIT_FINDINGS : EXIT_OK;
  }

  async function graphCommand(path: string | undefined, opts: GraphCommandOptions): Promise<number> {
    const view = await deps.buildGraph({
      ...resolveScanTarget(cwd, opts.root, [path ?? '.']),
      arch: opts.arch,
      kconfigFile: existingFile(cwd, opts.kconfig, '--kconfig'),
      rulesDirs: (opts.rules ?? []).map((dir) => resolve(cwd, dir)),
    });
    emit(opts.format === 'dot' ? formatGraphDot(view) : formatGraphText(view), opts.output);
    return EXIT_OK;
  }

  async function diffCommand(rev: string | undefined, opts: DiffCommandOptions): Promise<number> {
    const rulesDirs = (opts.rules ?? []).map((dir) => resolve(cwd, dir));
    const rules = opts.format === 'sarif' ? deps.loadRules(rulesDirs) : [];
    const progress = startProgress(io);
    let diff: DiffResult;
    try {
      diff = await runDiff({
        tree: resolve(cwd, opts.tree ?? '.'),
        target: parseDiffTarget(rev, !!opts.cached),
        arch: opts.arch,
        kconfigFile: existingFile(cwd, opts.kconfig, '--kconfig'),
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
    for (const diagnostic of own) io.stderr.write(`flushcheck: ${diagnostic.file}: ${diagnostic.reason}\n`);
    const elsewhere = diff.result.stats.diagnostics.length - own.length;
    if (elsewhere > 0) io.stderr.write(`flushcheck: ${elsewhere} diagnostic${elsewhere === 1 ? '' : 's'} in files the change does not touch (-v lists them)\n`);
    if (diff.cacheNote) io.stderr.write(`flushcheck: ${diff.cacheNote}\n`);
    const color = opts.color && io.isTTY.stdout && !opts.output && !noColorRequested(env);
    const report =
      opts.format === 'json'
        ? formatDiffJson(diff)
        : opts.format === 'sarif'
          ? formatSarif(diff.result, rules)
          : formatDiffText(diff, { color, verbose: opts.verbose, showFixed: !!opts.showFixed });
    emit(report, opts.output);
    return diff.result.findings.some((finding) => failsOn(finding, opts.failOn)) ? EXIT_FINDINGS : EXIT_OK;
  }

  async function reviewCommand(seriesInput: string, opts: ReviewCommandOptions): Promise<number> {
    const seriesPath = resolve(cwd, seriesInput);
    const review = await runReview({
      series: existsSync(seriesPath) ? seriesPath : seriesInput,
      tree: resolve(cwd, opts.tree),
      keepGoing: !!opts.keepGoing,
      arch: opts.arch,
      kconfigFile: existingFile(cwd, opts.kconfig, '--kconfig'),
      rulesDirs: (opts.rules ?? []).map((dir) => resolve(cwd, dir)),
      jobs: opts.jobs,
      noCache: opts.cache === false,
      onPatch: io.isTTY.stderr ? (p, total) => io.stderr.write(`flushcheck: [${p.index}/${total}] ${p.applied ? 'applied' : p.error ? 'did not apply' : 'skipped'}: ${p.subject}\n`) : undefined,
    });
    const color = opts.color && io.isTTY.stdout && !opts.output && !noColorRequested(env);
    const report = opts.format === 'json' ? formatReviewJson(review) : opts.format === 'markdown' ? formatReviewMarkdown(review) : formatReviewText(review, { color });
    emit(report, opts.output);
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

  /** One line per file that could not be analysed, on stderr: the report on stdout stays parsable. */
  function writeDiagnostics(result: LintResult): void {
    for (const diagnostic of result.stats.diagnostics) io.stderr.write(`flushcheck: ${diagnostic.file}: ${diagnostic.reason}\n`);
  }

  function emit(text: string, outputFile: string | undefined): void {
    if (outputFile === undefined) {
      io.stdout.write(text);
      return;
    }
    const target = resolve(cwd, outputFile);
    try {
      writeFileSync(target, text);
    } catch (error) {
      throw new UsageError(`cannot write ${outputFile}: ${(error as Error).message}; pass an -o path in a writable folder`);
    }
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help, --version and `help` end with exit code 0; anything else is a usage error.
      if (error.exitCode === 0) return EXIT_OK;
      if (commanderMessage !== '') {
        const reason = commanderMessage.trim().replace(/^error: /, '');
        const command = program.commands.find((c) => c.name() === argv[0]);
        const help = command ? `flushcheck ${command.name()} --help` : 'flushcheck --help';
        io.stderr.write(`flushcheck: error: ${reason} (see '${help}')\n`);
      }
      return EXIT_USAGE;
    }
    if (isErrorNamed(error, 'UsageError') || isErrorNamed(error, 'RuleError') || isErrorNamed(error, 'PatchParseError')) {
      const problems = (error as { problems?: unknown }).problems;
      const lines = Array.isArray(problems) ? problems.map(String) : (error as Error).message.split('\n');
      for (const line of lines) io.stderr.write(`flushcheck: error: ${line}\n`);
      return EXIT_USAGE;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`flushcheck: error: ${message} (internal error; rerun with FLUSHCHECK_DEBUG=1 for a stack trace)\n`);
    if (env.FLUSHCHECK_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return EXIT_USAGE;
  }
}

/**
 * Decides the scanned root and the paths under it.
 * - `--root` given: paths are relative to it and must stay inside it.
 * - no `--root`: the current folder is the root when every path is inside it
 *   (`flushcheck lint drivers/iommu` in a kernel tree); a single path outside it
 *   becomes the root itself (`flushcheck lint /some/tree`), so findings are
 *   relative to the scanned folder.
 * `paths` is omitted when the only path is the root; otherwise paths are absolute.
 */
export function resolveScanTarget(cwd: string, rootOption: string | undefined, paths: string[]): Pick<LintOptions, 'root' | 'paths'> {
  const base = rootOption === undefined ? cwd : resolve(cwd, rootOption);
  if (rootOption !== undefined && !isDirectory(base)) {
    throw new UsageError(`--root ${rootOption}: not a folder; pass the top of the tree to check`);
  }
  const absolute = paths.map((path) => {
    const full = resolve(base, path);
    if (!existsSync(full)) {
      throw new UsageError(`${path}: no such file or folder${isAbsolute(path) ? '' : ` in ${base}`}`);
    }
    return full;
  });

  let root = base;
  if (rootOption === undefined && !absolute.every((path) => isInside(cwd, path))) {
    if (absolute.length !== 1) {
      throw new UsageError('paths lie outside the current folder; pass --root DIR with a folder that holds them all');
    }
    root = isDirectory(absolute[0]) ? absolute[0] : dirname(absolute[0]);
  }
  for (const [i, path] of absolute.entries()) {
    if (!isInside(root, path)) {
      throw new UsageError(`${paths[i]} is outside the root ${root}; pass a --root that contains it`);
    }
  }
  return absolute.length === 1 && absolute[0] === root ? { root } : { root, paths: absolute };
}

function isInside(dir: string, path: string): boolean {
  const fromDir = relative(dir, path);
  return fromDir === '' || (!fromDir.startsWith('..') && !isAbsolute(fromDir));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function existingFile(cwd: string, file: string | undefined, option: string): string | undefined {
  if (file === undefined) return undefined;
  const full = resolve(cwd, file);
  if (!existsSync(full)) throw new UsageError(`${option} ${file}: no such file; pass the path of an existing file (relative to ${cwd}), or leave ${option} out`);
  return full;
}

function failsOn(finding: Finding, failOn: FailOn): boolean {
  return failOn !== 'none' && SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[failOn];
}

/** https://no-color.org: set and non-empty disables colour. */
function noColorRequested(env: Record<string, string | undefined>): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}

/** The options every analysing command takes: they decide what is built and which rules run. */
function archOption(): Option {
  return new Option('--arch <name>', 'target architecture').default('arm64');
}

function kconfigOption(): Option {
  return new Option('--kconfig <file>', 'kernel .config used to evaluate #if CONFIG_*');
}

function rulesOption(): Option {
  return new Option('--rules <dir>', 'extra rules folder (repeatable)').argParser(collect);
}

function noColorOption(): Option {
  return new Option('--no-color', 'never colour the text report');
}

function verboseOption(): Option {
  return new Option('-v, --verbose', 'list every diagnostic in the text report');
}

function outputOption(): Option {
  return new Option('-o, --output <file>', 'write the report to a file instead of stdout');
}

function failOnOption(description: string): Option {
  return new Option('--fail-on <severity>', description).choices(['error', 'warning', 'note', 'none']).default('warning');
}

/** Repeatable option; no commander default, so help does not print `(default: [])`. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

/** Class name check rather than instanceof: runLint may throw its own UsageError/RuleError class. */
function isErrorNamed(error: unknown, name: string): boolean {
  return error instanceof Error && (error.name === name || error.constructor.name === name);
}

interface Progress {
  onProgress?: LintOptions['onProgress'];
  stop(): void;
}

/** A progress bar on stderr, only when stderr is a terminal (never in logs or pipes). */
function startProgress(io: CliIO): Progress {
  if (!io.isTTY.stderr) return { stop() {} };
  const bar = new SingleBar(
    {
      stream: io.stderr as NodeJS.WritableStream,
      format: 'flushcheck {phase} [{bar}] {value}/{total}',
      clearOnComplete: true,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress(phase, done, total) {
      // Fixed width so the bar does not jump between phases.
      const payload = { phase: phase.padEnd(7) };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
