// What the CLI calls into, gathered so tests can inject stubs (see `main` in run.ts).
// The analysis and the model are imported lazily: a command loads only the code
// it runs (`model` never loads tree-sitter), and tests that inject stubs do not
// load the analysis at all.
import type { LintOptions } from '../lint.js';
import type { CallGraphView } from '../report/graph.js';
import { loadRules } from '../rules/load.js';
import type { LintResult, Rule } from '../types.js';

export type ModelFormat = 'text' | 'json';

export interface CliDeps {
  runLint(opts: LintOptions): Promise<LintResult>;
  buildGraph(opts: LintOptions): Promise<CallGraphView>;
  loadRules(dirs: string[]): Rule[];
  /** Checks cache-model litmus files; `out` receives one line at a time. Resolves to the exit code. */
  runModelCommand(files: string[], format: ModelFormat, out: (line: string) => void): Promise<number>;
}

export const defaultDeps: CliDeps = {
  loadRules,
  async runLint(opts) {
    const { runLint } = await import('../lint.js');
    return runLint(opts);
  },
  async buildGraph(opts) {
    const { buildGraph } = await import('../graph.js');
    return buildGraph(opts);
  },
  async runModelCommand(files, format, out) {
    const { runModelCommand } = await import('../model/index.js');
    return runModelCommand(files, format, out);
  },
};
