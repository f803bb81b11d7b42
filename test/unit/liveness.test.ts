// Liveness over many conditions: the bitsets span several words, and bit 31
// of a word must not make the fixpoint believe it changed forever.
import { expect, it } from 'vitest';
import { liveConditions } from '../../src/analyze/liveness.js';
import { Program } from '../../src/analyze/program.js';
import { lowerFile } from '../../src/ir/lower.js';

it('propagates 40 conditions through a loop to the entry and ends', () => {
  const tests = Array.from({ length: 40 }, (_, i) => `\t\tif (c${i}) f${i}();\n`).join('');
  const source = `void many(int n)\n{\n\twhile (n--) {\n${tests}\t}\n}\n`;
  const file = lowerFile('many.c', source, { interesting: () => false });
  const fn = file.functions[0];
  const cfg = fn.cfg();
  const live = liveConditions(fn, cfg, new Program([file], { arch: 'arm64' }), () => undefined, performance.now() + 10_000, 10_000);
  const atEntry = live[cfg.entry].texts;
  for (let i = 0; i < 40; i++) expect(atEntry.has(`c${i}`), `c${i}`).toBe(true);
  expect(live[cfg.exit].texts.size).toBe(0);
});
