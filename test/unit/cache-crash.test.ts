// An append interrupted anywhere (the process killed mid-write: the file holds
// a prefix of what was being appended) only costs time: every later
// `diff --cached` reports exactly what a run without the cache reports, the
// run after it too, and so does one that appends another state's entries
// after the cut first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakFixStates, diffCachedJson, git, seriesRepo, stageBreakFix, type BreakFixStates } from './support/fixture-repo.js';
import { ResultStore, ScanIndex, digest, formatStoreLine } from '../../src/cache/store.js';

let repo: string;

const diffCached = (...extra: string[]) => diffCachedJson(repo, ...extra);

const STORES = ['scan.txt', 'functions.txt', 'files.txt', 'cfgs.txt'];
let cacheDir: string;
/** Each store file before and after the run that appended to it. */
const before = new Map<string, string>();
const after = new Map<string, string>();
let expected: { code: number; report: unknown };
let expectedOther: { code: number; report: unknown };

let commits: BreakFixStates;
const stage = (state: 'broken' | 'fixed') => stageBreakFix(repo, commits, state);

function restore(): void {
  for (const name of STORES) fs.writeFileSync(path.join(cacheDir, name), after.get(name)!);
  // The base's and the index's whole analyses would spare reading the stores.
  fs.rmSync(path.join(cacheDir, 'snapshots'), { recursive: true, force: true });
}

/** Offsets of the appended region worth cutting at: every line end and its neighbours, and a stride through the rest. */
function cuts(from: number, text: string): number[] {
  const at = new Set<number>();
  for (let i = from; i < text.length; i++) if (text[i] === '\n' || text[i] === '\t' || text[i] === '#') for (const d of [-1, 0, 1, 2]) at.add(i + d);
  for (let i = from; i < text.length; i += 37) at.add(i);
  at.add(from);
  at.add(text.length - 1);
  return [...at].filter((o) => o >= from && o < text.length).sort((a, b) => a - b);
}

beforeAll(async () => {
  repo = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-crash-')), 'repo');
  seriesRepo(repo);
  commits = breakFixStates(repo);
  stage('fixed');
  expected = await diffCached('--no-cache');
  stage('broken');
  expectedOther = await diffCached('--no-cache');
  expect(expectedOther).not.toEqual(expected);
  // A cold run of one state, then one of the other, which appends.
  expect(await diffCached()).toMatchObject(expectedOther);
  const top = path.join(repo, '.git', 'flushcheck');
  cacheDir = path.join(top, fs.readdirSync(top)[0]!);
  for (const name of STORES) before.set(name, fs.readFileSync(path.join(cacheDir, name), 'utf8'));
  stage('fixed');
  // Without the whole analyses stored, the new base tree is scanned (scan.txt grows too).
  fs.rmSync(path.join(cacheDir, 'snapshots'), { recursive: true, force: true });
  expect(await diffCached()).toMatchObject(expected);
  for (const name of STORES) after.set(name, fs.readFileSync(path.join(cacheDir, name), 'utf8'));
}, 60_000);

afterAll(() => fs.rmSync(path.dirname(repo), { recursive: true, force: true }));

describe('an append cut anywhere costs time, never a result', () => {
  it('the second run appended to every store', () => {
    for (const name of STORES) {
      expect(after.get(name)!.length, name).toBeGreaterThan(before.get(name)!.length);
      expect(after.get(name)!.startsWith(before.get(name)!), name).toBe(true);
    }
  });

  it.each(STORES)('%s cut anywhere in its last append', async (name) => {
    const text = after.get(name)!;
    const offsets = cuts(before.get(name)!.length, text);
    let runs = 0;
    for (const o of offsets) {
      restore();
      fs.writeFileSync(path.join(cacheDir, name), text.slice(0, o));
      // The run that reads the cut file, then one that reads what that run appended or rewrote.
      expect(await diffCached(), `${name} cut at ${o}`).toMatchObject(expected);
      expect(await diffCached(), `${name} cut at ${o}, run again`).toMatchObject(expected);
      runs += 2;
    }
    // Another state's run appends after the cut first (the newline put before its first line).
    for (const o of offsets.filter((_, i) => i % 4 === 0)) {
      restore();
      fs.writeFileSync(path.join(cacheDir, name), text.slice(0, o));
      stage('broken');
      expect(await diffCached(), `${name} cut at ${o}, other state`).toMatchObject(expectedOther);
      stage('fixed');
      expect(await diffCached(), `${name} cut at ${o}, then this state`).toMatchObject(expected);
      runs += 2;
    }
    expect(runs).toBeGreaterThan(10);
  }, 600_000);
});

/** What appendTo writes after a file whose last line was cut: a newline first. */
function appendAfter(prefix: string, text: string): string {
  return prefix + (prefix.length > 0 && !prefix.endsWith('\n') ? '\n' : '') + text;
}

describe('every prefix of a store file reads back as a part of it, never as something else', () => {
  it('scan.txt: each answer of an index read from a cut file, or from a cut file appended to, is the full index answer or none', () => {
    const names = ['f', 'g', 'h', 'i', 'j', 'k', 'l', 'm'];
    const first = new ScanIndex();
    first.record('b1', ['f', 'g', 'j', 'k', 'l', 'm'], ['g', 'm']);
    first.record('b2', ['f', 'g', 'j', 'k', 'l', 'm'], ['f', 'g', 'l']);
    let text = first.serialize();
    const second = ScanIndex.parse(text);
    second.record('b3', ['f', 'g', 'h'], ['h']);
    second.record('b1', ['h'], ['h']);
    text += second.appendix()!;
    const third = ScanIndex.parse(text);
    third.record('b4', ['i', 'f'], []);
    third.record('b2', ['i'], ['i']);
    text += third.appendix()!;
    // Another process's section, appended after the cut.
    const other = ScanIndex.parse(first.serialize());
    other.record('b5', ['f', 'g', 'h', 'i'], ['f', 'i']);
    const otherSection = other.appendix()!;

    // The truth: the same records, in memory.
    const full = new ScanIndex();
    full.record('b1', ['f', 'g', 'j', 'k', 'l', 'm'], ['g', 'm']);
    full.record('b2', ['f', 'g', 'j', 'k', 'l', 'm'], ['f', 'g', 'l']);
    full.record('b3', ['f', 'g', 'h'], ['h']);
    full.record('b1', ['h'], ['h']);
    full.record('b4', ['i', 'f'], []);
    full.record('b2', ['i'], ['i']);
    full.record('b5', ['f', 'g', 'h', 'i'], ['f', 'i']);
    const keys = ['b1', 'b2', 'b3', 'b4', 'b5'];
    const queries = [...Array(2 ** names.length).keys()].slice(1).map((m) => names.filter((_, i) => m & (1 << i)));
    let checked = 0;
    for (let p = 0; p <= text.length; p++) {
      for (const file of [text.slice(0, p), appendAfter(text.slice(0, p), otherSection)]) {
        const back = ScanIndex.parse(file);
        for (const key of keys) {
          for (const q of queries) {
            const got = back.lookup(key, back.query(q));
            if (got !== undefined) expect(got, `cut at ${p}: ${key} ${q}`).toBe(full.lookup(key, full.query(q)));
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });

  it('functions.txt: each value read from a cut file, or from a cut file appended to, is the stored one or none', () => {
    const values: Record<string, unknown> = { k1: { a: 1, list: [1, 2, 3] }, k2: 12345, k3: 'text', k4: [{ x: null }], k5: { nested: { deep: true } } };
    const lineOf = (key: string) => {
      const json = JSON.stringify(values[key]);
      return formatStoreLine(key, { json, digest: digest(json) });
    };
    const text = ['k1', 'k2', 'k3', 'k4'].map(lineOf).join('');
    const appended = lineOf('k5');
    let read = 0;
    for (let p = 0; p <= text.length; p++) {
      for (const file of [text.slice(0, p), appendAfter(text.slice(0, p), appended)]) {
        const store = ResultStore.parse(file);
        for (const key of Object.keys(values)) {
          const got = store.get(key);
          if (got !== undefined) {
            expect(got, `cut at ${p}: ${key}`).toEqual(values[key]);
            read++;
          }
        }
        // What was appended after the cut is always read back.
        if (file.endsWith(appended)) expect(store.get('k5')).toEqual(values.k5);
      }
    }
    expect(read).toBeGreaterThan(100);
  });
});

describe('scan.txt sections appended concurrently', () => {
  // appendTo reads the file's last byte before it writes; during another
  // process's append (one write(), but the file grows page by page) that byte
  // can be mid-line, and a newline goes before this run's section: a blank
  // line after the other process's complete section.
  it('a blank line before a section loses neither that section nor the one before', () => {
    const first = new ScanIndex();
    first.record('b1', ['f'], ['f']);
    const base = first.serialize();
    const second = ScanIndex.parse(base);
    second.record('b2', ['f'], []);
    const s2 = second.appendix()!;
    const third = ScanIndex.parse(base);
    third.record('b3', ['f'], ['f']);
    const s3 = third.appendix()!;
    const back = ScanIndex.parse(base + s2 + '\n' + s3);
    const q = back.query(['f']);
    expect([back.lookup('b1', q), back.lookup('b2', q), back.lookup('b3', q)]).toEqual([true, false, true]);
    expect(back.changed).toBe(false);
  });
});

describe('scan.txt growth', () => {
  // A run that asks about a name the index did not know scans every file for
  // it and records them all: its section repeats the whole index. Every run
  // reads the whole file, and past MAX_STORE_FILE_BYTES it is refused (all
  // files scanned again).
  it('sections that each repeat the index do not pile up: past twice its lines, it is written whole', () => {
    const keys = [...Array(1000).keys()].map((i) => digest(String(i)));
    const names: string[] = [];
    let text = '';
    for (let run = 0; run < 8; run++) {
      const index = text ? ScanIndex.parse(text) : new ScanIndex();
      names.push(`helper_${run}`);
      keys.forEach((k, i) => index.record(k, names, i % 5 ? [] : [names[i % names.length]!]));
      const appendix = index.appendix();
      text = appendix === null ? index.serialize() : text + appendix;
    }
    const whole = ScanIndex.parse(text).serialize().length;
    expect(text.length).toBeLessThanOrEqual(2 * whole + 64 * 60);
  });
});
