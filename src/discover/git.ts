// Git plumbing for the tree snapshots `diff` and `review` analyse. Every call
// goes through execFile with an argument vector (never a shell), paths after
// `--`, revisions after `--end-of-options`: nothing the user or a patch series
// supplies is ever interpreted by a shell or as an option.
import { execFile, spawn, spawnSync, type ExecFileOptions } from 'node:child_process';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** Listing a kernel tree (~90k entries) produces a few MB; generous headroom. */
const MAX_GIT_OUTPUT = 512 * 1024 * 1024;

export interface GitRepo {
  /** Top of the work tree. */
  top: string;
  /** The repository's common git dir (shared by all worktrees): where caches live. */
  commonDir: string;
}

/** The env git runs with: no pager, no prompts, no user hooks of ours, C locale for parsable messages. */
function gitEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0' };
}

/**
 * `detached`: git runs in a process group of its own (setsid), so the terminal's
 * Ctrl-C reaches flushcheck only. Node's spawnSync honours it; its types omit it.
 */
export const OWN_PROCESS_GROUP: object = { detached: true };

/**
 * Runs git and returns its stdout. git runs in its own process group, so a
 * Ctrl-C meant for flushcheck does not kill it half-way (flushcheck handles
 * the signal once git is done). git's own error is passed through as it said
 * it; "install git" is said only when there is no git to run.
 */
export function git(cwd: string, args: string[], input?: string | Buffer): Buffer {
  const run = spawnSync('git', args, { cwd, env: gitEnv(), input, maxBuffer: MAX_GIT_OUTPUT, ...OWN_PROCESS_GROUP });
  if (run.error) throw spawnFailure(args, run.error as NodeJS.ErrnoException);
  if (run.status !== 0) throw new GitError(args, gitReason(run.stderr) ?? (run.signal ? `killed by ${run.signal}` : `exit status ${run.status}`));
  return run.stdout;
}

/** Why git could not be run or read: only a missing git binary gets the install advice. */
function spawnFailure(args: string[], error: NodeJS.ErrnoException): UsageError {
  if (error.code === 'ENOENT') return new UsageError('cannot run git: not found; install git or put it on PATH');
  if (error.code === 'ENOBUFS') return new UsageError(`git ${args[0]} printed more than ${MAX_GIT_OUTPUT / (1024 * 1024)} MiB; the change is too large to check`);
  return new UsageError(`cannot run git ${args[0]}: ${error.message}`);
}

/** Control characters as `\xNN` (as report/escape.ts does; discover sits below report and cannot import it). */
function escapeControl(text: string): string {
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** git's own message (every line of its stderr), control characters shown; undefined when it said nothing. */
function gitReason(stderr: Buffer | string | null | undefined): string | undefined {
  if (!stderr) return undefined;
  const lines = stderr.toString().split('\n').map((l) => escapeControl(l.trimEnd())).filter(Boolean);
  return lines.length ? lines.join('\n') : undefined;
}

/**
 * `git` without blocking: a slow call (one that stats every file) runs while
 * other work goes on. `env`: added to gitEnv(); `signal`: ends git when the
 * answer is no longer wanted (the promise then rejects). A command started
 * early (startCachedDiffEarly) with the same folder and arguments gives its
 * answer instead; if it failed, git runs again, so an error comes as it would.
 */
export function gitAsync(cwd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<Buffer> {
  if (opts.env || opts.signal) return runGit(cwd, args, opts);
  // An early command whose rev-parse has not answered yet is not registered yet: wait for it rather than ask twice.
  if (early.registering) return early.registering.then(() => gitAsync(cwd, args, opts));
  const started = takeEarly(cwd, args);
  return started ? started.catch(() => runGit(cwd, args, opts)) : runGit(cwd, args, opts);
}

function runGit(cwd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const options = { cwd, env: { ...gitEnv(), ...opts.env }, signal: opts.signal, maxBuffer: MAX_GIT_OUTPUT, encoding: 'buffer', ...OWN_PROCESS_GROUP };
    execFile('git', args, options as ExecFileOptions & { encoding: 'buffer' }, (error, stdout, stderr) => {
      if (!error) return resolvePromise(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      if (typeof code === 'string') return reject(spawnFailure(args, error as NodeJS.ErrnoException));
      reject(new GitError(args, gitReason(stderr) ?? error.message));
    });
  });
}

/**
 * Commands started before the code that asks for them was loaded, by folder
 * and arguments; each answers once. `registering`: until an early command is
 * in `answers` (its rev-parse still running), or known not to come. One per
 * process, not per copy of this module: cli/main.ts starts the early command
 * from this module as tsc wrote it, before it loads the CLI's bundle, which
 * holds its own copy (see cli/bundle.ts).
 */
interface EarlyCommands {
  answers: Map<string, Promise<Buffer>>;
  registering: Promise<void> | null;
}
const EARLY = Symbol.for('flushcheck.git.early');
const early: EarlyCommands = ((globalThis as { [EARLY]?: EarlyCommands })[EARLY] ??= { answers: new Map(), registering: null });

const earlyKey = (cwd: string, args: string[]) => `${cwd}\0${args.join('\0')}`;

function takeEarly(cwd: string, args: string[]): Promise<Buffer> | undefined {
  const key = earlyKey(cwd, args);
  const started = early.answers.get(key);
  early.answers.delete(key);
  return started;
}

/**
 * `diff --cached` (the pre-commit hook) asks git what the index changes
 * (diffIndex) once its code is loaded: ~40 ms on a kernel's index, waited
 * for on every commit. Asked here, from the folder the command runs in (one
 * rev-parse for the commit first), git answers while node loads the code.
 * diffIndex takes the answer only if it asks the same folder about the same
 * commit; the answer is the index as it was a moment earlier, when the
 * command started. A git command asked before the rev-parse answered waits
 * for it. Resolves once git has answered or failed (the command does not wait
 * for it; tests do).
 */
export async function startCachedDiffEarly(dir: string): Promise<void> {
  const repoWithHead = runGit(dir, REPO_WITH_HEAD, {});
  // findRepoWithHeadAsync takes this answer too: the diff then asks git nothing the hook did not ask first.
  early.answers.set(earlyKey(dir, REPO_WITH_HEAD), repoWithHead);
  // Resolves once the answer is registered, not once it has come (hence the box: a promise would be flattened).
  const registered = repoWithHead
    .then((out) => parseRepoWithHead(out, dir), () => null)
    .then((found) => {
      if (!found) return null;
      const args = diffIndexArgs(found.head.commit, true);
      const answer = runGit(found.repo.top, args, {});
      early.answers.set(earlyKey(found.repo.top, args), answer);
      return { answer };
    });
  const before = early.registering;
  const mine: Promise<void> = Promise.all([before, registered]).then(() => {
    if (early.registering === mine) early.registering = null;
  });
  early.registering = mine;
  await (await registered)?.answer.then(() => {}, () => {});
}

/** git refused (bad revision, dubious ownership, ...): a usage error carrying git's own words. */
export class GitError extends UsageError {
  constructor(
    readonly args: string[],
    readonly reason: string,
  ) {
    super(`git ${args[0]}: ${reason}`);
    this.name = 'UsageError';
  }
}

/**
 * The repository holding `dir`, or null when it is not in a git work tree.
 * diff works on the whole work tree, as git diff does. git's refusals other
 * than "not a repository" (dubious ownership, a broken .git) are errors in
 * git's words: reading such a tree as a plain folder would be a silent guess.
 */
export function findRepo(dir: string): GitRepo | null {
  const run = spawnSync('git', ['rev-parse', '--show-toplevel', '--git-common-dir'], { cwd: dir, env: gitEnv(), ...OWN_PROCESS_GROUP });
  if (run.error) throw spawnFailure(['rev-parse'], run.error as NodeJS.ErrnoException);
  if (run.status !== 0) {
    const reason = gitReason(run.stderr) ?? `exit status ${run.status}`;
    if (/not a git repository/i.test(reason)) return null;
    throw new GitError(['rev-parse'], reason);
  }
  const [top, common] = run.stdout.toString('utf8').split('\n');
  if (!top || !common) return null;
  return { top, commonDir: path.resolve(dir, common) };
}

/**
 * The repository whose work tree's top is `dir` itself, else null: a folder
 * inside another repository (git-ignored or untracked) is a plain folder,
 * never reviewed against that repository's HEAD.
 */
export function findRepoAtTop(dir: string): GitRepo | null {
  const repo = findRepo(dir);
  if (!repo) return null;
  try {
    return fs.realpathSync(repo.top) === fs.realpathSync(dir) ? repo : null;
  } catch {
    return null;
  }
}

/** The full commit id `rev` names; a clear usage error when it names none. */
export function resolveCommit(repo: GitRepo, rev: string): string {
  try {
    return git(repo.top, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]).toString('utf8').trim();
  } catch {
    throw new UsageError(`'${rev}' is not a commit in ${repo.top}; pass a branch, tag or commit id (git log shows them)`);
  }
}

/**
 * `ls-tree` records (`MODE TYPE ID<TAB>PATH`, NUL-terminated) -> `path -> blob
 * id`, regular files only (symlinks and submodules are not sources). Read in
 * place, without splitting each of a kernel tree's ~95,000 records into
 * arrays (a third of the time).
 */
function parseTree(out: Buffer): Map<string, string> {
  const entries = new Map<string, string>();
  forEachRecord(out, (text, start, tab, end) => {
    const regularFile = text.startsWith('100644 blob ', start) || text.startsWith('100755 blob ', start);
    if (regularFile) entries.set(text.slice(tab + 1, end), text.slice(start + 12, tab));
  });
  return entries;
}

/**
 * Each NUL-terminated `FIELDS<TAB>PATH` record of git's `-z` output, as
 * offsets into the decoded text (records without a tab are skipped): read
 * in place, since slicing ~95,000 records costs a third of the time.
 */
export function forEachRecord(out: Buffer, onRecord: (text: string, start: number, tab: number, end: number) => void): void {
  const text = out.toString('utf8');
  for (let pos = 0; pos < text.length; ) {
    let end = text.indexOf('\0', pos);
    if (end < 0) end = text.length;
    const tab = text.indexOf('\t', pos);
    if (tab > pos && tab < end) onRecord(text, pos, tab, end);
    pos = end + 1;
  }
}

/** Files of a commit (under the analysed root, or only `paths` from the top) with their blob ids. */
export function listCommit(repo: GitRepo, commit: string, paths?: string[]): Map<string, string> {
  return parseTree(git(repo.top, lsTreeArgs(commit, paths ?? [])));
}

/** listCommit without blocking: a kernel tree's listing takes git ~0.2 s, mostly reading tree objects. */
export async function listCommitAsync(repo: GitRepo, commit: string): Promise<Map<string, string>> {
  return parseTree(await gitAsync(repo.top, lsTreeArgs(commit, [])));
}

/** C sources (walk.ts isSourceName: a third of a kernel's files are not). Without `glob` magic, `*` matches across folders. */
export const SOURCES = ['*.c', '*.h'];
/** A user's GIT_LITERAL_PATHSPECS would make globs (and attr magic) file names: nothing would match. */
export const PATHSPEC_ENV = { GIT_LITERAL_PATHSPECS: '0', GIT_GLOB_PATHSPECS: '0', GIT_NOGLOB_PATHSPECS: '0', GIT_ICASE_PATHSPECS: '0' };

/**
 * Per repository as a run found it: a run's environment (GIT_INDEX_FILE: a
 * commit's hook is given a temporary index) is its own, and the resident
 * process serves runs with other environments.
 */
const indexFiles = new WeakMap<GitRepo, Promise<string>>();

/** The index file git reads for `repo` (GIT_INDEX_FILE, a worktree's own), asked once per run. */
export function indexFileOf(repo: GitRepo): Promise<string> {
  let file = indexFiles.get(repo);
  if (!file) {
    file = gitAsync(repo.top, ['rev-parse', '--git-path', 'index']).then((out) => path.resolve(repo.top, out.toString('utf8').trim()));
    indexFiles.set(repo, file);
    // Asked again next time: a failure says nothing about a later call.
    file.catch(() => indexFiles.delete(repo));
  }
  return file;
}

/** What tells one index file from the next: git writes a new one and renames it into place. */
export function indexState(file: string): string {
  const stat = fs.statSync(file, { bigint: true });
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

/**
 * A tree's C sources (listCommitAsync's answer, for `*.c` and `*.h` only)
 * worked out from the index: the index's entries (`ls-files --stage`), and
 * the tree's where the two differ (`diff-index --cached`, which skips the
 * subtrees the index's cache-tree says are the same). git answers in ~30 ms
 * on a kernel, against ~130 ms for ls-tree, which reads every tree object;
 * a cold `diff` or `review` waits for the listing before its scan starts.
 * null when the index cannot answer (no index, git failed, an unmerged
 * entry or a sparse folder in it, the index rewritten meanwhile): the
 * caller asks ls-tree.
 */
export async function listSourcesThroughIndex(repo: GitRepo, tree: string): Promise<Map<string, string> | null> {
  const ask = (args: string[]) => gitAsync(repo.top, args, { env: PATHSPEC_ENV });
  try {
    const index = await indexFileOf(repo);
    const before = indexState(index);
    const [staged, differs] = await Promise.all([
      ask(['ls-files', '-z', '--stage', '--cached', '--', ...SOURCES]),
      ask(['diff-index', '--cached', '--raw', '-z', '--no-renames', '--end-of-options', tree, '--', ...SOURCES]),
    ]);
    if (indexState(index) !== before) return null;
    const sources = new Map<string, string>();
    let answerable = true;
    // `MODE ID STAGE<TAB>PATH`: "100644 " is 7 characters, the id runs to " 0" before the tab.
    forEachRecord(staged, (text, record, tab, end) => {
      if (!text.startsWith(' 0', tab - 2)) answerable = false; // unmerged: no one entry stands for the path
      else if (text.startsWith('100644 ', record) || text.startsWith('100755 ', record)) sources.set(text.slice(tab + 1, end), text.slice(record + 7, tab - 2));
      else if (text.startsWith('040000 ', record)) answerable = false; // a sparse index's folder: its files are not listed
    });
    if (!answerable) return null;
    // The tree's side (src) of each difference: the entry it has there, or none.
    for (const change of parseRawDiffSides(differs)) {
      if (change.status === 'U') return null;
      if (change.srcMode === '100644' || change.srcMode === '100755') sources.set(change.path, change.srcId);
      else sources.delete(change.path);
    }
    return sources;
  } catch {
    return null;
  }
}

function lsTreeArgs(commit: string, paths: string[]): string[] {
  // Literal pathspecs: a path named in a diff is never a glob. (ls-tree has no
  // `--` separator: after --end-of-options every word is the tree or a path.)
  return ['--literal-pathspecs', 'ls-tree', '-r', '-z', '--full-tree', '--end-of-options', commit, ...paths];
}

/**
 * Contents of objects named as git understands them (`<blob id>`,
 * `<commit>:<path>`, `:<path>` for the index), in one `cat-file --batch`.
 * A missing object gives null.
 */
export function readObjects(repo: GitRepo, specs: string[]): (Buffer | null)[] {
  if (!specs.length) return [];
  // One spec per line: a path with a newline cannot be asked for this way.
  const safe = specs.map((s) => (s.includes('\n') ? '' : s));
  const out = git(repo.top, ['cat-file', '--batch'], safe.join('\n') + '\n');
  const results: (Buffer | null)[] = [];
  let pos = 0;
  for (let i = 0; i < specs.length; i++) {
    const eol = out.indexOf(10, pos);
    if (eol < 0) break;
    const header = out.subarray(pos, eol).toString('utf8');
    pos = eol + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) {
      results.push(null);
      continue;
    }
    const size = Number(m[2]);
    results.push(m[1] === 'blob' ? out.subarray(pos, pos + size) : null);
    pos += size + 1;
  }
  while (results.length < specs.length) results.push(null);
  return results;
}

/**
 * readObjects, streamed: `git cat-file --batch` output is parsed as it
 * arrives, one buffer per object, so a change of any total size is read
 * without one giant buffer (no ENOBUFS past 512 MB).
 */
export function readObjectsAsync(repo: GitRepo, specs: string[]): Promise<(Buffer | null)[]> {
  if (!specs.length) return Promise.resolve([]);
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd: repo.top, env: gitEnv(), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const results: (Buffer | null)[] = [];
    const stderr: Buffer[] = [];
    let pending: Buffer = Buffer.alloc(0);
    // Reading a header line, or `left` bytes of the current object's content (plus its newline).
    let left = -1;
    let pieces: Buffer[] = [];
    let isBlob = false;
    const consume = (chunk: Buffer) => {
      let data = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      pending = Buffer.alloc(0);
      while (data.length > 0) {
        if (left < 0) {
          const eol = data.indexOf(10);
          if (eol < 0) {
            pending = Buffer.from(data);
            return;
          }
          const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(data.subarray(0, eol).toString('utf8'));
          data = data.subarray(eol + 1);
          if (!m) {
            results.push(null); // "<spec> missing"
            continue;
          }
          isBlob = m[1] === 'blob';
          left = Number(m[2]) + 1;
          pieces = [];
        }
        const take = Math.min(left, data.length);
        if (isBlob) pieces.push(Buffer.from(data.subarray(0, take)));
        data = data.subarray(take);
        left -= take;
        if (left === 0) {
          results.push(isBlob ? Buffer.concat(pieces).subarray(0, -1) : null);
          left = -1;
          pieces = [];
        }
      }
    };
    child.stdout.on('data', consume);
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => reject(spawnFailure(['cat-file'], error as NodeJS.ErrnoException)));
    child.on('close', (status) => {
      if (status !== 0) return reject(new GitError(['cat-file'], gitReason(Buffer.concat(stderr)) ?? `exit status ${status}`));
      while (results.length < specs.length) results.push(null);
      resolvePromise(results);
    });
    // One spec per line: a path with a newline cannot be asked for this way.
    child.stdin.on('error', () => {}); // git exiting early is reported by 'close'
    child.stdin.end(specs.map((s) => (s.includes('\n') ? '' : s)).join('\n') + '\n');
  });
}

/** The id git gives a blob with this content (so files read from disk share keys with the index). */
export function blobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** One rev-parse for the repository and its HEAD (see findRepoWithHead). */
const REPO_WITH_HEAD = ['rev-parse', '--show-toplevel', '--git-common-dir', 'HEAD^{commit}', 'HEAD^{tree}', '--'];

/** The repository and its HEAD in one git call: the commit and its tree, or null before the first commit. */
export function findRepoWithHead(dir: string): { repo: GitRepo; head: { commit: string; tree: string } | null } | null {
  const run = spawnSync('git', REPO_WITH_HEAD, { cwd: dir, env: gitEnv(), ...OWN_PROCESS_GROUP });
  if (run.error) throw spawnFailure(['rev-parse'], run.error as NodeJS.ErrnoException);
  const found = run.status === 0 ? parseRepoWithHead(run.stdout, dir) : null;
  if (found) return found;
  // No HEAD yet (or not a repository, or a refusal): the general lookup says which, in git's words.
  const repo = findRepo(dir);
  return repo ? { repo, head: null } : null;
}

/**
 * findRepoWithHead without blocking: the early rev-parse's answer when
 * startCachedDiffEarly asked the same folder (the command's first question,
 * answered while node loaded the code), else git's. When git names no commit,
 * the general lookup says why, as findRepoWithHead does.
 */
export async function findRepoWithHeadAsync(dir: string): Promise<ReturnType<typeof findRepoWithHead>> {
  let found: ReturnType<typeof parseRepoWithHead> = null;
  try {
    found = parseRepoWithHead(await gitAsync(dir, REPO_WITH_HEAD), dir);
  } catch (error) {
    if (!(error instanceof GitError)) throw error; // git could not be run: said as findRepoWithHead says it
  }
  if (found) return found;
  const repo = findRepo(dir);
  return repo ? { repo, head: null } : null;
}

/**
 * Until an early command is registered (its rev-parse answered), or known not
 * to come: cli/main.ts waits for it before it loads the CLI, so that git's
 * second answer (what the index changes) comes while node compiles the code.
 */
export function earlyCommandsRegistered(): Promise<void> {
  return early.registering ?? Promise.resolve();
}

/** REPO_WITH_HEAD's answer, or null when it names no work tree and commit. */
function parseRepoWithHead(out: Buffer, dir: string): { repo: GitRepo; head: { commit: string; tree: string } } | null {
  const [top, common, commit, tree] = out.toString('utf8').split('\n');
  if (!top || !common || !/^[0-9a-f]{40,64}$/.test(commit ?? '') || !/^[0-9a-f]{40,64}$/.test(tree ?? '')) return null;
  return { repo: { top, commonDir: path.resolve(dir, common) }, head: { commit, tree } };
}

/** The tree id of a commit (or of a tree). */
export function treeOf(repo: GitRepo, rev: string): string {
  return git(repo.top, ['rev-parse', '--verify', '--end-of-options', `${rev}^{tree}`]).toString('utf8').trim();
}

/** One path's change between two states, as git's raw diff format gives it. */
export interface RawChange {
  path: string;
  /** A = added, D = deleted, M = modified, T = type changed (file to symlink...). */
  status: string;
  /** Mode and blob id after the change ('000000' and all zeros when deleted; id all zeros when git did not hash a working-tree file). */
  mode: string;
  id: string;
}

export const NULL_ID = '0000000000000000000000000000000000000000';
/** The empty file's blob id: its content is known without the object (git writes it only when it stores an empty file). */
export const EMPTY_BLOB_ID = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';

/**
 * The blobs the index, a commit or a tree names for these paths, in one
 * `cat-file --batch`. One git does not have means the repository is damaged,
 * and `git diff` stops there too: so does this (a UsageError naming them).
 * Taken for an empty file or no file, its functions would vanish and their
 * findings be reported fixed.
 */
export async function readNamedBlobs(repo: GitRepo, blobs: { path: string; id: string }[]): Promise<Buffer[]> {
  const contents = await readObjectsAsync(repo, blobs.map((b) => b.id));
  const missing = blobs.filter((b, i) => contents[i] === null && b.id !== EMPTY_BLOB_ID);
  if (missing.length) {
    const named = missing.map((b) => `${b.path} (${b.id})`).join(', ');
    throw new UsageError(`git has no object for ${named}, which the index or commit names: the repository is missing objects (git fsck lists them); restore them, or stage the files again`);
  }
  return contents.map((content) => content ?? Buffer.alloc(0));
}

/** `:<srcmode> <dstmode> <srcid> <dstid> <status>\0<path>\0` records, both sides. */
function parseRawDiffSides(out: Buffer): { path: string; status: string; srcMode: string; srcId: string; mode: string; id: string }[] {
  const fields = out.toString('utf8').split('\0');
  const changes = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const head = fields[i];
    if (!head.startsWith(':')) break;
    const [srcMode, mode, srcId, id, status] = head.slice(1).split(' ');
    changes.push({ path: fields[i + 1], status: status.charAt(0), srcMode, srcId, mode, id });
  }
  return changes;
}

/** The raw records' changed side (see RawChange). */
function parseRawDiff(out: Buffer): RawChange[] {
  return parseRawDiffSides(out).map(({ path: file, status, mode, id }) => ({ path: file, status, mode, id }));
}

/**
 * What differs from `commit`: the index (`cached`), or the working tree
 * (tracked files; a file changed on disk but not staged has the null id).
 * The index is compared without reading the working tree.
 */
export async function diffIndex(repo: GitRepo, commit: string, cached: boolean): Promise<RawChange[]> {
  return parseRawDiff(await gitAsync(repo.top, diffIndexArgs(commit, cached)));
}

function diffIndexArgs(commit: string, cached: boolean): string[] {
  return ['diff-index', '--raw', '-z', '--no-renames', ...(cached ? ['--cached'] : []), '--end-of-options', commit, '--'];
}

/** What differs between two trees (or commits), with the blob ids of the second. */
export async function diffTrees(repo: GitRepo, from: string, to: string): Promise<RawChange[]> {
  return parseRawDiff(await gitAsync(repo.top, ['diff-tree', '-r', '--raw', '-z', '--no-renames', '--end-of-options', from, to, '--']));
}

/**
 * Files git sees as renamed (old path to new path), from `commit` to the
 * index (`cached`) or the working tree, or from one commit to another: the
 * same comparisons as diffIndex and diffTrees, with rename detection.
 */
export async function renamesOf(repo: GitRepo, diff: { cached: boolean; commit: string } | { from: string; to: string }): Promise<Map<string, string>> {
  const args = 'commit' in diff
    ? ['diff-index', '-M', '--diff-filter=R', '--name-status', '-z', ...(diff.cached ? ['--cached'] : []), '--end-of-options', diff.commit, '--']
    : ['diff-tree', '-r', '-M', '--diff-filter=R', '--name-status', '-z', '--end-of-options', diff.from, diff.to, '--'];
  const fields = (await gitAsync(repo.top, args)).toString('utf8').split('\0');
  const renames = new Map<string, string>();
  for (let i = 0; i + 2 < fields.length; i += 3) {
    if (!fields[i].startsWith('R')) break;
    renames.set(fields[i + 1], fields[i + 2]);
  }
  return renames;
}

/** A blob by id, read synchronously (a single file the analysis asks for that the disk does not hold as the snapshot has it). */
export function readBlob(repo: GitRepo, id: string): Buffer | null {
  try {
    return git(repo.top, ['cat-file', 'blob', id]);
  } catch {
    return null;
  }
}
