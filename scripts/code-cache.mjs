// Build step (last, see build.mjs): dist/cli/bundle.v8cache, the bytecode V8
// compiled for dist/cli/bundle.cjs while the bundle ran the commands a
// developer runs most, on a copy of the demo tree in a temporary git
// repository: a lint, a cold and a warm `diff --cached` (the pre-commit
// hook's command). src/cli/bundle.ts loads it. Without git, or if a command
// fails, no cache is written and the CLI compiles as it runs: slower, the same
// results.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
const { BUNDLE_FILE, CODE_CACHE_FILE, loadBundle, codeCacheOf } = await import(new URL('cli/bundle.js', dist));
fs.rmSync(CODE_CACHE_FILE, { force: true });

const quiet = { write: () => true };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-code-cache-'));
const home = process.cwd();
try {
  fs.cpSync(fileURLToPath(new URL('../demo/', import.meta.url)), work, { recursive: true });
  // A repository of its own, whatever the builder's git configuration says (hooks, templates, signing).
  const git = (...args) =>
    execFileSync('git', ['-c', 'user.name=flushcheck build', '-c', 'user.email=build@flushcheck.invalid', '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null', ...args], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TEMPLATE_DIR: '' },
    });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '--no-verify', '-m', 'demo');
  const bundle = loadBundle(BUNDLE_FILE, null);
  if (!bundle) throw new Error(`no ${BUNDLE_FILE}`);
  process.chdir(work);
  // `expected`: the demo's one finding makes lint exit 1; a diff whose change adds none exits 0. Any
  // other code is a command that did not run as it does for users.
  const run = async (expected, ...argv) => {
    const code = await bundle.entry.main(argv, { stdout: quiet, stderr: quiet, isTTY: { stdout: false, stderr: false }, cwd: work, env: {} });
    if (code !== expected) throw new Error(`flushcheck ${argv.join(' ')} exited ${code}, not ${expected}`);
  };
  const ring = path.join(work, 'drivers/net/ethernet/acme/acme_ring.c');
  const stage = (n) => {
    fs.appendFileSync(ring, `/* change ${n} */\n`);
    git('add', ring);
  };
  await run(1, 'lint', '.', '--format', 'json');
  stage(1);
  await run(0, 'diff', '--cached');
  stage(2);
  await run(0, 'diff', '--cached', '--format', 'json');
  fs.writeFileSync(CODE_CACHE_FILE, codeCacheOf(bundle));
} catch (error) {
  console.error(`code cache: not written (${error instanceof Error ? error.message : String(error)}); the CLI compiles as it runs`);
} finally {
  process.chdir(home);
  fs.rmSync(work, { recursive: true, force: true });
}
