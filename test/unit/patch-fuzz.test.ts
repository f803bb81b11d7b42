// Fuzz: random damage to valid mbox texts must make parseSeriesText either
// return a series whose hunks all match their headers, or throw
// PatchParseError; never another exception, and never slowly.
//
// Deterministic: iteration i of a run uses the PRNG seeded with (seed + i), so
// a failure names its seed and replays alone with
//   FLUSHCHECK_FUZZ_SEED=<seed> FLUSHCHECK_FUZZ_RUNS=1 npx vitest run test/unit/patch-fuzz.test.ts
// FLUSHCHECK_FUZZ_RUNS sets the number of iterations (default 300).
import { describe, expect, it } from 'vitest';
import { parseSeriesText } from '../../src/patch/series.js';
import { PatchParseError, type Series } from '../../src/patch/types.js';
import { deleteSpan, int, prng } from './support/fuzz.js';

const BASE_SEED = Number(process.env.FLUSHCHECK_FUZZ_SEED ?? 20_250_304);
const RUNS = Number(process.env.FLUSHCHECK_FUZZ_RUNS ?? 300);
/** One parse of a few KB takes well under a millisecond; this only catches blowups. */
const ITERATION_BUDGET_MS = 250;



function formatPatch(n: number, total: number, version: number, diff: string, extraHeaders = ''): string {
  const tag = `[PATCH${version > 1 ? ` v${version}` : ''} ${n}/${total}]`;
  return `From ${String(n).repeat(40).slice(0, 40)} Mon Sep 17 00:00:00 2001
From: Dana Dev <dana@example.org>
Date: Tue, 4 Mar 2025 10:00:00 +0100
Subject: ${tag} dma: fcdemo: step ${n}
Message-ID: <step${n}.v${version}@example.org>
In-Reply-To: <cover.v${version}@example.org>
References: <cover.v${version}@example.org>
${extraHeaders}
Step ${n} of the fcdemo rework.

Signed-off-by: Dana Dev <dana@example.org>
---
 drivers/dma/fcdemo.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

${diff}-- 
2.43.0

`;
}

const MODIFY = `diff --git a/drivers/dma/fcdemo.c b/drivers/dma/fcdemo.c
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
@@ -40,4 +41,3 @@ static void fcdemo_stop(struct fcdemo *fd)
 \tfcdemo_halt(fd);
-\tfcdemo_unmap(fd);
 \tfd->state = FCDEMO_IDLE;
 }
\\ No newline at end of file
`;

const NEW_AND_RENAME = `diff --git a/drivers/dma/fcdemo-sync.h b/drivers/dma/fcdemo-sync.h
new file mode 100644
index 0000000..3c4d5e6
--- /dev/null
+++ b/drivers/dma/fcdemo-sync.h
@@ -0,0 +1,3 @@
+#ifndef FCDEMO_SYNC_H
+#define FCDEMO_SYNC_H
+#endif
diff --git "a/drivers/dma/old name.c" "b/drivers/dma/new\\tname.c"
similarity index 90%
rename from drivers/dma/old name.c
rename to "drivers/dma/new\\tname.c"
--- "a/drivers/dma/old name.c"
+++ "b/drivers/dma/new\\tname.c"
@@ -1,2 +1,2 @@
 #include "fcdemo.h"
-static int fcdemo_old;
+static int fcdemo_new;
`;

const BINARY = `diff --git a/firmware/fcdemo.bin b/firmware/fcdemo.bin
new file mode 100644
index 0000000..3f4e5d6
GIT binary patch
literal 12
TcmZQzKmAb000OG00000

literal 0
HcmV?d00001

`;

const COVER = `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Dana Dev <dana@example.org>
Subject: [PATCH v2 0/3] dma: fcdemo: rework
Message-ID: <cover.v2@example.org>

The rework, in three steps.

`;

const REPLY = `From mboxrd@z Thu Jan  1 00:00:00 1970
From: Rae Reviewer <rae@example.org>
Subject: Re: [PATCH v2 1/3] dma: fcdemo: step 1
Message-ID: <reply@example.org>
In-Reply-To: <step1.v2@example.org>

> +\tdma_sync_single_for_device(fd->dev, fd->addr, fd->len, DMA_TO_DEVICE);

>From what I can see this is right.

`;

const QP_HEADERS = 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n';

const MBOXES: Record<string, string> = {
  series: COVER + formatPatch(3, 3, 2, NEW_AND_RENAME) + REPLY + formatPatch(1, 3, 2, MODIFY) + formatPatch(2, 3, 2, BINARY),
  versions: formatPatch(1, 2, 1, MODIFY) + formatPatch(1, 2, 2, MODIFY) + formatPatch(2, 2, 2, NEW_AND_RENAME) + formatPatch(2, 2, 2, NEW_AND_RENAME),
  quotedPrintable: formatPatch(1, 1, 1, MODIFY.replace(/=/g, '=3D').replace('DMA_TO_DEVICE);', 'DMA_TO_=\nDEVICE);'), QP_HEADERS),
  crlf: (COVER + formatPatch(1, 1, 2, MODIFY)).replace(/\n/g, '\r\n'),
  multipart: `From 5555555555555555555555555555555555555555 Mon Sep 17 00:00:00 2001
Subject: =?utf-8?q?=5BPATCH=5D_dma=3A_fcdemo=3A_caf=C3=A9?=
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain

Words.
--b1
Content-Type: text/plain
Content-Transfer-Encoding: base64

${Buffer.from(`Fix.\n---\n${MODIFY}`).toString('base64').replace(/.{76}/g, '$&\n')}
--b1--
`,
};
const MBOX_NAMES = Object.keys(MBOXES);

type Mutation = (buf: Buffer, rnd: () => number) => Buffer;

/** Offsets just after each '\n' (and 0): where inserted lines go. */
function lineStarts(buf: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < buf.length; i++) if (buf[i] === 0x0a) starts.push(i + 1);
  return starts;
}

function insertAtLineStart(buf: Buffer, rnd: () => number, text: string): Buffer {
  const starts = lineStarts(buf);
  const at = starts[int(rnd, starts.length)];
  return Buffer.concat([buf.subarray(0, at), Buffer.from(text), buf.subarray(at)]);
}

const MUTATIONS: Record<string, Mutation> = {
  deleteSpan,
  insertGarbage(buf, rnd) {
    const at = int(rnd, buf.length + 1);
    const junk = Buffer.alloc(1 + int(rnd, 64));
    for (let i = 0; i < junk.length; i++) junk[i] = rnd() < 0.2 ? [0x00, 0xff, 0x0a, 0x0d, 0x3d][int(rnd, 5)] : int(rnd, 256);
    return Buffer.concat([buf.subarray(0, at), junk, buf.subarray(at)]);
  },
  duplicateLine(buf, rnd) {
    const starts = lineStarts(buf);
    const k = int(rnd, starts.length);
    const line = buf.subarray(starts[k], starts[k + 1] ?? buf.length);
    const copies = 1 + int(rnd, 3);
    return Buffer.concat([buf.subarray(0, starts[k]), ...Array.from({ length: copies }, () => line), buf.subarray(starts[k])]);
  },
  truncateLine(buf, rnd) {
    const starts = lineStarts(buf);
    const k = int(rnd, starts.length);
    const end = (starts[k + 1] ?? buf.length + 1) - 1;
    const cut = starts[k] + int(rnd, Math.max(1, end - starts[k]));
    return Buffer.concat([buf.subarray(0, cut), buf.subarray(end)]);
  },
  hunkHeader(buf, rnd) {
    const n = () => (rnd() < 0.1 ? 999_999_999 : int(rnd, 20));
    const forms = [`@@ -${n()},${n()} +${n()},${n()} @@`, `@@ -${n()} +${n()} @@ f()`, '@@', '@@ -1,2 +1,2', `@@@ -1 -1 +1 @@@`];
    return insertAtLineStart(buf, rnd, `${forms[int(rnd, forms.length)]}\n`);
  },
  fromLine(buf, rnd) {
    const forms = ['From x Mon Sep 17 00:00:00 2001\n', 'From the data sheet\n', '\nFrom mboxrd@z Thu Jan  1 00:00:00 1970\n', '\nFrom y\nSubject: [PATCH 2/3] z\n', 'From \n'];
    return insertAtLineStart(buf, rnd, forms[int(rnd, forms.length)]);
  },
  diffHeader(buf, rnd) {
    const forms = ['diff --git a/x b/y\n', 'diff --git "a/\\777 b/\n', '--- a/x\n+++ b/x\n', 'rename from ../../etc/passwd\n', 'GIT binary patch\n', '\\ No newline at end of file\n', 'new file mode 120000\n'];
    return insertAtLineStart(buf, rnd, forms[int(rnd, forms.length)]);
  },
  truncate(buf, rnd) {
    return buf.subarray(0, int(rnd, buf.length + 1));
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

/** Every hunk's body matches its header counts, and the diff is what was counted. */
function checkWellFormed(series: Series, context: string): void {
  for (const patch of series.patches) {
    expect(patch.diff.endsWith('\n'), context).toBe(true);
    expect(patch.bytes, context).toBe(Buffer.byteLength(patch.diff));
    for (const file of patch.files) {
      expect(file.oldPath !== null || file.newPath !== null, context).toBe(true);
      for (const hunk of file.hunks) {
        let oldCount = 0;
        let newCount = 0;
        for (const line of hunk.lines) {
          expect(' +-\\'.includes(line[0] ?? ''), `${context}: hunk line ${JSON.stringify(line)}`).toBe(true);
          if (line[0] !== '+' && line[0] !== '\\') oldCount++;
          if (line[0] !== '-' && line[0] !== '\\') newCount++;
        }
        expect([oldCount, newCount], `${context}: ${hunk.header}`).toEqual([hunk.oldLines, hunk.newLines]);
        expect(Number.isInteger(hunk.sourceLine) && hunk.sourceLine > 0, context).toBe(true);
      }
    }
  }
  for (const skipped of series.skipped) expect(skipped.reason.length > 0, context).toBe(true);
}

describe(`fuzz: mutated mbox texts (seed ${BASE_SEED}, ${RUNS} runs)`, () => {
  it('the unmutated inputs parse', () => {
    expect(parseSeriesText(MBOXES.series, 'series.mbox').patches.map((p) => p.index)).toEqual([1, 3]);
    expect(parseSeriesText(MBOXES.versions, 'versions.mbox').patches.map((p) => p.messageId)).toEqual(['step1.v2@example.org', 'step2.v2@example.org']);
    expect(parseSeriesText(MBOXES.quotedPrintable, 'qp.mbox').patches[0].diff).toBe(MODIFY);
    expect(parseSeriesText(MBOXES.crlf, 'crlf.mbox').patches[0].diff).toBe(MODIFY);
    expect(parseSeriesText(MBOXES.multipart, 'multi.mbox').patches[0].diff).toBe(MODIFY);
  });

  for (let i = 0; i < RUNS; i++) {
    const seed = BASE_SEED + i;
    it(`seed ${seed}`, () => {
      const rnd = prng(seed);
      const name = MBOX_NAMES[int(rnd, MBOX_NAMES.length)];
      let input: Buffer = Buffer.from(MBOXES[name]);
      const applied: string[] = [];
      for (let k = 1 + int(rnd, 4); k > 0; k--) {
        const mutation = MUTATION_NAMES[int(rnd, MUTATION_NAMES.length)];
        input = MUTATIONS[mutation](input, rnd);
        applied.push(mutation);
      }
      // Shown when the iteration fails, with the seed in the test name.
      const context = `${name}: ${applied.join(', ')}`;

      const started = performance.now();
      let series: Series | null = null;
      try {
        series = parseSeriesText(input, `${name}.mbox`);
      } catch (error) {
        if (!(error instanceof PatchParseError)) throw new Error(`${context}: not a PatchParseError: ${(error as Error).stack ?? String(error)}`);
        expect(error.message.includes('\n'), `${context}: ${error.message}`).toBe(false);
      }
      expect(performance.now() - started, context).toBeLessThan(ITERATION_BUDGET_MS);
      if (series) checkWellFormed(series, context);
    });
  }
});
