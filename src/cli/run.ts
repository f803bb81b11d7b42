// The flushcheck command line, as a function: argv in, exit code out. main.ts
// wires it to the process; tests call it with buffers and stub dependencies.
// Each command lives in its own file (lint.ts, diff.ts, ...).
//
// Exit codes: 0 no finding at or above --fail-on, 1 some, 2 usage or internal error.
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../rules/paths.js';
import { currentFolder } from '../cwd.js';
import { defaultDeps, type CliDeps } from './deps.js';
import { registerDiff } from './diff.js';
import { registerGraph } from './graph.js';
import { registerHook } from './hook.js';
import { registerLint } from './lint.js';
import { registerModel } from './model.js';
import { registerResident } from './resident.js';
import { registerReview } from './review.js';
import { EXIT_OK, EXIT_USAGE, type CliIO, type CommandContext } from './shared.js';

export type { CliDeps } from './deps.js';
export { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, type CliIO, type TextSink } from './shared.js';
export { resolveLintTarget, resolveScanTarget } from './target.js';

export async function main(argv: string[], io: CliIO, deps: CliDeps = defaultDeps): Promise<number> {
  const env = io.env ?? process.env;
  let exitCode = EXIT_OK;
  let commanderMessage = '';
  const cwd = io.cwd ?? currentFolder();
  if (cwd === null) {
    io.stderr.write(`flushcheck: error: the current folder no longer exists (it was removed or moved); cd into an existing folder, e.g. the kernel tree\n`);
    return EXIT_USAGE;
  }
  const ctx: CommandContext = { io, env, cwd, deps, setExit: (code) => (exitCode = code) };

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
  registerLint(program, ctx);
  registerGraph(program, ctx);
  registerDiff(program, ctx);
  registerHook(program, ctx);
  registerReview(program, ctx);
  registerModel(program, ctx);
  registerResident(program, ctx);

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

/** Class name check rather than instanceof: runLint may throw its own UsageError/RuleError class. */
function isErrorNamed(error: unknown, name: string): boolean {
  return error instanceof Error && (error.name === name || error.constructor.name === name);
}
