// `flushcheck graph [PATH]`: the call graph of syncs, flushes and the functions that defer them.
import { spawnSync } from 'node:child_process';
import { Command, Option } from 'commander';
import type { CallGraphView, GraphCluster } from '../report/graph.js';
import { escapeControl } from '../report/escape.js';
import { UsageError } from '../errors.js';
import { EXIT_OK, EXIT_USAGE, archOption, checkOutputPath, emit, existingFile, kconfigOption, rulesDirsOf, rulesOption, type CommandContext } from './shared.js';

interface GraphCommandOptions {
  root?: string;
  allowEmpty?: boolean;
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
    .argument('[path]', 'file, folder or glob to show (inside a kernel tree, the whole tree is analysed)')
    .option('--root <dir>', 'top of the tree (default: the kernel tree holding the path, else the current folder or the folder given)')
    .option('--allow-empty', 'exit 0 even when the path holds no function of the graph')
    .addOption(archOption())
    .addOption(kconfigOption())
    .addOption(rulesOption())
    .addOption(new Option('--format <format>', 'output format (svg runs Graphviz dot)').choices(['text', 'dot', 'svg']).default('text'))
    .addOption(new Option('--cluster <by>', 'group nodes per source file or per folder (dot, svg)').choices(['none', 'file', 'folder']).default('none'))
    .option('-o, --output <file>', 'write the graph to a file instead of stdout')
    .allowExcessArguments(false)
    .action(async (path: string | undefined, opts: GraphCommandOptions) => {
      // The tree holding PATH (its kernel tree's top) is analysed: a folder's callers and the rule's definitions are elsewhere; only PATH is shown.
      const { resolveLintTarget } = await import('./target.js');
      const { focusGraph, formatGraphDot, formatGraphText } = await import('../report/graph.js');
      const target = await resolveLintTarget(ctx.cwd, opts.root, path === undefined ? [] : [path], [], { currentFolderAsTree: true });
      const kconfigFile = existingFile(ctx.cwd, opts.kconfig, '--kconfig');
      checkOutputPath(ctx.cwd, opts.output);
      const view = await ctx.deps.buildGraph({ root: target.root, paths: target.paths, arch: opts.arch, kconfigFile, rulesDirs: rulesDirsOf(ctx, opts.rules) });
      const focused = focusGraph(view, target.scope?.include.length ? target.scope.include : undefined);
      const dot = () => formatGraphDot(focused, { cluster: opts.cluster });
      emit(ctx, opts.format === 'svg' ? renderSvg(dot()) : opts.format === 'dot' ? dot() : formatGraphText(focused), opts.output);
      if (focused.nodes.length === 0 && !opts.allowEmpty) {
        const where = path === undefined ? 'the tree' : escapeControl(path);
        ctx.io.stderr.write(`flushcheck: error: the graph of ${where} is empty: ${emptyBecause(view)}; pass --allow-empty to accept that\n`);
        ctx.setExit(EXIT_USAGE);
        return;
      }
      ctx.setExit(EXIT_OK);
    });
}

/**
 * Why nothing is shown. A tree from before the batched-sync series syncs all
 * over, but defines no flush: its rules are inactive, and "no function
 * issues maintenance" would be false there.
 */
function emptyBecause(view: CallGraphView): string {
  if (!view.noRuleApplies?.length) return 'no function there issues, defers or completes DMA cache maintenance';
  // One entry per rule: lint.ts reports each rule inactive once, for the first reason that applies.
  return `no rule applies to this tree (${view.noRuleApplies.map((r) => `${escapeControl(r.ruleId)}: ${escapeControl(r.reason)}`).join('; ')})`;
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
