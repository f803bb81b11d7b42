// Fuzz: random damage to the fixture sources (fixtures/lint/**/*.c|h) must
// never make the linter throw or hang, and the JSON report must stay JSON.
//
// Deterministic: iteration i of a run uses the PRNG seeded with (seed + i), so
// a failure names its seed and replays alone with
//   FLUSHCHECK_FUZZ_SEED=<seed> FLUSHCHECK_FUZZ_RUNS=1 npx vitest run test/unit/fuzz.test.ts
// FLUSHCHECK_FUZZ_RUNS sets the number of iterations (default 150).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runLint } from '../../src/lint.js';
import { formatJson } from '../../src/report/json.js';
import { formatText } from '../../src/report/text.js';
import { deleteSpan, int, prng } from './support/fuzz.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/lint/', import.meta.url));
const BASE_SEED = Number(process.env.FLUSHCHECK_FUZZ_SEED ?? 20_261_121);
const RUNS = Number(process.env.FLUSHCHECK_FUZZ_RUNS ?? 150);
/** Generous per-iteration guard: a fixture lints in tens of ms. */
const ITERATION_TIMEOUT_MS = 20_000;


/** Root-relative .c/.h files, sorted (readdir order is not portable). */
function sourcesUnder(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourcesUnder(root, full));
    else if (/\.[ch]$/.test(entry.name)) out.push(path.relative(root, full));
  }
  return out.sort();
}

const cases = fs
  .readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

const SNIPPETS = ['{', '}', '(', ')', '{{{{', '))))', '#if 0\n', '#endif\n', '#ifdef CONFIG_X\n', '/*', '*/', '"', "'", '\\\n', ';', 'for_each_sg(sg, s, n, i)', 'goto out;', 'out:', 'return -EINVAL;'];

type Mutation = (buf: Buffer, rnd: () => number) => Buffer;


const MUTATIONS: Record<string, Mutation> = {
  deleteSpan,
  insertGarbage(buf, rnd) {
    const at = int(rnd, buf.length + 1);
    const junk = Buffer.alloc(1 + int(rnd, 64));
    for (let i = 0; i < junk.length; i++) junk[i] = int(rnd, 256); // NULs and non-UTF-8 bytes too
    return Buffer.concat([buf.subarray(0, at), junk, buf.subarray(at)]);
  },
  insertSnippet(buf, rnd) {
    const at = int(rnd, buf.length + 1);
    const snippet = SNIPPETS[int(rnd, SNIPPETS.length)].repeat(1 + int(rnd, 3));
    return Buffer.concat([buf.subarray(0, at), Buffer.from(snippet), buf.subarray(at)]);
  },
  unbalance(buf, rnd) {
    // Drop or add one bracket of each kind somewhere.
    const out = Buffer.from(buf);
    const brackets = [0x7b, 0x7d, 0x28, 0x29];
    const positions = [...out.keys()].filter((i) => brackets.includes(out[i]));
    if (positions.length > 0) out[positions[int(rnd, positions.length)]] = 0x20;
    return Buffer.concat([out, Buffer.from(rnd() < 0.5 ? '{' : '(')]);
  },
  deepNest(buf, rnd) {
    const at = int(rnd, buf.length + 1);
    const n = 1 + int(rnd, 3000);
    const open = rnd() < 0.5 ? '(' : '{';
    const close = rnd() < 0.5 ? (open === '(' ? ')' : '}') : '';
    return Buffer.concat([buf.subarray(0, at), Buffer.from(open.repeat(n) + 'x' + close.repeat(n)), buf.subarray(at)]);
  },
  deepExpression(buf, rnd) {
    // Just inside an existing '(' (a call's arguments or a condition), so the
    // lowering and the condition reasoning see it, not only the parser.
    const opens = [...buf.keys()].filter((i) => buf[i] === 0x28);
    const at = opens.length > 0 ? opens[int(rnd, opens.length)] + 1 : int(rnd, buf.length + 1);
    const n = 4000 + int(rnd, 8000); // the old recursive lowering overflowed the stack from about 4,000
    const shapes = [
      () => '('.repeat(n) + 'x' + ')'.repeat(n),
      () => '!'.repeat(n) + 'x',
      () => 'x && '.repeat(n) + 'x',
      () => '(T)'.repeat(n) + 'x',
      () => 'f('.repeat(n) + 'x' + ')'.repeat(n),
      () => 'x->'.repeat(n) + 'y',
    ];
    return Buffer.concat([buf.subarray(0, at), Buffer.from(shapes[int(rnd, shapes.length)]()), buf.subarray(at)]);
  },
  duplicateSpan(buf, rnd) {
    const from = int(rnd, buf.length + 1);
    const span = buf.subarray(from, from + int(rnd, 400));
    const at = int(rnd, buf.length + 1);
    return Buffer.concat([buf.subarray(0, at), span, buf.subarray(at)]);
  },
  truncate(buf, rnd) {
    return buf.subarray(0, int(rnd, buf.length + 1));
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe(`fuzz: mutated fixtures (seed ${BASE_SEED}, ${RUNS} runs)`, () => {
  for (let i = 0; i < RUNS; i++) {
    const seed = BASE_SEED + i;
    it(`seed ${seed}`, async () => {
      const rnd = prng(seed);
      const fixture = cases[int(rnd, cases.length)];
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-fuzz-'));
      tempDirs.push(root);
      fs.cpSync(path.join(FIXTURES, fixture), root, { recursive: true });
      const expectation = JSON.parse(fs.readFileSync(path.join(root, 'expect.json'), 'utf8')) as { options?: { arch?: string; kconfig?: string } };

      const sources = sourcesUnder(root);
      const applied: string[] = [];
      for (let k = 1 + int(rnd, 3); k > 0 && sources.length > 0; k--) {
        const file = sources[int(rnd, sources.length)];
        const name = MUTATION_NAMES[int(rnd, MUTATION_NAMES.length)];
        const abs = path.join(root, file);
        fs.writeFileSync(abs, MUTATIONS[name](fs.readFileSync(abs), rnd));
        applied.push(`${name}(${file})`);
      }
      // Shown when the iteration fails, with the seed in the test name.
      const context = `${fixture}: ${applied.join(', ')}`;

      const result = await runLint({
        root,
        arch: expectation.options?.arch,
        kconfigFile: expectation.options?.kconfig ? path.join(root, expectation.options.kconfig) : undefined,
        jobs: 0,
        fileTimeoutMs: ITERATION_TIMEOUT_MS / 2,
      }).catch((error: unknown) => {
        throw new Error(`runLint threw on ${context}: ${(error as Error).stack ?? String(error)}`);
      });

      const json = JSON.parse(formatJson(result)) as { findings: { file: string; line: number }[]; stats: { diagnostics: { file: string; reason: string }[] } };
      expect(Array.isArray(json.findings), context).toBe(true);
      for (const f of json.findings) expect(Number.isInteger(f.line) && f.line > 0, `${context}: ${f.file}:${f.line}`).toBe(true);
      for (const d of json.stats.diagnostics) expect(typeof d.reason === 'string' && !d.reason.includes('\n'), `${context}: ${d.file}`).toBe(true);
      expect(() => formatText(result, { color: false, verbose: true }), context).not.toThrow();
    }, ITERATION_TIMEOUT_MS);
  }
});
