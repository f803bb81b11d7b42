// Build step (after tsc, see build.mjs): the CLI as one CommonJS file,
// dist/cli/bundle.cjs, from dist/cli/entry.js and every module it imports.
// src/cli/bundle.ts says why. The packages it imports are bundled too
// (commander, picomatch, globby and theirs; MIT and ISC, and still installed
// as dependencies): loaded from node_modules, commander and picomatch were
// ~10 ms of every run, and a bundle run by a vm.Script cannot import() an ES
// module (globby is one) without an experimental flag. tree-sitter is native
// and stays in node_modules.
// Each module's import.meta.url becomes the bundle's own URL: the modules find
// shipped files from dist/<folder>/ (../validators/, ../code-digest.txt,
// ../rules/bundled.json), and dist/cli/ is at the same depth.
// The cache's validators (precompile-validators.mjs wrote them before this
// step) are bundled too and registered by key with src/cache/schema-check.ts:
// loaded from their own files, they were compiled anew on every run, outside
// the bundle's code cache.
// Last, the digest of the built code, bundle included, that names the cache
// folder (src/cache/store.ts toolDigest): dist/code-digest.txt.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = new URL('../dist/', import.meta.url);
const outfile = fileURLToPath(new URL('cli/bundle.cjs', dist));
const validators = readdirSync(new URL('validators/', dist)).filter((file) => file.endsWith('.cjs')).sort();
const entry = [
  `require('../cache/schema-check.js').registerPrecompiledValidators({`,
  ...validators.map((file) => `  ${JSON.stringify(file.slice(0, -'.cjs'.length))}: require(${JSON.stringify(`../validators/${file}`)}),`),
  '});',
  "module.exports = require('./entry.js');",
].join('\n');
/** The entry above, as esbuild names it: no file (given on stdin), so not one of the modules the bundle is checked against. */
const ENTRY_NAME = 'dist/cli/bundle-entry.cjs';
const result = await build({
  stdin: { contents: entry, resolveDir: fileURLToPath(new URL('cli/', dist)), sourcefile: 'bundle-entry.cjs', loader: 'js' },
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['tree-sitter', 'tree-sitter-c'],
  define: { 'import.meta.url': '__flushcheckBundleUrl' },
  banner: { js: "const __flushcheckBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'silent',
  metafile: true,
  absWorkingDir: fileURLToPath(new URL('..', import.meta.url)),
});
// The modules it was made from and their sizes: the CLI runs them instead once one changes (src/cli/bundle.ts).
const inputs = Object.keys(result.metafile.inputs)
  .filter((input) => input.startsWith('dist/') && input !== ENTRY_NAME)
  .sort()
  .map((input) => [input.slice('dist/'.length), statSync(fileURLToPath(new URL(input.slice('dist/'.length), dist))).size]);
writeFileSync(fileURLToPath(new URL('cli/bundle.inputs.json', dist)), `${JSON.stringify(inputs)}\n`);
// A warning (an import.meta left over, a require it cannot follow) is a bundle that may not run, and so is
// an import() left in it (see above): the build fails then, and leaves no bundle for the CLI to load.
const problems = result.warnings.map((warning) => `${warning.text}${warning.location ? ` (${warning.location.file}:${warning.location.line})` : ''}`);
const text = readFileSync(outfile, 'utf8');
const dynamicImport = /(?<![\w.$])import\(/.exec(text);
if (dynamicImport) problems.push(`an import() is left in the bundle: ${text.slice(dynamicImport.index, dynamicImport.index + 60)}`);
for (const problem of problems) console.error(`bundle: ${problem}`);
if (problems.length > 0) {
  rmSync(outfile, { force: true });
  process.exit(1);
}
// Not an error: the CLI loads such a bundle too, decoding it as UTF-8 (~8 ms more per run, src/cli/bundle.ts).
const nonAscii = /[^\x00-\x7f]/.exec(text);
if (nonAscii) console.error(`bundle: not all ASCII (${JSON.stringify(text.slice(Math.max(0, nonAscii.index - 30), nonAscii.index + 10))}): it loads slower; esbuild keeps some comments, write them in ASCII`);
const { codeDigestOf } = await import(new URL('cache/store.js', dist));
writeFileSync(new URL('code-digest.txt', dist), `${codeDigestOf(fileURLToPath(dist))}\n`);
