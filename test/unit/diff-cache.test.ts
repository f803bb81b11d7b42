// `flushcheck diff` reuses what earlier runs stored under .git (whole tree
// analyses by tree id, a changed tree starting from its base's record, a base
// derived from a nearby stored tree) and, when a change touches only files the
// base's analysis never looked at, the base's result itself. None of it may
// change a report: after a rename, a branch switch, or a change to such a
// file, the changed tree's findings are exactly those of a plain lint of it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyFixturePatch, git } from './support/fixture-repo.js';
import { runDiff, type DiffResult } from '../../src/review/diff.js';
import { runLint } from '../../src/lint.js';
import type { Finding } from '../../src/types.js';

const TREE = fileURLToPath(new URL('../../fixtures/series/tree/', import.meta.url));
const FOO = 'drivers/foo/foo_dma.c';
const BAR = 'drivers/bar/bar.c';
const BREAK = 'break-fix/0002-foo-reject-oversized-segments-in-foo_map_sg.patch';

let repo: string;

function edit(file: string, change: (text: string) => string): void {
  const full = path.join(repo, file);
  fs.writeFileSync(full, change(fs.readFileSync(full, 'utf8')));
}

/** The working tree against HEAD, with the cache under .git (warm from earlier calls). */
function diffWorktree(): Promise<DiffResult> {
  return runDiff({ tree: repo, target: { kind: 'worktree', base: 'HEAD' }, jobs: 0 });
}

const byPlace = (a: Finding, b: Finding) => `${a.file}:${a.line}:${a.column}:${a.kind}`.localeCompare(`${b.file}:${b.line}:${b.column}:${b.kind}`);

/**
 * Every finding of the changed tree as diff saw it (new and unchanged) equals
 * a plain lint of the working tree, and so do the counts; what is new and
 * fixed equals a diff that starts with no cache.
 */
async function expectSameAsPlainLint(diff: DiffResult): Promise<void> {
  const cold = await runDiff({ tree: repo, target: { kind: 'worktree', base: 'HEAD' }, jobs: 0, noCache: true });
  expect({ introduced: diff.result.findings, fixed: diff.fixed, unchanged: diff.unchanged }).toEqual({ introduced: cold.result.findings, fixed: cold.fixed, unchanged: cold.unchanged });
  const plain = await runLint({ root: repo, jobs: 0 });
  expect([...diff.result.findings, ...diff.unchanged].sort(byPlace)).toEqual([...plain.findings].sort(byPlace));
  const counts = ({ files, parsed, functions, syncSites, diagnostics }: typeof plain.stats) => ({ files, parsed, functions, syncSites, diagnostics });
  expect(counts(diff.result.stats)).toEqual(counts(plain.stats));
}

beforeEach(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-diff-cache-'));
  fs.cpSync(TREE, repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'base');
  applyFixturePatch(repo, 'break-fix/0001-foo-use-a-local-for-the-segment-address.patch');
  git(repo, 'commit', '-qam', 'refactor');
});

afterEach(() => {
  fs.rmSync(repo, { recursive: true, force: true });
});

describe('a warm diff reports what a plain lint reports', () => {
  it('after a rename of the changed file', async () => {
    applyFixturePatch(repo, BREAK);
    await expectSameAsPlainLint(await diffWorktree());
    git(repo, 'commit', '-qam', 'break');
    git(repo, 'mv', FOO, 'drivers/foo/foo_map.c');
    const renamed = await diffWorktree();
    expect(renamed.changedSources).toEqual(['drivers/foo/foo_dma.c', 'drivers/foo/foo_map.c']);
    expect([...renamed.result.findings, ...renamed.unchanged].map((f) => f.file)).toEqual(['drivers/foo/foo_map.c']);
    // git sees the rename: the finding moved with its file, it is neither new nor fixed (a pre-commit hook lets the rename through).
    expect(renamed.result.findings).toEqual([]);
    expect(renamed.fixed).toEqual([]);
    await expectSameAsPlainLint(renamed);
    // Renamed and changed: the finding is there, in the new file, still not new.
    edit('drivers/foo/foo_map.c', (text) => text.replace('#include', '/* renamed */\n#include'));
    const edited = await diffWorktree();
    expect(edited.result.findings).toEqual([]);
    expect(edited.unchanged.map((f) => f.file)).toEqual(['drivers/foo/foo_map.c']);
    await expectSameAsPlainLint(edited);
  });

  it('after a branch switch, both ways', async () => {
    git(repo, 'checkout', '-qb', 'topic');
    applyFixturePatch(repo, BREAK);
    git(repo, 'commit', '-qam', 'break');
    edit(BAR, (text) => `${text}\n/* on topic */\n`);
    await expectSameAsPlainLint(await diffWorktree());
    git(repo, 'checkout', '-q', '.');

    git(repo, 'checkout', '-q', 'main');
    edit(FOO, (text) => text.replace('#include', '/* on main */\n#include'));
    const onMain = await diffWorktree();
    // main's tree was never analysed: it starts from topic's stored tree with the files git says differ.
    expect(onMain.cache.snapshotMisses).toBeGreaterThan(0);
    expect(onMain.unchanged).toEqual([]);
    await expectSameAsPlainLint(onMain);
    git(repo, 'checkout', '-q', '.');

    git(repo, 'checkout', '-q', 'topic');
    edit(FOO, (text) => text.replace('#include', '/* on topic */\n#include'));
    const back = await diffWorktree();
    expect(back.unchanged.map((f) => f.function)).toEqual(['foo_map_sg']);
    await expectSameAsPlainLint(back);
  });
});

describe('a change to a file the base analysis never looked at', () => {
  it('reuses the base result only while the file names nothing the analysis looks for', async () => {
    // bar.c has no DMA at all: the analysis of the tree never reads it.
    edit(BAR, (text) => text.replace('#define BAR_NR_SLOTS\t16', '#define BAR_NR_SLOTS\t32'));
    const harmless = await diffWorktree();
    expect({ misses: harmless.cache.snapshotMisses, hits: harmless.cache.snapshotHits }).toEqual({ misses: 1, hits: 1 });
    await expectSameAsPlainLint(harmless);

    // Now it syncs without a flush: it names a rule identifier, so it is analysed.
    git(repo, 'checkout', '-q', '.');
    edit(BAR, (text) =>
      text.replace(
        '#include <linux/export.h>',
        [
          '#include <linux/export.h>',
          '#include <linux/dma-map-ops.h>',
          '',
          'int bar_map(struct device *dev, phys_addr_t paddr, size_t len)',
          '{',
          '\tarch_sync_dma_for_device(paddr, len, DMA_TO_DEVICE);',
          '\treturn 0;',
          '}',
          'EXPORT_SYMBOL_GPL(bar_map);',
        ].join('\n'),
      ),
    );
    const syncing = await diffWorktree();
    expect(syncing.result.findings.map((f) => [f.file, f.function, f.kind])).toEqual([[BAR, 'bar_map', 'unflushed-return']]);
    await expectSameAsPlainLint(syncing);
  });

  it('is analysed when it starts calling a helper that leaves maintenance to its callers', async () => {
    // foo_dma.c gains a helper that issues a sync and leaves the flush to its caller, and a caller that flushes.
    edit(FOO, (text) =>
      `${text}\nvoid foo_sync_more(phys_addr_t paddr)\n{\n\tarch_sync_dma_for_device(paddr, 64, DMA_TO_DEVICE);\n}\n\nint foo_kick(phys_addr_t paddr)\n{\n\tfoo_sync_more(paddr);\n\tarch_sync_dma_flush();\n\treturn 0;\n}\nEXPORT_SYMBOL_GPL(foo_kick);\n`,
    );
    git(repo, 'commit', '-qam', 'foo: a helper that defers the flush');
    // bar.c, never read so far, now calls the helper without flushing: it names no rule identifier.
    edit(BAR, (text) => `${text}\nvoid foo_sync_more(phys_addr_t paddr);\n\nint bar_kick(phys_addr_t paddr)\n{\n\tfoo_sync_more(paddr);\n\treturn 0;\n}\nEXPORT_SYMBOL_GPL(bar_kick);\n`);
    const calling = await diffWorktree();
    expect(calling.cache.snapshotMisses).toBe(2);
    await expectSameAsPlainLint(calling);
  });
});
