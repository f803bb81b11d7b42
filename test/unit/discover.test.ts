import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { discoverFiles } from '../../src/discover/walk.js';
import { buildWholeWordMatcher, prefilter, prefilterAsListed, wholeWordTest } from '../../src/discover/prefilter.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function makeTree(files: Record<string, string | Buffer>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-discover-'));
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  }
  return root;
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('discoverFiles', () => {
  let root: string;
  let outside: string;

  beforeAll(() => {
    root = makeTree({
      'kernel/dma/direct.c': 'int a;\n',
      'kernel/dma/README': 'not C\n',
      'kernel/dma/mapping.S': 'asm\n',
      'include/linux/dma-map-ops.h': 'int b;\n',
      'arch/arm64/mm/dma-mapping.c': 'int c;\n',
      'arch/arm64/include/asm/cache.h': 'int d;\n',
      'arch/x86/kernel/pci-dma.c': 'int e;\n',
      'arch/arm/mm/dma.c': 'int f;\n',
      'Documentation/example.c': 'int g;\n',
      'tools/include/linux/types.h': 'int h;\n',
      'scripts/mod/file2alias.c': 'int i;\n',
      'drivers/.git/objects/x.c': 'int j;\n',
      'drivers/node_modules/pkg/y.c': 'int k;\n',
      'drivers/gpu/drm/drm.c': 'int l;\n',
      'drivers/net/eth.c': 'int m;\n',
      'drivers/net/eth.h': 'int n;\n',
    });
    outside = makeTree({ 'secret.c': 'int outside;\n', 'dir/more.c': 'int more;\n' });
    tempDirs.push(root, outside);
    // A folder loop, a symlinked folder leaving the root, symlinked files in and out.
    fs.symlinkSync('..', path.join(root, 'drivers/loop'));
    fs.symlinkSync(path.join(outside, 'dir'), path.join(root, 'drivers/outdir'));
    fs.symlinkSync(path.join(outside, 'secret.c'), path.join(root, 'drivers/secret.c'));
    fs.symlinkSync('../include/linux/dma-map-ops.h', path.join(root, 'drivers/alias.h'));
    fs.symlinkSync('does-not-exist.c', path.join(root, 'drivers/broken.c'));
    fs.symlinkSync(path.join(outside, 'dir'), path.join(root, 'escape'));
  });

  it('keeps .c/.h of the target arch only, skipping default folders and exclusions', async () => {
    const result = await discoverFiles({ root, paths: [], arch: 'arm64', exclude: ['drivers/gpu/**'] });
    expect(result.files).toEqual([
      'arch/arm64/include/asm/cache.h',
      'arch/arm64/mm/dma-mapping.c',
      'drivers/alias.h',
      'drivers/net/eth.c',
      'drivers/net/eth.h',
      'include/linux/dma-map-ops.h',
      'kernel/dma/direct.c',
    ]);
    const reasons = Object.fromEntries(result.diagnostics.map((d) => [d.file, d.reason]));
    expect(reasons['drivers/secret.c']).toMatch(/outside the root/);
    expect(reasons['drivers/broken.c']).toMatch(/broken symlink/);
    expect(result.diagnostics).toHaveLength(2);
  });

  it('selects the other arch when asked', async () => {
    const result = await discoverFiles({ root, paths: ['arch'], arch: 'x86' });
    expect(result.files).toEqual(['arch/x86/kernel/pci-dma.c']);
  });

  it('exclude globs apply to files as well as folders', async () => {
    const result = await discoverFiles({ root, paths: ['drivers/net', 'kernel'], arch: 'arm64', exclude: ['**/*.h'] });
    expect(result.files).toEqual(['drivers/net/eth.c', 'kernel/dma/direct.c']);
  });

  it('accepts single files and folders, deduplicating overlaps', async () => {
    const result = await discoverFiles({
      root,
      paths: ['kernel/dma/direct.c', 'kernel', './kernel/dma/', 'include/linux/dma-map-ops.h'],
      arch: 'arm64',
    });
    expect(result.files).toEqual(['include/linux/dma-map-ops.h', 'kernel/dma/direct.c']);
    expect(result.diagnostics).toEqual([]);
  });

  it('refuses paths escaping the root, lexically or through a symlink', async () => {
    const result = await discoverFiles({
      root,
      paths: ['../', path.join(outside, 'secret.c'), 'escape', 'drivers/../../x', 'missing/dir'],
      arch: 'arm64',
    });
    expect(result.files).toEqual([]);
    expect(result.diagnostics.map((d) => d.reason)).toEqual([
      expect.stringMatching(/outside the root/),
      expect.stringMatching(/outside the root/),
      expect.stringMatching(/through a symlink/),
      expect.stringMatching(/outside the root/),
      expect.stringMatching(/cannot read path: ENOENT/),
    ]);
  });

  it('reports requested paths that are not part of the build', async () => {
    const result = await discoverFiles({ root, paths: ['arch/x86', 'tools', 'kernel/dma/README'], arch: 'arm64' });
    expect(result.files).toEqual([]);
    expect(result.diagnostics).toEqual([
      { file: 'arch/x86', reason: expect.stringMatching(/not the target arch/) },
      { file: 'tools', reason: expect.stringMatching(/skipped by default/) },
      { file: 'kernel/dma/README', reason: expect.stringMatching(/not a \.c or \.h file/) },
    ]);
  });

  it('accepts a root reached through a symlink, with absolute or relative paths', async () => {
    const linkParent = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-rootlink-'));
    tempDirs.push(linkParent);
    const linkedRoot = path.join(linkParent, 'linux');
    fs.symlinkSync(root, linkedRoot);
    const result = await discoverFiles({
      root: linkedRoot,
      paths: [path.join(linkedRoot, 'kernel'), 'include/linux'],
      arch: 'arm64',
    });
    expect(result.files).toEqual(['include/linux/dma-map-ops.h', 'kernel/dma/direct.c']);
    expect(result.diagnostics).toEqual([]);
  });

  it('does not follow a symlinked folder that loops back', async () => {
    const result = await discoverFiles({ root, paths: ['drivers'], arch: 'arm64' });
    expect(result.files.some((f) => f.startsWith('drivers/loop/'))).toBe(false);
    expect(result.files.some((f) => f.startsWith('drivers/outdir/'))).toBe(false);
  });

  it.skipIf(isRoot)('reports an unreadable folder and goes on', async () => {
    const tree = makeTree({ 'a/locked/x.c': '', 'b/y.c': '' });
    tempDirs.push(tree);
    fs.chmodSync(path.join(tree, 'a/locked'), 0o000);
    try {
      const result = await discoverFiles({ root: tree, paths: [], arch: 'arm64' });
      expect(result.files).toEqual(['b/y.c']);
      expect(result.diagnostics).toEqual([{ file: 'a/locked', reason: expect.stringMatching(/unreadable folder/) }]);
    } finally {
      fs.chmodSync(path.join(tree, 'a/locked'), 0o755);
    }
  });

  it('reports a missing root instead of throwing', async () => {
    const result = await discoverFiles({ root: path.join(os.tmpdir(), 'flushcheck-no-such-root'), paths: [], arch: 'arm64' });
    expect(result.files).toEqual([]);
    expect(result.diagnostics[0].reason).toMatch(/cannot read root/);
  });
});

describe('prefilter', () => {
  const IDS = ['arch_sync_dma_flush', 'arch_sync_dma_for_device'];

  it('keeps files that mention an identifier as a whole word, with their content', async () => {
    const files = {
      'call.c': 'void f(void)\n{\n\tarch_sync_dma_flush();\n}\n',
      'longer-name.c': 'arch_sync_dma_flush_all();\n',
      'prefixed.c': 'x_arch_sync_dma_flush();\n',
      'at-edges.h': 'arch_sync_dma_for_device',
      'late-match.c': 'arch_sync_dma_flushes(); arch_sync_dma_flush2(); (arch_sync_dma_flush)',
      'none.c': 'int nothing;\n',
    };
    const root = makeTree(files);
    tempDirs.push(root);
    const result = await prefilter(root, Object.keys(files).sort(), IDS, { jobs: 0 });
    expect([...result.matched.keys()].sort()).toEqual(['at-edges.h', 'call.c', 'late-match.c']);
    expect(result.matched.get('call.c')!.toString('latin1')).toBe(files['call.c']);
    expect(result.filesRead).toBe(6);
    expect(result.bytesRead).toBe(Object.values(files).reduce((n, s) => n + s.length, 0));
    expect(result.diagnostics).toEqual([]);
  });

  it('skips oversized files with a diagnostic; NUL bytes do not skip a file that names an identifier', async () => {
    const root = makeTree({
      'binary.c': Buffer.concat([Buffer.from('arch_sync_dma_flush();\n'), Buffer.from([0, 1, 2])]),
      'big.c': 'arch_sync_dma_flush();\n' + 'x'.repeat(200),
      'ok.c': 'arch_sync_dma_flush();\n',
    });
    tempDirs.push(root);
    const result = await prefilter(root, ['big.c', 'binary.c', 'ok.c'], IDS, { jobs: 0, maxFileBytes: 100 });
    expect([...result.matched.keys()].sort()).toEqual(['binary.c', 'ok.c']);
    expect(result.diagnostics).toEqual([{ file: 'big.c', reason: expect.stringMatching(/over the 100-byte limit/) }]);
  });

  it('reads files larger than its buffer whole, and skips one over the limit by its size', async () => {
    const mb = 1024 * 1024;
    const filler = (n: number) => `int filler_${'x'.repeat(n)};\n`;
    const root = makeTree({
      // The name only at the end: found only if every byte is read.
      'large.c': filler(3 * mb) + 'arch_sync_dma_flush();\n',
      'larger.c': filler(5 * mb) + 'arch_sync_dma_flush();\n',
      'small.c': 'arch_sync_dma_flush();\n',
    });
    tempDirs.push(root);
    const size = (f: string) => fs.statSync(path.join(root, f)).size;
    for (const jobs of [0, 2]) {
      const all = await prefilter(root, ['large.c', 'larger.c', 'small.c'], IDS, { jobs });
      expect([...all.matched.keys()].sort()).toEqual(['large.c', 'larger.c', 'small.c']);
      expect(all.matched.get('larger.c')!.length).toBe(size('larger.c'));
      expect(all.bytesRead).toBe(size('large.c') + size('larger.c') + size('small.c'));
      const limited = await prefilter(root, ['large.c', 'larger.c', 'small.c'], IDS, { jobs, maxFileBytes: 4 * mb });
      expect([...limited.matched.keys()].sort()).toEqual(['large.c', 'small.c']);
      expect(limited.diagnostics).toEqual([{ file: 'larger.c', reason: `file is ${size('larger.c')} bytes, over the ${4 * mb}-byte limit; skipped` }]);
    }
  });

  it('reports a file deleted after discovery and goes on', async () => {
    const root = makeTree({ 'gone.c': 'arch_sync_dma_flush();\n', 'kept.c': 'arch_sync_dma_flush();\n' });
    tempDirs.push(root);
    const { files } = await discoverFiles({ root, paths: [], arch: 'arm64' });
    fs.unlinkSync(path.join(root, 'gone.c'));
    const result = await prefilter(root, files, IDS, { jobs: 0 });
    expect([...result.matched.keys()]).toEqual(['kept.c']);
    expect(result.diagnostics).toEqual([{ file: 'gone.c', reason: expect.stringMatching(/unreadable: ENOENT/) }]);
  });

  it.skipIf(isRoot)('reports an unreadable file and goes on', async () => {
    const root = makeTree({ 'locked.c': 'arch_sync_dma_flush();\n', 'kept.c': 'arch_sync_dma_flush();\n' });
    tempDirs.push(root);
    fs.chmodSync(path.join(root, 'locked.c'), 0o000);
    const result = await prefilter(root, ['kept.c', 'locked.c'], IDS, { jobs: 0 });
    expect([...result.matched.keys()]).toEqual(['kept.c']);
    expect(result.diagnostics).toEqual([{ file: 'locked.c', reason: expect.stringMatching(/EACCES/) }]);
  });

  describe('with worker threads', () => {
    let root: string;
    const files: string[] = [];
    const expected: string[] = [];
    let totalBytes = 0;

    beforeAll(() => {
      const content: Record<string, string> = {};
      for (let i = 0; i < 700; i++) {
        const rel = `d${i % 7}/f${String(i).padStart(4, '0')}.c`;
        const text =
          i % 50 === 0
            ? `/* ${i} */\nstatic void g(void) { arch_sync_dma_for_device(p, n, dir); }\n`
            : i % 50 === 1
              ? `/* ${i} */\nint arch_sync_dma_for_device_count;\n`
              : `/* ${i} */\nint filler_${i};\n`;
        content[rel] = text;
        files.push(rel);
        totalBytes += text.length;
        if (i % 50 === 0) expected.push(rel);
      }
      root = makeTree(content);
      tempDirs.push(root);
      files.sort();
      expected.sort();
    });

    it('finds the same files as a single-threaded scan and reports progress', async () => {
      const progress: [number, number][] = [];
      const result = await prefilter(root, files, IDS, { jobs: 2, onProgress: (done, total) => progress.push([done, total]) });
      expect([...result.matched.keys()].sort()).toEqual(expected);
      expect(result.filesRead).toBe(700);
      expect(result.bytesRead).toBe(totalBytes);
      expect(result.diagnostics).toEqual([]);
      expect(progress.at(-1)).toEqual([700, 700]);
      for (let i = 1; i < progress.length; i++) expect(progress[i][0]).toBeGreaterThan(progress[i - 1][0]);
      const inline = await prefilter(root, files, IDS, { jobs: 0 });
      expect([...inline.matched.keys()].sort()).toEqual(expected);
    });

    /**
     * Every file's blob id, and the ids git vouches for: every third file's,
     * one of them a key git would not give (to see it is taken as vouched, not hashed).
     */
    const vouchedSample = () => {
      const blobOf = (rel: string) => createHash('sha1').update(`blob ${Buffer.byteLength(fs.readFileSync(path.join(root, rel)))}\0`).update(fs.readFileSync(path.join(root, rel))).digest('hex');
      const truth = new Map(files.map((f) => [f, blobOf(f)]));
      const ids = new Map(files.filter((_, i) => i % 3 === 0).map((f) => [f, truth.get(f)!]));
      const planted = files[3];
      ids.set(planted, 'f'.repeat(40));
      return { truth, ids, planted };
    };

    it('gives every file its blob id through the workers: vouched ones as vouched, the rest hashed', async () => {
      const { truth, ids, planted } = vouchedSample();
      for (const trustedBefore of [Date.now() + 60_000, 0]) {
        const result = await prefilter(root, files, IDS, { jobs: 2, contentKeys: true, trust: { now: () => ({ ids, trustedBefore }), answer: Promise.resolve({ ids, trustedBefore }) } });
        expect(result.keys.size).toBe(700);
        if (trustedBefore === 0) {
          // Files changed after git's check (every file, for a check at time 0) are hashed.
          expect(result.hashed).toBe(700);
          expect(result.keys).toEqual(truth);
        } else {
          expect(result.hashed).toBe(700 - ids.size);
          expect(result.keys).toEqual(new Map([...truth, [planted, 'f'.repeat(40)]]));
        }
        expect([...result.matched.keys()].sort()).toEqual(expected);
      }
    });

    it("keys the files read while git was still checking by git's answer, and scans again, hashed, those it does not vouch for", async () => {
      const { truth, ids, planted } = vouchedSample();
      const future = Date.now() + 60_000;
      const cases = [
        // git answers after every batch was handed out: the vouched-for files take git's ids, the others are hashed on a second read.
        { trustedBefore: future, answer: { ids, trustedBefore: future }, hashed: 700 - ids.size, keys: new Map([...truth, [planted, 'f'.repeat(40)]]) },
        // git cannot say after all: every file is hashed on a second read.
        { trustedBefore: future, answer: null, hashed: 700, keys: truth },
        // Every file changed since the check started: hashed as read, git's answer not needed.
        { trustedBefore: 0, answer: { ids, trustedBefore: 0 }, hashed: 700, keys: truth },
      ];
      for (const c of cases) {
        let handedOut = 0;
        let answered = false;
        const answer = new Promise<typeof c.answer>((resolve) => setTimeout(() => ((answered = true), resolve(c.answer)), 50));
        const matchedFirst: string[] = [];
        const result = await prefilter(root, files, IDS, {
          jobs: 2,
          contentKeys: true,
          trust: { now: () => (handedOut++, answered ? c.answer : { trustedBefore: c.trustedBefore, ids: null }), answer },
          onMatch: (file) => matchedFirst.push(file),
        });
        expect(handedOut).toBeGreaterThan(0);
        expect(result.keys).toEqual(c.keys);
        expect(result.hashed).toBe(c.hashed);
        expect([...result.matched.keys()].sort()).toEqual(expected);
        expect(new Set(matchedFirst)).toEqual(new Set(expected));
        expect(result.diagnostics).toEqual([]);
      }
    });

    it('survives a worker crash: the culprit file is reported, all others scanned', async () => {
      const culprit = expected[3];
      process.env.FLUSHCHECK_TEST_PREFILTER_CRASH_ON = culprit;
      try {
        const result = await prefilter(root, files, IDS, { jobs: 2 });
        expect([...result.matched.keys()].sort()).toEqual(expected.filter((f) => f !== culprit));
        expect(result.diagnostics).toEqual([{ file: culprit, reason: expect.stringMatching(/worker crashed/) }]);
        expect(result.filesRead).toBe(699);
      } finally {
        delete process.env.FLUSHCHECK_TEST_PREFILTER_CRASH_ON;
      }
    });
  });

  describe('while the walk lists the files (prefilterAsListed)', () => {
    const sourceLines = (i: number) => (i % 40 === 0 ? `static void g${i}(void) { arch_sync_dma_flush(); }\n` : `int filler_${i};\n`);
    let root: string;
    const expected: string[] = [];
    const badName = Buffer.from('drivers/bad-\xff.c', 'latin1');

    beforeAll(() => {
      const content: Record<string, string> = {};
      for (let i = 0; i < 600; i++) {
        const rel = `drivers/d${i % 9}/f${String(i).padStart(4, '0')}.c`;
        content[rel] = sourceLines(i);
        if (i % 40 === 0) expected.push(rel);
      }
      root = makeTree(content);
      tempDirs.push(root);
      // A file whose name is not valid UTF-8, opened by its raw bytes from a streamed batch.
      fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/`), badName]), sourceLines(0));
      expected.push('drivers/bad-\\xff.c');
      expected.sort();
    });

    const walkOf = (dir: string) => async (take: (file: string, raw?: Buffer) => void) => void (await discoverFiles({ root: dir, paths: [dir], arch: 'arm64', onFile: take }));

    it('finds what a scan of the finished listing finds, and lists every file once', async () => {
      const listing = await discoverFiles({ root, paths: [root], arch: 'arm64' });
      expect(listing.files).toHaveLength(601);
      const progress: [number, number][] = [];
      const streamed = await prefilterAsListed(root, walkOf(root), IDS, { jobs: 2, onProgress: (done, total) => progress.push([done, total]) });
      expect([...streamed.matched.keys()].sort()).toEqual(expected);
      expect([...streamed.listed].sort()).toEqual(listing.files);
      expect(streamed.filesRead).toBe(601);
      expect(streamed.diagnostics).toEqual([]);
      expect(progress.at(-1)).toEqual([601, 601]);
      const inline = await prefilterAsListed(root, walkOf(root), IDS, { jobs: 0 });
      expect([...inline.matched.keys()].sort()).toEqual(expected);
      expect(inline.filesRead).toBe(601);
    });

    it('survives a worker crash while batches still come', async () => {
      const culprit = expected[2];
      process.env.FLUSHCHECK_TEST_PREFILTER_CRASH_ON = culprit;
      try {
        const result = await prefilterAsListed(root, walkOf(root), IDS, { jobs: 2 });
        expect([...result.matched.keys()].sort()).toEqual(expected.filter((f) => f !== culprit));
        expect(result.diagnostics).toEqual([{ file: culprit, reason: expect.stringMatching(/worker crashed/) }]);
        expect(result.filesRead).toBe(600);
      } finally {
        delete process.env.FLUSHCHECK_TEST_PREFILTER_CRASH_ON;
      }
    });

    it('passes on the error of a listing that fails half-way', async () => {
      const failing = async (take: (file: string, raw?: Buffer) => void) => {
        await walkOf(root)(take);
        throw new Error('listing failed');
      };
      await expect(prefilterAsListed(root, failing, IDS, { jobs: 2 })).rejects.toThrow('listing failed');
    });

    it('scans a listing too small for workers on the calling thread', async () => {
      const small = makeTree({ 'a.c': sourceLines(0), 'b.c': sourceLines(1) });
      tempDirs.push(small);
      const result = await prefilterAsListed(small, walkOf(small), IDS, { jobs: 2 });
      expect([...result.matched.keys()]).toEqual(['a.c']);
      expect(result.listed.sort()).toEqual(['a.c', 'b.c']);
    });
  });

  it('returns nothing for no files or no identifiers', async () => {
    const root = makeTree({ 'a.c': 'arch_sync_dma_flush();' });
    tempDirs.push(root);
    expect((await prefilter(root, [], IDS)).matched.size).toBe(0);
    const noIds = await prefilter(root, ['a.c'], []);
    expect(noIds.matched.size).toBe(0);
    expect(noIds.filesRead).toBe(0);
  });
});

describe('buildWholeWordMatcher', () => {
  // Reference: a regex with explicit word boundaries.
  const reference = (ids: string[], text: string): boolean =>
    new RegExp(`(?<![A-Za-z0-9_])(?:${ids.join('|')})(?![A-Za-z0-9_])`).test(text);

  it('agrees with a regex on random text (long and short identifiers)', () => {
    const idSets = [
      ['arch_sync_dma_flush', 'arch_sync_dma_for_cpu', 'dma_iova_link', 'dcache_clean_poc_nosync'],
      ['dsb', 'arch_sync_dma_flush'],
      ['dma_iova_sync'],
      // The bundled rules' names: several share a window's last two bytes (one table entry, several compared).
      ['arch_sync_dma_for_device', 'arch_sync_dma_for_cpu', 'arch_sync_dma_flush', 'dma_iova_link', 'dma_iova_sync', 'dcache_clean_poc_nosync', 'dcache_inval_poc_nosync', 'dcache_clean_inval_poc_nosync'],
      // Names that share their first `shortest` bytes (one window, compared once for all of them).
      ['dma_iova_link', 'dma_iova_link_synthetic_rule_1', 'dma_iova_linkage', 'arch_sync_dma_flush_synthetic_rule_2'],
      // Windows that end in the same two bytes (one table entry, two windows).
      ['foo_bar_link', 'qux_baz_link', 'zap_iova_link'],
      // Longer than a jump can be (255): the shift is capped, not wrapped (257 bytes: a wrapped 256 would be 0).
      [`${'a_'.repeat(150)}sync`, `${'b_'.repeat(126)}flush`],
    ];
    for (const ids of idSets) {
      const fragments = [...ids, ...ids.map((id) => id.slice(0, -1)), ...ids.map((id) => id.slice(1)), '_', 'x', ' ', '\n', '(', '0'];
      const matches = buildWholeWordMatcher(ids);
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 30 }), (parts) => {
          const text = parts.join('');
          expect(matches(Buffer.from(text, 'latin1'))).toBe(reference(ids, text));
        }),
        { numRuns: 500 },
      );
    }
  });

  it('agrees with wholeWordTest, the one-name search for a few texts', () => {
    for (const id of ['dma_iova_sync', 'dsb', 'arch_sync_dma_flush']) {
      const fragments = [id, id.slice(0, -1), id.slice(1), '_', 'x', ' ', '\n', '(', '0'];
      const [multi, single] = [buildWholeWordMatcher([id]), wholeWordTest(id)];
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 30 }), (parts) => {
          const text = Buffer.from(parts.join(''), 'latin1');
          expect(single(text)).toBe(multi(text));
        }),
        { numRuns: 500 },
      );
    }
  });
});
