// What every command shares: the process's streams and environment, the
// options that decide what is analysed, report output and exit codes.
import { accessSync, constants, existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { isDirectory } from '../discover/tree-top.js';
import type { LintOptions } from '../lint.js';
import type { Finding, LintResult, Severity } from '../types.js';
import type { CliDeps } from './deps.js';
import { UsageError } from '../errors.js';
import { escapeControl, quoteFileName } from '../report/escape.js';

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
  /** Standard input, for commands that read `-` (review); defaults to process.stdin. */
  stdin?: AsyncIterable<Buffer | string>;
}

export type ReportFormat = 'text' | 'json' | 'sarif';
export type FailOn = Severity | 'none';

/** What a command's action needs from the run: streams, folders, dependencies, and where its exit code goes. */
export interface CommandContext {
  io: CliIO;
  env: Record<string, string | undefined>;
  cwd: string;
  deps: CliDeps;
  setExit(code: number): void;
}

const SEVERITY_RANK: Record<Severity, number> = { note: 0, warning: 1, error: 2 };

export function failsOn(finding: Finding, failOn: FailOn): boolean {
  return failOn !== 'none' && SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[failOn];
}

/** https://no-color.org: set and non-empty disables colour. */
export function noColorRequested(env: Record<string, string | undefined>): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}

/** Colour only for a terminal on stdout that can show it (not TERM=dumb), without -o, and when neither --no-color nor NO_COLOR asks otherwise. */
export function useColor(ctx: CommandContext, opts: { color: boolean; output?: string }): boolean {
  return opts.color && ctx.io.isTTY.stdout && !opts.output && !noColorRequested(ctx.env) && ctx.env.TERM !== 'dumb';
}

/**
 * Files that could not be analysed, for reports that are not text (JSON and
 * SARIF carry them too): a count on stderr, or with -v one line each. The
 * text report prints them itself, once.
 */
export function writeDiagnostics(ctx: CommandContext, result: LintResult, verbose: boolean): void {
  const { diagnostics } = result.stats;
  if (verbose) {
    for (const diagnostic of diagnostics) ctx.io.stderr.write(`flushcheck: ${quoteFileName(diagnostic.file)}: ${escapeControl(diagnostic.reason)}\n`);
  } else if (diagnostics.length) {
    ctx.io.stderr.write(`flushcheck: ${diagnostics.length} file${diagnostics.length === 1 ? ' or function' : 's or functions'} not fully analysed (-v lists them)\n`);
  }
}

/**
 * Fails before any analysis when the -o file cannot be written: its folder
 * must exist and be writable, and the file must not be a folder.
 */
export function checkOutputPath(cwd: string, outputFile: string | undefined): void {
  if (outputFile === undefined) return;
  const target = resolve(cwd, outputFile);
  const folder = dirname(target);
  const problem = !isDirectory(folder)
    ? `folder ${folder} does not exist`
    : isDirectory(target)
      ? 'it is a folder'
      : !isWritable(existsSync(target) ? target : folder)
        ? `${existsSync(target) ? 'the file' : `folder ${folder}`} is not writable`
        : null;
  if (problem) throw new UsageError(`cannot write ${outputFile}: ${problem}; pass an -o path in a writable folder`);
}

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The report to stdout, or to the -o file. */
export function emit(ctx: CommandContext, text: string, outputFile: string | undefined): void {
  if (outputFile === undefined) {
    ctx.io.stdout.write(text);
    return;
  }
  const target = resolve(ctx.cwd, outputFile);
  try {
    writeFileSync(target, text);
  } catch (error) {
    throw new UsageError(`cannot write ${outputFile}: ${(error as Error).message}; pass an -o path in a writable folder`);
  }
}

export function rulesDirsOf(ctx: CommandContext, rules: string[] | undefined): string[] {
  return (rules ?? []).map((dir) => resolve(ctx.cwd, dir));
}

export function existingFile(cwd: string, file: string | undefined, option: string): string | undefined {
  if (file === undefined) return undefined;
  const full = resolve(cwd, file);
  if (!existsSync(full)) throw new UsageError(`${option} ${file}: no such file; pass the path of an existing file (relative to ${cwd}), or leave ${option} out`);
  return full;
}

/** The options every analysing command takes: they decide what is built and which rules run. */
export function archOption(): Option {
  return new Option('--arch <name>', 'target architecture').default('arm64');
}

export function kconfigOption(): Option {
  return new Option('--kconfig <file>', 'kernel .config used to evaluate #if CONFIG_*');
}

export function rulesOption(): Option {
  return new Option('--rules <dir>', 'extra rules folder (repeatable)').argParser(collect);
}

export function noColorOption(): Option {
  return new Option('--no-color', 'never colour the text report');
}

export function verboseOption(): Option {
  return new Option('-v, --verbose', 'full messages, the cache-model timeline and every diagnostic');
}

export function outputOption(): Option {
  return new Option('-o, --output <file>', 'write the report to a file instead of stdout');
}

/** The path budget (abstract states per CFG node) before an analysis merges conditions. */
export function maxStatesOption(): Option {
  return new Option('--max-states <n>', 'path budget per CFG node before conditions are merged (default 48)').argParser(positiveInteger);
}

export function failOnOption(description: string): Option {
  return new Option('--fail-on <severity>', description).choices(['error', 'warning', 'note', 'none']).default('warning');
}

export function jobsOption(): Option {
  return new Option('--jobs <n>', `worker threads for the scan (at most the ${availableParallelism()} cores)`).argParser(jobsCount);
}

/** More threads than cores only cost memory (each worker holds a scratch buffer). */
function jobsCount(value: string): number {
  return Math.min(positiveInteger(value), availableParallelism());
}

/** Repeatable option; no commander default, so help does not print `(default: [])`. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

interface Progress {
  onProgress?: LintOptions['onProgress'];
  stop(): void;
}

/** A progress bar on stderr, only when stderr is a terminal (never in logs or pipes). */
export function startProgress(io: CliIO): Progress {
  if (!io.isTTY.stderr) return { stop() {} };
  const { Presets, SingleBar } = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
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
