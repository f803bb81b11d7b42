#!/bin/sh
// 2>/dev/null; n=$(nproc 2>/dev/null) || n=2; case $n in '' | *[!0-9]*) n=2 ;; esac; p=$((n > 4 ? 4 : n > 1 ? n - 1 : 1)); case " $NODE_OPTIONS " in *' --v8-pool-size'*) p= ;; esac; case ${NODE_EXTRA_CA_CERTS+set} in set) export FLUSHCHECK_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS ;; *) unset FLUSHCHECK_NODE_EXTRA_CA_CERTS ;; esac; exec node ${p:+--v8-pool-size=$p} "$0" "$@"
// Entry point of the `flushcheck` bin: all logic is in run.ts so tests can call it.
//
// The first two lines are for the shell that runs the bin (a line comment to
// node, which skips the #! line): `//` fails quietly as a command, then node
// is started with V8's thread pool at one thread fewer than the cores
// (at least 1, at most node's default of 4), unless NODE_OPTIONS sets it.
// Node's pool is 4 threads whatever the cores; on a 2-core machine the
// optimizing compiler's background jobs then take the main thread's core
// while it analyses: a cold lint of linux-7.2 spent ~230 ms more wall time
// and ~300 ms more CPU with 4 than with 1 (docs/speed-log.md, "V8's thread pool").
// The shell also hides NODE_EXTRA_CA_CERTS from that node: node reads and
// parses every certificate the file names when it starts, before any code
// runs, TLS or not (~40 ms per start on the bench machine, which sets it:
// `node -e 0` 65 ms with it, 26 without), and flushcheck opens no TLS
// connection. The value is passed on as FLUSHCHECK_NODE_EXTRA_CA_CERTS and
// put back below, first thing, so the processes flushcheck starts (git, the
// resident process) see the environment as it was.
// `node dist/cli/main.js` runs the same code with node's default pool.
// `diff --resident` first offers its command to the resident process (see
// src/resident/), before the rest of the code is loaded; otherwise the CLI is
// loaded as the build bundled it (see bundle.ts).
import { loadCli } from './bundle.js';
import { currentFolder } from '../cwd.js';

// What the #! line hid from node (see above), put back for the processes flushcheck starts.
const extraCaCerts = process.env.FLUSHCHECK_NODE_EXTRA_CA_CERTS;
if (extraCaCerts !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = extraCaCerts;
  delete process.env.FLUSHCHECK_NODE_EXTRA_CA_CERTS;
}

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
// The command is done (`resident serve` too: it returns once it stopped
// serving). Exit once what it wrote has gone out, not when node's event loop
// is empty and node has taken its heap apart: after a lint of linux-7.2 that
// was another 45-65 ms between the report and the end of the process (cold
// lint 1,760 -> 1,680 ms, 13 interleaved runs).
const written = (stream: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => stream.write('', () => resolve()));
await Promise.all([written(process.stdout), written(process.stderr)]);
process.exit(served);
