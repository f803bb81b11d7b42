// The patch-series reader: mbox splitting, mail headers and bodies, unified
// diffs, series assembly (cover, replies, versions, duplicates, order) and the
// path checks done before `git apply` sees an untrusted patch.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { parseGitMode, parsePatchBody } from '../../src/patch/diff.js';
import { decodeEncodedWords, splitMbox } from '../../src/patch/mbox.js';
import { checkPatchPaths } from '../../src/patch/paths.js';
import { parseSeriesText, parseSubject, readSeries } from '../../src/patch/series.js';
import { PatchParseError, type Patch, type PatchFile } from '../../src/patch/types.js';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-patch-'));
  tempDirs.push(dir);
  return dir;
}

// --- Inputs: our own kernel-style driver, fcdemo. -------------------------

const DIFF_SYNC = `diff --git a/drivers/dma/fcdemo.c b/drivers/dma/fcdemo.c
index 1a2b3c4..5d6e7f8 100644
--- a/drivers/dma/fcdemo.c
+++ b/drivers/dma/fcdemo.c
@@ -10,6 +10,7 @@ static int fcdemo_start(struct fcdemo *fd)
 \tint ret;
 \tfd->state = FCDEMO_STARTING;
 \tret = fcdemo_map(fd);
+\tdma_sync_single_for_device(fd->dev, fd->addr, fd->len, DMA_TO_DEVICE);
 \tif (ret)
 \t\treturn ret;
 \treturn fcdemo_kick(fd);
`;

const DIFF_NEW_FILE = `diff --git a/drivers/dma/fcdemo-sync.h b/drivers/dma/fcdemo-sync.h
new file mode 100644
index 0000000..3c4d5e6
--- /dev/null
+++ b/drivers/dma/fcdemo-sync.h
@@ -0,0 +1,4 @@
+/* SPDX-License-Identifier: GPL-2.0 */
+#ifndef FCDEMO_SYNC_H
+#define FCDEMO_SYNC_H
+#endif
`;

const DIFF_RENAME = `diff --git a/drivers/dma/fcdemo-old.c b/drivers/dma/fcdemo-new.c
similarity index 90%
rename from drivers/dma/fcdemo-old.c
rename to drivers/dma/fcdemo-new.c
index 4e5f6a7..7a8b9c0 100644
--- a/drivers/dma/fcdemo-old.c
+++ b/drivers/dma/fcdemo-new.c
@@ -1,3 +1,3 @@
 #include "fcdemo.h"
-static int fcdemo_old;
+static int fcdemo_new;
 /* end */
`;

interface MailSpec {
  sha?: string;
  subject: string;
  id: string;
  inReplyTo?: string;
  extraHeaders?: string;
  body: string;
  diff?: string;
}

/** One message as `git format-patch` writes it (diffstat and signature included). */
function mail(spec: MailSpec): string {
  const head = [
    `From ${spec.sha ?? '0123456789abcdef0123456789abcdef01234567'} Mon Sep 17 00:00:00 2001`,
    'From: Dana Dev <dana@example.org>',
    'Date: Tue, 4 Mar 2025 10:00:00 +0100',
    `Subject: ${spec.subject}`,
    `Message-ID: <${spec.id}>`,
    ...(spec.inReplyTo ? [`In-Reply-To: <${spec.inReplyTo}>`, `References: <${spec.inReplyTo}>`] : []),
    ...(spec.extraHeaders ? [spec.extraHeaders] : []),
  ].join('\n');
  const tail = spec.diff ? `---\n drivers/dma/fcdemo.c | 1 +\n 1 file changed, 1 insertion(+)\n\n${spec.diff}-- \n2.43.0\n` : '';
  return `${head}\n\n${spec.body}\n${tail}\n`;
}

const COVER = mail({
  subject: '[PATCH v2 0/3] dma: fcdemo: complete every cache sync',
  id: 'cover.fcdemo@example.org',
  body: 'This series makes fcdemo flush what it syncs.\n\nDana Dev (3):\n  one\n  two\n  three',
});
const P1 = mail({ subject: '[PATCH v2 1/3] dma: fcdemo: sync before the kick', id: 'p1.fcdemo@example.org', inReplyTo: 'cover.fcdemo@example.org', body: 'Sync the buffer for the device before starting it.\n\nSigned-off-by: Dana Dev <dana@example.org>', diff: DIFF_SYNC });
const P2 = mail({ subject: '[PATCH v2 2/3] dma: fcdemo: add the sync header', id: 'p2.fcdemo@example.org', inReplyTo: 'cover.fcdemo@example.org', body: 'A header for the sync helpers.\n\nSigned-off-by: Dana Dev <dana@example.org>', diff: DIFF_NEW_FILE });
const P3 = mail({ subject: '[PATCH v2 3/3] dma: fcdemo: rename the old file', id: 'p3.fcdemo@example.org', inReplyTo: 'cover.fcdemo@example.org', body: 'Rename.\n\nSigned-off-by: Dana Dev <dana@example.org>', diff: DIFF_RENAME });
const REPLY_TO_2 = mail({
  subject: 'Re: [PATCH v2 2/3] dma: fcdemo: add the sync header',
  id: 'r1.fcdemo@example.org',
  inReplyTo: 'p2.fcdemo@example.org',
  body: 'On Tue, Dana Dev wrote:\n> +#ifndef FCDEMO_SYNC_H\n\nLooks fine.\n\nReviewed-by: Rae Reviewer <rae@example.org>',
});
const REPLY_WITH_DIFF = mail({
  subject: 'RE: [PATCH v2 1/3] dma: fcdemo: sync before the kick',
  id: 'r2.fcdemo@example.org',
  inReplyTo: 'p1.fcdemo@example.org',
  body: 'How about this instead:',
  diff: DIFF_SYNC,
});

/** Cover, 3/3, a reply, 1/3, a reply, 2/3: file order is not series order. */
const SCRAMBLED = [COVER, P3, REPLY_TO_2, P1, REPLY_WITH_DIFF, P2].join('');

function parseError(run: () => unknown): PatchParseError {
  try {
    run();
  } catch (error) {
    if (error instanceof PatchParseError) return error;
    throw error;
  }
  throw new Error('expected a PatchParseError');
}

/** Line (1-based) of the first line of `text` equal to `line`, after `from`. */
function lineOf(text: string, line: string, from = 0): number {
  const lines = text.split('\n');
  const at = lines.findIndex((l, i) => i >= from && l === line);
  if (at < 0) throw new Error(`no line ${line}`);
  return at + 1;
}

// --- The series -----------------------------------------------------------

describe('series from one mbox', () => {
  const series = parseSeriesText(SCRAMBLED, 'fcdemo.mbox');

  it('orders the patches by M/N and keeps the cover letter apart', () => {
    expect(series.patches.map((p) => [p.index, p.total, p.version, p.title])).toEqual([
      [1, 3, 2, 'dma: fcdemo: sync before the kick'],
      [2, 3, 2, 'dma: fcdemo: add the sync header'],
      [3, 3, 2, 'dma: fcdemo: rename the old file'],
    ]);
    expect(series.cover?.subject).toBe('[PATCH v2 0/3] dma: fcdemo: complete every cache sync');
    expect(series.cover?.messageId).toBe('cover.fcdemo@example.org');
    expect(series.cover?.body).toBe('This series makes fcdemo flush what it syncs.\n\nDana Dev (3):\n  one\n  two\n  three');
    expect(series.cover?.source).toEqual({ file: 'fcdemo.mbox', message: 1, line: 1 });
  });

  it('skips both replies, in input order, with their message numbers', () => {
    expect(series.skipped.map((s) => [s.source.message, s.reason, s.subject])).toEqual([
      [3, 'reply', 'Re: [PATCH v2 2/3] dma: fcdemo: add the sync header'],
      [5, 'reply', 'RE: [PATCH v2 1/3] dma: fcdemo: sync before the kick'],
    ]);
  });

  it('reads headers, commit message, diff and hunks of a patch', () => {
    const p1 = series.patches[0];
    expect(p1.subject).toBe('[PATCH v2 1/3] dma: fcdemo: sync before the kick');
    expect(p1.from).toBe('Dana Dev <dana@example.org>');
    expect(p1.date).toBe('Tue, 4 Mar 2025 10:00:00 +0100');
    expect(p1.messageId).toBe('p1.fcdemo@example.org');
    expect(p1.inReplyTo).toBe('cover.fcdemo@example.org');
    expect(p1.references).toEqual(['cover.fcdemo@example.org']);
    expect(p1.body).toBe('Sync the buffer for the device before starting it.\n\nSigned-off-by: Dana Dev <dana@example.org>');
    // No diffstat before, no signature after: what git apply gets.
    expect(p1.diff).toBe(DIFF_SYNC);
    expect(p1.bytes).toBe(Buffer.byteLength(DIFF_SYNC));
    expect(p1.stripComponents).toBeUndefined();
    // Its From_ line: after the 13-line cover, 30-line 3/3 and 15-line reply.
    expect(p1.source).toEqual({ file: 'fcdemo.mbox', message: 4, line: 59 });
    expect(SCRAMBLED.split('\n')[58]).toBe('From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001');
    expect(SCRAMBLED.split('\n')[61]).toBe('Subject: [PATCH v2 1/3] dma: fcdemo: sync before the kick');
    expect(p1.files).toEqual<PatchFile[]>([
      {
        oldPath: 'drivers/dma/fcdemo.c',
        newPath: 'drivers/dma/fcdemo.c',
        binary: false,
        mode: '100644',
        statedModes: [{ line: 'index', value: '100644' }],
        hunks: [
          {
            oldStart: 10,
            oldLines: 6,
            newStart: 10,
            newLines: 7,
            header: '@@ -10,6 +10,7 @@ static int fcdemo_start(struct fcdemo *fd)',
            lines: [
              ' \tint ret;',
              ' \tfd->state = FCDEMO_STARTING;',
              ' \tret = fcdemo_map(fd);',
              '+\tdma_sync_single_for_device(fd->dev, fd->addr, fd->len, DMA_TO_DEVICE);',
              ' \tif (ret)',
              ' \t\treturn ret;',
              ' \treturn fcdemo_kick(fd);',
            ],
            sourceLine: lineOf(SCRAMBLED, '@@ -10,6 +10,7 @@ static int fcdemo_start(struct fcdemo *fd)'),
          },
        ],
      },
    ]);
  });

  it('reads a new file and a rename', () => {
    const [, p2, p3] = series.patches;
    expect(p2.files).toEqual<PatchFile[]>([
      {
        oldPath: null,
        newPath: 'drivers/dma/fcdemo-sync.h',
        binary: false,
        mode: '100644',
        statedModes: [{ line: 'new file mode', value: '100644' }],
        hunks: [
          {
            oldStart: 0,
            oldLines: 0,
            newStart: 1,
            newLines: 4,
            header: '@@ -0,0 +1,4 @@',
            lines: ['+/* SPDX-License-Identifier: GPL-2.0 */', '+#ifndef FCDEMO_SYNC_H', '+#define FCDEMO_SYNC_H', '+#endif'],
            sourceLine: lineOf(SCRAMBLED, '@@ -0,0 +1,4 @@'),
          },
        ],
      },
    ]);
    expect(p3.files.map((f) => [f.oldPath, f.newPath, f.hunks.length, f.hunks[0].lines])).toEqual([
      ['drivers/dma/fcdemo-old.c', 'drivers/dma/fcdemo-new.c', 1, [' #include "fcdemo.h"', '-static int fcdemo_old;', '+static int fcdemo_new;', ' /* end */']],
    ]);
  });

  it('reads the same series with CRLF line endings', () => {
    const crlf = parseSeriesText(Buffer.from(SCRAMBLED.replace(/\n/g, '\r\n')), 'fcdemo-crlf.mbox');
    expect(crlf.patches.map((p) => p.diff)).toEqual([DIFF_SYNC, DIFF_NEW_FILE, DIFF_RENAME]);
    expect(crlf.patches.map((p) => p.files)).toEqual(series.patches.map((p) => p.files));
    expect(crlf.patches[0].subject).toBe('[PATCH v2 1/3] dma: fcdemo: sync before the kick');
    expect(crlf.patches[0].messageId).toBe('p1.fcdemo@example.org');
    expect(crlf.patches[0].body).toBe(series.patches[0].body);
    expect(crlf.skipped.map((s) => s.reason)).toEqual(['reply', 'reply']);
    expect(crlf.cover?.body).toBe(series.cover?.body);
  });

  it('reads a folder of format-patch files in name order', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, '0000-cover-letter.patch'), COVER);
    fs.writeFileSync(path.join(dir, '0002-add-header.patch'), P2);
    fs.writeFileSync(path.join(dir, '0001-sync.patch'), P1);
    fs.writeFileSync(path.join(dir, '0003-rename.patch'), P3);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not part of the series');
    fs.mkdirSync(path.join(dir, 'old.patch'));
    const fromFolder = readSeries(dir);
    expect(fromFolder.patches.map((p) => [p.index, path.basename(p.source.file), p.source.message, p.source.line])).toEqual([
      [1, '0001-sync.patch', 1, 1],
      [2, '0002-add-header.patch', 1, 1],
      [3, '0003-rename.patch', 1, 1],
    ]);
    expect(fromFolder.cover?.source.file).toBe(path.join(dir, '0000-cover-letter.patch'));
    expect(fromFolder.skipped).toEqual([]);
  });

  it('reads an mbox file by path', () => {
    const file = path.join(tempDir(), 'series.mbox');
    fs.writeFileSync(file, SCRAMBLED);
    expect(readSeries(file).patches.map((p) => p.source)).toEqual(series.patches.map((p) => ({ ...p.source, file })));
  });
});

describe('series selection', () => {
  it('keeps only the newest version, and the first of duplicate M/N', () => {
    const v1a = mail({ subject: '[PATCH 1/2] dma: fcdemo: sync', id: 'v1a@x', body: 'v1', diff: DIFF_SYNC });
    const v1b = mail({ subject: '[PATCH 2/2] dma: fcdemo: header', id: 'v1b@x', body: 'v1', diff: DIFF_NEW_FILE });
    const v2a = mail({ subject: '[PATCH v2 1/2] dma: fcdemo: sync', id: 'v2a@x', body: 'v2', diff: DIFF_SYNC });
    const v2b = mail({ subject: '[PATCH 2/2 v2] dma: fcdemo: header', id: 'v2b@x', body: 'v2', diff: DIFF_NEW_FILE });
    const v2bAgain = mail({ subject: '[PATCH v2 2/2] dma: fcdemo: header (resent)', id: 'v2b-resent@x', body: 'v2 again', diff: DIFF_NEW_FILE });
    const v2bSameId = mail({ subject: '[PATCH v2 2/2] dma: fcdemo: header', id: 'v2b@x', body: 'v2', diff: DIFF_NEW_FILE });
    const series = parseSeriesText([v1a, v2b, v1b, v2a, v2bAgain, v2bSameId].join(''), 'mixed.mbox');
    expect(series.patches.map((p) => [p.messageId, p.version, p.index])).toEqual([
      ['v2a@x', 2, 1],
      ['v2b@x', 2, 2],
    ]);
    expect(series.skipped.map((s) => [s.source.message, s.reason])).toEqual([
      [1, 'v1; the series has v2'],
      [3, 'v1; the series has v2'],
      [5, 'duplicate of 2/2 (message 2)'],
      [6, 'duplicate of message 2 (same Message-ID)'],
    ]);
  });

  it('skips messages without a diff, binary patches and oversize patches', () => {
    const noDiff = mail({ subject: '[PATCH 1/4] dma: fcdemo: words only', id: 'a@x', body: 'Nothing to apply.' });
    const gitBinary = mail({
      subject: '[PATCH 2/4] dma: fcdemo: firmware',
      id: 'b@x',
      body: 'Add the firmware blob.',
      diff: `diff --git a/firmware/fcdemo.bin b/firmware/fcdemo.bin
new file mode 100644
index 0000000000000000000000000000000000000000..3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e
GIT binary patch
literal 12
TcmZQzKmAb000OG00000

literal 0
HcmV?d00001

`,
    });
    const differ = mail({
      subject: '[PATCH 3/4] dma: fcdemo: logo',
      id: 'c@x',
      body: 'Logo.',
      diff: `diff --git a/Documentation/fcdemo.png b/Documentation/fcdemo.png
index 1111111..2222222 100644
Binary files a/Documentation/fcdemo.png and b/Documentation/fcdemo.png differ
`,
    });
    const big = mail({ subject: '[PATCH 4/4] dma: fcdemo: sync', id: 'd@x', body: 'Big.', diff: DIFF_SYNC });
    const series = parseSeriesText(noDiff + gitBinary + differ + big, 'skips.mbox', { maxPatchBytes: 100 });
    expect(series.patches).toEqual([]);
    expect(series.skipped.map((s) => [s.source.message, s.reason])).toEqual([
      [1, 'no diff'],
      [2, 'binary patch: not applied'],
      [3, 'binary patch: not applied'],
      [4, `oversize: ${Buffer.byteLength(DIFF_SYNC)} bytes over the 100-byte limit`],
    ]);
    // With the default limit the last one is a patch.
    expect(parseSeriesText(big, 'big.mbox').patches.map((p) => p.bytes)).toEqual([Buffer.byteLength(DIFF_SYNC)]);
  });

  it('keeps input order when a patch has no M/N', () => {
    const a = mail({ subject: '[PATCH] dma: fcdemo: rename', id: 'a@x', body: 'a', diff: DIFF_RENAME });
    const b = mail({ subject: '[PATCH 1/1] dma: fcdemo: sync', id: 'b@x', body: 'b', diff: DIFF_SYNC });
    expect(parseSeriesText(a + b, 'order.mbox').patches.map((p) => [p.index, p.messageId])).toEqual([
      [null, 'a@x'],
      [1, 'b@x'],
    ]);
  });

  it('reads subject tags', () => {
    const tags = (s: string) => {
      const t = parseSubject(s);
      return [t.reply, t.tagged, t.version, t.index, t.total, t.title];
    };
    expect(tags('[PATCH] x: y')).toEqual([false, true, 1, null, null, 'x: y']);
    expect(tags('[PATCH v2 3/8] x: y')).toEqual([false, true, 2, 3, 8, 'x: y']);
    expect(tags('[RFC PATCH v3 01/12] x: y')).toEqual([false, true, 3, 1, 12, 'x: y']);
    expect(tags('[PATCH net-next v2 2/5] x: y')).toEqual([false, true, 2, 2, 5, 'x: y']);
    expect(tags('[PATCH 3/8 v2] x: y')).toEqual([false, true, 2, 3, 8, 'x: y']);
    expect(tags('[RFC][PATCHv4 2/2] x: y')).toEqual([false, true, 4, 2, 2, 'x: y']);
    expect(tags('Re: [PATCH v2 3/8] x: y')).toEqual([true, false, 1, null, null, 'Re: [PATCH v2 3/8] x: y']);
    expect(tags('aw: [PATCH] x')[0]).toBe(true);
    expect(tags('x: y')).toEqual([false, false, 1, null, null, 'x: y']);
  });
});

// --- Mail encodings ---------------------------------------------------------

describe('mail headers and bodies', () => {
  it('decodes a quoted-printable body, soft line breaks included', () => {
    const qp = `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Dana Dev <dana@example.org>
Subject: [PATCH] dma: fcdemo: set the length
Message-ID: <qp@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

Set fd->len =3D len before mapping (caf=C3=A9).
---
diff --git a/drivers/dma/fcdemo.c b/drivers/dma/fcdemo.c
--- a/drivers/dma/fcdemo.c
+++ b/drivers/dma/fcdemo.c
@@ -20,2 +20,3 @@
 \tfd->addr =3D addr;
+\tfd->len =3D len; /* a long comment that the mailer had to wrap at seventy-=
six columns */
 \treturn 0;
`;
    const [patch] = parseSeriesText(qp, 'qp.mbox').patches;
    expect(patch.body).toBe('Set fd->len = len before mapping (café).');
    expect(patch.diff).toBe(`diff --git a/drivers/dma/fcdemo.c b/drivers/dma/fcdemo.c
--- a/drivers/dma/fcdemo.c
+++ b/drivers/dma/fcdemo.c
@@ -20,2 +20,3 @@
 \tfd->addr = addr;
+\tfd->len = len; /* a long comment that the mailer had to wrap at seventy-six columns */
 \treturn 0;
`);
    expect(patch.files[0].hunks[0].sourceLine).toBe(14);
    expect(patch.files[0].hunks[0].lines).toHaveLength(3);
  });

  it('decodes a base64 body', () => {
    const text = `Use the helper.\n---\n${DIFF_SYNC}`;
    const b64 = Buffer.from(text.replace(/\n/g, '\r\n')).toString('base64').replace(/.{76}/g, '$&\n');
    const mboxText = `From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001
Subject: [PATCH] dma: fcdemo: base64
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

${b64}
`;
    const [patch] = parseSeriesText(mboxText, 'b64.mbox').patches;
    expect(patch.body).toBe('Use the helper.');
    expect(patch.diff).toBe(DIFF_SYNC);
  });

  it('decodes RFC 2047 words and unfolds headers', () => {
    const encoded = `From 3333333333333333333333333333333333333333 Mon Sep 17 00:00:00 2001
From: =?iso-8859-1?q?J=F6rg?= =?utf-8?b?TcO8bGxlcg==?= <jorg@example.org>
Subject: =?utf-8?q?=5BPATCH_v3_1/1=5D_dma=3A_fcdemo=3A_fix_the_cach?=
 =?utf-8?q?=C3=A9_sync?= in
\tfcdemo_start()
Message-Id: <enc@example.org>
In-Reply-To:
 <parent@example.org>
References: <root@example.org>
 <mid@example.org>
\t<parent@example.org>

Body.
---
${DIFF_SYNC}`;
    const [patch] = parseSeriesText(encoded, 'enc.mbox').patches;
    expect(patch.subject).toBe('[PATCH v3 1/1] dma: fcdemo: fix the caché sync in fcdemo_start()');
    expect(patch.title).toBe('dma: fcdemo: fix the caché sync in fcdemo_start()');
    expect([patch.version, patch.index, patch.total]).toEqual([3, 1, 1]);
    expect(patch.from).toBe('JörgMüller <jorg@example.org>');
    expect(patch.messageId).toBe('enc@example.org');
    expect(patch.inReplyTo).toBe('parent@example.org');
    expect(patch.references).toEqual(['root@example.org', 'mid@example.org', 'parent@example.org']);
  });

  it('keeps encoded words in a charset Node does not know', () => {
    expect(decodeEncodedWords('=?x-no-such-charset?q?abc?= and =?utf-8?q?d=C3=A9f?=')).toBe('=?x-no-such-charset?q?abc?= and déf');
  });

  it('takes the first text/plain part with a diff from a multipart message', () => {
    const multipart = `From 4444444444444444444444444444444444444444 Mon Sep 17 00:00:00 2001
Subject: [PATCH] dma: fcdemo: attached
Content-Type: multipart/mixed; boundary="=-=sep=-="

This is a multi-part message in MIME format.
--=-=sep=-=
Content-Type: text/html

<p>not this</p>
--=-=sep=-=
Content-Type: text/plain; charset=utf-8

Only words here.
--=-=sep=-=
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Attached fix.
---
${DIFF_SYNC.replace(/=/g, '=3D')}
--=-=sep=-=--
epilogue
`;
    const [patch] = parseSeriesText(multipart, 'multi.mbox').patches;
    expect(patch.body).toBe('Attached fix.');
    expect(patch.diff).toBe(DIFF_SYNC);
    expect(patch.files[0].hunks[0].sourceLine).toBe(lineOf(multipart, '@@ -10,6 +10,7 @@ static int fcdemo_start(struct fcdemo *fd)'));

    const wordsOnly = multipart.replace(/^Attached fix\.[^]*?(?=--=-=sep=-=--)/m, 'Nothing.\n');
    const series = parseSeriesText(wordsOnly, 'multi.mbox');
    expect(series.patches).toEqual([]);
    expect(series.skipped.map((s) => s.reason)).toEqual(['no diff']);
  });

  it("unescapes mboxrd '>From ' lines and does not split on them", () => {
    const quoted = mail({ subject: '[PATCH] dma: fcdemo: quoting', id: 'q@x', body: 'First line.\n\n>From here on it works.\n>>From the manual.', diff: DIFF_SYNC });
    const [patch] = parseSeriesText(quoted, 'q.mbox').patches;
    expect(patch.body).toBe('First line.\n\nFrom here on it works.\n>From the manual.');
  });

  it('does not split at a prose "From " line in a commit message', () => {
    const prose = mail({ subject: '[PATCH] dma: fcdemo: prose', id: 'prose@x', body: 'Intro.\n\nFrom the data sheet, the sync must come first.', diff: DIFF_SYNC });
    const series = parseSeriesText(prose, 'prose.mbox');
    expect(series.patches.map((p) => p.body)).toEqual(['Intro.\n\nFrom the data sheet, the sync must come first.']);
  });

  it('reads a headers-first file (.eml) as one message', () => {
    const eml = `Subject: [PATCH] dma: fcdemo: eml\nFrom: Dana Dev <dana@example.org>\n\nBody.\n---\n${DIFF_SYNC}`;
    const series = parseSeriesText(eml, 'one.eml');
    expect(series.patches.map((p) => [p.title, p.source])).toEqual([['dma: fcdemo: eml', { file: 'one.eml', message: 1, line: 1 }]]);
  });

  it('never throws on bad bytes: UTF-8 with replacement', () => {
    const bytes = Buffer.concat([Buffer.from(mail({ subject: '[PATCH] dma: fcdemo: bytes', id: 'bytes@x', body: 'A', diff: DIFF_SYNC }).replace('Body', '')), Buffer.from([0xff, 0xfe, 0x00, 0x0a])]);
    const [message] = splitMbox(Buffer.concat([bytes.subarray(0, 120), Buffer.from([0xc3, 0x28]), bytes.subarray(120)]), 'bytes.mbox');
    expect(message.headers.subject).toContain('dma: fcdemo: bytes');
  });
});

// --- Errors -------------------------------------------------------------------

describe('errors', () => {
  const NOT_MAIL = "not an mbox or patch: expected a 'From ' line or mail headers at line 1";

  it('refuses a C file, JSON, binary data and empty input', () => {
    const c = parseError(() => parseSeriesText('#include <linux/dma-mapping.h>\n\nint fcdemo_probe(void)\n{\n\treturn 0;\n}\n', 'fcdemo.c'));
    expect([c.file, c.messageIndex, c.line, c.reason]).toEqual(['fcdemo.c', null, 1, NOT_MAIL]);
    expect(c.message).toBe(`fcdemo.c, line 1: ${NOT_MAIL}`);
    expect(parseError(() => parseSeriesText('{"patches": []}\n', 'x.json')).reason).toBe(NOT_MAIL);
    expect(parseError(() => parseSeriesText(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0xff, 10]), 'a.out')).reason).toBe(NOT_MAIL);
    expect(parseError(() => parseSeriesText('label: not mail\n', 'x.yaml')).reason).toBe(NOT_MAIL);
    const empty = parseError(() => parseSeriesText('', 'empty.mbox'));
    expect(empty.message).toBe(`empty.mbox, line 1: ${NOT_MAIL} (the file is empty)`);
    expect(parseError(() => parseSeriesText(Buffer.alloc(0), 'empty.mbox')).line).toBe(1);
  });

  it('names file, message and @@ line when hunk counts do not match', () => {
    const broken = DIFF_SYNC.replace(' \tint ret;\n', '');
    const text = COVER + mail({ subject: '[PATCH v2 1/1] dma: fcdemo: sync', id: 'bad@x', body: 'Broken.', diff: broken });
    const error = parseError(() => parseSeriesText(text, 'broken.mbox'));
    const at = lineOf(text, '@@ -10,6 +10,7 @@ static int fcdemo_start(struct fcdemo *fd)');
    expect(at).toBe(29);
    expect(error.message).toBe(
      "broken.mbox: message 2, line 29: drivers/dma/fcdemo.c: hunk '@@ -10,6 +10,7 @@' has 5 old and 6 new lines; its header says 6 and 7",
    );
    expect([error.file, error.messageIndex, error.line]).toEqual(['broken.mbox', 2, 29]);
  });

  it('names the @@ line when a hunk has more lines than its header says', () => {
    const extra = DIFF_SYNC.replace('+\tdma_sync', '+\tfcdemo_prepare(fd);\n+\tdma_sync');
    const error = parseError(() => parseSeriesText(mail({ subject: '[PATCH] dma: fcdemo: sync', id: 'x@x', body: 'B.', diff: extra }), 'extra.mbox'));
    expect(error.message).toBe("extra.mbox: message 1, line 16: drivers/dma/fcdemo.c: hunk '@@ -10,6 +10,7 @@' has 6 old and 8 new lines; its header says 6 and 7");
  });

  it('skips rather than fails an untagged message with a corrupt diff', () => {
    const untagged = mail({ subject: 'dma: fcdemo: sync', id: 'u@x', body: 'B.', diff: DIFF_SYNC.replace(' \tint ret;\n', '') });
    const series = parseSeriesText(untagged, 'u.mbox');
    expect(series.skipped.map((s) => s.reason)).toEqual([
      "corrupt diff: drivers/dma/fcdemo.c: hunk '@@ -10,6 +10,7 @@' has 5 old and 6 new lines; its header says 6 and 7",
    ]);
  });

  it('refuses diff text after the end of the diff, and inconsistent file names', () => {
    const junk = `${DIFF_SYNC}Some words.\n${DIFF_RENAME}`;
    expect(parseError(() => parseSeriesText(mail({ subject: '[PATCH] j', id: 'j@x', body: 'B.', diff: junk }), 'j.mbox')).message).toBe(
      "j.mbox: message 1, line 25: diff text after the end of the diff (which ends at line 23): 'diff --git a/drivers/dma/fcdemo-old.c b/drivers/dma/fcdemo-new.c'",
    );
    const sneaky = DIFF_SYNC.replace('+++ b/drivers/dma/fcdemo.c', '+++ b/../../etc/fcdemo.c');
    expect(parseError(() => parseSeriesText(mail({ subject: '[PATCH] s', id: 's@x', body: 'B.', diff: sneaky }), 's.mbox')).reason).toBe(
      "inconsistent file names: '+++' name is '../../etc/fcdemo.c', expected 'drivers/dma/fcdemo.c'",
    );
  });

  it('guards message count and header line length', () => {
    const many = 'From x Mon Sep 17 00:00:00 2001\nSubject: m\n\nb\n\n'.repeat(10_001);
    expect(parseError(() => parseSeriesText(many, 'many.mbox')).reason).toBe('more than 10000 messages; not a patch series');
    const long = `From x Mon Sep 17 00:00:00 2001\nSubject: ${'x'.repeat(70_000)}\n\nb\n`;
    expect(parseError(() => parseSeriesText(long, 'long.mbox')).message).toBe('long.mbox: message 1, line 2: header line over 65536 bytes');
    const folded = `From x Mon Sep 17 00:00:00 2001\nReferences: <a@b>\n${' <c@d>\n'.repeat(12_000)}\nb\n`;
    expect(parseError(() => parseSeriesText(folded, 'folded.mbox')).reason).toBe("header 'references' over 65536 bytes when unfolded");
  });

  it('reads a large mbox in linear time', () => {
    const one = mail({ subject: '[PATCH] dma: fcdemo: sync', id: 'big@x', body: 'Body line.\n'.repeat(400), diff: DIFF_SYNC });
    const copies = Math.ceil((20 * 1024 * 1024) / one.length);
    const text = Array.from({ length: copies }, (_, i) => one.replace('big@x', `big${i}@x`).replace('[PATCH]', `[PATCH ${i + 1}/${copies}]`)).join('');
    const started = performance.now();
    const series = parseSeriesText(text, 'big.mbox');
    const ms = performance.now() - started;
    expect(series.patches).toHaveLength(copies);
    expect(ms).toBeLessThan(8000);
  });

  it('reports missing paths and folders without patches', () => {
    const missing = path.join(tempDir(), 'nope.mbox');
    expect(parseError(() => readSeries(missing)).message).toBe(`${missing}: no such file or folder`);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'README'), 'x');
    expect(parseError(() => readSeries(dir)).message).toBe(`${dir}: no .patch, .mbox or .eml files in the folder`);
  });
});

// --- Diff details -------------------------------------------------------------

describe('diff parsing', () => {
  const where = { file: 'd.mbox', message: 1 };
  const parse = (text: string) => {
    const lines = text.split('\n');
    if (text.endsWith('\n')) lines.pop();
    return parsePatchBody(
      lines,
      lines.map((_, i) => i + 1),
      where,
    );
  };

  it('reads --no-prefix diffs and tells git apply to use -p0', () => {
    const parsed = parse(`diff --git drivers/dma/fcdemo.c drivers/dma/fcdemo.c
index 1a2b3c4..5d6e7f8 100755
--- drivers/dma/fcdemo.c
+++ drivers/dma/fcdemo.c
@@ -1 +1 @@
-old
+new
`);
    expect(parsed?.stripComponents).toBe(0);
    expect(parsed?.files.map((f) => [f.oldPath, f.newPath, f.mode, f.hunks[0].oldLines, f.hunks[0].newLines])).toEqual([
      ['drivers/dma/fcdemo.c', 'drivers/dma/fcdemo.c', '100755', 1, 1],
    ]);
  });

  it('reads plain ---/+++ diffs with timestamps', () => {
    const parsed = parse(`Index: x
--- linux.orig/drivers/dma/fcdemo.c\t2025-03-04 10:00:00.000000000 +0100
+++ linux/drivers/dma/fcdemo.c\t2025-03-04 10:05:00.000000000 +0100
@@ -1,2 +1,2 @@
 a
-b
+c
`);
    expect(parsed?.stripComponents).toBe(1);
    expect(parsed?.files.map((f) => [f.oldPath, f.newPath])).toEqual([['drivers/dma/fcdemo.c', 'drivers/dma/fcdemo.c']]);
    expect(parsed?.message).toBe('Index: x');
  });

  it('reads quoted paths, mode changes, deletions, no-newline markers and dropped context spaces', () => {
    const parsed = parse(`diff --git "a/docs/with space\\t\\303\\251.txt" "b/docs/with space\\t\\303\\251.txt"
old mode 100644
new mode 100755
diff --git a/drivers/dma/gone.c b/drivers/dma/gone.c
deleted file mode 100644
index 1234567..0000000
--- a/drivers/dma/gone.c
+++ /dev/null
@@ -1,2 +0,0 @@
-int gone;
-int also_gone;
\\ No newline at end of file
diff --git a/drivers/dma/fcdemo.c b/drivers/dma/fcdemo.c
--- a/drivers/dma/fcdemo.c
+++ b/drivers/dma/fcdemo.c
@@ -1,3 +1,3 @@
 a

-b
+c
\\ No newline at end of file
`);
    expect(parsed?.files).toEqual<PatchFile[]>([
      {
        oldPath: 'docs/with space\té.txt',
        newPath: 'docs/with space\té.txt',
        binary: false,
        hunks: [],
        mode: '100755',
        statedModes: [
          { line: 'old mode', value: '100644' },
          { line: 'new mode', value: '100755' },
        ],
      },
      {
        oldPath: 'drivers/dma/gone.c',
        newPath: null,
        binary: false,
        statedModes: [{ line: 'deleted file mode', value: '100644' }],
        hunks: [{ oldStart: 1, oldLines: 2, newStart: 0, newLines: 0, header: '@@ -1,2 +0,0 @@', lines: ['-int gone;', '-int also_gone;', '\\ No newline at end of file'], sourceLine: 9 }],
      },
      {
        oldPath: 'drivers/dma/fcdemo.c',
        newPath: 'drivers/dma/fcdemo.c',
        binary: false,
        hunks: [{ oldStart: 1, oldLines: 3, newStart: 1, newLines: 3, header: '@@ -1,3 +1,3 @@', lines: [' a', ' ', '-b', '+c', '\\ No newline at end of file'], sourceLine: 16 }],
      },
    ]);
  });

  it('has no diff in a body without one', () => {
    expect(parse('Just words.\n--- not a diff\n+++ either\n')).toBeNull();
  });

  it('rejects a malformed hunk header and a hunk without file lines', () => {
    expect(() => parse('--- a/x\n+++ b/x\n@@ -1,z +1 @@\n-a\n')).toThrow("d.mbox: message 1, line 3: x: malformed hunk header '@@ -1,z +1 @@'");
    expect(() => parse('diff --git a/x b/x\n@@ -1 +1 @@\n-a\n+b\n')).toThrow("d.mbox: message 1, line 2: x: hunk without '---'/'+++' lines");
  });
});

// --- Paths ----------------------------------------------------------------------

describe('patch paths', () => {
  function patchOf(files: Partial<PatchFile>[]): Patch {
    return {
      subject: '[PATCH] p',
      references: [],
      source: { file: 'p.mbox', message: 1, line: 1 },
      title: 'p',
      version: 1,
      index: null,
      total: null,
      body: '',
      diff: '',
      files: files.map((f) => ({ oldPath: null, newPath: null, binary: false, hunks: [], ...f })),
      bytes: 0,
    };
  }
  const tree = tempDir();
  fs.mkdirSync(path.join(tree, 'drivers/dma'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'drivers/dma/fcdemo.c'), 'int x;\n');
  fs.mkdirSync(path.join(tree, 'lib'));
  fs.symlinkSync(path.join(tree, 'drivers'), path.join(tree, 'lib/drivers-link'));
  fs.symlinkSync('fcdemo.c', path.join(tree, 'drivers/dma/fcdemo-link.c'));

  it('accepts normal paths, existing or new', () => {
    expect(checkPatchPaths(patchOf([{ oldPath: 'drivers/dma/fcdemo.c', newPath: 'drivers/dma/fcdemo.c' }, { newPath: 'drivers/new/dir/file.c' }]), tree)).toEqual([]);
  });

  it('refuses absolute, .., .git, control characters and symlinks', () => {
    expect(
      checkPatchPaths(
        patchOf([
          { oldPath: '/etc/passwd', newPath: '/etc/passwd' },
          { newPath: '../../etc/passwd' },
          { newPath: 'drivers/../../x' },
          { newPath: '.git/config' },
          { newPath: '.git' },
          { newPath: 'sub/.GIT/hooks/pre-commit' },
          { newPath: 'drivers/a\u0000b.c' },
          { newPath: 'lib/drivers-link/dma/fcdemo.c' },
          { oldPath: 'drivers/dma/fcdemo-link.c', newPath: 'drivers/dma/fcdemo-link.c' },
          { newPath: 'drivers/dma/evil', mode: '120000' },
        ]),
        tree,
      ),
    ).toEqual([
      '"/etc/passwd": absolute path; refused',
      `"../../etc/passwd": path leaves the tree ('..' component); refused`,
      `"drivers/../../x": path leaves the tree ('..' component); refused`,
      '".git/config": path is inside .git; refused',
      '".git": path is inside .git; refused',
      '"sub/.GIT/hooks/pre-commit": path is inside .git; refused',
      '"drivers/a\\u0000b.c": path contains a NUL or control character; refused',
      `"lib/drivers-link/dma/fcdemo.c": 'lib/drivers-link' in the tree is a symlink; refused`,
      '"drivers/dma/fcdemo-link.c": the file in the tree is a symlink; refused',
      `"drivers/dma/evil": 'mode 120000' makes it a symlink; refused`,
    ]);
  });

  it('checks the paths of a parsed patch', () => {
    const text = mail({ subject: '[PATCH] p', id: 'p@x', body: 'B.', diff: DIFF_RENAME.replace(/fcdemo-new\.c/g, '.git/hooks/post-checkout') });
    const [patch] = parseSeriesText(text, 'p.mbox').patches;
    expect(checkPatchPaths(patch, tree)).toEqual(['"drivers/dma/.git/hooks/post-checkout": path is inside .git; refused']);
  });
});

// Modes as git reads them: every spelling git apply turns into a symlink or a
// submodule link must be refused, and real git decides what each spelling is.
describe('patch modes', () => {
  const SPELLINGS = ['120000', '0120000', '+120000', '1120000', '120000 junk', '37777720000', '0160000', '160000', '-120000', '040000', '100644', '0100755', '+100644', '100600', '99999999999999999999999'];

  /** What `git apply` creates for a new file `x` with this `new file mode`: 'symlink', 'file', or 'rejected'. */
  function gitCreates(mode: string): string {
    const dir = tempDir();
    const diff = `diff --git a/x b/x\nnew file mode ${mode}\n--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+target\n\\ No newline at end of file\n`;
    const run = spawnSync('git', ['apply', '-'], { cwd: dir, input: diff, env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(dir) } });
    if (run.status !== 0) return 'rejected';
    const stat = fs.lstatSync(path.join(dir, 'x'), { throwIfNoEntry: false });
    return stat?.isSymbolicLink() ? 'symlink' : stat?.isFile() ? 'file' : 'rejected';
  }

  it.each(SPELLINGS)("'new file mode %s' is read as git reads it, and refused unless git makes a regular file", (spelling) => {
    const created = gitCreates(spelling);
    const mode = parseGitMode(spelling);
    const text = `diff --git a/drivers/x.c b/drivers/x.c\nnew file mode ${spelling}\n--- /dev/null\n+++ b/drivers/x.c\n@@ -0,0 +1 @@\n+int x;\n`;
    const parsed = parsePatchBody(text.split('\n'), text.split('\n').map((_, i) => i + 1), { file: 'm', message: 1 });
    const patch = { subject: 's', references: [], source: { file: 'm', message: 1, line: 1 }, title: 's', version: 1, index: null, total: null, body: '', diff: text, files: parsed!.files, bytes: text.length } as Patch;
    const problems = checkPatchPaths(patch, tempDir());
    if (created === 'symlink') expect(mode).toBe(0o120000);
    if (mode === 0o100644 || mode === 0o100755) {
      // Only a mode git reads as a regular file is accepted, and git does make a regular file of it.
      expect(created).toBe('file');
      expect(problems).toEqual([]);
    } else {
      // Symlinks, submodule links, folders (git writes some of those as files, but never mind): refused.
      expect(problems.length).toBe(1);
      expect(problems[0]).toMatch(/refused$/);
    }
  });

  it('checks the old mode, the index line and a mode change too', () => {
    const text = [
      'diff --git a/drivers/y.c b/drivers/y.c',
      'old mode 100644',
      'new mode 0120000',
      'diff --git a/drivers/z.c b/drivers/z.c',
      'index 1111111..2222222 +160000',
      '--- a/drivers/z.c',
      '+++ b/drivers/z.c',
      '@@ -1 +1 @@',
      '-int z;',
      '+int zz;',
      '',
    ].join('\n');
    const parsed = parsePatchBody(text.split('\n'), text.split('\n').map((_, i) => i + 1), { file: 'm', message: 1 });
    const patch = { subject: 's', references: [], source: { file: 'm', message: 1, line: 1 }, title: 's', version: 1, index: null, total: null, body: '', diff: text, files: parsed!.files, bytes: text.length } as Patch;
    expect(checkPatchPaths(patch, tempDir())).toEqual([
      `"drivers/y.c": 'new mode 0120000' makes it a symlink; refused`,
      `"drivers/z.c": 'index +160000' makes it a submodule link; refused`,
    ]);
  });

  it("reads '+++ b/name' followed by a date after a tab or spaces as git does", () => {
    for (const sep of ['\t', ' ', '   ']) {
      const text = `--- a/drivers/x.c${sep}2020-01-01 00:00:00.000000000 +0000\n+++ b/drivers/x.c${sep}2020-01-02 10:11:12\n@@ -1 +1 @@\n-int x;\n+int y;\n`;
      const parsed = parsePatchBody(text.split('\n'), text.split('\n').map((_, i) => i + 1), { file: 'm', message: 1 });
      expect(parsed!.files.map((f) => [f.oldPath, f.newPath])).toEqual([['drivers/x.c', 'drivers/x.c']]);
    }
  });
});
