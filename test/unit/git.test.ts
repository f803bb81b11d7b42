// git plumbing that reads untrusted or large input: streamed cat-file, git's
// own refusals passed through, and trees inside other repositories.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { diffIndex, earlyCommandsRegistered, findRepo, findRepoAtTop, findRepoWithHead, findRepoWithHeadAsync, GitError, listCommit, listSourcesThroughIndex, readObjects, readObjectsAsync, startCachedDiffEarly } from '../../src/discover/git.js';
import { GitTreeBacking } from '../../src/discover/backing.js';
import { treeSnapshot } from '../../src/discover/source.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-git-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env }).toString('utf8');

describe('git plumbing', () => {
  const repoDir = path.join(work, 'repo');
  fs.mkdirSync(path.join(repoDir, 'sub'), { recursive: true });
  // Several MB with newlines and NULs: parsed across many stdout chunks.
  const big = Buffer.concat(Array.from({ length: 3000 }, (_, i) => Buffer.from(`line ${i}\n\0${'x'.repeat(1000)}\n`)));
  fs.writeFileSync(path.join(repoDir, 'big.c'), big);
  fs.writeFileSync(path.join(repoDir, 'small.c'), 'int x;\n');
  fs.writeFileSync(path.join(repoDir, 'empty.c'), '');
  git(repoDir, 'init', '-q');
  git(repoDir, 'add', '-A');
  git(repoDir, 'commit', '-qm', 'base');

  it('reads objects streamed, exactly as the one-shot reader does, missing ones as null', async () => {
    const repo = findRepo(repoDir)!;
    const specs = ['HEAD:big.c', 'HEAD:nope.c', 'HEAD:small.c', 'HEAD:empty.c', 'HEAD', 'HEAD:big.c'];
    const streamed = await readObjectsAsync(repo, specs);
    const oneShot = readObjects(repo, specs);
    // Buffer.equals: a deep toEqual on megabytes is slow.
    expect(streamed.map((b, i) => (b === null ? oneShot[i] === null : b.equals(oneShot[i]!)))).toEqual(specs.map(() => true));
    expect(streamed[0]!.equals(big)).toBe(true);
    expect(streamed.map((b) => (b === null ? null : b.length))).toEqual([big.length, null, 7, 0, null, big.length]);
  });

  it('lists a tree in the background exactly as the blocking listing does; a failed one is reported by the blocking listing', async () => {
    const repo = findRepo(repoDir)!;
    const tree = git(repoDir, 'rev-parse', 'HEAD^{tree}').trim();
    const blocking = new GitTreeBacking(repo, tree, 'arm64').listing();
    expect([...blocking.keys()]).toEqual(['big.c', 'empty.c', 'small.c']);
    const background = new GitTreeBacking(repo, tree, 'arm64');
    background.prefetch();
    await background.ready();
    expect(background.listing()).toEqual(blocking);

    const missing = new GitTreeBacking(repo, '0123456789012345678901234567890123456789', 'arm64');
    missing.prefetch();
    await missing.ready();
    expect(() => missing.listing()).toThrow(GitError);
  });

  it('lists a tree ahead of its analysis only when the snapshot has no record to answer the scans', async () => {
    const repo = findRepo(repoDir)!;
    const base = treeSnapshot(repo, git(repoDir, 'rev-parse', 'HEAD^{tree}').trim(), 'arm64', 'base');
    const prefetch = vi.spyOn(base.backing as GitTreeBacking, 'prefetch');
    base.prefetchListing();
    expect(prefetch).toHaveBeenCalledTimes(1);
    await base.scan(['filler_name'], undefined, new Map(), { jobs: 0 });
    // A change over an analysed tree starts from its record (a warm diff): no listing needed.
    const changed = base.withChanges(new Map([['small.c', Buffer.from('int y;\n')]]), 'changed', []);
    changed.prefetchListing();
    expect(prefetch).toHaveBeenCalledTimes(1);
  });

  it("lists a tree's C sources through the index as ls-tree does, whatever the index changed; an unmerged index cannot say", async () => {
    const dir = path.join(work, 'through-index');
    fs.mkdirSync(path.join(dir, 'd'), { recursive: true });
    for (const f of ['a.c', 'b.c', 'c.h', 'd/e.c', 'd/f.h', 'g.c', 'notes.txt']) fs.writeFileSync(path.join(dir, f), `/* ${f} */\n`);
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'base');
    const repo = findRepo(dir)!;
    const tree = git(dir, 'rev-parse', 'HEAD^{tree}').trim();
    const sourcesOf = (listing: Map<string, string>) => new Map([...listing].filter(([f]) => f.endsWith('.c') || f.endsWith('.h')));
    // Staged: an edit, a new file, a removal, a mode change, a file turned symlink, a rename; and an edit on disk only.
    fs.appendFileSync(path.join(dir, 'a.c'), 'int a;\n');
    fs.writeFileSync(path.join(dir, 'd/new.c'), 'int n;\n');
    fs.rmSync(path.join(dir, 'b.c'));
    fs.chmodSync(path.join(dir, 'c.h'), 0o755);
    fs.rmSync(path.join(dir, 'g.c'));
    fs.symlinkSync('a.c', path.join(dir, 'g.c'));
    git(dir, 'mv', 'd/f.h', 'd/moved.h');
    git(dir, 'add', '-A');
    fs.appendFileSync(path.join(dir, 'd/e.c'), 'int e;\n');
    const viaIndex = await listSourcesThroughIndex(repo, tree);
    expect(viaIndex).toEqual(sourcesOf(listCommit(repo, tree)));
    expect([...viaIndex!.keys()].sort()).toEqual(['a.c', 'b.c', 'c.h', 'd/e.c', 'd/f.h', 'g.c']);
    // The index's own tree, after a commit: the same answer as ls-tree.
    git(dir, 'commit', '-qm', 'next');
    const next = git(dir, 'rev-parse', 'HEAD^{tree}').trim();
    expect(await listSourcesThroughIndex(repo, next)).toEqual(sourcesOf(listCommit(repo, next)));
    expect(await listSourcesThroughIndex(repo, tree)).toEqual(sourcesOf(listCommit(repo, tree)));
    // An unmerged path has no one index entry: the caller asks ls-tree.
    const branch = git(dir, 'rev-parse', '--abbrev-ref', 'HEAD').trim();
    git(dir, 'checkout', '-qb', 'other', 'HEAD~1');
    fs.writeFileSync(path.join(dir, 'a.c'), 'int other;\n');
    git(dir, 'commit', '-qam', 'other');
    expect(() => git(dir, 'merge', '-q', branch)).toThrow();
    expect(git(dir, 'ls-files', '-u')).not.toBe('');
    expect(await listSourcesThroughIndex(repo, tree)).toBeNull();
  });

  it('takes a folder inside a repository as a plain folder for review, and passes git refusals through', () => {
    expect(findRepoAtTop(path.join(repoDir, 'sub'))).toBeNull();
    expect(findRepoAtTop(repoDir)?.top).toBe(fs.realpathSync(repoDir));
    expect(findRepo(path.join(repoDir, 'sub'))?.top).toBe(fs.realpathSync(repoDir));
    expect(findRepo(work)).toBeNull();
  });

  it.skipIf(process.getuid?.() !== 0)("reports git's dubious-ownership refusal as such, not as 'not in a git work tree'", () => {
    // As root, a repository owned by another user is one git refuses to read.
    const foreign = path.join(work, 'foreign');
    fs.mkdirSync(foreign);
    git(foreign, 'init', '-q');
    execFileSync('chown', ['-R', '65534:65534', foreign]);
    expect(() => findRepo(foreign)).toThrow(/git rev-parse: fatal: detected dubious ownership in repository at/);
  });
});

describe('the first git questions of diff --cached, asked early', () => {
  const dir = path.join(work, 'early');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'a.c'), 'int a;\n');
  fs.writeFileSync(path.join(dir, 'b.c'), 'int b;\n');
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'base');
  const staged = (changes: { path: string }[]) => changes.map((c) => c.path).sort();
  /** A git on PATH that logs its command: the only way to see which process answered. */
  const loggingGit = () => {
    const shim = fs.mkdtempSync(path.join(work, 'shim-'));
    const log = path.join(shim, 'log');
    const realGit = execFileSync('sh', ['-c', 'command -v git']).toString('utf8').trim();
    fs.writeFileSync(path.join(shim, 'git'), `#!/bin/sh\necho "$1" >> '${log}'\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
    const oldPath = process.env.PATH;
    process.env.PATH = `${shim}:${oldPath}`;
    return { log, restore: () => void (process.env.PATH = oldPath) };
  };
  const commands = (log: string) => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
  /** Nothing staged but a.c, with this text. */
  const stageOnlyA = (text: string) => {
    git(dir, 'reset', '-q');
    fs.writeFileSync(path.join(dir, 'a.c'), text);
    git(dir, 'add', 'a.c');
  };

  it('answer diffIndex once, as the index was when they were asked', async () => {
    fs.writeFileSync(path.join(dir, 'a.c'), 'int a2;\n');
    git(dir, 'add', 'a.c');
    await startCachedDiffEarly(dir);
    // Staged after the early question: not in its answer.
    fs.writeFileSync(path.join(dir, 'b.c'), 'int b2;\n');
    git(dir, 'add', 'b.c');
    const { repo, head } = findRepoWithHead(dir)!;
    expect(staged(await diffIndex(repo, head!.commit, true))).toEqual(['a.c']);
    // Each early answer serves once: the next question asks git.
    expect(staged(await diffIndex(repo, head!.commit, true))).toEqual(['a.c', 'b.c']);
  });

  it('are taken only by the same question from the same folder, about the same HEAD', async () => {
    git(dir, 'reset', '-q'); // nothing staged; a.c and b.c still changed on disk
    await startCachedDiffEarly(dir);
    git(dir, 'add', 'a.c');
    const { repo, head } = findRepoWithHead(dir)!;
    // Another folder, another question: asked of git, and the early answer stays.
    expect(staged(await diffIndex({ ...repo, top: `${repo.top}/` }, head!.commit, true))).toEqual(['a.c']);
    expect(staged(await diffIndex(repo, head!.commit, false))).toEqual(['a.c', 'b.c']);
    // The early question's own: nothing was staged when it was asked.
    expect(staged(await diffIndex(repo, head!.commit, true))).toEqual([]);

    // HEAD moved after the early question: its answer, about the old HEAD, is not taken.
    await startCachedDiffEarly(dir);
    git(dir, 'commit', '-qm', 'second');
    git(dir, 'add', 'b.c');
    const now = findRepoWithHead(dir)!;
    expect(now.head!.commit).not.toBe(head!.commit);
    expect(staged(await diffIndex(now.repo, now.head!.commit, true))).toEqual(['b.c']);
  });

  it('give the diff its repository and HEAD too: git runs rev-parse and diff-index once each', async () => {
    const { log, restore } = loggingGit();
    try {
      stageOnlyA('int a4;\n');
      const started = startCachedDiffEarly(dir);
      await earlyCommandsRegistered();
      const found = await findRepoWithHeadAsync(dir);
      expect(found).toEqual(findRepoWithHead(dir));
      expect(staged(await diffIndex(found!.repo, found!.head!.commit, true))).toEqual(['a.c']);
      await started;
      // The synchronous findRepoWithHead above asked once more, after the early answers were taken.
      expect(commands(log)).toEqual(['rev-parse', 'diff-index', 'rev-parse']);
    } finally {
      restore();
    }
  });

  it('leave a folder that is no repository to the general lookup', async () => {
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-plain-'));
    try {
      void startCachedDiffEarly(plain);
      await earlyCommandsRegistered();
      expect(await findRepoWithHeadAsync(plain)).toBeNull();
    } finally {
      fs.rmSync(plain, { recursive: true, force: true });
    }
  });

  it('are waited for when asked before the early rev-parse answered: git runs diff-index once', async () => {
    const { log, restore } = loggingGit();
    try {
      stageOnlyA('int a3;\n');
      const started = startCachedDiffEarly(dir);
      // Synchronous: the early rev-parse's answer cannot be taken in before diffIndex asks.
      const { repo, head } = findRepoWithHead(dir)!;
      expect(staged(await diffIndex(repo, head!.commit, true))).toEqual(['a.c']);
      await started;
      expect(commands(log).filter((command) => command === 'diff-index')).toHaveLength(1);
    } finally {
      restore();
    }
  });
});
