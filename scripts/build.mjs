// `npm run build`: dist/ from src/ alone. dist/ is emptied first, so files of
// modules that moved or were removed (the benchmarks moved to bench/) never
// linger in what the package ships, nor in the digest that names the cache
// folder (src/cache/store.ts toolDigest). tsc's output goes to stderr (see
// build-if-needed.mjs, which runs this script after `npm ci` in a clone).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: ['ignore', 2, 2] });
if (run.status !== 0) process.exit(run.status ?? 1);
const validators = spawnSync(process.execPath, [fileURLToPath(new URL('precompile-validators.mjs', import.meta.url))], { cwd: root, stdio: ['ignore', 2, 2] });
process.exit(validators.status ?? 1);
