// Fuzz: hostile series as an attacker writes them. Random mode spellings on
// every mode line git reads (sign, leading zeros, high digits, type bits,
// junk after), symlink and submodule types, and terminal escapes in subjects,
// file names and code. Invariants:
//  - a patch whose modes git would read as anything but a regular file is
//    refused by checkPatchPaths;
//  - a patch that passes the checks, given to the real `git apply`, creates
//    regular files only (no symlink escapes the checks);
//  - the review text, markdown and reply mails carry no raw control
//    character from the input (only newlines and tabs of our own);
//  - nothing but PatchParseError is ever thrown.
// Deterministic per seed; FLUSHCHECK_FUZZ_SEED / FLUSHCHECK_FUZZ_RUNS as in patch-fuzz.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGitMode } from '../../src/patch/diff.js';
import { checkPatchPaths } from '../../src/patch/paths.js';
import { parseSeriesText } from '../../src/patch/series.js';
import { PatchParseError, type Series } from '../../src/patch/types.js';
import { formatReplies } from '../../src/report/reply.js';
import { formatReviewMarkdown, formatReviewText } from '../../src/report/review.js';
import type { ReviewResult } from '../../src/review/types.js';
import type { Finding } from '../../src/types.js';
import { int, prng } from './support/fuzz.js';

const BASE_SEED = Number(process.env.FLUSHCHECK_FUZZ_SEED ?? 20_261_203);
const RUNS = Number(process.env.FLUSHCHECK_FUZZ_RUNS ?? 300);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-hostile-'));

const counts = { inputs: 0, parsed: 0, parseErrors: 0, refused: 0, appliedByGit: 0, symlinksCreated: 0, crashes: 0, controlLeaks: 0 };
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  // The audit's figures, for the closing report.
  console.log(`hostile fuzz: ${JSON.stringify(counts)}`);
});

const pick = <T>(rnd: () => number, items: readonly T[]): T => items[int(rnd, items.length)]!;
const ESCAPES = ['\x1b[1A\x1b[2K', '\x1b]0;pwned\x07', '\r', '\x08\x08', '\x00', '\x9b2J', '\x7f'];
const TYPES = ['100644', '100755', '120000', '160000', '040000', '060000', '100600', '170000'];

/** A mode as a hostile diff could spell it, for git's strtoul(…, 8) to read. */
function modeSpelling(rnd: () => number): string {
  let digits = pick(rnd, TYPES);
  if (rnd() < 0.3) digits = '0'.repeat(1 + int(rnd, 3)) + digits;
  if (rnd() < 0.2) digits = String(1 + int(rnd, 7)) + digits; // high digits beyond the type bits
  if (rnd() < 0.1) digits = `37777${digits.slice(-6)}`;
  const sign = pick(rnd, ['', '', '', '+', '-', ' ']);
  const junk = pick(rnd, ['', '', '', ' junk', '\t', 'x']);
  return `${sign}${digits}${junk}`;
}

function hostileMail(rnd: () => number): string {
  const escape = () => (rnd() < 0.4 ? pick(rnd, ESCAPES) : '');
  const name = `drivers/foo/f${int(rnd, 3)}${escape().replace(/[\x00\r]/g, '')}.c`.replace(/\n/g, '');
  const quoted = /[\x00-\x1f\x7f]/.test(name) ? `"${name.replace(/[\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`)}"` : name;
  const a = quoted.startsWith('"') ? `"a/${quoted.slice(1)}` : `a/${quoted}`;
  const b = quoted.startsWith('"') ? `"b/${quoted.slice(1)}` : `b/${quoted}`;
  const create = rnd() < 0.5;
  const modeLines: string[] = [];
  if (create) modeLines.push(`new file mode ${modeSpelling(rnd)}`);
  else if (rnd() < 0.5) modeLines.push(`old mode ${modeSpelling(rnd)}`, `new mode ${modeSpelling(rnd)}`);
  const index = rnd() < 0.5 ? `index 1111111..2222222 ${modeSpelling(rnd)}` : 'index 1111111..2222222';
  const code = `+int x${escape()}; /* ${escape()} */`;
  const hunk = create ? ['--- /dev/null', `+++ ${b}`, '@@ -0,0 +1 @@', code] : [`--- ${a}`, `+++ ${b}`, '@@ -1 +1 @@', '-int x;', code];
  return [
    'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
    'From: Mallory <m@example.org>',
    `Subject: [PATCH] foo: ${escape()}harmless${escape()}`,
    'Message-ID: <h@example.org>',
    '',
    `Body ${escape()}`,
    '---',
    `diff --git ${a} ${b}`,
    ...modeLines,
    index,
    ...hunk,
    '-- ',
    '2.43.0',
    '',
  ].join('\n');
}

/** A review of the series as it would be reported, with one finding on each patch's first added line. */
function reviewOf(series: Series): ReviewResult {
  const patches = series.patches.map((patch, i) => {
    const file = patch.files[0]!;
    const finding: Finding = {
      ruleId: 'dma-sync-flush',
      kind: 'unflushed-return',
      severity: 'error',
      file: file.newPath ?? file.oldPath ?? '',
      line: file.hunks[0]?.newStart ?? 1,
      column: 1,
      function: 'f',
      message: 'pending',
      path: [],
    };
    return { index: i + 1, label: `${i + 1}/1`, subject: patch.subject, applied: true, introduced: [finding], fixed: [], patch };
  });
  return {
    tool: 'flushcheck', version: '0', tree: work, base: 'b', arch: 'arm64', series, patches, bisectable: true, breaks: [],
    findings: [], baseFindings: [], batchable: [], inactiveRules: [], activeRules: 1, notes: [], ms: 0,
  };
}

/** What git apply leaves for a patch that passed the checks: no symlink may appear. */
function gitApplyCreatesSymlink(diff: string, seed: number): boolean | null {
  const dir = path.join(work, `apply-${seed}`);
  fs.mkdirSync(path.join(dir, 'drivers/foo'), { recursive: true });
  for (let n = 0; n < 3; n++) fs.writeFileSync(path.join(dir, `drivers/foo/f${n}.c`), 'int x;\n');
  const run = spawnSync('git', ['apply', '-'], { cwd: dir, input: diff, env: { ...process.env, GIT_CEILING_DIRECTORIES: work } });
  const links: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isSymbolicLink()) links.push(e.name);
      else if (e.isDirectory()) walk(path.join(d, e.name));
    }
  };
  walk(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  if (run.status !== 0) return null;
  return links.length > 0;
}

const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe(`fuzz: hostile modes, symlinks and escapes (seed ${BASE_SEED}, ${RUNS} runs)`, () => {
  for (let i = 0; i < RUNS; i++) {
    const seed = BASE_SEED + i;
    it(`seed ${seed}`, () => {
      const rnd = prng(seed);
      const mail = hostileMail(rnd);
      counts.inputs++;
      let series: Series;
      try {
        series = parseSeriesText(mail, 'hostile.mbox');
      } catch (error) {
        if (!(error instanceof PatchParseError)) {
          counts.crashes++;
          throw error;
        }
        counts.parseErrors++;
        return;
      }
      counts.parsed++;
      for (const patch of series.patches) {
        const problems = checkPatchPaths(patch, work);
        const irregular = patch.files.some((f) => (f.statedModes ?? []).some((m) => {
          const mode = parseGitMode(m.value);
          return mode !== 0o100644 && mode !== 0o100755;
        }));
        if (irregular) expect(problems.length, mail).toBeGreaterThan(0);
        if (problems.length > 0) {
          counts.refused++;
        } else {
          const symlink = gitApplyCreatesSymlink(patch.diff, seed);
          if (symlink !== null) counts.appliedByGit++;
          if (symlink) counts.symlinksCreated++;
          expect(symlink, mail).not.toBe(true);
        }
      }
      const review = reviewOf(series);
      const outputs = [formatReviewText(review, { color: false }), formatReviewMarkdown(review), ...formatReplies(review, { from: 'R <r@example.org>' }).map((m) => m.text)];
      for (const text of outputs) {
        if (RAW_CONTROL.test(text)) counts.controlLeaks++;
        const leak = RAW_CONTROL.exec(text);
        expect(leak ? JSON.stringify(text.slice(Math.max(0, leak.index - 40), leak.index + 10)) : undefined).toBeUndefined();
      }
    });
  }
});
