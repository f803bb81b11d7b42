// `flushcheck diff` and `flushcheck hook` in real temporary git repositories
// holding the series fixture tree (fixtures/series/tree).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyFixturePatch, git, seriesRepo } from './support/fixture-repo.js';
import { main } from '../../src/cli/run.js';
import { HOOK_MARKER, hookScript, installHook, isOurHook } from '../../src/review/hook.js';
import { sarifSchemaErrors } from './support/sarif-schema.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FOO = 'drivers/foo/foo_dma.c';

let repo: string;

async function flushcheck(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: { stdout: false, stderr: false }, cwd: repo, env: {} });
  return { code, stdout, stderr };
}

/** The fields a test pins: what, where, which function. */
function brief(findings: { kind: string; severity: string; function: string; file: string; line: number }[]) {
  return findings.map((f) => ({ kind: f.kind, severity: f.severity, function: f.function, file: f.file, line: f.line }));
}

const FOO_MAP_SG_UNFLUSHED = { kind: 'unflushed-return', severity: 'error', function: 'foo_map_sg', file: FOO, line: 50 };

beforeEach(() => {
  repo = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-diff-')), 'repo');
  seriesRepo(repo);
});

afterEach(() => {
  fs.rmSync(path.dirname(repo), { recursive: true, force: true });
});

describe('flushcheck diff', () => {
  it('reports nothing and exits 0 when no C file changed', async () => {
    const run = await flushcheck('diff', '--format', 'json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.findings).toEqual([]);
    expect(report.fixed).toEqual([]);
    expect(report.changedFiles).toEqual([]);
  });

  it('reports the finding an unstaged change introduces, and --cached ignores it until staged', async () => {
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    const worktree = await flushcheck('diff', '--format', 'json');
    expect(worktree.code).toBe(1);
    const report = JSON.parse(worktree.stdout);
    expect(brief(report.findings)).toEqual([FOO_MAP_SG_UNFLUSHED]);
    expect(report.fixed).toEqual([]);
    expect(report.changedFiles).toEqual([FOO]);
    // Same keys as lint's findings.
    expect(Object.keys(report.findings[0])).toEqual(['ruleId', 'severity', 'kind', 'file', 'line', 'column', 'function', 'message', 'path', 'related', 'identity', 'sync', 'model']);

    const unstaged = await flushcheck('diff', '--cached', '--format', 'json');
    expect(unstaged.code).toBe(0);
    expect(JSON.parse(unstaged.stdout).findings).toEqual([]);

    git(repo, 'add', FOO);
    const staged = await flushcheck('diff', '--cached', '--format', 'json');
    expect(staged.code).toBe(1);
    expect(brief(JSON.parse(staged.stdout).findings)).toEqual([FOO_MAP_SG_UNFLUSHED]);
    // --fail-on none reports without failing.
    expect((await flushcheck('diff', '--cached', '--fail-on', 'none')).code).toBe(0);
  });

  it('checks the whole work tree when run from a subfolder, as git diff does', async () => {
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    const fromSub = await flushcheck('diff', '--tree', path.join(repo, 'drivers', 'bar'), '--format', 'json');
    expect(fromSub.code).toBe(1);
    expect(brief(JSON.parse(fromSub.stdout).findings)).toEqual([FOO_MAP_SG_UNFLUSHED]);
  });

  it('lists what a change fixes with --show-fixed, and compares commit ranges', async () => {
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    git(repo, 'commit', '-qam', 'break');
    applyFixturePatch(repo, 'break-fix/0003-foo-complete-the-maintenance-on-the-success-path-aga.patch');
    const fixing = await flushcheck('diff', '--show-fixed');
    expect(fixing.code).toBe(0);
    expect(fixing.stdout).toMatch(/^flushcheck diff: working tree against HEAD \([0-9a-f]{12}\): 1 C file changed, 0 new findings, 1 fixed$/m);
    expect(fixing.stdout).toContain('fixed by this change:');
    expect(fixing.stdout).toContain(`${FOO}:50:`);
    git(repo, 'commit', '-qam', 'fix');

    const breaking = await flushcheck('diff', 'HEAD~2..HEAD~1', '--format', 'json');
    expect(breaking.code).toBe(1);
    expect(brief(JSON.parse(breaking.stdout).findings)).toEqual([FOO_MAP_SG_UNFLUSHED]);
    const fixed = JSON.parse((await flushcheck('diff', 'HEAD~1..HEAD', '--format', 'json')).stdout);
    expect(fixed.findings).toEqual([]);
    expect(brief(fixed.fixed)).toEqual([FOO_MAP_SG_UNFLUSHED]);
    // Against an older base revision, the working tree (clean) has nothing new.
    expect(JSON.parse((await flushcheck('diff', 'HEAD~2', '--format', 'json')).stdout).findings).toEqual([]);
  });

  it('--format sarif marks each result new, unchanged or absent, valid against the SARIF schema', async () => {
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    git(repo, 'commit', '-qam', 'break');
    const breaking = await flushcheck('diff', 'HEAD~1..HEAD', '--format', 'sarif');
    expect(breaking.code).toBe(1);
    expect(sarifSchemaErrors(breaking.stdout)).toEqual([]);
    const results = JSON.parse(breaking.stdout).runs[0].results as { baselineState: string; properties: { function: string } }[];
    expect(results.map((r) => [r.properties.function, r.baselineState])).toEqual([['foo_map_sg', 'new']]);
    applyFixturePatch(repo, 'break-fix/0003-foo-complete-the-maintenance-on-the-success-path-aga.patch');
    const fixing = await flushcheck('diff', '--format', 'sarif');
    expect(sarifSchemaErrors(fixing.stdout)).toEqual([]);
    const fixedResults = JSON.parse(fixing.stdout).runs[0].results as { baselineState: string; properties: { function: string } }[];
    expect(fixedResults.map((r) => [r.properties.function, r.baselineState])).toEqual([['foo_map_sg', 'absent']]);
  });

  it('does not call an old finding new when the lines above it move', async () => {
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    git(repo, 'commit', '-qam', 'break');
    const text = fs.readFileSync(path.join(repo, FOO), 'utf8');
    fs.writeFileSync(path.join(repo, FOO), text.replace('#include', '/* moved down */\n\n\n#include'));
    const run = await flushcheck('diff', '--format', 'json', '--show-fixed');
    const report = JSON.parse(run.stdout);
    expect(run.code).toBe(0);
    expect(report.findings).toEqual([]);
    expect(report.fixed).toEqual([]);
  });

  it('does not call an old finding new when the code around it is wrapped in a static helper and renamed', async () => {
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    git(repo, 'commit', '-qam', 'break');
    // Rename the exported function's body into a static helper it calls: the
    // unflushed sync moves into a function with another name, same file.
    const text = fs.readFileSync(path.join(repo, FOO), 'utf8');
    const renamed = text.replace(/\bfoo_map_sg\(/, 'foo_map_sg_entries(').replace(/^int foo_map_sg_entries\(/m, 'static int foo_map_sg_entries(');
    fs.writeFileSync(path.join(repo, FOO), `${renamed}\nint foo_map_sg(struct device *dev, struct scatterlist *sgl, int nents,\n\t       enum dma_data_direction dir)\n{\n\treturn foo_map_sg_entries(dev, sgl, nents, dir);\n}\n`);
    const run = await flushcheck('diff', '--format', 'json', '--show-fixed');
    const report = JSON.parse(run.stdout);
    expect(report.findings.map((f: { function: string }) => f.function)).toEqual([]);
    expect(report.fixed).toEqual([]);
  });

  it('gives the same report cold and from the cache, keeps the cache under .git, and leaves the tree alone', async () => {
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    const before = git(repo, 'status', '--porcelain');
    const stamp = fs.statSync(path.join(repo, FOO)).mtimeMs;
    const cold = await flushcheck('diff', '--format', 'json');
    const cacheRoot = path.join(repo, '.git', 'flushcheck');
    const [version] = fs.readdirSync(cacheRoot);
    expect(fs.readdirSync(path.join(cacheRoot, version)).sort()).toEqual(['cfgs.txt', 'files.txt', 'functions.txt', 'scan.txt', 'snapshots']);
    // The base (HEAD's tree) and the working tree, each under its tree's id.
    const head = git(repo, 'rev-parse', 'HEAD^{tree}').trim();
    const stored = fs.readdirSync(path.join(cacheRoot, version, 'snapshots')).sort();
    expect(stored).toHaveLength(2);
    expect(stored.every((name) => name.startsWith(head))).toBe(true);
    const warm = await flushcheck('diff', '--format', 'json');
    const withoutTime = (s: string) => ({ ...JSON.parse(s), stats: { ...JSON.parse(s).stats, ms: 0 } });
    expect(withoutTime(warm.stdout)).toEqual(withoutTime(cold.stdout));
    expect(git(repo, 'status', '--porcelain')).toBe(before);
    expect(fs.statSync(path.join(repo, FOO)).mtimeMs).toBe(stamp);
  });

  it('prints diagnostics only for the files the change touches, unless -v', async () => {
    // A file the analysis reads but cannot parse: a diagnostic on every run.
    fs.mkdirSync(path.join(repo, 'drivers/baz'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'drivers/baz/odd.c'), '#include <linux/dma-map-ops.h>\n)))) arch_sync_dma_for_device( {{{ ;;\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'odd file');
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    const quiet = await flushcheck('diff');
    expect(quiet.stderr).not.toContain('drivers/baz/odd.c');
    expect(quiet.stderr).toMatch(/^flushcheck: 1 diagnostic in files the change does not touch \(-v lists them\)$/m);
    const verbose = await flushcheck('diff', '-v');
    expect(verbose.stderr).toMatch(/^flushcheck: drivers\/baz\/odd\.c: could not parse/m);
    // The JSON keeps them all.
    expect(JSON.parse((await flushcheck('diff', '--format', 'json')).stdout).stats.diagnostics.map((d: { file: string }) => d.file)).toEqual(['drivers/baz/odd.c']);
  });

  it('--no-cache writes nothing under .git', async () => {
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    expect((await flushcheck('diff', '--no-cache')).code).toBe(1);
    expect(fs.existsSync(path.join(repo, '.git', 'flushcheck'))).toBe(false);
  });

  it('a damaged cache is ignored, not trusted', async () => {
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    const cold = JSON.parse((await flushcheck('diff', '--format', 'json')).stdout);
    const dir = path.join(repo, '.git', 'flushcheck', fs.readdirSync(path.join(repo, '.git', 'flushcheck'))[0]);
    fs.writeFileSync(path.join(dir, 'functions.txt'), '{"truncated');
    fs.writeFileSync(path.join(dir, 'files.txt'), '[1,2');
    fs.writeFileSync(path.join(dir, 'scan.txt'), 'garbage\nzz yy xx\n');
    const again = JSON.parse((await flushcheck('diff', '--format', 'json')).stdout);
    expect(brief(again.findings)).toEqual(brief(cold.findings));
  });

  it('a FIFO or a device in place of a cache file neither blocks the run nor is read, and the next save replaces it', () => {
    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    // In a process of its own: a run blocked on opening a FIFO is ended by the timeout, and the test fails.
    const run = () => spawnSync(process.execPath, [CLI, 'diff', '--format', 'json'], { cwd: repo, encoding: 'utf8', timeout: 30_000 });
    const cold = run();
    expect(cold.status).toBe(1);
    const dir = path.join(repo, '.git', 'flushcheck', fs.readdirSync(path.join(repo, '.git', 'flushcheck'))[0]);
    const snapshots = path.join(dir, 'snapshots');
    const replaced = ['functions.txt', 'scan.txt', ...fs.readdirSync(snapshots).map((f) => path.join('snapshots', f))];
    for (const file of replaced) {
      fs.rmSync(path.join(dir, file));
      expect(spawnSync('mkfifo', [path.join(dir, file)]).status).toBe(0);
    }
    fs.rmSync(path.join(dir, 'files.txt'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'files.txt'));
    const again = run();
    expect(again.signal).toBeNull();
    expect(again.status).toBe(1);
    expect(brief(JSON.parse(again.stdout).findings)).toEqual(brief(JSON.parse(cold.stdout).findings));
    for (const file of [...replaced, 'files.txt']) expect(fs.lstatSync(path.join(dir, file)).isFile()).toBe(true);
  }, 90_000);

  it('exits 2 with advice outside a git repository and for an unknown revision', async () => {
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-plain-'));
    try {
      const outside = await flushcheck('diff', '--tree', plain);
      expect(outside.code).toBe(2);
      expect(outside.stderr).toMatch(/is not in a git work tree; diff compares git revisions \(use 'flushcheck lint' for a plain folder\)/);
    } finally {
      fs.rmSync(plain, { recursive: true, force: true });
    }
    const unknown = await flushcheck('diff', 'no-such-branch');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("'no-such-branch' is not a commit");
    expect((await flushcheck('diff', 'HEAD', '--cached')).code).toBe(2);
  });

  it('stops, as git does, when the index names a blob git does not have, instead of taking it for an empty file', async () => {
    // The id of a content never written to the object store, staged for a file that has findings.
    const ghost = spawnSync('git', ['hash-object', '--stdin'], { cwd: repo, input: 'int ghost;\n' }).stdout.toString().trim();
    git(repo, 'update-index', '--cacheinfo', `100644,${ghost},${FOO}`);
    const run = await flushcheck('diff', '--cached', '--format', 'json');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`git has no object for ${FOO} (${ghost}), which the index or commit names: the repository is missing objects (git fsck lists them)`);
    // A base file read from git (its disk copy differs from the commit's) whose blob is gone: the same stop.
    git(repo, 'read-tree', 'HEAD');
    const headBlob = git(repo, 'rev-parse', `HEAD:${FOO}`).trim();
    const headBlobFile = path.join(repo, '.git', 'objects', headBlob.slice(0, 2), headBlob.slice(2));
    const looseBlob = fs.readFileSync(headBlobFile);
    fs.rmSync(headBlobFile);
    fs.appendFileSync(path.join(repo, FOO), '/* edited, not staged */\n');
    const other = 'drivers/bar/bar.c';
    fs.appendFileSync(path.join(repo, other), '/* staged */\n');
    git(repo, 'add', other);
    const baseRead = await flushcheck('diff', '--cached', '--format', 'json', '--no-cache');
    expect(baseRead.code).toBe(2);
    expect(baseRead.stderr).toContain(`git has no object for ${FOO} (${headBlob})`);
    fs.writeFileSync(headBlobFile, looseBlob);
    // An empty file staged as usual (its blob stored) is an empty file, as changed as any.
    fs.writeFileSync(path.join(repo, FOO), '');
    git(repo, 'add', FOO);
    const emptied = await flushcheck('diff', '--cached', '--format', 'json', '--show-fixed');
    expect(emptied.code).toBe(0);
    expect(JSON.parse(emptied.stdout).changedFiles).toEqual([other, FOO]);
  });
});

describe('flushcheck hook', () => {
  const hookFile = () => path.join(repo, '.git', 'hooks', 'pre-commit');
  const commitEnv = (pathVar = process.env.PATH) => ({ ...process.env, PATH: pathVar, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' });
  /** PATH without any flushcheck on it, so the hook falls back to the recorded CLI. */
  const pathWithoutFlushcheck = () => (process.env.PATH ?? '').split(':').filter((dir) => dir && !fs.existsSync(path.join(dir, 'flushcheck'))).join(':');

  it('installs a pre-commit hook that stops a commit leaving a sync unflushed, tersely, mentioning --no-verify', () => {
    installHook({ tree: repo, force: false, failOn: 'warning', command: [process.execPath, CLI] });
    const script = fs.readFileSync(hookFile(), 'utf8');
    expect(script.split('\n').slice(0, 2)).toEqual(['#!/bin/sh', HOOK_MARKER]);
    expect(isOurHook(script)).toBe(true);
    expect(fs.statSync(hookFile()).mode & 0o111).not.toBe(0);

    applyFixturePatch(repo, 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch');
    git(repo, 'add', FOO);
    const blocked = spawnSync('git', ['commit', '-qm', 'break'], { cwd: repo, env: commitEnv(pathWithoutFlushcheck()) });
    expect(blocked.status).not.toBe(0);
    // git sends a hook's output to stderr (stdout goes there too): one line per finding, then the way out.
    const lines = (blocked.stdout.toString() + blocked.stderr.toString()).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^drivers\/foo\/foo_dma\.c:50:\d+: error: .*arch_sync_dma_for_device\(\) .* \[dma-sync-flush\]$/);
    expect(lines[1]).toBe('flushcheck: commit stopped: 1 new finding (details: flushcheck diff --cached); fix, or commit anyway with git commit --no-verify');
    expect(git(repo, 'log', '--oneline').split('\n').filter(Boolean)).toHaveLength(2);

    applyFixturePatch(repo, 'break-fix/0003-foo-complete-the-maintenance-on-the-success-path-aga.patch');
    git(repo, 'add', FOO);
    const allowed = spawnSync('git', ['commit', '-qm', 'fine'], { cwd: repo, env: commitEnv(pathWithoutFlushcheck()) });
    expect(allowed.status).toBe(0);
    expect(allowed.stderr.toString()).toBe('');
  });

  it('runs the flushcheck on PATH first, then the recorded one, and says how to reinstall when both are gone', () => {
    const bin = path.join(repo, '.git', 'fake-bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'flushcheck'), '#!/bin/sh\necho "flushcheck from PATH: $*" >&2\nexit 1\n', { mode: 0o755 });
    installHook({ tree: repo, force: false, failOn: 'warning', command: [process.execPath, CLI] });
    fs.appendFileSync(path.join(repo, 'drivers/bar/bar.c'), '\n');
    git(repo, 'add', '-A');
    const viaPath = spawnSync('git', ['commit', '-qm', 'x'], { cwd: repo, env: commitEnv(`${bin}:${pathWithoutFlushcheck()}`) });
    expect(viaPath.status).not.toBe(0);
    expect(viaPath.stderr.toString()).toContain('flushcheck from PATH: diff --cached --hook --fail-on warning');

    // Not on PATH: the recorded CLI, by its #! line (the node on PATH started with V8's pool sized: src/cli/main.ts).
    fs.rmSync(path.join(bin, 'flushcheck'));
    fs.writeFileSync(path.join(bin, 'node'), '#!/bin/sh\necho "node $*" >&2\nexit 1\n', { mode: 0o755 });
    const recorded = spawnSync('git', ['commit', '-qm', 'x'], { cwd: repo, env: commitEnv(`${bin}:${pathWithoutFlushcheck()}`) });
    expect(recorded.status).not.toBe(0);
    expect(recorded.stderr.toString()).toMatch(new RegExp(`^node --v8-pool-size=[1-4] ${CLI.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} diff --cached --hook --fail-on warning$`, 'm'));

    // A moved clone: the recorded CLI is gone and nothing is on PATH.
    fs.rmSync(hookFile());
    installHook({ tree: repo, force: false, failOn: 'warning', command: [process.execPath, path.join(repo, 'moved', 'main.js')] });
    const gone = spawnSync('git', ['commit', '-qm', 'x'], { cwd: repo, env: commitEnv(pathWithoutFlushcheck()) });
    expect(gone.status).not.toBe(0);
    expect(gone.stderr.toString()).toContain("flushcheck is not on PATH and " + path.join(repo, 'moved', 'main.js') + " (or node) is gone; reinstall with 'flushcheck hook install --force', or commit with 'git commit --no-verify'");
  });

  it('refuses to replace a hook it did not write unless --force, and uninstall restores it', async () => {
    fs.mkdirSync(path.dirname(hookFile()), { recursive: true });
    fs.writeFileSync(hookFile(), '#!/bin/sh\necho mine\n', { mode: 0o755 });
    const refused = await flushcheck('hook', 'install');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('was not written by flushcheck');
    expect(fs.readFileSync(hookFile(), 'utf8')).toBe('#!/bin/sh\necho mine\n');

    const forced = await flushcheck('hook', 'install', '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('pre-commit.flushcheck-backup');
    expect(isOurHook(fs.readFileSync(hookFile(), 'utf8'))).toBe(true);
    // Our own hook is replaced without --force.
    expect((await flushcheck('hook', 'install', '--fail-on', 'error')).code).toBe(0);
    expect(fs.readFileSync(hookFile(), 'utf8')).toContain('--fail-on error');

    expect((await flushcheck('hook', 'uninstall')).code).toBe(0);
    expect(fs.readFileSync(hookFile(), 'utf8')).toBe('#!/bin/sh\necho mine\n');
  });

  it('judges a hook by its digest: a hook that only carries the marker line, or one edited since, is not ours', async () => {
    fs.mkdirSync(path.dirname(hookFile()), { recursive: true });
    const impostor = `#!/bin/sh\n${HOOK_MARKER}\nrun-my-own-checks\n`;
    fs.writeFileSync(hookFile(), impostor, { mode: 0o755 });
    expect((await flushcheck('hook', 'install')).code).toBe(2);
    expect((await flushcheck('hook', 'uninstall')).code).toBe(2);
    expect(fs.readFileSync(hookFile(), 'utf8')).toBe(impostor);
    fs.rmSync(hookFile());
    expect((await flushcheck('hook', 'install')).code).toBe(0);
    fs.appendFileSync(hookFile(), 'echo edited\n');
    const edited = await flushcheck('hook', 'uninstall');
    expect(edited.code).toBe(2);
    expect(edited.stderr).toContain('(or was edited since)');
  });

  it('never writes through a symlinked hook: refuses, or with --force keeps the link itself as the backup', async () => {
    const shared = path.join(repo, '.git', 'shared-hook.sh');
    fs.writeFileSync(shared, '#!/bin/sh\necho shared\n', { mode: 0o755 });
    fs.mkdirSync(path.dirname(hookFile()), { recursive: true });
    fs.symlinkSync(shared, hookFile());
    const refused = await flushcheck('hook', 'install');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is a symlink');
    const forced = await flushcheck('hook', 'install', '--force');
    expect(forced.code).toBe(0);
    expect(fs.readFileSync(shared, 'utf8')).toBe('#!/bin/sh\necho shared\n');
    expect(fs.lstatSync(hookFile()).isSymbolicLink()).toBe(false);
    expect(fs.readlinkSync(`${hookFile()}.flushcheck-backup`)).toBe(shared);
    expect((await flushcheck('hook', 'uninstall')).code).toBe(0);
    expect(fs.readlinkSync(hookFile())).toBe(shared);
    expect(fs.readFileSync(shared, 'utf8')).toBe('#!/bin/sh\necho shared\n');
  });

  it('quotes paths with spaces and quotes for the shell', () => {
    const script = hookScript(['/opt/my node/node', "/it's/main.js"], 'error');
    expect(script).toContain(`cli='/it'\\''s/main.js'\nnode='/opt/my node/node'\n`);
    expect(isOurHook(script)).toBe(true);
  });
});

describe('diff and the working tree', () => {
  it('says when untracked C files were left out, suggesting git add -N', async () => {
    fs.writeFileSync(path.join(repo, 'drivers/foo/foo_new.c'), 'int foo_new;\n');
    const run = await flushcheck('diff');
    expect(run.stderr).toContain("flushcheck: 1 untracked C file left out (drivers/foo/foo_new.c); 'git add -N <file>' to check it too");
    git(repo, 'add', '-N', 'drivers/foo/foo_new.c');
    expect((await flushcheck('diff')).stderr).not.toContain('untracked');
  });

  it('refuses a tracked file replaced by a FIFO or a symlink, instead of blocking or reading elsewhere', async () => {
    const target = path.join(repo, FOO);
    fs.rmSync(target);
    spawnSync('mkfifo', [target]);
    const fifo = await flushcheck('diff');
    expect(fifo.code).toBe(2);
    expect(fifo.stderr).toContain(`"${FOO}" in the working tree is a FIFO, not a regular file; not read`);
    fs.rmSync(target);
    fs.symlinkSync('/dev/zero', target);
    const zero = await flushcheck('diff');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('is a symlink, not a regular file; not read');
    fs.rmSync(target);
    const outside = path.join(os.tmpdir(), `flushcheck-outside-${process.pid}.c`);
    fs.writeFileSync(outside, 'int secret_outside_the_tree;\n');
    fs.symlinkSync(outside, target);
    const out = await flushcheck('diff', '--format', 'json');
    expect(out.code).toBe(2);
    expect(out.stdout).not.toContain('secret_outside_the_tree');
    fs.rmSync(outside);
  });
});
