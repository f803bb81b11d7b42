// `flushcheck graph [PATH]`: the call graph of syncs, flushes and the functions that defer them.
import { Command, Option } from 'commander';
import { formatGraphDot, formatGraphText } from '../report/graph.js';
import { EXIT_OK, archOption, emit, existingFile, kconfigOption, resolveScanTarget, rulesDirsOf, rulesOption, type CommandContext } from './shared.js';

interface GraphCommandOptions {
  root?: string;
  arch: string;
  kconfig?: string;
  rules?: string[];
  format: 'text' | 'dot';
  output?: string;
}

export function registerGraph(program: Command, ctx: CommandContext): void {
  program
    .command('graph')
    .description("print the call graph around the rules' calls")
    .argument('[path]', 'file or folder to graph, relative to --root')
    .option('--root <dir>', 'root of the tree (default: the current folder, or the folder given)')
    .addOption(archOption())
    .addOption(kconfigOption())
    .addOption(rulesOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'dot']).default('text'))
    .option('-o, --output <file>', 'write the graph to a file instead of stdout')
    .allowExcessArguments(false)
    .action(async (path: string | undefined, opts: GraphCommandOptions) => {
      const view = await ctx.deps.buildGraph({
        ...resolveScanTarget(ctx.cwd, opts.root, [path ?? '.']),
        arch: opts.arch,
        kconfigFile: existingFile(ctx.cwd, opts.kconfig, '--kconfig'),
        rulesDirs: rulesDirsOf(ctx, opts.rules),
      });
      emit(ctx, opts.format === 'dot' ? formatGraphDot(view) : formatGraphText(view), opts.output);
      ctx.setExit(EXIT_OK);
    });
}
