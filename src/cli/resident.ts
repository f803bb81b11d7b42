// `flushcheck resident serve|status|stop`: the process `diff --resident`
// hands its command to (see src/resident/). `serve` is what the first
// `diff --resident` starts; `status` and `stop` are for people.
import { Command } from 'commander';
import { exchange, residentSocket, type ResidentReply } from '../resident/protocol.js';
import { EXIT_OK, EXIT_USAGE, type CommandContext } from './shared.js';

/** How long the resident process waits for the next request (FLUSHCHECK_RESIDENT_IDLE_MS overrides). */
const DEFAULT_IDLE_MS = 15 * 60 * 1000;

export function registerResident(program: Command, ctx: CommandContext): void {
  const resident = program.command('resident').description('the resident process that serves `diff --resident` (the pre-commit hook) without starting node each time');
  resident
    .command('serve')
    .description('serve `diff --resident` requests until idle (started by the first `diff --resident`)')
    .action(async () => {
      const { serveResident } = await import('../resident/server.js');
      const { main } = await import('./run.js');
      const { rememberStores } = await import('../cache/store.js');
      // Each request still reads the tree and git afresh; the cache's files are read again only once changed on disk.
      rememberStores(true);
      const idle = Number(ctx.env.FLUSHCHECK_RESIDENT_IDLE_MS);
      const served = await serveResident({
        idleMs: Number.isFinite(idle) && idle > 0 ? idle : DEFAULT_IDLE_MS,
        run: (argv, io) => main(argv, io),
      });
      if (!served) ctx.io.stderr.write('flushcheck: resident: another resident process serves this build already, or there is no private folder for its socket\n');
      ctx.setExit(served ? EXIT_OK : EXIT_USAGE);
    });
  for (const control of ['status', 'stop'] as const) {
    resident
      .command(control)
      .description(control === 'status' ? 'say whether a resident process serves this build, and its size' : 'stop the resident process of this build')
      .action(async () => {
        const reply = await askControl(control);
        if (!reply) {
          ctx.io.stdout.write('no resident process serves this build of flushcheck\n');
        } else if ('status' in reply) {
          const s = reply.status;
          ctx.io.stdout.write(`resident process ${s.pid}, started ${s.startedAt}, ${s.requests} request${s.requests === 1 ? '' : 's'} served, ${s.rssMb} MB resident\n`);
        } else {
          ctx.io.stdout.write('resident process stopped\n');
        }
        ctx.setExit(EXIT_OK);
      });
  }
}

function askControl(control: 'status' | 'stop'): Promise<ResidentReply | null> {
  const socket = residentSocket()?.socket;
  if (!socket) return Promise.resolve(null);
  return exchange<ResidentReply | null>(socket, { control }, (reply) => reply ?? null, () => null);
}
