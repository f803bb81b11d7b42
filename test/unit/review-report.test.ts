import { describe, expect, it } from 'vitest';
import { encodeWords, formatReplies, newLineNumbers, rfc5322Date, wrap } from '../../src/report/reply.js';
import { formatReviewJson, formatReviewMarkdown, formatReviewText } from '../../src/report/review.js';
import type { Hunk, Patch, PatchFile } from '../../src/patch/types.js';
import type { PatchReview, ReviewResult } from '../../src/review/types.js';
import type { Finding } from '../../src/types.js';

const ESC = '\x1b[';
const DATE = new Date(Date.UTC(2025, 2, 5, 8, 30, 9));
const FROM = 'Rita Reviewer <rita@review.example.net>';

// ------------------------------------------------------------- fixtures ----

/** A hunk with its counts and `@@` line computed from the lines, as a parser would record them. */
function hunk(oldStart: number, newStart: number, context: string, lines: string[], sourceLine = 1): Hunk {
  const oldLines = lines.filter((l) => l === '' || l[0] === ' ' || l[0] === '-').length;
  const newLines = lines.filter((l) => l === '' || l[0] === ' ' || l[0] === '+').length;
  return { oldStart, oldLines, newStart, newLines, header: `@@ -${oldStart},${oldLines} +${newStart},${newLines} @@ ${context}`, lines, sourceLine };
}

function diffText(files: PatchFile[]): string {
  const out: string[] = [];
  for (const f of files) {
    out.push(`diff --git a/${f.oldPath} b/${f.newPath}`, 'index 3f2a1c0..8b7d9e4 100644', `--- a/${f.oldPath}`, `+++ b/${f.newPath}`);
    for (const h of f.hunks) out.push(h.header, ...h.lines);
  }
  return out.join('\n') + '\n';
}

function patch(fields: Partial<Patch> & Pick<Patch, 'subject' | 'title' | 'files'>): Patch {
  const diff = diffText(fields.files);
  return {
    source: { file: 'series.mbox', message: 1, line: 1 },
    version: 1,
    index: null,
    total: null,
    body: 'Commit message.\n',
    references: [],
    diff,
    bytes: diff.length,
    ...fields,
  };
}

const DMA_FILE = 'drivers/foo/foo_dma.c';

// Patch 2 adds foo_map_sg (new lines 12..39) and stops foo_flush_ring from
// flushing (new lines 57..63). The sync at line 27 is left pending at the
// return on line 31; the unchanged foo_unmap_sg relied on foo_flush_ring.
const MAP_SG_HUNK = hunk(12, 12, 'static void foo_dma_release(struct foo_dev *fd)', [
  ' \tkfree(fd->ring);',
  ' }',
  ' ',
  '+/*',
  '+ * Map a scatterlist for the engine. The caller owns the list until',
  '+ * foo_start() rings the doorbell.',
  '+ */',
  '+int foo_map_sg(struct foo_dev *fd, struct scatterlist *sgl, int nents,',
  '+\t       enum dma_data_direction dir)',
  '+{',
  '+\tstruct scatterlist *sg;',
  '+\tint i;',
  '+',
  '+\tfor_each_sg(sgl, sg, nents, i) {',
  '+\t\tfd->desc[i].addr = sg_phys(sg);',
  '+\t\tarch_sync_dma_for_device(sg_phys(sg), sg->length, dir);',
  '+\t}',
  '+\tfd->nr_desc = nents;',
  '+',
  '+\treturn nents;',
  '+}',
  '+EXPORT_SYMBOL_GPL(foo_map_sg);',
  '+',
  '+/* The engine reads descriptors only after the doorbell. */',
  '+',
  ' static int foo_probe_ring(struct foo_dev *fd)',
  ' {',
  ' \tfd->ring = kzalloc(FOO_RING_SIZE, GFP_KERNEL);',
]);

const FLUSH_RING_HUNK = hunk(35, 57, 'static int foo_probe_ring(struct foo_dev *fd)', [
  ' static void foo_flush_ring(struct foo_dev *fd)',
  ' {',
  ' \twritel(0, fd->regs + FOO_RING_HEAD);',
  '-\tarch_sync_dma_flush();',
  '+\tfoo_ring_ack(fd);',
  ' }',
  ' ',
  ' static void foo_clear_desc(struct foo_dev *fd, int i)',
]);

const FIX_HUNK = hunk(28, 28, 'int foo_map_sg(struct foo_dev *fd, struct scatterlist *sgl, int nents,', [
  ' \t}',
  ' \tfd->nr_desc = nents;',
  ' ',
  '+\tarch_sync_dma_flush();',
  ' \treturn nents;',
  ' }',
  ' EXPORT_SYMBOL_GPL(foo_map_sg);',
]);

const unflushedMapSg: Finding = {
  ruleId: 'dma-sync-flush',
  kind: 'unflushed-return',
  severity: 'error',
  file: DMA_FILE,
  line: 27,
  column: 3,
  function: 'foo_map_sg',
  message:
    'clean issued by arch_sync_dma_for_device() at drivers/foo/foo_dma.c:27 is still pending when foo_map_sg() returns at line 31 and hands the buffer over (exported); no arch_sync_dma_flush() on this path',
  path: [
    { file: DMA_FILE, line: 27, event: 'arch_sync_dma_for_device(...) issues clean', op: 'clean' },
    { file: DMA_FILE, line: 25, event: 'takes the loop exit' },
    { file: DMA_FILE, line: 31, event: 'returns with the clean pending' },
  ],
  sync: { callee: 'arch_sync_dma_for_device', function: 'foo_map_sg', file: DMA_FILE, line: 27 },
  model: { verdict: 'incoherent', witness: [] },
};

const unflushedUnmap: Finding = {
  ruleId: 'dma-sync-flush',
  kind: 'unflushed-access',
  severity: 'warning',
  file: DMA_FILE,
  line: 75,
  column: 2,
  function: 'foo_unmap_sg',
  message:
    'invalidation issued by arch_sync_dma_for_cpu() at drivers/foo/foo_dma.c:75 is still pending when foo_read_status() at line 77 touches the buffer from the CPU; no arch_sync_dma_flush() on this path (error path)',
  path: [
    { file: DMA_FILE, line: 75, event: 'arch_sync_dma_for_cpu(...) issues invalidate' },
    { file: DMA_FILE, line: 60, event: 'foo_flush_ring() returns without completing it' },
    { file: DMA_FILE, line: 77, event: 'foo_read_status() accesses the buffer from the CPU' },
  ],
  sync: { callee: 'arch_sync_dma_for_cpu', function: 'foo_unmap_sg', file: DMA_FILE, line: 75 },
};

const batchableNote: Finding = {
  ruleId: 'dma-sync-flush',
  kind: 'batchable',
  severity: 'note',
  file: DMA_FILE,
  line: 92,
  column: 3,
  function: 'foo_unmap_all',
  message:
    'arch_sync_dma_flush() runs once per iteration of the loop at line 90: N entries cost N DSBs; nothing later in the iteration needs the maintenance complete, so one arch_sync_dma_flush() after the loop (under the same condition) costs 1',
  path: [
    { file: DMA_FILE, line: 90, event: 'loop issues maintenance per entry' },
    { file: DMA_FILE, line: 92, event: 'arch_sync_dma_flush() inside the loop' },
  ],
};

const COVER_ID = '20250304091200.0-jane@example.org';

function review(): ReviewResult {
  const p1 = patch({
    subject: '[PATCH 1/3] foo: build the DMA helpers',
    title: 'foo: build the DMA helpers',
    index: 1,
    total: 3,
    from: 'Jane Developer <jane@example.org>',
    date: 'Tue, 4 Mar 2025 10:12:00 +0100',
    messageId: '20250304091200.1-jane@example.org',
    inReplyTo: COVER_ID,
    references: [COVER_ID],
    files: [{ oldPath: 'drivers/foo/Makefile', newPath: 'drivers/foo/Makefile', binary: false, hunks: [hunk(3, 3, '', [' foo-y := foo.o', '+foo-y += foo_dma.o'])] }],
  });
  const p2 = patch({
    subject: '[PATCH 2/3] foo: map scatterlists for the engine',
    title: 'foo: map scatterlists for the engine',
    index: 2,
    total: 3,
    from: 'Jane Developer <jane@example.org>',
    date: 'Tue, 4 Mar 2025 10:12:01 +0100',
    messageId: '20250304091200.2-jane@example.org',
    inReplyTo: COVER_ID,
    references: [COVER_ID],
    to: 'Marek Maintainer <marek@example.org>',
    cc: '"Reviewer, Rita" <rita@review.example.net>, iommu@lists.example.org, Jörg Listreader <joerg@example.org>, Jane Developer <JANE@example.org>',
    files: [{ oldPath: DMA_FILE, newPath: DMA_FILE, binary: false, hunks: [MAP_SG_HUNK, FLUSH_RING_HUNK] }],
  });
  const p3 = patch({
    subject: '[PATCH 3/3] foo: flush after mapping',
    title: 'foo: flush after mapping',
    index: 3,
    total: 3,
    from: 'Jane Developer <jane@example.org>',
    date: 'Tue, 4 Mar 2025 10:12:02 +0100',
    messageId: '20250304091200.3-jane@example.org',
    inReplyTo: COVER_ID,
    references: [COVER_ID],
    files: [{ oldPath: DMA_FILE, newPath: DMA_FILE, binary: false, hunks: [FIX_HUNK] }],
  });
  const p4 = patch({
    subject: '[PATCH] foo: rename the ring registers',
    title: 'foo: rename the ring registers',
    messageId: '20250301120000.1-sam@example.com',
    files: [{ oldPath: 'drivers/foo/foo.c', newPath: 'drivers/foo/foo.c', binary: false, hunks: [hunk(12, 12, '', [' #include "foo.h"', '-#define FOO_HEAD 0x10', '+#define FOO_RING_HEAD 0x10'])] }],
  });
  const p5 = patch({
    subject: '[PATCH] foo: add the engine firmware',
    title: 'foo: add the engine firmware',
    files: [{ oldPath: null, newPath: 'firmware/foo.bin', binary: true, hunks: [] }],
  });

  const entry = (index: number, label: string, p: Patch, rest: Partial<PatchReview>): PatchReview => ({
    index,
    label,
    subject: p.subject,
    applied: true,
    introduced: [],
    fixed: [],
    patch: p,
    ...rest,
  });

  return {
    tool: 'flushcheck',
    version: '0.1.0',
    tree: '/src/foo-linux',
    base: '4c1d2e3f5a6b',
    arch: 'arm64',
    series: {
      patches: [p1, p2, p3, p4, p5],
      skipped: [
        {
          source: { file: 'series.mbox', message: 6, line: 412 },
          subject: 'Re: [PATCH 2/3] foo: map scatterlists for the engine',
          reason: 'a reply, not a patch',
        },
      ],
    },
    patches: [
      entry(1, '1/3', p1, {}),
      entry(2, '2/3', p2, { introduced: [unflushedMapSg, unflushedUnmap] }),
      entry(3, '3/3', p3, { fixed: [unflushedMapSg] }),
      // Optional keys are set explicitly undefined here: the JSON must still omit them.
      entry(4, '4/5', p4, { applied: false, error: 'patch failed: drivers/foo/foo.c:12', skipped: undefined }),
      entry(5, '5/5', p5, { applied: false, skipped: 'binary patch' }),
    ],
    bisectable: false,
    breaks: [{ finding: unflushedMapSg, introducedBy: 2, fixedBy: 3, text: '2/3 leaves foo_map_sg unflushed until 3/3' }],
    findings: [unflushedUnmap, batchableNote],
    baseFindings: [batchableNote],
    batchable: [batchableNote],
    inactiveRules: [],
    activeRules: 1,
    completingCalls: ['arch_sync_dma_flush'],
    notes: [],
    ms: 1234.4,
  };
}

// ------------------------------------------------------------------ json ----

const FINDING_KEYS = ['ruleId', 'severity', 'kind', 'file', 'line', 'column', 'function', 'message', 'path'];

describe('formatReviewJson', () => {
  const json = formatReviewJson(review());
  const parsed = JSON.parse(json);

  it('is pretty-printed with a trailing newline', () => {
    expect(json.startsWith('{\n  "tool": "flushcheck",\n  "version": "0.1.0",\n')).toBe(true);
    expect(json.endsWith('\n}\n')).toBe(true);
  });

  it('has the documented keys in order, optional keys omitted', () => {
    expect(Object.keys(parsed)).toEqual([
      'tool', 'version', 'tree', 'base', 'notes', 'patches', 'bisectable', 'breaks', 'findings', 'batchable', 'inactiveRules', 'skippedMessages', 'ms',
    ]);
    expect(parsed.patches.map((p: object) => Object.keys(p))).toEqual([
      ['index', 'label', 'subject', 'applied', 'introduced', 'fixed'],
      ['index', 'label', 'subject', 'applied', 'introduced', 'fixed'],
      ['index', 'label', 'subject', 'applied', 'introduced', 'fixed'],
      ['index', 'label', 'subject', 'applied', 'error', 'introduced', 'fixed'],
      ['index', 'label', 'subject', 'applied', 'skipped', 'introduced', 'fixed'],
    ]);
    expect(Object.keys(parsed.breaks[0])).toEqual(['introducedBy', 'fixedBy', 'text', 'finding']);
    expect(Object.keys(parsed.skippedMessages[0])).toEqual(['file', 'message', 'line', 'subject', 'reason']);
    expect(Object.keys(parsed.patches[1].introduced[0])).toEqual([...FINDING_KEYS, 'sync', 'model']);
    expect(Object.keys(parsed.patches[1].introduced[0].model)).toEqual(['verdict', 'witness']);
    expect(Object.keys(parsed.patches[1].introduced[1])).toEqual([...FINDING_KEYS, 'sync']);
    expect(Object.keys(parsed.batchable[0])).toEqual(FINDING_KEYS);
    expect(json).not.toContain('null');
    // The parsed patch and internal step ops are not part of the format.
    expect(json).not.toContain('"patch"');
    expect(json).not.toContain('"op"');
  });

  it('carries the review content', () => {
    const mapSg = {
      ruleId: 'dma-sync-flush',
      severity: 'error',
      kind: 'unflushed-return',
      file: DMA_FILE,
      line: 27,
      column: 3,
      function: 'foo_map_sg',
      message: unflushedMapSg.message,
      path: [
        { file: DMA_FILE, line: 27, event: 'arch_sync_dma_for_device(...) issues clean' },
        { file: DMA_FILE, line: 25, event: 'takes the loop exit' },
        { file: DMA_FILE, line: 31, event: 'returns with the clean pending' },
      ],
      sync: { callee: 'arch_sync_dma_for_device', function: 'foo_map_sg', file: DMA_FILE, line: 27 },
      model: { verdict: 'incoherent', witness: [] },
    };
    expect(parsed).toEqual({
      tool: 'flushcheck',
      version: '0.1.0',
      tree: '/src/foo-linux',
      base: '4c1d2e3f5a6b',
      notes: [],
      patches: [
        { index: 1, label: '1/3', subject: '[PATCH 1/3] foo: build the DMA helpers', applied: true, introduced: [], fixed: [] },
        {
          index: 2,
          label: '2/3',
          subject: '[PATCH 2/3] foo: map scatterlists for the engine',
          applied: true,
          introduced: [mapSg, expect.objectContaining({ function: 'foo_unmap_sg', severity: 'warning', line: 75 })],
          fixed: [],
        },
        { index: 3, label: '3/3', subject: '[PATCH 3/3] foo: flush after mapping', applied: true, introduced: [], fixed: [mapSg] },
        { index: 4, label: '4/5', subject: '[PATCH] foo: rename the ring registers', applied: false, error: 'patch failed: drivers/foo/foo.c:12', introduced: [], fixed: [] },
        { index: 5, label: '5/5', subject: '[PATCH] foo: add the engine firmware', applied: false, skipped: 'binary patch', introduced: [], fixed: [] },
      ],
      bisectable: false,
      breaks: [{ introducedBy: 2, fixedBy: 3, text: '2/3 leaves foo_map_sg unflushed until 3/3', finding: mapSg }],
      findings: [expect.objectContaining({ function: 'foo_unmap_sg' }), expect.objectContaining({ kind: 'batchable', line: 92 })],
      batchable: [expect.objectContaining({ kind: 'batchable', function: 'foo_unmap_all' })],
      inactiveRules: [],
      skippedMessages: [
        { file: 'series.mbox', message: 6, line: 412, subject: 'Re: [PATCH 2/3] foo: map scatterlists for the engine', reason: 'a reply, not a patch' },
      ],
      ms: 1234,
    });
  });
});

// ------------------------------------------------------------------ text ----

describe('formatReviewText', () => {
  it('prints each patch with what it introduced and fixed, bisectability, notes and a summary', () => {
    const text = formatReviewText(review(), { color: false });
    const lines = text.split('\n');
    const expected = [
      'flushcheck 0.1.0 review of /src/foo-linux at 4c1d2e3f5a6b',
      '[1/3] foo: build the DMA helpers',
      '  (applied, no change)',
      '[2/3] foo: map scatterlists for the engine',
      `  + error  drivers/foo/foo_dma.c:27  foo_map_sg: ${unflushedMapSg.message} [model: incoherent]`,
      '      drivers/foo/foo_dma.c:27: arch_sync_dma_for_device(...) issues clean',
      '      drivers/foo/foo_dma.c:25: takes the loop exit',
      '      drivers/foo/foo_dma.c:31: returns with the clean pending',
      `  + warning  drivers/foo/foo_dma.c:75  foo_unmap_sg: ${unflushedUnmap.message}`,
      '[3/3] foo: flush after mapping',
      `  - fixed  drivers/foo/foo_dma.c:27  foo_map_sg: ${unflushedMapSg.message} [model: incoherent]`,
      '[4/5] foo: rename the ring registers',
      '  did not apply: patch failed: drivers/foo/foo.c:12',
      '[5/5] foo: add the engine firmware',
      '  skipped: binary patch',
      'not reviewed: series.mbox: message 6, line 412: Re: [PATCH 2/3] foo: map scatterlists for the engine (a reply, not a patch)',
      '  2/3 leaves foo_map_sg unflushed until 3/3',
      `  note  drivers/foo/foo_dma.c:92  foo_unmap_all: ${batchableNote.message}`,
      '5 patches, 3 applied, 2 introduced, 1 fixed, 2 findings at the end (1234 ms)',
    ];
    for (const line of expected) expect(lines).toContain(line);
    // In this order.
    const positions = expected.map((line) => lines.indexOf(line));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(lines.some((l) => l.startsWith('not bisectable:'))).toBe(true);
    expect(text).not.toContain(ESC);
    expect(text.endsWith('(1234 ms)\n')).toBe(true);
  });

  it('says so when the series is bisectable', () => {
    const r = { ...review(), bisectable: true, breaks: [], batchable: [] };
    const text = formatReviewText(r, { color: false });
    expect(text.split('\n')).toContain('bisectable: no patch leaves a sync unflushed for a later patch to fix');
    expect(text).not.toContain('batchable flushes');
  });

  it('colours only when asked', () => {
    const text = formatReviewText(review(), { color: true });
    expect(text).toContain(`${ESC}31m`);
    expect(text).toContain(`[model: ${ESC}31mincoherent${ESC}0m]`);
    expect(text.replace(/\x1b\[[0-9;]*m/g, '')).toBe(formatReviewText(review(), { color: false }));
  });
});

// -------------------------------------------------------------- markdown ----

describe('formatReviewMarkdown', () => {
  const md = formatReviewMarkdown(review());
  const lines = md.split('\n');

  it('tabulates the patches with their counts', () => {
    const header = lines.indexOf('| Patch | Subject | Result | Introduced | Fixed |');
    expect(header).toBeGreaterThanOrEqual(0);
    expect(lines.slice(header + 1, header + 7)).toEqual([
      '| --- | --- | --- | ---: | ---: |',
      '| 1/3 | foo: build the DMA helpers | applied | 0 | 0 |',
      '| 2/3 | foo: map scatterlists for the engine | applied | 2 | 0 |',
      '| 3/3 | foo: flush after mapping | applied | 0 | 1 |',
      '| 4/5 | foo: rename the ring registers | did not apply: patch failed: drivers/foo/foo.c:12 | 0 | 0 |',
      '| 5/5 | foo: add the engine firmware | skipped: binary patch | 0 | 0 |',
    ]);
  });

  it('escapes pipes and backticks in table cells', () => {
    const r = review();
    r.patches[0]!.patch = { ...r.patches[0]!.patch, title: 'foo: use `a|b` in the ring' };
    const row = formatReviewMarkdown(r).split('\n').find((l) => l.startsWith('| 1/3 '));
    expect(row).toBe('| 1/3 | foo: use \\`a\\|b\\` in the ring | applied | 0 | 0 |');
    // Exactly the five column separators are left unescaped.
    expect(row!.match(/(?<!\\)\|/g)).toHaveLength(6);
  });

  it('lists findings per patch with the path collapsed', () => {
    expect(lines).toContain('### 2/3 foo: map scatterlists for the engine');
    const bullet = lines.findIndex((l) => l.startsWith('- **error** `drivers/foo/foo_dma.c:27` in `foo_map_sg()`:'));
    expect(bullet).toBeGreaterThan(0);
    expect(lines[bullet]).toContain('(model: **incoherent**)');
    expect(lines.slice(bullet + 1, bullet + 9)).toEqual([
      '',
      '  <details><summary>Path (3 steps)</summary>',
      '',
      '  1. `drivers/foo/foo_dma.c:27` arch\\_sync\\_dma\\_for\\_device(...) issues clean',
      '  2. `drivers/foo/foo_dma.c:25` takes the loop exit',
      '  3. `drivers/foo/foo_dma.c:31` returns with the clean pending',
      '',
      '  </details>',
    ]);
    expect(lines).toContain('### 3/3 foo: flush after mapping');
    expect(lines).not.toContain('### 1/3 foo: build the DMA helpers');
  });

  it('has the bisectability and batchable sections', () => {
    const bisect = lines.indexOf('### Bisectability');
    expect(bisect).toBeGreaterThan(0);
    expect(lines.slice(bisect + 1)).toContain('- 2/3 leaves foo\\_map\\_sg unflushed until 3/3');
    const batch = lines.indexOf('### Batchable flushes');
    expect(batch).toBeGreaterThan(bisect);
    expect(lines.slice(batch).some((l) => l.startsWith('- **note** `drivers/foo/foo_dma.c:92` in `foo_unmap_all()`'))).toBe(true);
    expect(md.trimEnd().split('\n').pop()).toBe('**5 patches, 3 applied, 2 introduced, 1 fixed, 2 findings at the end (1234 ms)**');
  });
});

// --------------------------------------------------------------- replies ----

interface ParsedMail {
  headers: Map<string, string>;
  /** Header lines as written (folded). */
  rawHeaderLines: string[];
  body: string[];
}

function parseMail(text: string): ParsedMail {
  const split = text.indexOf('\n\n');
  const head = text.slice(0, split);
  const rawHeaderLines = head.split('\n');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { headers, rawHeaderLines, body: text.slice(split + 2).split('\n') };
}

/** The text of the hunk line at a new-file line number, walked independently of the code under test. */
function lineAt(h: Hunk, newLine: number): string {
  let n = h.newStart;
  for (const l of h.lines) {
    if (l[0] === '-' || l[0] === '\\') continue;
    if (n === newLine) return l;
    n++;
  }
  throw new Error(`line ${newLine} is not in the hunk`);
}

describe('formatReplies', () => {
  const replies = formatReplies(review(), { from: FROM, signature: 'Rita\nDMA reviewer', date: DATE });

  it('writes one message, for the patch that introduces findings', () => {
    expect(replies.map((m) => m.fileName)).toEqual(['0002-re-foo-map-scatterlists-for-the-engine.eml']);
    const none = review();
    none.patches[1]!.introduced = [];
    expect(formatReplies(none, { from: FROM, date: DATE })).toEqual([]);
  });

  it('has reply headers that thread under the patch', () => {
    const mail = parseMail(replies[0]!.text);
    expect([...mail.headers.keys()]).toEqual([
      'From', 'To', 'Cc', 'Date', 'Subject', 'In-Reply-To', 'References', 'Message-ID', 'X-Mailer', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding',
    ]);
    expect(mail.headers.get('From')).toBe(FROM);
    // Reply-all: the author in To; the patch's To and Cc in Cc, without the reviewer (From) or the author again.
    expect(mail.headers.get('To')).toBe('Jane Developer <jane@example.org>');
    expect(decodeWords(mail.headers.get('Cc')!)).toBe('Marek Maintainer <marek@example.org>, iommu@lists.example.org, Jörg Listreader <joerg@example.org>');
    expect(mail.headers.get('X-Mailer')).toBe('flushcheck 0.1.0');
    expect(mail.headers.get('Date')).toBe('Wed, 5 Mar 2025 08:30:09 +0000');
    expect(mail.headers.get('Subject')).toBe('Re: [PATCH 2/3] foo: map scatterlists for the engine');
    expect(mail.headers.get('In-Reply-To')).toBe('<20250304091200.2-jane@example.org>');
    expect(mail.headers.get('References')).toBe(`<${COVER_ID}> <20250304091200.2-jane@example.org>`);
    expect(mail.headers.get('Message-ID')).toMatch(/^<flushcheck\.[0-9a-f]{16}@review\.example\.net>$/);
    expect(mail.headers.get('MIME-Version')).toBe('1.0');
    expect(mail.headers.get('Content-Type')).toBe('text/plain; charset=utf-8');
    expect(mail.headers.get('Content-Transfer-Encoding')).toBe('8bit');
    for (const line of mail.rawHeaderLines) expect(line.length).toBeLessThanOrEqual(78);
    expect(replies[0]!.text).not.toContain('\r');
  });

  it('is deterministic: the same Message-ID and text on a rerun', () => {
    const again = formatReplies(review(), { from: FROM, signature: 'Rita\nDMA reviewer', date: DATE });
    expect(again).toEqual(replies);
    const otherDay = formatReplies(review(), { from: FROM, date: new Date(Date.UTC(2025, 5, 1)) });
    expect(parseMail(otherDay[0]!.text).headers.get('Message-ID')).toBe(parseMail(replies[0]!.text).headers.get('Message-ID'));
    const noDomain = formatReplies(review(), { from: 'rita', date: DATE });
    expect(parseMail(noDomain[0]!.text).headers.get('Message-ID')).toMatch(/@localhost>$/);
  });

  it('does not double Re: and leaves threading out without a Message-ID', () => {
    const r = review();
    r.patches[1]!.patch = { ...r.patches[1]!.patch, subject: 'Re: [PATCH 2/3] foo: map scatterlists', messageId: undefined };
    const mail = parseMail(formatReplies(r, { from: FROM, date: DATE })[0]!.text);
    expect(mail.headers.get('Subject')).toBe('Re: [PATCH 2/3] foo: map scatterlists');
    expect(mail.headers.has('In-Reply-To')).toBe(false);
    expect(mail.headers.has('References')).toBe(false);
    expect(mail.headers.get('Message-ID')).toMatch(/^<flushcheck\.[0-9a-f]{16}@review\.example\.net>$/);
  });

  it('keeps a crafted subject to one header', () => {
    const r = review();
    r.patches[1]!.patch = { ...r.patches[1]!.patch, subject: '[PATCH 2/3] foo\nBcc: everyone@example.org' };
    const mail = parseMail(formatReplies(r, { from: FROM, date: DATE })[0]!.text);
    expect(mail.headers.has('Bcc')).toBe(false);
    expect(mail.headers.get('Subject')).toBe('Re: [PATCH 2/3] foo Bcc: everyone@example.org');
  });

  it('encodes a non-ASCII subject as RFC 2047 words within the line limits', () => {
    const r = review();
    const subject = '[PATCH 2/3] foo: map scatterlists for the engine (Jörg’s review, ünïcödé everywhere in a long subject line)';
    r.patches[1]!.patch = { ...r.patches[1]!.patch, subject };
    const mail = parseMail(formatReplies(r, { from: FROM, date: DATE })[0]!.text);
    const encoded = mail.headers.get('Subject')!;
    expect(encoded).toMatch(/=\?UTF-8\?Q\?/);
    expect(encoded).not.toMatch(/[^\x20-\x7e]/);
    for (const line of mail.rawHeaderLines) expect(line.length).toBeLessThanOrEqual(78);
    expect(decodeWords(encoded)).toBe(`Re: ${subject}`);
  });

  it('quotes the hunk and writes the finding right under the line it concerns', () => {
    const body = parseMail(replies[0]!.text).body;
    expect(body[0]).toBe('On Tue, 4 Mar 2025 10:12:01 +0100, Jane Developer <jane@example.org> wrote:');
    expect(body[1]).toBe('> diff --git a/drivers/foo/foo_dma.c b/drivers/foo/foo_dma.c');
    expect(body[2]).toBe(`> ${MAP_SG_HUNK.header}`);
    // The 28-line hunk is trimmed to the lines around line 27.
    expect(body[3]).toBe('> [...]');

    const syncLine = `> ${lineAt(MAP_SG_HUNK, unflushedMapSg.line)}`;
    expect(syncLine).toBe('> +\t\tarch_sync_dma_for_device(sg_phys(sg), sg->length, dir);');
    const at = body.indexOf(syncLine);
    expect(at).toBeGreaterThan(3);
    expect(body.slice(at - 4, at)).toEqual([
      `> ${lineAt(MAP_SG_HUNK, 23)}`,
      `> ${lineAt(MAP_SG_HUNK, 24)}`,
      `> ${lineAt(MAP_SG_HUNK, 25)}`,
      `> ${lineAt(MAP_SG_HUNK, 26)}`,
    ]);
    expect(body[at + 1]).toBe('');
    expect(body[at + 2]).toMatch(/^Error \(unflushed-return\) in foo_map_sg\(\) at drivers\/foo\/foo_dma\.c:27: clean/);

    // The prose, then a blank line, then the quote continues with line 28.
    const resume = body.indexOf(`> ${lineAt(MAP_SG_HUNK, 28)}`);
    expect(resume).toBeGreaterThan(at);
    expect(body[resume - 1]).toBe('');
    const prose = body.slice(at + 2, resume - 1).join('\n');
    expect(prose).toContain(
      [
        'The path:',
        '    drivers/foo/foo_dma.c:27 arch_sync_dma_for_device(...) issues clean',
        '    drivers/foo/foo_dma.c:25 takes the loop exit',
        '    drivers/foo/foo_dma.c:31 returns with the clean pending',
      ].join('\n'),
    );
    expect(prose).toContain('The cache model replays this path and finds it incoherent.');
    expect(prose.replace(/\n/g, ' ')).toContain('Suggested fix: call arch_sync_dma_flush() once in foo_map_sg() after its last sync (after the loop, if the syncs are in one) and before it returns at line 31.');
    expect(body.slice(resume, resume + 5)).toEqual([
      `> ${lineAt(MAP_SG_HUNK, 28)}`,
      `> ${lineAt(MAP_SG_HUNK, 29)}`,
      `> ${lineAt(MAP_SG_HUNK, 30)}`,
      `> ${lineAt(MAP_SG_HUNK, 31)}`,
      '> [...]',
    ]);
  });

  it('writes a finding caused by a removed flush under the quoted - line, with the fix that restores it', () => {
    const body = parseMail(replies[0]!.text).body;
    const second = body.indexOf(`> ${FLUSH_RING_HUNK.header}`);
    expect(second).toBeGreaterThan(0);
    // The short hunk is quoted whole; the finding is written right under the removed flush.
    const removed = body.indexOf('> -\tarch_sync_dma_flush();');
    expect(body.slice(second + 1, removed + 1)).toEqual(FLUSH_RING_HUNK.lines.slice(0, 4).map((l) => `> ${l}`));
    expect(body[removed + 1]).toBe('');
    const resume = body.indexOf('> +\tfoo_ring_ack(fd);');
    const prose = body.slice(removed + 2, resume - 1).join('\n');
    expect(prose.split('\n').slice(0, 3)).toEqual([
      'This removes the arch_sync_dma_flush() that completed the maintenance issued by',
      'arch_sync_dma_for_cpu() in foo_unmap_sg() (drivers/foo/foo_dma.c:75). Without',
      'it, the maintenance is still pending when the buffer changes hands:',
    ]);
    expect(prose).toMatch(/^ {2}- Warning \(unflushed-access\) drivers\/foo\/foo_dma\.c:75 in foo_unmap_sg\(\):/m);
    // The fix restores the removed call in the function that changed, never a flush in the untouched caller.
    expect(prose.replace(/\n/g, ' ')).toContain('Suggested fix: keep this arch_sync_dma_flush(), so the function this patch changes completes what it issued before the buffer changes hands. Its callers need no flush of their own.');
    expect(prose).not.toContain('Outside the lines');
    expect(body.slice(resume, resume + 4)).toEqual(FLUSH_RING_HUNK.lines.slice(4).map((l) => `> ${l}`));
    expect(body.join('\n')).not.toContain('Outside the lines this patch changes');
  });

  it('places a finding the same way when it points at the place to fix, with the hand-off as a related location', () => {
    // The lead's shape: the primary location is the sync in the function that lost its flush; the exported return is related.
    const r = review();
    const atTheSync: Finding = {
      ...unflushedUnmap,
      file: DMA_FILE,
      line: 75,
      function: 'foo_unmap_sg',
      related: [{ file: 'drivers/foo/foo_api.c', line: 12, column: 1, message: 'foo_unmap() returns here and hands the buffer to the CPU (exported)' }],
    };
    r.patches[1]!.introduced = [unflushedMapSg, atTheSync];
    const body = parseMail(formatReplies(r, { from: FROM, date: DATE })[0]!.text).body;
    const removed = body.indexOf('> -\tarch_sync_dma_flush();');
    expect(body[removed + 2]).toMatch(/^This removes the arch_sync_dma_flush\(\) that completed the maintenance issued by$/);
    const prose = body.slice(removed + 2, body.indexOf('> +\tfoo_ring_ack(fd);')).join('\n');
    expect(prose).toContain('    see drivers/foo/foo_api.c:12: foo_unmap() returns here and hands the buffer\n      to the CPU (exported)');
  });

  it('says which later patch fixes a finding and that the series is not bisectable', () => {
    const body = parseMail(replies[0]!.text).body.join('\n').replace(/\n(?!\n)/g, ' ');
    expect(body).toContain('Fixed by 3/3 ("foo: flush after mapping"); the series is not bisectable between 2/3 and 3/3: a kernel built at 2/3 has this bug. Please fold the fix into this patch.');
  });

  it('ends with the 0-day conventions: base and config, a numbered excerpt marked >>, tags to paste', () => {
    const r = review();
    const after = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`);
    after[26] = '\t\tarch_sync_dma_for_device(sg_phys(sg), sg->length, dir);';
    r.patches[1]!.files = new Map([[DMA_FILE, Buffer.from(after.join('\n'))]]);
    const body = parseMail(formatReplies(r, { from: FROM, date: DATE })[0]!.text).body;
    const base = body.indexOf('Base: 4c1d2e3f5a6b; config: arm64, #if CONFIG_* from what arch/arm64/Kconfig');
    expect(base).toBeGreaterThan(0);
    const vim = body.indexOf('vim +27 drivers/foo/foo_dma.c');
    expect(body.slice(vim, vim + 9)).toEqual([
      'vim +27 drivers/foo/foo_dma.c',
      '',
      '   24\tline 24',
      '   25\tline 25',
      '   26\tline 26',
      '>> 27\t\t\tarch_sync_dma_for_device(sg_phys(sg), sg->length, dir);',
      '   28\tline 28',
      '   29\tline 29',
      '   30\tline 30',
    ]);
    const tags = body.findIndex((l) => l.startsWith('| Reported-by: '));
    expect(body[tags]).toBe(`| Reported-by: ${FROM}`);
    expect(body[tags + 1]).toMatch(/^\| Closes: https:\/\/lore\.kernel\.org\/r\/flushcheck\.[0-9a-f]{16}@review\.example\.net\/$/);
  });

  it('wraps its own text at 80 columns and ends with the signature', () => {
    const body = parseMail(replies[0]!.text).body;
    // Quoted lines and the tags to paste (a URL) are never wrapped.
    for (const line of body) if (!line.startsWith('>') && !line.startsWith('| ')) expect([...line].length, line).toBeLessThanOrEqual(80);
    expect(replies[0]!.text.endsWith('arch_sync_dma_flush().\n\n-- \nRita\nDMA reviewer\n')).toBe(true);
    const unsigned = formatReplies(review(), { from: FROM, date: DATE })[0]!.text;
    expect(unsigned).not.toContain('\n-- \n');
  });
});

describe('reply helpers', () => {
  it('numbers new-file lines through context and added lines only', () => {
    expect(newLineNumbers(FLUSH_RING_HUNK)).toEqual([57, 58, 59, null, 60, 61, 62, 63]);
    expect(newLineNumbers(hunk(1, 1, '', [' a', '', '-b', '\\ No newline at end of file', '+c']))).toEqual([1, 2, null, null, 3]);
  });

  it('wraps at 80 columns without breaking long words', () => {
    const long = 'drivers/' + 'very_long_directory_name/'.repeat(4) + 'file.c:12';
    const lines = wrap(`see ${long} for the sync that this patch leaves pending before the return`);
    expect(lines[0]).toBe('see');
    expect(lines[1]).toBe(long);
    expect(lines.slice(2).every((l) => l.length <= 80)).toBe(true);
    expect(wrap('a b', '    ', '      ')).toEqual(['    a b']);
  });

  it('formats RFC 5322 dates in UTC', () => {
    expect(rfc5322Date(new Date(Date.UTC(2024, 11, 31, 23, 5, 0)))).toBe('Tue, 31 Dec 2024 23:05:00 +0000');
  });

  it('leaves ASCII words alone and encodes runs of non-ASCII words together', () => {
    expect(encodeWords('Re: [PATCH] plain')).toEqual(['Re:', '[PATCH]', 'plain']);
    const tokens = encodeWords('fix für Jörg now');
    expect(tokens).toEqual(['fix', '=?UTF-8?Q?f=C3=BCr_J=C3=B6rg?=', 'now']);
    expect(decodeWords(tokens.join(' '))).toBe('fix für Jörg now');
  });
});

/** A minimal RFC 2047 Q decoder: whitespace between adjacent encoded-words is dropped. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?Q\?([^?]*)\?=/g, (_, payload: string) => {
      const bytes: number[] = [];
      for (let i = 0; i < payload.length; i++) {
        const c = payload[i]!;
        if (c === '_') bytes.push(0x20);
        else if (c === '=') {
          bytes.push(parseInt(payload.slice(i + 1, i + 3), 16));
          i += 2;
        } else bytes.push(c.charCodeAt(0));
      }
      return Buffer.from(bytes).toString('utf8');
    });
}
