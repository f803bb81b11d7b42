// Loading the CLI's code. Node 20 loads an ES module file by file (~85 of
// them for a pre-commit `diff --cached`) and compiles each function the first
// time it is called; in a warm diff that was ~100 ms of a ~500 ms run. So the
// build writes the whole CLI as one CommonJS file, dist/cli/bundle.cjs
// (scripts/bundle.mjs), and the bytecode V8 compiled for it while running a
// few commands on the demo tree, dist/cli/bundle.v8cache
// (scripts/code-cache.mjs). Node 20 has no compile cache for ES modules, but
// a vm.Script takes V8's cached data. Without the bundle (tests from src/, a
// dist/ written by tsc alone) the modules are imported as they are, and so
// they are when one of them changed after the bundle was made from it (tsc
// alone, or `tsc --watch`, over a built dist/), with a line saying so.
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

export type CliEntry = typeof import('./entry.js');

export const BUNDLE_FILE = fileURLToPath(new URL('./bundle.cjs', import.meta.url));
export const CODE_CACHE_FILE = fileURLToPath(new URL('./bundle.v8cache', import.meta.url));
/** The modules the bundle was made from, with their sizes (scripts/bundle.mjs writes it). */
export const BUNDLE_INPUTS_FILE = fileURLToPath(new URL('./bundle.inputs.json', import.meta.url));

export interface LoadedBundle {
  entry: CliEntry;
  script: vm.Script;
  /** sha1 of the text compiled (the bundle in its wrapper): the code cache is used only with the text it was made from. */
  sourceDigest: string;
}

/**
 * The CLI: the bundle when the build wrote one, else its modules. A bundle
 * older than one of its modules (changedInput), or one that does not load
 * (damaged), is said in one line to `warn`, and the modules run instead.
 */
export async function loadCli(warn: (line: string) => void, file = BUNDLE_FILE, cacheFile: string | null = CODE_CACHE_FILE, inputsFile = BUNDLE_INPUTS_FILE): Promise<CliEntry> {
  const changed = changedInput(file, inputsFile);
  if (changed) {
    warn(`flushcheck: ${changed} changed after ${file} was built from it; running from the modules instead, slower (npm run build writes the bundle again)\n`);
    return import('./entry.js');
  }
  try {
    const bundle = loadBundle(file, cacheFile);
    if (bundle) return bundle.entry;
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    warn(`flushcheck: ${file} does not load (${reason.split('\n')[0]}); running from the modules instead, slower (npm run build writes the bundle again)\n`);
  }
  return import('./entry.js');
}

/**
 * In a checkout (src/ beside dist/), a module the bundle was made from that
 * changed since (another size, or written after the bundle), or null. tsc
 * alone over a built dist/ (or `tsc --watch`) rewrites modules and leaves the
 * bundle: the older code would run, and the newer none. The inputs file lists
 * each module's path (from dist/) and size: ~90 stat calls, ~2 ms. An
 * installed package has no src/ and no tsc run over it, and npm gives its
 * files the times they were unpacked at, in any order: not checked there.
 */
function changedInput(file: string, inputsFile: string): string | null {
  const top = path.dirname(path.dirname(file));
  if (!fs.existsSync(path.join(top, '..', 'src'))) return null;
  let bundleTime: number;
  let inputs: unknown;
  try {
    bundleTime = fs.statSync(file).mtimeMs;
    inputs = JSON.parse(fs.readFileSync(inputsFile, 'utf8'));
  } catch {
    return null; // no bundle (the modules run), or no list of its modules: nothing to compare
  }
  if (!Array.isArray(inputs)) return inputsFile;
  for (const input of inputs as unknown[]) {
    if (!Array.isArray(input) || typeof input[0] !== 'string' || typeof input[1] !== 'number') return inputsFile;
    const module = path.join(top, input[0]);
    const stat = fs.statSync(module, { throwIfNoEntry: false });
    if (stat && (stat.size !== input[1] || stat.mtimeMs > bundleTime)) return module;
  }
  return null;
}

/** The bundle compiled (with its code cache when that was made from this text) and run; null when there is no bundle. */
export function loadBundle(file = BUNDLE_FILE, cacheFile: string | null = CODE_CACHE_FILE): LoadedBundle | null {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return null;
  }
  // The text V8 compiles, wrapper included, is what the cache must have been made from. Hashed as
  // bytes and, when it is all ASCII (esbuild writes it so), decoded as such: ~3 ms instead of ~11
  // for a UTF-8 decode and a digest of the string.
  const [head, tail] = ['(function (exports, require, module, __filename, __dirname) {', '\n})'];
  const sourceDigest = createHash('sha1').update(head).update(bytes).update(tail).digest('hex');
  const wrapped = head + (isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8')) + tail;
  const script = new vm.Script(wrapped, {
    filename: file,
    cachedData: cacheFile === null ? undefined : codeCacheFor(cacheFile, sourceDigest),
  });
  const module = { exports: {} as CliEntry };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, path.dirname(file));
  return { entry: module.exports, script, sourceDigest };
}

/**
 * What bundle.v8cache holds for a bundle that ran: its text's digest on the
 * first line, then V8's data, which covers every function compiled so far.
 */
export function codeCacheOf(bundle: LoadedBundle): Buffer {
  return Buffer.concat([Buffer.from(`${bundle.sourceDigest}\n`), bundle.script.createCachedData()]);
}

/**
 * V8's data from the code cache file when it was made from the text whose
 * digest is `sourceDigest`. V8 checks its own version and flags (and rejects
 * the data then, compiling as usual) but of the source only its length.
 */
function codeCacheFor(cacheFile: string, sourceDigest: string): Buffer | undefined {
  let data: Buffer;
  try {
    data = fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const header = `${sourceDigest}\n`;
  return data.subarray(0, header.length).toString('latin1') === header ? data.subarray(header.length) : undefined;
}
