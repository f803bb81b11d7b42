#!/usr/bin/env node
// Entry point of the `flushcheck` bin: all logic is in run.ts so tests can call it.
// `diff --resident` first offers its command to the resident process (see
// src/resident/), before the rest of the code is loaded; otherwise the CLI is
// loaded as the build bundled it (see bundle.ts).
import { loadCli } from './bundle.js';
import { currentFolder } from '../cwd.js';

// `flushcheck lint | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const argv = process.argv.slice(2);
const io = {
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: { stdout: Boolean(process.stdout.isTTY), stderr: Boolean(process.stderr.isTTY) },
};

let served: number | null = null;
if (argv[0] === 'diff' && argv.includes('--cached') && !argv.includes('--resident')) {
  // The hook's first git questions, asked while the CLI loads (see discover/git.ts).
  const { earlyCommandsRegistered, startCachedDiffEarly } = await import('../discover/git.js');
  // A current folder removed meanwhile: no early question (run.ts says what is wrong).
  const here = currentFolder();
  if (here !== null) void startCachedDiffEarly(here);
  // Loading the CLI blocks node's event loop for ~40 ms: with the rev-parse
  // answered first (a few ms), git's diff-index runs meanwhile instead of after.
  await earlyCommandsRegistered();
}
if (argv[0] === 'diff' && argv.includes('--resident')) {
  const { runThroughResident } = await import('../resident/client.js');
  served = await runThroughResident(argv, io);
}
if (served === null) {
  const cli = await loadCli((line) => io.stderr.write(line));
  served = await cli.main(argv, io);
}
process.exitCode = served;
