// What every command shares: the process's streams and environment, the
// options that decide what is analysed, report output and exit codes.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { InvalidArgumentError, Option } from 'commander';
import type { LintOptions } from '../lint.js';
import type { Finding, LintResult, Severity } from '../types.js';
import type { CliDeps } from './deps.js';
import { UsageError } from '../errors.js';

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

/** Colour only for a terminal on stdout, without -o, and when neither --no-color nor NO_COLOR asks otherwise. */
export function useColor(ctx: CommandContext, opts: { color: boolean; output?: string }): boolean {
  return opts.color && ctx.io.isTTY.stdout && !opts.output && !noColorRequested(ctx.env);
}

/** One line per file that could not be analysed, on stderr: the report on stdout stays parsable. */
export function writeDiagnostics(ctx: CommandContext, result: LintResult): void {
  for (const diagnostic of result.stats.diagnostics) ctx.io.stderr.write(`flushcheck: ${diagnostic.file}: ${diagnostic.reason}\n`);
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
  return new Option('-v, --verbose', 'list every diagnostic in the text report');
}

export function outputOption(): Option {
  return new Option('-o, --output <file>', 'write the report to a file instead of stdout');
}

export function failOnOption(description: string): Option {
  return new Option('--fail-on <severity>', description).choices(['error', 'warning', 'note', 'none']).default('warning');
}

export function jobsOption(): Option {
  return new Option('--jobs <n>', 'worker threads for the scan').argParser(positiveInteger);
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

interface Progress {
  onProgress?: LintOptions['onProgress'];
  stop(): void;
}

/** A progress bar on stderr, only when stderr is a terminal (never in logs or pipes). */
export function startProgress(io: CliIO): Progress {
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
