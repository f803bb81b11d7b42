// Build step (last, see build.mjs): dist/cli/bundle.v8cache, the bytecode V8
// compiled for dist/cli/bundle.cjs while the bundle ran the commands a
// developer runs most, on a copy of the demo tree in a temporary git
// repository: a lint, a cold and a warm `diff --cached` (the pre-commit
// hook's command). src/cli/bundle.ts loads it. Without git, or if a command
// fails, no cache is written and the CLI compiles as it runs: slower, the same
// results. `node scripts/code-cache.mjs [FILE]` writes FILE instead (tests).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The build may run inside a git hook (the pre-commit framework installs flushcheck during a commit, and a
// hook may run `npm test`): git's GIT_DIR, GIT_INDEX_FILE and the like would then point every git command
// here, and the bundle's, at the repository being committed to. Nor does the builder's git configuration
// (hooks, templates, signing) apply to the temporary repository.
for (const key of Object.keys(process.env)) if (key.startsWith('GIT_')) delete process.env[key];
Object.assign(process.env, { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TEMPLATE_DIR: '' });

const dist = new URL('../dist/', import.meta.url);
const bundleModule = new URL('cli/bundle.js', dist);
const { BUNDLE_FILE, CODE_CACHE_FILE, loadBundle, codeCacheOf } = await import(bundleModule);
const out = process.argv[2] ? path.resolve(process.argv[2]) : CODE_CACHE_FILE;
fs.rmSync(out, { force: true });

const quiet = { write: () => true };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-code-cache-'));
const home = process.cwd();
try {
  fs.cpSync(fileURLToPath(new URL('../demo/', import.meta.url)), work, { recursive: true });
  const git = (...args) =>
    execFileSync('git', ['-c', 'user.name=flushcheck build', '-c', 'user.email=build@flushcheck.invalid', '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null', ...args], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'pipe'],
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
  fs.writeFileSync(out, codeCacheOf(bundle));
  // V8 rejects data made under other flags: NODE_OPTIONS or node flags at build time would make a cache no plain
  // `flushcheck` uses, and nothing would say so.
  const { NODE_OPTIONS: _flags, ...plain } = process.env;
  const check = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import { loadBundle } from ${JSON.stringify(bundleModule.href)}; process.stdout.write(String(loadBundle(${JSON.stringify(BUNDLE_FILE)}, ${JSON.stringify(out)}).script.cachedDataRejected));`],
    { env: plain, encoding: 'utf8' },
  );
  if (check.stdout !== 'false') {
    fs.rmSync(out, { force: true });
    throw new Error(`a plain node rejects it (${check.stdout || check.stderr.trim().split('\n')[0]}): was this build run with node flags or NODE_OPTIONS?`);
  }
} catch (error) {
  console.error(`code cache: not written (${error instanceof Error ? error.message : String(error)}); the CLI compiles as it runs`);
} finally {
  process.chdir(home);
  fs.rmSync(work, { recursive: true, force: true });
}
