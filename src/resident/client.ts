// The client side of `--resident`: hand the command to the resident process
// (resident/server.ts) and print what it answers. Kept small on purpose: it
// runs before anything else is loaded, so a served command costs node's start
// and a socket round trip.
//
// Whenever the command is not served (no resident process yet, another
// build's, a crash mid-request), the caller runs it itself, so `--resident`
// never changes a result, only where it is computed; the first run also
// starts the resident process for the next ones.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exchange, residentSocket, type ResidentReply, type ResidentRequest } from './protocol.js';
import { currentFolder } from '../cwd.js';

export interface ClientIO {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  isTTY: { stdout: boolean; stderr: boolean };
}

/** The exit code of the command as served, or null when the caller must run it itself. */
export async function runThroughResident(argv: string[], io: ClientIO): Promise<number | null> {
  // FLUSHCHECK_* settings are read when the code loads: a resident process started with others would ignore them.
  if (Object.keys(process.env).some((k) => k.startsWith('FLUSHCHECK_'))) return null;
  const socket = residentSocket()?.socket;
  // No current folder (removed meanwhile): run here, where the CLI says so.
  const cwd = currentFolder();
  if (!socket || cwd === null) return null;
  const request: ResidentRequest = {
    argv,
    cwd,
    env: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string')),
    isTTY: io.isTTY,
  };
  const answer = await ask(socket, request);
  if (answer === 'absent') {
    startResident();
    return null;
  }
  if (answer === 'refused') return null;
  // Printed only once complete: a request cut short is run again here, not printed twice.
  for (const [stream, chunk] of answer.output) (stream === 'out' ? io.stdout : io.stderr).write(chunk);
  return answer.exit;
}

type Answer = 'absent' | 'refused' | { exit: number; output: ['out' | 'err', string][] };

function ask(socket: string, request: ResidentRequest): Promise<Answer> {
  const output: ['out' | 'err', string][] = [];
  const onReply = (reply: ResidentReply | undefined): Answer | undefined => {
    if (!reply) return 'refused';
    if ('out' in reply) output.push(['out', reply.out]);
    else if ('err' in reply) output.push(['err', reply.err]);
    else if ('exit' in reply) return { exit: reply.exit, output };
    else return 'refused';
    return undefined;
  };
  // Nothing listening (ENOENT, ECONNREFUSED): start one. Cut off mid-way: run it here.
  return exchange<Answer>(socket, request, onReply, (connected) => (connected ? 'refused' : 'absent'));
}

/** Starts `flushcheck resident serve` detached from this process (in /, so it holds no tree's folder), its output discarded. */
function startResident(): void {
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  try {
    const child = spawn(process.execPath, [cli, 'resident', 'serve'], { detached: true, stdio: 'ignore', cwd: '/' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // Cannot start one (process limits): every run stays in-process.
  }
}
