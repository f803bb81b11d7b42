// postinstall: build dist/ after `npm install` or `npm ci` in a clone of the
// repository (a developer's checkout, the pre-commit framework's), and do
// nothing where flushcheck is installed from its package (dist/ is in it,
// src/ and TypeScript are not). tsc's output goes to stderr: tools that read
// npm's stdout (pre-commit reads `npm pack`'s for the tarball name) see none
// of it. This is not a `prepare` script because npm prints a banner for
// those on stdout during `npm pack`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(new URL('../src', import.meta.url))) process.exit(0);
try {
  createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.exit(0); // installed without dev dependencies: nothing to build with
}
const run = spawnSync(process.execPath, [fileURLToPath(new URL('build.mjs', import.meta.url))], { cwd: root, stdio: ['ignore', 2, 2] });
process.exit(run.status ?? 1);
