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
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: { stdout: false, stderr: false }, cwd: work, env: {} });
  return { code, stdout, stderr };
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
      expect(run.code).toBe(introducesError ? 1 : 0);
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

  it('stops at a patch that does not apply unless --keep-going', async () => {
    makeTree(true);
    const run = await flushcheck('review', path.join(SERIES, 'not-applying'), '--tree', tree, '--format', 'json');
    const report = JSON.parse(run.stdout);
    expect(report.patches[0].applied).toBe(false);
    expect(report.patches[0].error).toContain('patch does not apply');
    expect(report.patches[1].applied).toBe(false);
    expect(report.patches[1].skipped).toMatch(/^not tried: 1\/2 did not apply/);
    expect(run.code).toBe(0);
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
});
