// `npm run build`: dist/ from src/ alone. dist/ is emptied first, so files of
// modules that moved or were removed (the benchmarks moved to bench/) never
// linger in what the package ships, nor in the digest that names the cache
// folder (src/cache/store.ts toolDigest). The steps' output goes to stderr
// (see build-if-needed.mjs, which runs this script after `npm ci` in a clone).
// 1. tsc: dist/ as modules.
// 2. precompile-validators.mjs: the cache's validators and the bundled rules.
// 3. bundle.mjs: the CLI as one file, validators included (src/cli/bundle.ts
//    says why), and the digest of the built code.
// 4. code-cache.mjs: V8's bytecode for the bundle (none if it cannot be made).
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const codeCache = [fileURLToPath(new URL('code-cache.mjs', import.meta.url))];
const steps = [
  [tsc, '-p', 'tsconfig.build.json'],
  [fileURLToPath(new URL('precompile-validators.mjs', import.meta.url))],
  [fileURLToPath(new URL('bundle.mjs', import.meta.url))],
  codeCache,
];
// The code cache is made without NODE_OPTIONS: V8 keeps the flags it ran with in it, and rejects it under others.
const { NODE_OPTIONS: _flags, ...withoutFlags } = process.env;
for (const args of steps) {
  const env = args === codeCache ? withoutFlags : process.env;
  const run = spawnSync(process.execPath, args, { cwd: root, env, stdio: ['ignore', 2, 2] });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
// The bin runs by its #! line (src/cli/main.ts says why that matters), as npm makes it on install; tsc writes 0644.
chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
