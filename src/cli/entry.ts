// The CLI as one module: what dist/cli/main.js runs. The build bundles it, with
// every module it imports, into dist/cli/bundle.cjs (scripts/bundle.mjs), which
// main.ts loads through cli/bundle.ts.
export { main } from './run.js';
export { startCachedDiffEarly } from '../discover/git.js';
