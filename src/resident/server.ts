// The resident process: `flushcheck diff --resident` hands its command to it
// over a Unix socket instead of starting node, loading the code and warming
// the JIT each time (a pre-commit hook runs on every commit).
//
// It runs each request exactly as a new process would: the client's argv,
// working folder and environment (GIT_DIR, GIT_INDEX_FILE...) are put in
// place for the request, one request at a time (a client arriving meanwhile
// is sent away to run its command itself), and its output and exit code go
// back to the client. Nothing is kept between requests but loaded code and
// the cache's files (cache/store.ts rememberStores, read again once changed on
// disk): every run reads the tree and git afresh. It leaves when idle,
// when asked, or at the first request after its build has changed on disk.
import fs from 'node:fs';
import net from 'node:net';
import {
  RESIDENT_COMMANDS,
  builtCodeDigest,
  encode,
  messageReader,
  residentSocket,
  type ResidentReply,
  type ResidentRequest,
} from './protocol.js';

export interface RequestIO {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  isTTY: { stdout: boolean; stderr: boolean };
  env: Record<string, string>;
  cwd: string;
}

export interface ServeOptions {
  /** Runs one command (cli/run.ts's main). */
  run(argv: string[], io: RequestIO): Promise<number>;
  /** Leave after this long without a request. */
  idleMs: number;
}

/** Listens until idle, stopped or outdated. Resolves false when another resident process already serves this build (or no private folder exists). */
export async function serveResident(opts: ServeOptions): Promise<boolean> {
  const resident = residentSocket();
  if (!resident) return false;
  const { socket, digest } = resident;
  const server = net.createServer();
  if (!(await listen(server, socket))) return false;
  const socketInode = fs.statSync(socket).ino;

  const started = new Date();
  let requests = 0;
  let busy = false;
  let idle: NodeJS.Timeout | undefined;
  let closing = false;
  const close = (): void => {
    if (closing) return;
    closing = true;
    server.close();
    // Only our own socket: a successor may already have replaced it.
    try {
      if (fs.statSync(socket).ino === socketInode) fs.rmSync(socket, { force: true });
    } catch {
      // Gone already.
    }
  };
  const armIdle = (): void => {
    clearTimeout(idle);
    if (!closing) idle = setTimeout(close, opts.idleMs);
  };
  armIdle();
  // Killed or hung up on: the socket goes with us (a later one would be replaced anyway).
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      close();
      process.exit(0);
    });
  }

  /** Why a request is sent back to run in the client's own process, or null. */
  const refusalOf = (request: ResidentRequest | null): string | null => {
    if (!request) return 'not a request';
    // One at a time: a request owns the process's folder and environment
    // while it runs. Another one meanwhile (a second repository's commit)
    // runs in its own process rather than wait behind it.
    if (busy) return 'busy with another request';
    if (closing) return 'stopping';
    if (builtCodeDigest() !== digest) {
      close();
      return 'flushcheck was rebuilt or upgraded since this resident process started';
    }
    return null;
  };

  /** One message of a client: a control (status, stop) or a command to run. */
  const onMessage = (message: unknown, reply: (m: ResidentReply) => void, end: () => void): void => {
    const control = (message as { control?: string } | undefined)?.control;
    if (control === 'status') {
      reply({ status: { pid: process.pid, startedAt: started.toISOString(), requests, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20), codeDigest: digest } });
      return end();
    }
    if (control === 'stop') {
      reply({ exit: 0 });
      end();
      return close();
    }
    const request = asRequest(message);
    const refusal = refusalOf(request);
    if (refusal || !request) {
      reply({ refused: refusal ?? 'not a request' });
      return end();
    }
    busy = true;
    requests++;
    clearTimeout(idle);
    void runAsRequested(request, opts.run, reply).then((exit) => {
      reply({ exit });
      end();
      busy = false;
      armIdle();
    });
  };

  server.on('connection', (conn) => {
    conn.on('error', () => {}); // a client gone mid-reply (Ctrl-C) is not our failure
    const reply = (message: ResidentReply): void => {
      if (!conn.destroyed) conn.write(encode(message));
    };
    conn.on('data', messageReader((message) => onMessage(message, reply, () => conn.end())));
  });
  await new Promise<void>((resolve) => server.on('close', resolve));
  clearTimeout(idle);
  return true;
}

/** Binds `socket`, replacing a stale one (no process behind it); false when a live resident process holds it. */
async function listen(server: net.Server, socket: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      server.once('error', resolve);
      server.listen(socket, () => resolve(null));
    });
    if (!error) return true;
    if (error.code !== 'EADDRINUSE' || (await isLive(socket))) return false;
    fs.rmSync(socket, { force: true });
  }
  return false;
}

function isLive(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socket);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function asRequest(message: unknown): ResidentRequest | null {
  const m = message as Partial<ResidentRequest> | undefined;
  if (!m || !Array.isArray(m.argv) || !m.argv.every((a) => typeof a === 'string') || typeof m.cwd !== 'string') return null;
  if (!m.env || typeof m.env !== 'object' || !m.isTTY) return null;
  if (!RESIDENT_COMMANDS.has(m.argv[0] ?? '')) return null;
  return { argv: m.argv, cwd: m.cwd, env: Object.fromEntries(Object.entries(m.env).filter(([, v]) => typeof v === 'string')), isTTY: { stdout: !!m.isTTY.stdout, stderr: !!m.isTTY.stderr } };
}

/** Runs the request with the client's folder and environment in place, and restores ours after. */
async function runAsRequested(request: ResidentRequest, run: ServeOptions['run'], reply: (m: ResidentReply) => void): Promise<number> {
  const ownEnv = { ...process.env };
  const ownCwd = process.cwd();
  replaceEnv(request.env);
  try {
    process.chdir(request.cwd);
    return await run(request.argv, {
      stdout: { write: (chunk: string) => reply({ out: chunk }) },
      stderr: { write: (chunk: string) => reply({ err: chunk }) },
      // A progress bar needs a real terminal to draw on: none through the socket.
      isTTY: { stdout: request.isTTY.stdout, stderr: false },
      env: request.env,
      cwd: request.cwd,
    });
  } catch (e) {
    reply({ err: `flushcheck: error: ${(e as Error).message}\n` });
    return 2;
  } finally {
    replaceEnv(ownEnv as Record<string, string>);
    try {
      process.chdir(ownCwd);
    } catch {
      // Our folder was removed meanwhile; the next request sets its own.
    }
  }
}

function replaceEnv(env: Record<string, string>): void {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
}
