// A git tree snapshot takes a working-tree file as the tree's blob without
// hashing it only when git vouches for it (discover/trust.ts): a strict
// check against the index, no assume-unchanged or skip-worktree bit, no
// conversion, and no change to the file since git looked. Each way a file can
// differ from the tree while its stat or git's settings say otherwise is
// shown here to be read as the tree has it, and which check catches it.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitTreeBacking } from '../../src/discover/backing.js';
import { findRepoWithHead, type GitRepo } from '../../src/discover/git.js';
import { treeIdentity } from '../../src/discover/source.js';
import { Snapshot } from '../../src/discover/snapshot.js';
import { askGitForCleanFiles, parseCleanEntries, TIMESTAMP_MARGIN_MS } from '../../src/discover/trust.js';
import { SERIES } from './support/fixture-repo.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FOO = 'drivers/foo/foo_dma.c';
const BAR = 'drivers/bar/bar.c';
const HEADER = 'include/linux/dma-map-ops.h';
/** Names the scans look for: foo_dma.c, the header and bar.c name one each. */
const NAMES = ['arch_sync_dma_for_device', 'bar_push'];
/** A clock a minute ahead: files written before git's check count as old, so only git's verdict decides. */
const AHEAD = () => Date.now() + 60_000;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-trust-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function git(dir: string, ...args: string[]): string {
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' };
  return execFileSync('git', args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
}

/** The series fixture tree committed in a new repository; files' mtimes an hour back, so none is racily clean. */
function makeRepo(name: string, beforeAdd?: (dir: string) => void): string {
  const dir = path.join(work, name);
  fs.cpSync(path.join(SERIES, 'tree'), dir, { recursive: true });
  beforeAdd?.(dir);
  const hourAgo = new Date(Date.now() - 3600_000);
  for (const file of [FOO, BAR, HEADER, 'include/linux/scatterlist.h']) fs.utimesSync(path.join(dir, file), hourAgo, hourAgo);
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'base');
  return dir;
}

/** HEAD's tree as a cold diff or review reads it (git asked at once), through a backing whose clock is `now`. */
function headSnapshot(dir: string, now?: () => number): { snapshot: Snapshot; backing: GitTreeBacking; repo: GitRepo } {
  const { repo, head } = findRepoWithHead(dir)!;
  const backing = new GitTreeBacking(repo, head!.tree, 'arm64', undefined, now);
  backing.prefetch();
  return { snapshot: new Snapshot(backing, new Map(), 'HEAD', [treeIdentity(head!.tree, [])]), backing, repo };
}

async function scanned(snapshot: Snapshot): Promise<Map<string, string>> {
  const scan = await snapshot.scan(NAMES, undefined, new Map(), { jobs: 0 });
  return new Map([...scan.matched].map(([file, content]) => [file, content.toString('utf8')]));
}

function committed(dir: string, file: string): string {
  return git(dir, 'show', `HEAD:${file}`);
}

/** `file` rewritten with one character changed (same length), its mtime put back: its size and mtime are what the index recorded. */
function racyEdit(dir: string, file: string): void {
  const full = path.join(dir, file);
  const before = fs.statSync(full);
  const text = fs.readFileSync(full, 'utf8');
  const edited = text.replace('arch_sync_dma_flush();', 'arch_sync_dma_flusH();');
  expect(edited).not.toBe(text);
  expect(edited.length).toBe(text.length);
  fs.writeFileSync(full, edited);
  fs.utimesSync(full, before.atime, before.mtime);
}

describe('which files git vouches for', () => {
  it('reads ls-files records: only cached regular files at stage 0, never listed as modified, with a UTF-8 name', () => {
    const id = (c: string) => c.repeat(40);
    const records = [
      `H 100644 ${id('a')} 0\tclean.c`,
      `H 100755 ${id('b')} 0\texec.c`,
      `H 100644 ${id('c')} 0\tedited.c`,
      `C 100644 ${id('c')} 0\tedited.c`,
      `h 100644 ${id('d')} 0\tassumed.c`,
      `S 100644 ${id('e')} 0\tsparse.c`,
      `s 100644 ${id('e')} 0\tsparse-assumed.c`,
      `M 100644 ${id('f')} 1\tconflict.c`,
      `M 100644 ${id('f')} 2\tconflict.c`,
      `H 120000 ${id('1')} 0\tlink.c`,
      `H 160000 ${id('2')} 0\tsubmodule`,
      `H 100644 ${id('3')} 0\tbad\uFFFDname.c`,
      `H 100644 ${id('4')} 0\twith space and\ttab.c`,
    ];
    const parsed = parseCleanEntries(Buffer.from(records.join('\0') + '\0'));
    expect([...parsed]).toEqual([
      ['clean.c', id('a')],
      ['exec.c', id('b')],
      ['with space and\ttab.c', id('4')],
    ]);
  });

  it('vouches for the clean files of a fresh checkout, and for none where git cannot say', async () => {
    const dir = makeRepo('fresh');
    const { repo } = findRepoWithHead(dir)!;
    const trust = await askGitForCleanFiles(repo);
    expect([...trust!.ids.keys()].sort()).toEqual([BAR, FOO, HEADER, 'include/linux/scatterlist.h']);
    expect(trust!.ids.get(FOO)).toBe(git(dir, 'rev-parse', `HEAD:${FOO}`).trim());

    const bare = path.join(work, 'bare.git');
    git(work, 'init', '-q', '--bare', bare);
    expect(await askGitForCleanFiles({ top: bare, commonDir: bare })).toBeNull();
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-trust-plain-'));
    try {
      expect(await askGitForCleanFiles({ top: plain, commonDir: plain })).toBeNull();
    } finally {
      fs.rmSync(plain, { recursive: true, force: true });
    }
  });

  it('hashes nothing that git vouches for, and reads an edited file as the tree has it', async () => {
    const dir = makeRepo('edited');
    fs.appendFileSync(path.join(dir, FOO), '/* edited */\n');
    const { snapshot, backing } = headSnapshot(dir, AHEAD);
    const matched = await scanned(snapshot);
    expect([...matched.keys()].sort()).toEqual([BAR, FOO, HEADER]);
    expect(matched.get(FOO)).toBe(committed(dir, FOO));
    expect(backing.hashed).toBe(1);
    // A read (as the include resolver does) trusts the clean header, and hashes the edited file, then takes git's blob.
    expect(snapshot.read(HEADER)!.toString('utf8')).toBe(committed(dir, HEADER));
    expect(backing.hashed).toBe(1);
    expect(snapshot.read(FOO)!.toString('utf8')).toBe(committed(dir, FOO));
    expect(backing.hashed).toBe(2);
  });

  it("a scan of HEAD's tree is the tree's: a file only the index has is not in it, one only the tree has is read from git", async () => {
    const dir = makeRepo('index-differs');
    // Staged, then gone from the disk: in the index only.
    const added = 'drivers/new/new_dma.c';
    fs.mkdirSync(path.join(dir, 'drivers/new'), { recursive: true });
    fs.writeFileSync(path.join(dir, added), 'void f(void) { arch_sync_dma_for_device(0, 0, 0); }\n');
    git(dir, 'add', added);
    fs.rmSync(path.join(dir, added));
    // Out of the index, edited on disk: in the tree (HEAD) only.
    git(dir, 'rm', '-q', '--cached', BAR);
    fs.appendFileSync(path.join(dir, BAR), '/* not the tree */\n');
    const { snapshot } = headSnapshot(dir, AHEAD);
    const scan = await snapshot.scan(NAMES, undefined, new Map(), { jobs: 0 });
    expect([...scan.matched.keys()].sort()).toEqual([BAR, FOO, HEADER]);
    expect(scan.matched.get(BAR)!.toString('utf8')).toBe(committed(dir, BAR));
    // The index's file is missing on disk: that is no problem of HEAD's tree.
    expect(scan.diagnostics).toEqual([]);
  });

  it('a small scan of a snapshot not analysed cold does not ask git: a warm run hashes its few files rather than wait for a pass over the tree', async () => {
    const dir = makeRepo('warm');
    const { repo, head } = findRepoWithHead(dir)!;
    const backing = new GitTreeBacking(repo, head!.tree, 'arm64', undefined, AHEAD);
    await scanned(new Snapshot(backing, new Map(), 'HEAD', []));
    expect(backing.hashed).toBe(4);
  });

  it('an index without stat data (read-tree) vouches for nothing: every file is hashed', async () => {
    const dir = makeRepo('read-tree');
    git(dir, 'read-tree', 'HEAD');
    const { repo } = findRepoWithHead(dir)!;
    expect((await askGitForCleanFiles(repo, AHEAD))!.ids.size).toBe(0);
    const { snapshot, backing } = headSnapshot(dir, AHEAD);
    expect((await scanned(snapshot)).get(FOO)).toBe(committed(dir, FOO));
    expect(backing.hashed).toBe(4);
  });

  for (const bit of ['--assume-unchanged', '--skip-worktree']) {
    it(`does not trust a file marked ${bit} and edited on disk: the tree's version is analysed`, async () => {
      const dir = makeRepo(`marked${bit}`);
      git(dir, 'update-index', bit, FOO);
      fs.appendFileSync(path.join(dir, FOO), 'int foo_added_on_disk;\n');
      // git itself is told not to look: it calls the file clean.
      expect(git(dir, 'ls-files', '-m')).toBe('');
      const { snapshot, backing } = headSnapshot(dir, AHEAD);
      const matched = await scanned(snapshot);
      expect(matched.get(FOO)).toBe(committed(dir, FOO));
      expect(backing.hashed).toBe(1);
      expect(snapshot.read(FOO)!.toString('utf8')).toBe(committed(dir, FOO));
    });
  }

  it('does not trust a file a conversion rewrites on checkout, nor any file when core.autocrlf is set', async () => {
    const dir = makeRepo('crlf', (d) => fs.writeFileSync(path.join(d, '.gitattributes'), `${BAR} text eol=crlf\n`));
    // Checked out again: CRLF on disk, LF in the blob, and git calls it clean.
    fs.rmSync(path.join(dir, BAR));
    git(dir, 'checkout', '--', BAR);
    expect(fs.readFileSync(path.join(dir, BAR), 'utf8')).toContain('\r\n');
    expect(git(dir, 'ls-files', '-m')).toBe('');
    const { repo } = findRepoWithHead(dir)!;
    const trust = await askGitForCleanFiles(repo, AHEAD);
    expect(trust!.ids.has(BAR)).toBe(false);
    expect(trust!.ids.has(FOO)).toBe(true);
    const { snapshot, backing } = headSnapshot(dir, AHEAD);
    expect((await scanned(snapshot)).get(BAR)).toBe(committed(dir, BAR));
    expect(backing.hashed).toBe(1);

    git(dir, 'config', 'core.autocrlf', 'input');
    expect(await askGitForCleanFiles(repo, AHEAD)).toBeNull();
  });
});

describe('files changed after git looked', () => {
  // Real clocks and real ctimes: these repositories must be older than the margin before git's check.
  let aged: string;
  let agedRacy: string;
  let agedCli: string;
  let madeAt = 0;
  beforeAll(() => {
    aged = makeRepo('aged');
    agedRacy = makeRepo('aged-racy');
    agedCli = makeRepo('aged-cli');
    madeAt = Date.now();
  });
  const ripe = async () => {
    const wait = madeAt + TIMESTAMP_MARGIN_MS + 200 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };

  it("a racy edit (same size, mtime put back) seconds after the commit is caught by git's ctime check, which is forced on", async () => {
    await ripe();
    // A user who turned ctime checks off: git as configured calls the edited file clean.
    git(agedRacy, 'config', 'core.trustctime', 'false');
    racyEdit(agedRacy, FOO);
    expect(git(agedRacy, 'ls-files', '-m')).toBe('');
    // With the clock ahead, the file's fresh ctime passes our own guard: only git's verdict keeps it out.
    const { repo } = findRepoWithHead(agedRacy)!;
    const trust = await askGitForCleanFiles(repo, AHEAD);
    expect(trust!.ids.has(FOO)).toBe(false);
    expect(trust!.ids.has(BAR)).toBe(true);
    const { snapshot, backing } = headSnapshot(agedRacy, AHEAD);
    expect((await scanned(snapshot)).get(FOO)).toBe(committed(agedRacy, FOO));
    expect(backing.hashed).toBe(1);
  });

  it('a file edited after git vouched for it is hashed (the ctime guard), and read as the tree has it', async () => {
    await ripe();
    const { snapshot, backing } = headSnapshot(aged);
    // The first scan waits for git (a small tree) and trusts every file: none was touched since.
    expect((await scanned(snapshot)).get(FOO)).toBe(committed(aged, FOO));
    expect(backing.hashed).toBe(0);
    // Now edited the racy way: git's answer (given before) still lists it as clean.
    racyEdit(aged, FOO);
    const again = new Snapshot(backing, new Map(), 'HEAD', []);
    expect((await scanned(again)).get(FOO)).toBe(committed(aged, FOO));
    expect(backing.hashed).toBe(1);
    expect(again.read(FOO)!.toString('utf8')).toBe(committed(aged, FOO));
    expect(backing.hashed).toBe(2);
    expect(again.read(HEADER)!.toString('utf8')).toBe(committed(aged, HEADER));
    expect(backing.hashed).toBe(2);
  });

  it('diff says in its trace how many files it hashed: only the one edited', async () => {
    await ripe();
    fs.appendFileSync(path.join(agedCli, FOO), '/* edited */\n');
    const run = spawnSync(process.execPath, [CLI, 'diff', '--format', 'json'], { cwd: agedCli, env: { ...process.env, FLUSHCHECK_TRACE: '1' } });
    expect(run.status).toBe(0);
    const scans = run.stderr.toString('utf8').split('\n').filter((line) => line.includes('] scanned 4 files'));
    // The base (HEAD's tree) is scanned whole: the edited file hashed, the three others vouched for by git.
    expect(scans[0]).toMatch(/\] scanned 4 files for \d+ names: \d+ match, 1 hashed$/);
  });
});
