// The CLI as one module: what dist/cli/main.js runs. The build bundles it, with
// every module it imports, into dist/cli/bundle.cjs (scripts/bundle.mjs), which
// main.ts loads through cli/bundle.ts. (main.ts asks the hook's first git
// questions itself, from discover/git.js, before it loads the bundle.)
export { main } from './run.js';
