// Loading the CLI as the build bundled it (src/cli/bundle.ts): V8's code cache
// is used only with the text it was made from, the built cache is one this
// node accepts, and the bundled CLI reports what its modules do.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeCacheOf, loadBundle, loadCli } from '../../src/cli/bundle.js';
import { main } from '../../src/cli/run.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const DEMO = fileURLToPath(new URL('../../demo', import.meta.url));
const LITMUS = fileURLToPath(new URL('../../fixtures/litmus/clean-invalidate.json', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-bundle-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A bundle whose one export answers `word` (4 letters, so every version has the same length). */
function writeBundle(file: string, word: string): void {
  fs.writeFileSync(file, `exports.answer = function answer() { return ${JSON.stringify(word)}; };\n`);
}

type Answering = { answer(): string };

/**
 * Loads the bundle in a node of its own, with dist/'s loader: within one
 * process V8 compiles a text it has compiled before from memory, whatever
 * data it is given. Returns what V8 said of the data, and the answer.
 */
function loadElsewhere(file: string, cache: string): { rejected: boolean | null; answer: string } {
  const script = `import { loadBundle } from ${JSON.stringify(path.join(DIST, 'cli', 'bundle.js'))};
const b = loadBundle(${JSON.stringify(file)}, ${JSON.stringify(cache)});
console.log(JSON.stringify({ rejected: b.script.cachedDataRejected ?? null, answer: b.entry.answer() }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as { rejected: boolean | null; answer: string };
}

describe('the code cache', () => {
  // The second text is not all ASCII: the loader decodes it as UTF-8, not as Latin-1 (cli/bundle.ts).
  it.each(['AAAA', 'déjà — ✓'])('is used for the text it was made from (%s)', (word) => {
    const file = path.join(dir, 'bundle.cjs');
    const cache = path.join(dir, 'bundle.v8cache');
    writeBundle(file, word);
    const first = loadBundle(file, null)!;
    expect((first.entry as unknown as Answering).answer()).toBe(word);
    fs.writeFileSync(cache, codeCacheOf(first));

    expect(loadElsewhere(file, cache)).toEqual({ rejected: false, answer: word });
  });

  it('is not used for another text of the same length, which V8 alone would run as the old one', () => {
    const file = path.join(dir, 'bundle.cjs');
    const cache = path.join(dir, 'bundle.v8cache');
    writeBundle(file, 'AAAA');
    const old = loadBundle(file, null)!;
    (old.entry as unknown as Answering).answer();
    fs.writeFileSync(cache, codeCacheOf(old));
    writeBundle(file, 'BBBB');

    // Why the cache carries its text's digest: V8 checks only the length.
    const v8Data = fs.readFileSync(cache).subarray(old.sourceDigest.length + 1);
    const text = fs.readFileSync(file, 'utf8');
    const unchecked = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${text}\n})`, { filename: file, cachedData: v8Data });
    const exports: Partial<Answering> = {};
    (unchecked.runInThisContext() as (e: object) => void)(exports);
    expect(unchecked.cachedDataRejected).toBe(false);
    expect(exports.answer!()).toBe('AAAA');

    expect(loadElsewhere(file, cache)).toEqual({ rejected: null, answer: 'BBBB' });
  });

  it('damaged after its header, is rejected by V8 and the bundle runs compiled as usual', () => {
    const file = path.join(dir, 'bundle.cjs');
    const cache = path.join(dir, 'bundle.v8cache');
    writeBundle(file, 'AAAA');
    const made = codeCacheOf(loadBundle(file, null)!);
    fs.writeFileSync(cache, Buffer.concat([made.subarray(0, 41), Buffer.alloc(made.length - 41, 0x5a)]));
    expect(loadElsewhere(file, cache)).toEqual({ rejected: true, answer: 'AAAA' });
  });

  it('missing, or the bundle missing: the bundle compiles as it runs, or the CLI loads its modules', () => {
    const file = path.join(dir, 'bundle.cjs');
    writeBundle(file, 'AAAA');
    expect(loadElsewhere(file, path.join(dir, 'none.v8cache'))).toEqual({ rejected: null, answer: 'AAAA' });
    expect(loadBundle(path.join(dir, 'none.cjs'))).toBeNull();
  });
});

describe('a damaged bundle', () => {
  it.each([
    ['a syntax error', 'exports.main = function ( {\n'],
    ['an error at load', "throw new Error('half written');\n"],
  ])('(%s) is said in one line, and the CLI runs from its modules', async (_, text) => {
    const file = path.join(dir, 'bundle.cjs');
    fs.writeFileSync(file, text);
    const warnings: string[] = [];
    const cli = await loadCli((line) => warnings.push(line), file, null);
    expect(cli.main).toBe(main);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^flushcheck: ${file} does not load \\((SyntaxError|Error): [^\\n]+\\); running from the modules instead, slower \\(npm run build writes the bundle again\\)\\n$`));
  });
});

describe('a bundle whose modules changed since it was made (tsc alone over a built dist/)', () => {
  /** A checkout (or, without src/, an installed package) whose bundle was made from dist/lib/a.js. */
  function builtTree(withSources: boolean) {
    const top = path.join(dir, 'flushcheck');
    fs.mkdirSync(path.join(top, 'dist', 'cli'), { recursive: true });
    fs.mkdirSync(path.join(top, 'dist', 'lib'));
    if (withSources) fs.mkdirSync(path.join(top, 'src'));
    const module = path.join(top, 'dist', 'lib', 'a.js');
    fs.writeFileSync(module, 'export const a = 1;\n');
    const before = new Date(Date.now() - 60_000);
    fs.utimesSync(module, before, before);
    const file = path.join(top, 'dist', 'cli', 'bundle.cjs');
    writeBundle(file, 'AAAA');
    const inputs = path.join(top, 'dist', 'cli', 'bundle.inputs.json');
    fs.writeFileSync(inputs, JSON.stringify([['lib/a.js', fs.statSync(module).size]]));
    return { file, inputs, module, before };
  }

  async function load(file: string, inputs: string) {
    const warnings: string[] = [];
    const cli = await loadCli((line) => warnings.push(line), file, null, inputs);
    return { cli, warnings };
  }

  it('runs the bundle while its modules are as it was made from them', async () => {
    const { file, inputs } = builtTree(true);
    const { cli, warnings } = await load(file, inputs);
    expect((cli as unknown as Answering).answer()).toBe('AAAA');
    expect(warnings).toEqual([]);
  });

  it('runs the modules, saying so, once one was written after the bundle or changed size', async () => {
    const { file, inputs, module, before } = builtTree(true);
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(module, later, later);
    const rewritten = await load(file, inputs);
    expect(rewritten.cli.main).toBe(main);
    expect(rewritten.warnings).toEqual([`flushcheck: ${module} changed after ${file} was built from it; running from the modules instead, slower (npm run build writes the bundle again)\n`]);

    fs.writeFileSync(module, 'export const a = 22;\n');
    fs.utimesSync(module, before, before);
    const resized = await load(file, inputs);
    expect(resized.cli.main).toBe(main);
    expect(resized.warnings).toHaveLength(1);
  });

  it('is not checked in an installed package (no src/): npm unpacks its files at any time, in any order', async () => {
    const { file, inputs, module } = builtTree(false);
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(module, later, later);
    const { cli, warnings } = await load(file, inputs);
    expect((cli as unknown as Answering).answer()).toBe('AAAA');
    expect(warnings).toEqual([]);
  });
});

describe('making the code cache (scripts/code-cache.mjs)', () => {
  it("inside a git hook, touches nothing of the repository being committed to, and makes a cache a plain node accepts", () => {
    // What git exports to a hook: the build may run in one (the pre-commit framework installs flushcheck during a commit).
    const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };
    const victim = path.join(dir, 'victim');
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(victim, 'mine.txt'), 'mine\n');
    const git = (...args: string[]) => spawnSync('git', args, { cwd: victim, env: gitEnv, encoding: 'utf8' }).stdout;
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'base');
    fs.writeFileSync(path.join(victim, 'mine.txt'), 'mine, changed\n');
    git('add', 'mine.txt');
    const state = () => [git('rev-parse', 'HEAD'), git('status', '--porcelain'), git('ls-files', '--stage'), fs.readdirSync(victim).sort().join(' ')];
    const before = state();

    const out = path.join(dir, 'made.v8cache');
    const hookEnv = { ...gitEnv, GIT_DIR: path.join(victim, '.git'), GIT_WORK_TREE: victim, GIT_INDEX_FILE: path.join(victim, '.git', 'index') };
    const made = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/code-cache.mjs', import.meta.url)), out], { cwd: victim, env: hookEnv, encoding: 'utf8' });
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    expect(state()).toEqual(before);

    const script = `import { loadBundle } from ${JSON.stringify(path.join(DIST, 'cli', 'bundle.js'))};
console.log(String(loadBundle(undefined, ${JSON.stringify(out)}).script.cachedDataRejected));`;
    expect(spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).stdout.trim()).toBe('false');
  }, 60_000);

  it('under node flags a plain node would not run with, writes none and says why', () => {
    const out = path.join(dir, 'made.v8cache');
    const made = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/code-cache.mjs', import.meta.url)), out], { env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=1234' }, encoding: 'utf8' });
    expect(made.status).toBe(0);
    expect(made.stderr).toMatch(/^code cache: not written \(a plain node rejects it \(true\): was this build run with node flags or NODE_OPTIONS\?\); the CLI compiles as it runs\n$/);
    expect(fs.existsSync(out)).toBe(false);
  }, 60_000);
});

describe('the built bundle (npm run build)', () => {
  it('comes with a code cache this node accepts', () => {
    const script = `import { loadBundle } from ${JSON.stringify(path.join(DIST, 'cli', 'bundle.js'))};
const b = loadBundle();
console.log(JSON.stringify({ rejected: b.script.cachedDataRejected ?? null, main: typeof b.entry.main }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(run.stdout)).toEqual({ rejected: false, main: 'function' });
  });

  it('checks the cache entries it reads with the validators it carries, not ones loaded from dist/validators/', () => {
    // Each validator loaded from its own file is compiled anew on every run (scripts/bundle.mjs).
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org', GIT_CONFIG_GLOBAL: '/dev/null' };
    const spy = path.join(dir, 'spy.cjs');
    fs.writeFileSync(spy, `const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (/validators[\\/]/.test(request)) require('node:fs').appendFileSync(process.env.SPY_LOG, request + '\\n');
  return load.call(this, request, ...rest);
};
`);
    /** Validator files two warm `diff --cached` runs of this CLI load (the second reads the first's cache). */
    const validatorsLoaded = (cli: string, name: string): string[] => {
      const repo = path.join(dir, name);
      fs.cpSync(DEMO, repo, { recursive: true });
      const git = (...args: string[]) => spawnSync('git', args, { cwd: repo, env, encoding: 'utf8' });
      git('init', '-q');
      git('add', '-A');
      git('commit', '-qm', 'base');
      const log = path.join(dir, `${name}.log`);
      const driver = fs.readdirSync(path.join(repo, 'drivers'), { recursive: true }).map(String).find((f) => f.endsWith('.c'))!;
      for (const round of [1, 2]) {
        fs.appendFileSync(path.join(repo, 'drivers', driver), `/* change ${round} */\n`);
        git('add', '-A');
        const run = spawnSync(process.execPath, ['--require', spy, cli, 'diff', '--cached', '--format', 'json'], { cwd: repo, env: { ...env, SPY_LOG: log }, encoding: 'utf8' });
        expect(run.status, run.stderr).toBe(0);
      }
      return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
    };
    // The same dist/ without its bundle runs the modules: they load the validators, so the runs do check entries.
    const unbundled = path.join(dir, 'unbundled');
    fs.cpSync(DIST, path.join(unbundled, 'dist'), { recursive: true });
    fs.rmSync(path.join(unbundled, 'dist', 'cli', 'bundle.cjs'));
    fs.copyFileSync(path.join(DIST, '..', 'package.json'), path.join(unbundled, 'package.json'));
    fs.symlinkSync(path.join(DIST, '..', 'node_modules'), path.join(unbundled, 'node_modules'));
    fs.symlinkSync(path.join(DIST, '..', 'rules'), path.join(unbundled, 'rules'));
    expect(validatorsLoaded(path.join(unbundled, 'dist', 'cli', 'main.js'), 'modules').length).toBeGreaterThan(0);
    expect(validatorsLoaded(path.join(DIST, 'cli', 'main.js'), 'bundle')).toEqual([]);
  });

  // Each through another part of the bundle: the JSON and text reports, a glob (globby, an ES module, bundled
  // because a vm.Script cannot import() it), the graph, the cache model's litmus tests, a usage error.
  it.each([
    [['lint', DEMO, '--format', 'json'], 1],
    [['lint', DEMO], 1],
    [['lint', '--root', DEMO, `${DEMO}/drivers/**/*.c`, '--format', 'json'], 1],
    [['graph', DEMO, '--format', 'dot'], 0],
    [['model', LITMUS], 0],
    [['lint', DEMO, '--arch', 'vax'], 2],
  ])('flushcheck %j reports what the modules report, and exits %i', async (argv, expected) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: { stdout: false, stderr: false }, env: {} });
    const cli = spawnSync(process.execPath, [path.join(DIST, 'cli', 'main.js'), ...argv], { encoding: 'utf8' });
    // Times differ from run to run, and so does the cache's line (what it found depends on the run before).
    const withoutTimes = (text: string) => text.replace(/"ms": \d+/g, '"ms"').replace(/ in \d+ ms/g, ' in ms');
    expect([code, cli.status]).toEqual([expected, expected]);
    expect(withoutTimes(cli.stdout)).toBe(withoutTimes(stdout));
    expect(cli.stderr).toBe(stderr);
  });
});
