// `flushcheck model FILE...`: check cache-model litmus scenarios and print their verdicts.
import { isAbsolute, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { ModelFormat } from './deps.js';
import type { CommandContext } from './shared.js';

export function registerModel(program: Command, ctx: CommandContext): void {
  program
    .command('model')
    .description('check cache-model litmus scenarios (JSON) and print their verdicts')
    .argument('<files...>', 'litmus files')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (files: string[], opts: { format: ModelFormat }) => {
      // Names stay as typed when they resolve the same way, since the model prints them.
      const asGiven = (file: string) => (isAbsolute(file) || ctx.cwd === process.cwd() ? file : resolve(ctx.cwd, file));
      ctx.setExit(await ctx.deps.runModelCommand(files.map(asGiven), opts.format, (line) => ctx.io.stdout.write(`${line}\n`)));
    });
}
