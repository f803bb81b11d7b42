// `flushcheck review` on the fixture series (fixtures/series, see its README):
// every series of expect.json, on the fixture tree as a git repository and as
// a plain folder, through the CLI with the JSON report.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { sarifSchemaErrors } from './support/sarif-schema.js';

const SERIES = fileURLToPath(new URL('../../fixtures/series/', import.meta.url));
const TREE = path.join(SERIES, 'tree');

interface ExpectedFinding {
  kind: string;
  severity: string;
  function: string;
  file: string;
  line: number;
}
interface ExpectedSeries {
  input: string;
  keepGoing?: boolean;
  cover?: string | null;
  skipped?: number;
  patches?: { label: string; title: string; applied: boolean; error?: string; introduced: ExpectedFinding[]; fixed: ExpectedFinding[] }[];
  bisectable?: boolean;
  breaks?: { function: string; kind: string; introducedBy: number; fixedBy: number }[];
  batchable?: ExpectedFinding[];
  error?: string;
}
const EXPECT = JSON.parse(fs.readFileSync(path.join(SERIES, 'expect.json'), 'utf8')) as Record<string, ExpectedSeries>;

let work: string;
let tree: string;
let tmp: string;
const savedTmp = process.env.TMPDIR;

function brief(findings: ExpectedFinding[]) {
  return findings.map((f) => ({ kind: f.kind, severity: f.severity, function: f.function, file: f.file, line: f.line }));
}

/** Digest of every file under `dir` (paths and contents), to prove a review never writes to the tree. */
function treeDigest(dir: string): string {
  const h = createHash('sha1');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, e.name);
      if (e.name === '.git') continue;
      if (e.isDirectory()) walk(full);
      else h.update(path.relative(dir, full)).update(fs.readFileSync(full));
    }
  };
  walk(dir);
  return h.digest('hex');
}

async function flushcheck(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return flushcheckWithInput(undefined, ...argv);
}

async function flushcheckWithInput(input: Buffer | undefined, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const stdin = (async function* () {
    if (input) yield input;
  })();
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: { stdout: false, stderr: false }, cwd: work, env: {}, stdin });
  return { code, stdout, stderr };
}

/** The break-fix series as one mbox, as `b4 am -o -` would print it. */
function breakFixMbox(): Buffer {
  const dir = path.join(SERIES, 'break-fix');
  return Buffer.concat(fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f))));
}

function gitIn(dir: string, ...args: string[]): string {
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };
  return execFileSync('git', args, { cwd: dir, env }).toString('utf8');
}

function makeTree(asGit: boolean): void {
  tree = path.join(work, 'tree');
  fs.cpSync(TREE, tree, { recursive: true });
  if (!asGit) return;
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };
  execFileSync('git', ['init', '-q'], { cwd: tree });
  execFileSync('git', ['add', '-A'], { cwd: tree });
  execFileSync('git', ['commit', '-qm', 'base'], { cwd: tree, env });
}

/**
 * The tree as a git repository with break-fix's first two patches committed
 * (the second leaves foo_map_sg unflushed), then drivers/foo/foo_dma.c renamed
 * to foo_map.c in a commit of its own. Returns the name of the fixing patch.
 */
function breakThenRename(): string {
  makeTree(true);
  const [local, breaking, fixing] = fs.readdirSync(path.join(SERIES, 'break-fix')).filter((f) => !f.startsWith('0000')).sort();
  for (const p of [local, breaking]) gitIn(tree, 'am', '-q', path.join(SERIES, 'break-fix', p));
  gitIn(tree, 'mv', 'drivers/foo/foo_dma.c', 'drivers/foo/foo_map.c');
  gitIn(tree, 'commit', '-qm', 'foo: rename foo_dma.c to foo_map.c');
  return fixing;
}

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-review-test-'));
  // The review's own temporary folders go here, so the test can see they are gone.
  tmp = path.join(work, 'tmp');
  fs.mkdirSync(tmp);
  process.env.TMPDIR = tmp;
});

afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  fs.rmSync(work, { recursive: true, force: true });
});

describe.each([
  ['git repository', true],
  ['plain folder', false],
])('flushcheck review on a %s', (_kind, asGit) => {
  for (const [name, expected] of Object.entries(EXPECT)) {
    it(`${name}: ${expected.error ? 'is refused' : 'reports what each patch introduces and fixes'}`, async () => {
      makeTree(asGit);
      const before = treeDigest(tree);
      const run = await flushcheck('review', path.join(SERIES, expected.input), '--tree', tree, '--format', 'json', ...(expected.keepGoing ? ['--keep-going'] : []));
      expect(treeDigest(tree)).toBe(before);
      expect(fs.readdirSync(tmp)).toEqual([]);
      if (expected.error) {
        expect(run.code).toBe(2);
        expect(run.stderr).toContain(expected.error);
        expect(run.stderr).not.toContain('internal error');
        return;
      }
      const report = JSON.parse(run.stdout);
      const introducesError = expected.patches!.some((p) => p.introduced.some((f) => f.severity !== 'note'));
      // A patch that did not apply means the series was not reviewed whole: never a pass.
      const incomplete = expected.patches!.some((p) => !p.applied);
      expect(run.code).toBe(incomplete ? 2 : introducesError ? 1 : 0);
      if (incomplete) expect(run.stderr).toMatch(/^flushcheck: error: \d+ of \d+ patches not applied \(/m);
      expect(report.patches.map((p: { label: string }) => p.label)).toEqual(expected.patches!.map((p) => p.label));
      for (const [i, patch] of expected.patches!.entries()) {
        const got = report.patches[i];
        expect(got.subject).toContain(patch.title);
        expect(got.applied).toBe(patch.applied);
        if (patch.error) expect(got.error).toContain(patch.error);
        else expect(got.error).toBeUndefined();
        expect(brief(got.introduced)).toEqual(patch.introduced);
        expect(brief(got.fixed)).toEqual(patch.fixed);
      }
      expect(report.bisectable).toBe(expected.bisectable);
      expect(report.breaks.map((b: { finding: ExpectedFinding; introducedBy: number; fixedBy: number }) => ({ function: b.finding.function, kind: b.finding.kind, introducedBy: b.introducedBy, fixedBy: b.fixedBy }))).toEqual(expected.breaks);
      expect(brief(report.batchable)).toEqual(expected.batchable);
      expect(report.skippedMessages).toHaveLength(expected.skipped ?? 0);
    });
  }
});

describe('flushcheck review details', () => {
  it('names the break of bisectability and writes a threaded reply for the patch that introduced it', async () => {
    makeTree(true);
    const replies = path.join(work, 'replies');
    const run = await flushcheck('review', path.join(SERIES, 'mbox/series.mbox'), '--tree', tree, '--reply', replies, '--from', 'Reviewer <rev@example.org>', '--signature', 'R. Viewer');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('2/3 leaves foo_map_sg unflushed until 3/3');
    const files = fs.readdirSync(replies);
    expect(files).toHaveLength(1);
    const mail = fs.readFileSync(path.join(replies, files[0]), 'utf8');
    // Unfolded: long header values continue on lines starting with a space.
    const headers = mail.slice(0, mail.indexOf('\n\n')).replace(/\n[ \t]+/g, ' ');
    expect(headers).toMatch(/^From: Reviewer <rev@example.org>$/m);
    expect(headers).toMatch(/^Subject: Re: \[PATCH v2 2\/3\] foo: reject oversized segments in foo_map_sg\(\)$/m);
    // 2/3's Message-ID in the mbox, and the cover letter it replies to.
    expect(headers).toMatch(/^In-Reply-To: <20261101120000\.1234-2-dev@example\.org>$/m);
    expect(headers).toMatch(/^References: <20261101120000\.1234-0-dev@example\.org> <20261101120000\.1234-2-dev@example\.org>$/m);
    expect(mail).toContain('> ');
    expect(mail).toMatch(/\n-- \nR\. Viewer\n?$/);
  });

  it('a git range in the tree is reviewed like the same patches from files', async () => {
    makeTree(true);
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };
    for (const p of fs.readdirSync(path.join(SERIES, 'break-fix')).filter((f) => !f.startsWith('0000')).sort()) {
      execFileSync('git', ['am', '-q', path.join(SERIES, 'break-fix', p)], { cwd: tree, env });
    }
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: tree }).toString().trim();
    const run = await flushcheck('review', 'HEAD~3..HEAD', '--tree', tree, '--format', 'json');
    const report = JSON.parse(run.stdout);
    expect(report.patches.map((p: { introduced: unknown[]; fixed: unknown[] }) => [p.introduced.length, p.fixed.length])).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
    ]);
    expect(report.bisectable).toBe(false);
    // The range is read from git; HEAD and the work tree are untouched.
    expect(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: tree }).toString().trim()).toBe(head);
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: tree }).toString()).toBe('');
  });

  it('a patch that renames a file neither fixes nor introduces the findings that move with it', async () => {
    breakThenRename();
    const run = await flushcheck('review', 'HEAD~3..HEAD', '--tree', tree, '--format', 'json');
    const report = JSON.parse(run.stdout);
    expect(report.patches.map((p: { introduced: unknown[]; fixed: unknown[] }) => [p.introduced.length, p.fixed.length])).toEqual([
      [0, 0],
      [1, 0],
      [0, 0],
    ]);
    expect(report.findings.filter((f: { kind: string }) => f.kind !== 'batchable').map((f: { file: string }) => f.file)).toEqual(['drivers/foo/foo_map.c']);
    expect(report.bisectable).toBe(true);
  });

  it('a finding that a later patch fixes after another renamed its file still breaks bisection', async () => {
    const fixing = breakThenRename();
    // The fix, made against the file's new name.
    const fix = path.join(work, 'fix-renamed.patch');
    fs.writeFileSync(fix, fs.readFileSync(path.join(SERIES, 'break-fix', fixing), 'utf8').replaceAll('drivers/foo/foo_dma.c', 'drivers/foo/foo_map.c'));
    gitIn(tree, 'am', '-q', fix);
    const run = await flushcheck('review', 'HEAD~4..HEAD', '--tree', tree, '--format', 'json');
    const report = JSON.parse(run.stdout);
    expect(report.patches.map((p: { introduced: unknown[]; fixed: unknown[] }) => [p.introduced.length, p.fixed.length])).toEqual([
      [0, 0],
      [1, 0],
      [0, 0],
      [0, 1],
    ]);
    expect(report.bisectable).toBe(false);
    expect(report.breaks.map((b: { introducedBy: number; fixedBy: number }) => [b.introducedBy, b.fixedBy])).toEqual([[2, 4]]);
  });

  it('stops at a patch that does not apply unless --keep-going', async () => {
    makeTree(true);
    const run = await flushcheck('review', path.join(SERIES, 'not-applying'), '--tree', tree, '--format', 'json');
    const report = JSON.parse(run.stdout);
    expect(report.patches[0].applied).toBe(false);
    expect(report.patches[0].error).toContain('patch does not apply');
    expect(report.patches[1].applied).toBe(false);
    expect(report.patches[1].skipped).toMatch(/^not tried: 1\/2 did not apply/);
    // No verdict on patches never applied, and never a silent pass.
    expect(report.bisectable).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('flushcheck: error: 2 of 2 patches not applied (1/2: ');
    const text = await flushcheck('review', path.join(SERIES, 'not-applying'), '--tree', tree);
    expect(text.stdout).toContain('bisectability not judged: 2 of 2 patches not applied; only a series applied whole is judged');
    expect(text.stdout).not.toMatch(/^bisectable/m);
  });

  it('exits 2 for a series that is not there or not an mbox', async () => {
    makeTree(false);
    const missing = await flushcheck('review', path.join(work, 'nope.mbox'), '--tree', tree);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file or folder');
    const notMbox = path.join(work, 'source.c');
    fs.writeFileSync(notMbox, 'int main(void) { return 0; }\n');
    const bad = await flushcheck('review', notMbox, '--tree', tree);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^flushcheck: error: .*source\.c.*not an mbox/m);
    // Bad input, not a crash: no advice to report an internal error.
    expect(bad.stderr).not.toContain('internal error');
  });

  it('reads the series from standard input (-), as b4 am -o - pipes it', async () => {
    makeTree(true);
    const run = await flushcheckWithInput(breakFixMbox(), 'review', '-', '--tree', tree, '--format', 'json');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.patches.map((p: { label: string; applied: boolean }) => [p.label, p.applied])).toEqual([
      ['1/3', true],
      ['2/3', true],
      ['3/3', true],
    ]);
    expect(report.bisectable).toBe(false);
    const empty = await flushcheckWithInput(undefined, 'review', '-', '--tree', tree);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('standard input is empty');
  });

  it('treats a --tree inside another repository as a plain folder, never as that repository', async () => {
    // The tree is an untracked, ignored folder inside an unrelated repository whose HEAD has other content.
    const outer = path.join(work, 'outer');
    fs.mkdirSync(outer);
    gitIn(outer, 'init', '-q');
    fs.writeFileSync(path.join(outer, '.gitignore'), 'linux/\n');
    gitIn(outer, 'add', '-A');
    gitIn(outer, 'commit', '-qm', 'unrelated');
    tree = path.join(outer, 'linux');
    fs.cpSync(TREE, tree, { recursive: true });
    const run = await flushcheck('review', path.join(SERIES, 'break-fix'), '--tree', tree, '--format', 'json');
    const report = JSON.parse(run.stdout);
    expect(report.tree).toBe(tree);
    expect(report.base).toBe('the folder as it is (not a git repository)');
    expect(report.patches.every((p: { applied: boolean }) => p.applied)).toBe(true);
    expect(run.code).toBe(1);
  });

  it("honours the series' base-commit when the repository has it, and says when it does not", async () => {
    makeTree(true);
    const base = gitIn(tree, 'rev-parse', 'HEAD').trim();
    // HEAD moves on: the series no longer applies to it, but it does to its base.
    const foo = path.join(tree, 'drivers/foo/foo_dma.c');
    fs.writeFileSync(foo, fs.readFileSync(foo, 'utf8').replace('if (nents <= 0)', 'if (unlikely(nents <= 0))'));
    gitIn(tree, 'commit', '-qam', 'later work');
    const withBase = Buffer.concat([breakFixMbox(), Buffer.from('')]).toString('utf8').replace(/^-- $/m, `base-commit: ${base}\n-- `);
    const run = await flushcheckWithInput(Buffer.from(withBase), 'review', '-', '--tree', tree, '--format', 'json');
    const report = JSON.parse(run.stdout);
    expect(report.base).toBe(`${base.slice(0, 12)} (the series' base-commit)`);
    expect(report.patches.every((p: { applied: boolean }) => p.applied)).toBe(true);
    const unknown = withBase.replace(base, 'f'.repeat(40));
    const text = await flushcheckWithInput(Buffer.from(unknown), 'review', '-', '--tree', tree);
    expect(text.stdout).toContain(`note: the series' base-commit ${'f'.repeat(40)} is not in ${tree}; reviewed against HEAD instead`);
    expect(text.code).not.toBe(0);
  });

  it('reports inactive rules and exits 2 when no rule is active, unless --allow-inactive', async () => {
    makeTree(false);
    const header = path.join(tree, 'include/linux/dma-map-ops.h');
    fs.writeFileSync(header, fs.readFileSync(header, 'utf8').replace('static inline void arch_sync_dma_flush(void)', 'static inline void arch_sync_dma_drain(void)'));
    const run = await flushcheck('review', path.join(SERIES, 'break-fix'), '--tree', tree);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('rule dma-sync-flush inactive: the tree defines no arch_sync_dma_flush(); it judged no patch');
    expect(run.stderr).toContain('no rule is active on this tree, so no patch was judged; pass --allow-inactive to accept that');
    const json = JSON.parse((await flushcheck('review', path.join(SERIES, 'break-fix'), '--tree', tree, '--format', 'json', '--allow-inactive')).stdout);
    expect(json.inactiveRules.map((r: { ruleId: string }) => r.ruleId).sort()).toEqual(['arm64-dcache-nosync', 'dma-sync-flush']);
    const md = await flushcheck('review', path.join(SERIES, 'break-fix'), '--tree', tree, '--format', 'markdown', '--allow-inactive');
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('> **Rule `dma-sync-flush` inactive:** the tree defines no arch\\_sync\\_dma\\_flush(); it judged no patch.');
  });

  it('refuses a patch that makes a symlink in any spelling git accepts', async () => {
    makeTree(true);
    const link = [
      'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
      'From: Mallory <m@example.org>',
      'Subject: [PATCH] foo: add a helper',
      'Message-ID: <link@example.org>',
      '',
      'x',
      '---',
      'diff --git a/drivers/foo/helper.c b/drivers/foo/helper.c',
      'new file mode 0120000',
      '--- /dev/null',
      '+++ b/drivers/foo/helper.c',
      '@@ -0,0 +1 @@',
      '+/etc/passwd',
      '\\ No newline at end of file',
      '-- ',
      '2.39.5',
      '',
    ].join('\n');
    const run = await flushcheckWithInput(Buffer.from(link), 'review', '-', '--tree', tree, '--format', 'json');
    const report = JSON.parse(run.stdout);
    expect(report.patches[0].applied).toBe(false);
    expect(report.patches[0].error).toBe(`"drivers/foo/helper.c": 'new file mode 0120000' makes it a symlink; refused`);
    expect(run.stdout).not.toContain('root:');
    expect(run.code).toBe(2);
  });

  it('writes reply-all mails From git config that git mailinfo reads back', async () => {
    makeTree(true);
    gitIn(tree, 'config', 'user.name', 'Rita Reviewer');
    gitIn(tree, 'config', 'user.email', 'rita@example.org');
    const replies = path.join(work, 'replies');
    const run = await flushcheck('review', path.join(SERIES, 'mbox/series.mbox'), '--tree', tree, '--reply', replies);
    expect(run.code).toBe(1);
    const [file] = fs.readdirSync(replies);
    const mail = fs.readFileSync(path.join(replies, file!), 'utf8');
    const headers = mail.slice(0, mail.indexOf('\n\n')).replace(/\n[ \t]+/g, ' ');
    expect(headers).toMatch(/^From: Rita Reviewer <rita@example.org>$/m);
    // Reply-all: the author in To, the patch's To (the list) in Cc.
    expect(headers).toMatch(/^To: "A\. Developer" <dev@example\.org>$/m);
    expect(headers).toMatch(/^Cc: linux-foo@example\.org$/m);
    // git mailinfo, as git am reads a mail: the same author, subject and body.
    const info = path.join(work, 'info');
    fs.mkdirSync(info);
    const out = execFileSync('git', ['mailinfo', '-u', path.join(info, 'msg'), path.join(info, 'patch')], { input: mail, cwd: info }).toString('utf8');
    expect(out).toContain('Author: Rita Reviewer\nEmail: rita@example.org\n');
    expect(out).toContain('Subject: foo: reject oversized segments in foo_map_sg()\n');
    expect(fs.readFileSync(path.join(info, 'msg'), 'utf8')).toContain('Suggested fix:');
  });

  it('never writes replies through a symlink, and never mixes old replies with new ones', async () => {
    makeTree(true);
    const args = ['review', path.join(SERIES, 'break-fix'), '--tree', tree, '--from', 'R <r@example.org>'];
    const target = path.join(work, 'elsewhere');
    fs.mkdirSync(target);
    const link = path.join(work, 'replies-link');
    fs.symlinkSync(target, link);
    const viaLink = await flushcheck(...args, '--reply', link);
    expect(viaLink.code).toBe(2);
    expect(viaLink.stderr).toContain('is a symlink; pass a real folder');
    expect(fs.readdirSync(target)).toEqual([]);

    const replies = path.join(work, 'replies');
    fs.mkdirSync(replies);
    fs.writeFileSync(path.join(replies, 'notes.txt'), 'mine');
    const foreign = await flushcheck(...args, '--reply', replies);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('holds 1 file(s) flushcheck did not write ("notes.txt")');
    fs.rmSync(path.join(replies, 'notes.txt'));
    // An earlier run's reply is replaced, not kept beside the new ones.
    fs.writeFileSync(path.join(replies, '0009-re-old-series.eml'), 'From: R <r@example.org>\nX-Mailer: flushcheck 0.0.1\n\nold\n');
    expect((await flushcheck(...args, '--reply', replies)).code).toBe(1);
    expect(fs.readdirSync(replies)).toEqual(['0002-re-foo-reject-oversized-segments-in-foo-map-sg.eml']);
  });

  it('removes the temporary folders a killed review left behind, and only those', async () => {
    makeTree(true);
    const dead = path.join(tmp, 'flushcheck-review-999999999-abc123');
    const alive = path.join(tmp, `flushcheck-review-${process.pid}-keep`);
    const other = path.join(tmp, 'someone-else');
    for (const dir of [dead, alive, other]) fs.mkdirSync(dir);
    const old = new Date(Date.now() - 3600_000);
    for (const dir of [dead, alive, other]) fs.utimesSync(dir, old, old);
    await flushcheck('review', path.join(SERIES, 'clean'), '--tree', tree);
    expect(fs.readdirSync(tmp).sort()).toEqual([path.basename(alive), 'someone-else']);
    fs.rmSync(alive, { recursive: true });
    fs.rmSync(other, { recursive: true });
  });

  it('--format sarif gives the tree after the series, new against the base, valid against the SARIF schema', async () => {
    makeTree(true);
    const run = await flushcheck('review', path.join(SERIES, 'not-applying', '0002-foo-add-foo_unmap_single.patch'), '--tree', tree, '--format', 'sarif');
    expect(sarifSchemaErrors(run.stdout)).toEqual([]);
    const results = JSON.parse(run.stdout).runs[0].results as { baselineState: string; properties: { function: string } }[];
    expect(results.map((r) => [r.properties.function, r.baselineState])).toEqual([['foo_unmap_single', 'new']]);
  });

  it('warns when a patch with findings has no Message-ID: its reply cannot thread', async () => {
    makeTree(true);
    const noId = breakFixMbox().toString('utf8').replace(/^Message-ID: .*\n/gim, '');
    const replies = path.join(work, 'replies');
    const run = await flushcheckWithInput(Buffer.from(noId), 'review', '-', '--tree', tree, '--reply', replies, '--from', 'R <r@example.org>');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('flushcheck: warning: 2/3 has no Message-ID: its reply has no In-Reply-To and will not thread under the patch');
    const [file] = fs.readdirSync(replies);
    expect(fs.readFileSync(path.join(replies, file!), 'utf8')).not.toContain('In-Reply-To:');
  });
});
