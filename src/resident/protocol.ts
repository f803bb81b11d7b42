// What the resident process and its clients share: where the socket is, and
// the messages, one JSON object per line (JSON escapes every newline inside).
//
// One resident process serves one build of flushcheck for one user: the
// socket's name carries the build's code digest, so an upgraded flushcheck
// never talks to a process still running the old code, and the socket lives
// in a folder only that user can enter.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A command to run as if `flushcheck ARGV` had been started in `cwd` with `env`. */
export interface ResidentRequest {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  isTTY: { stdout: boolean; stderr: boolean };
}

export type ResidentControl = { control: 'stop' | 'status' };

export type ResidentReply =
  | { out: string }
  | { err: string }
  | { exit: number }
  /** Not served (another build, a command it does not run): the client runs it itself. */
  | { refused: string }
  | { status: ResidentStatus };

export interface ResidentStatus {
  pid: number;
  startedAt: string;
  requests: number;
  rssMb: number;
  codeDigest: string;
}

/** The commands a resident process runs: the pre-commit check and nothing else. */
export const RESIDENT_COMMANDS = new Set(['diff']);

/** The user's private folder for sockets, made 0700 if missing; null if it is not ours alone (then no resident process is used). */
function privateSocketDir(): string | null {
  const uid = process.getuid?.();
  if (uid === undefined) return null;
  const dir = path.join(os.tmpdir(), `flushcheck-${uid}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return null;
  }
  try {
    const st = fs.lstatSync(dir);
    // Another user's folder, a symlink planted in /tmp, or one others can enter: not used.
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return null;
  } catch {
    return null;
  }
  return dir;
}

/** The socket of the resident process running the build with `codeDigest`. */
function socketPath(dir: string, codeDigest: string): string {
  return path.join(dir, `resident-${codeDigest.slice(0, 16)}.sock`);
}

/**
 * The socket of the resident process for this build and user, with the
 * build's digest; null when there is none to use (run from the sources, or no
 * private folder for it).
 */
export function residentSocket(): { socket: string; digest: string } | null {
  const digest = builtCodeDigest();
  const dir = digest ? privateSocketDir() : null;
  return digest && dir ? { socket: socketPath(dir, digest), digest } : null;
}

/** Splits a byte stream into lines of JSON, calling `onMessage` for each complete one. */
export function messageReader(onMessage: (message: unknown) => void): (chunk: Buffer | string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString();
    for (let eol = pending.indexOf('\n'); eol >= 0; eol = pending.indexOf('\n')) {
      const line = pending.slice(0, eol);
      pending = pending.slice(eol + 1);
      if (line.trim() === '') continue;
      try {
        onMessage(JSON.parse(line));
      } catch {
        onMessage(undefined);
      }
    }
  };
}

export function encode(message: ResidentRequest | ResidentControl | ResidentReply): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Sends `message` on a new connection to `socket` and reads the replies:
 * `onReply` returns what to resolve with, or undefined to read on (undefined
 * reply: a line that is not JSON). A connection that fails or closes first
 * resolves with `ended(connected)`: whether it got as far as connecting.
 */
export function exchange<T>(socket: string, message: ResidentRequest | ResidentControl, onReply: (reply: ResidentReply | undefined) => T | undefined, ended: (connected: boolean) => T): Promise<T> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const settle = (value: T): void => {
      if (settled) return;
      settled = true;
      conn.destroy();
      resolve(value);
    };
    const conn = net.connect(socket);
    conn.once('connect', () => {
      connected = true;
      conn.write(encode(message));
    });
    conn.on(
      'data',
      messageReader((reply) => {
        const value = onReply(reply as ResidentReply | undefined);
        if (value !== undefined) settle(value);
      }),
    );
    conn.on('error', () => settle(ended(connected)));
    conn.on('close', () => settle(ended(connected)));
  });
}

/**
 * The digest of the built code this module belongs to (dist/code-digest.txt,
 * written by the build); null when run from the sources, where there is no
 * build to keep resident.
 */
export function builtCodeDigest(): string | null {
  try {
    const text = fs.readFileSync(new URL('../code-digest.txt', import.meta.url), 'utf8').trim();
    return /^[0-9a-f]{40}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}
