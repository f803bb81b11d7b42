// `flushcheck graph [PATH]`: the call graph of syncs, flushes and the functions that defer them.
import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { Command, Option } from 'commander';
import { focusGraph, formatGraphDot, formatGraphText, type GraphCluster } from '../report/graph.js';
import { UsageError } from '../errors.js';
import { EXIT_OK, archOption, emit, existingFile, kconfigOption, resolveScanTarget, rulesDirsOf, rulesOption, type CommandContext } from './shared.js';

interface GraphCommandOptions {
  root?: string;
  arch: string;
  kconfig?: string;
  rules?: string[];
  format: 'text' | 'dot' | 'svg';
  cluster: GraphCluster;
  output?: string;
}

export function registerGraph(program: Command, ctx: CommandContext): void {
  program
    .command('graph')
    .description("print the call graph around the rules' calls")
    .argument('[path]', 'file or folder to show, relative to --root (the whole tree is analysed)')
    .option('--root <dir>', 'root of the tree (default: the current folder, or the folder given)')
    .addOption(archOption())
    .addOption(kconfigOption())
    .addOption(rulesOption())
    .addOption(new Option('--format <format>', 'output format (svg runs Graphviz dot)').choices(['text', 'dot', 'svg']).default('text'))
    .addOption(new Option('--cluster <by>', 'group nodes per source file or per folder (dot, svg)').choices(['none', 'file', 'folder']).default('none'))
    .option('-o, --output <file>', 'write the graph to a file instead of stdout')
    .allowExcessArguments(false)
    .action(async (path: string | undefined, opts: GraphCommandOptions) => {
      const target = resolveScanTarget(ctx.cwd, opts.root, [path ?? '.']);
      // The whole tree is analysed (a folder's callers and the rule's definitions are elsewhere); only PATH is shown.
      const view = await ctx.deps.buildGraph({
        root: target.root,
        arch: opts.arch,
        kconfigFile: existingFile(ctx.cwd, opts.kconfig, '--kconfig'),
        rulesDirs: rulesDirsOf(ctx, opts.rules),
      });
      const focused = focusGraph(view, target.paths?.map((p) => relative(target.root, p).split('\\').join('/')));
      const dot = () => formatGraphDot(focused, { cluster: opts.cluster });
      emit(ctx, opts.format === 'svg' ? renderSvg(dot()) : opts.format === 'dot' ? dot() : formatGraphText(focused), opts.output);
      ctx.setExit(EXIT_OK);
    });
}

/** Graphviz's dot turns the DOT text into SVG; a clear message when it is not installed. */
function renderSvg(dot: string): string {
  const run = spawnSync('dot', ['-Tsvg'], { input: dot, maxBuffer: 256 * 1024 * 1024 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new UsageError("--format svg needs Graphviz's dot on PATH (Debian: apt-get install graphviz); or use --format dot and render it elsewhere");
  }
  if (run.error) throw new UsageError(`cannot run dot: ${run.error.message}`);
  if (run.status !== 0) throw new UsageError(`dot failed: ${run.stderr.toString('utf8').trim().split('\n').pop() ?? `exit ${run.status}`}`);
  return run.stdout.toString('utf8');
}
