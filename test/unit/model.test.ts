import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { batchedCleanScenario, benchModel, perEntryCleanScenario } from '../../bench/model.js';
import { lineSignatures } from '../../src/model/check.js';
import {
  bruteForce,
  checkScenario,
  embedHandoff,
  formatTimeline,
  lineProgram,
  parseScenarioFile,
  runModelCommand,
  ScenarioError,
  type LitmusOp,
  type LitmusStep,
  type Scenario,
} from '../../src/model/index.js';

const LITMUS_DIR = join(import.meta.dirname, '../../fixtures/litmus');
const litmusFiles = readdirSync(LITMUS_DIR)
  .filter((name) => name.endsWith('.json'))
  .map((name) => join(LITMUS_DIR, name));

/** A one-line scenario from op names; every step touches line 0. */
function ops(...names: LitmusOp[]): Scenario {
  return { name: names.join(' '), lines: 1, steps: names.map((op) => ({ op })) };
}

async function run(files: string[], format: 'text' | 'json'): Promise<{ code: number; output: string }> {
  const printed: string[] = [];
  const code = await runModelCommand(files, format, (s) => printed.push(s));
  return { code, output: printed.join('\n') };
}

function tempFile(name: string, content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'flushcheck-model-')), name);
  writeFileSync(file, content);
  return file;
}

describe('model rules', () => {
  test('clean + dsb before the device reads is coherent', () => {
    const r = checkScenario(ops('cpu_write', 'clean', 'dsb', 'device_read'));
    expect(r.verdict).toBe('coherent');
    expect(r.witness).toEqual([]);
    expect(r.statesExplored).toBeGreaterThan(0);
  });

  test('clean without dsb: the device may read memory before the write-back', () => {
    const r = checkScenario(ops('cpu_write', 'clean', 'device_read'));
    expect(r.verdict).toBe('incoherent');
    // Shortest: write, issue the clean, read — no background event needed.
    expect(r.witness).toEqual([
      { step: 0, actor: 'cpu', line: 0, event: 'cpu_write v1', state: { cache: 'dirty', cacheVersion: 1, memoryVersion: 0 } },
      { step: 1, actor: 'cpu', line: 0, event: 'issue clean', state: { cache: 'dirty', cacheVersion: 1, memoryVersion: 0, pending: ['clean'] } },
      {
        step: 2,
        actor: 'device',
        line: 0,
        event: 'device_read: v0 — STALE, latest write is v1',
        state: { cache: 'dirty', cacheVersion: 1, memoryVersion: 0, pending: ['clean'] },
      },
    ]);
  });

  test('no maintenance at all: the device reads stale memory', () => {
    expect(checkScenario(ops('cpu_write', 'device_read')).witness).toHaveLength(2);
  });

  test('a dsb before the clean does not complete it', () => {
    expect(checkScenario(ops('cpu_write', 'dsb', 'clean', 'device_read')).verdict).toBe('incoherent');
  });

  test('invalidate before the DMA only: a speculative fill brings the old data back', () => {
    const r = checkScenario(ops('invalidate', 'dsb', 'device_write', 'cpu_read'));
    expect(r.verdict).toBe('incoherent');
    // issue, invalidate takes effect, fill, dsb, device_write, stale hit.
    expect(r.witness).toHaveLength(6);
    expect(r.witness.filter((e) => e.step === undefined).map((e) => e.event)).toEqual([
      'invalidate takes effect: line already invalid',
      'speculative fill of v0',
    ]);
    expect(r.witness.at(-1)).toMatchObject({ step: 3, actor: 'cpu', state: { cache: 'clean', cacheVersion: 0, memoryVersion: 1 } });
  });

  test('invalidate + dsb after the DMA is coherent', () => {
    expect(checkScenario(ops('device_write', 'invalidate', 'dsb', 'cpu_read')).verdict).toBe('coherent');
  });

  test('invalidate without dsb: the CPU may hit the stale line first', () => {
    const r = checkScenario(ops('device_write', 'invalidate', 'cpu_read'));
    expect(r.verdict).toBe('incoherent');
    expect(r.witness.map((e) => e.actor)).toEqual(['cache', 'device', 'cpu', 'cpu']);
    expect(r.witness[0].event).toBe('speculative fill of v0');
  });

  test('invalidate discards a dirty line', () => {
    const r = checkScenario(ops('cpu_write', 'invalidate', 'dsb', 'cpu_read'));
    expect(r.verdict).toBe('incoherent');
    expect(r.witness).toHaveLength(5);
    expect(r.witness[2]).toEqual({
      actor: 'cache',
      line: 0,
      event: 'invalidate takes effect: discards dirty v1 (its data is lost)',
      state: { cache: 'invalid', memoryVersion: 0 },
    });
    // The same program without the invalidate is fine: the CPU sees its own write.
    expect(checkScenario(ops('cpu_write', 'dsb', 'cpu_read')).verdict).toBe('coherent');
  });

  test('a dirty line must be cleaned before the device writes', () => {
    const r = checkScenario(ops('cpu_write', 'device_write', 'invalidate', 'dsb', 'cpu_read'));
    expect(r.verdict).toBe('incoherent');
    expect(r.witness.some((e) => e.actor === 'memory' && e.event === 'write-back of dirty v1')).toBe(true);
    expect(checkScenario(ops('cpu_write', 'clean', 'dsb', 'device_write', 'invalidate', 'dsb', 'cpu_read')).verdict).toBe('coherent');
  });

  test('clean_invalidate writes back before invalidating, and also needs a dsb', () => {
    expect(checkScenario(ops('cpu_write', 'clean_invalidate', 'dsb', 'device_read', 'cpu_read')).verdict).toBe('coherent');
    expect(checkScenario(ops('cpu_write', 'clean_invalidate', 'device_read')).witness).toHaveLength(3);
  });

  test('a pending invalidate can discard a write made after it was issued', () => {
    const r = checkScenario(ops('invalidate', 'cpu_write', 'dsb', 'cpu_read'));
    expect(r.verdict).toBe('incoherent');
    expect(r.witness.map((e) => e.event)).toEqual([
      'issue invalidate',
      'cpu_write v1',
      'invalidate takes effect: discards dirty v1 (its data is lost)',
      'dsb: all maintenance on the line is complete',
      'cpu_read misses, fills from memory: v0 — STALE, latest write is v1',
    ]);
    // Completed first, the same invalidate is harmless.
    expect(checkScenario(ops('invalidate', 'dsb', 'cpu_write', 'cpu_read')).verdict).toBe('coherent');
  });

  test('DMA_TO_DEVICE for_cpu doing nothing is fine', () => {
    expect(checkScenario(ops('cpu_write', 'clean', 'dsb', 'device_read', 'cpu_read', 'cpu_write', 'cpu_read')).verdict).toBe('coherent');
  });

  test('reads before any write see the initial contents', () => {
    expect(checkScenario(ops('cpu_read', 'device_read', 'invalidate', 'cpu_read')).verdict).toBe('coherent');
  });
});

describe('lines and scale', () => {
  test('10,000-line batched clean with one dsb is coherent and explores one line program', () => {
    const s = batchedCleanScenario(10_000);
    const r = checkScenario(s);
    expect(r.verdict).toBe('coherent');
    expect(r.statesExplored).toBe(checkScenario(ops('cpu_write', 'clean', 'dsb', 'device_read')).statesExplored);
    expect(checkScenario(perEntryCleanScenario(2_000)).verdict).toBe('coherent');
  });

  test('one line missed in a large batch: the witness is on that line', () => {
    const s: Scenario = {
      name: 'missed line',
      lines: 10_000,
      steps: [
        { op: 'cpu_write', lines: { from: 0, to: 9999 } },
        { op: 'clean', lines: { from: 0, to: 7776 } },
        { op: 'clean', lines: { from: 7778, to: 9999 } },
        { op: 'dsb' },
        { op: 'device_read', lines: { from: 0, to: 9999 } },
      ],
    };
    const r = checkScenario(s);
    expect(r.verdict).toBe('incoherent');
    expect(r.witness.map((e) => [e.line, e.step])).toEqual([
      [7777, 0],
      [7777, 4],
    ]);
  });

  test('the shortest witness is chosen across lines', () => {
    const s: Scenario = {
      name: 'two bugs',
      lines: 2,
      steps: [
        { op: 'cpu_write' },
        { op: 'clean', lines: [1] },
        { op: 'invalidate', lines: [0] },
        { op: 'dsb' },
        { op: 'cpu_read', lines: [0] },
        { op: 'device_read', lines: [1] },
      ],
    };
    const r = checkScenario(s);
    // Line 0 loses its write (5 events); line 1 is fine.
    expect(r.witness.every((e) => e.line === 0)).toBe(true);
    expect(r.witness).toHaveLength(5);
    // Program events carry the scenario's step indices, not the line program's positions.
    expect(r.witness.filter((e) => e.step !== undefined).map((e) => e.step)).toEqual([0, 2, 3, 4]);
  });

  test('a dsb matters to a line only after maintenance was issued on it', () => {
    const s: Scenario = {
      name: 'projection',
      lines: 3,
      steps: [{ op: 'dsb' }, { op: 'cpu_write', lines: [0] }, { op: 'clean', lines: [0, 1] }, { op: 'dsb' }, { op: 'dsb' }, { op: 'device_read' }],
    };
    expect(lineProgram(s, 0)).toEqual({ ops: ['cpu_write', 'clean', 'dsb', 'device_read'], steps: [1, 2, 3, 5] });
    expect(lineProgram(s, 1)).toEqual({ ops: ['clean', 'dsb', 'device_read'], steps: [2, 3, 5] });
    expect(lineProgram(s, 2)).toEqual({ ops: ['device_read'], steps: [5] });
    expect(lineSignatures(s)).toEqual(['wcDR', 'cDR', 'R']);
  });

  test('duplicate line numbers in a step count once', () => {
    const s: Scenario = { name: 'dup', lines: 1, steps: [{ op: 'cpu_write', lines: [0, 0] }, { op: 'cpu_read', lines: [0] }] };
    expect(checkScenario(s).verdict).toBe('coherent');
  });

  test('benchModel reports the large scenarios', () => {
    const entries = benchModel(1);
    expect(entries.map((e) => e.lines)).toEqual([10_000, 100_000, 10_000]);
    expect(entries.every((e) => e.verdict === 'coherent' && e.ms >= 0 && e.statesExplored > 0)).toBe(true);
  });
});

describe('litmus suite', () => {
  test('has fixtures', () => {
    expect(litmusFiles.length).toBeGreaterThanOrEqual(10);
  });

  for (const file of litmusFiles) {
    const scenarios = parseScenarioFile(readFileSync(file, 'utf8'), file);
    for (const scenario of scenarios) {
      test(`${file.slice(LITMUS_DIR.length + 1)}: ${scenario.name}`, () => {
        expect(scenario.expect).toBeDefined();
        const r = checkScenario(scenario);
        expect(r.verdict).toBe(scenario.expect);
        expect(r.agrees).toBe(true);
        // Small fixtures are cheap to confirm with the whole-system explorer.
        if (scenario.lines <= 2) expect(bruteForce(scenario).verdict).toBe(scenario.expect);
      });
    }
  }
});

describe('parseScenarioFile', () => {
  const valid = { name: 'x', lines: 2, steps: [{ op: 'cpu_write' }, { op: 'dsb' }] };
  const errorOf = (value: unknown): ScenarioError => {
    try {
      parseScenarioFile(typeof value === 'string' ? value : JSON.stringify(value), 'f.json');
    } catch (error) {
      expect(error).toBeInstanceOf(ScenarioError);
      return error as ScenarioError;
    }
    throw new Error('expected a ScenarioError');
  };

  test('accepts one object or an array', () => {
    expect(parseScenarioFile(JSON.stringify(valid), 'f.json')).toHaveLength(1);
    expect(parseScenarioFile(JSON.stringify([valid, { ...valid, name: 'y' }]), 'f.json').map((s) => s.name)).toEqual(['x', 'y']);
  });

  test('errors name the file and the field', () => {
    const badOp = { ...valid, steps: [{ op: 'cpu_write' }, { op: 'dsb' }, { op: 'clean' }, { op: 'flush' }] };
    const error = errorOf(badOp);
    expect(error.file).toBe('f.json');
    expect(error.field).toBe('steps[3].op');
    expect(error.message).toMatch(/^f\.json: steps\[3\]\.op: expected one of cpu_write, .*got "flush"$/);

    expect(errorOf([valid, { ...valid, name: 'y', steps: [{ op: 'clean', lines: [0, 1, 2] }] }]).field).toBe('[1].steps[0].lines[2]');
    expect(errorOf({ ...valid, steps: [{ op: 'clean', lines: { from: 1, to: 0 } }] }).field).toBe('steps[0].lines.to');
    expect(errorOf({ ...valid, steps: [{ op: 'dsb', lines: [0] }] }).field).toBe('steps[0].lines');
    expect(errorOf({ ...valid, steps: [{ op: 'clean', line: [0] }] }).field).toBe('steps[0].line');
    expect(errorOf({ ...valid, expected: 'coherent' }).field).toBe('expected');
    expect(errorOf({ ...valid, expect: 'fine' }).field).toBe('expect');
    expect(errorOf({ ...valid, lines: 0 }).field).toBe('lines');
    expect(errorOf({ ...valid, name: undefined }).field).toBe('name');
    expect(errorOf({ ...valid, steps: 'none' }).field).toBe('steps');
    expect(errorOf([valid, valid]).field).toBe('[1].name');
    expect(errorOf('{"name": ').message).toMatch(/^f\.json: invalid JSON: /);
  });
});

describe('runModelCommand', () => {
  test('the litmus suite passes: every verdict matches its expect', async () => {
    const { code, output } = await run(litmusFiles, 'text');
    expect(code).toBe(0);
    expect(output).toMatch(/\d+ scenarios, 0 failed$/);
  });

  test('exit 1 when a verdict disagrees with expect', async () => {
    const file = tempFile('wrong.json', JSON.stringify({ ...ops('cpu_write', 'clean', 'device_read'), expect: 'coherent' }));
    const { code, output } = await run([file], 'text');
    expect(code).toBe(1);
    expect(output).toContain('FAIL');
    expect(output).toContain('DISAGREES');
  });

  test('exit 1 when a scenario without expect is incoherent, 0 when coherent', async () => {
    const bad = tempFile('bad.json', JSON.stringify(ops('cpu_write', 'device_read')));
    const good = tempFile('good.json', JSON.stringify(ops('cpu_write', 'clean', 'dsb', 'device_read')));
    expect((await run([bad], 'text')).code).toBe(1);
    expect((await run([good], 'text')).code).toBe(0);
  });

  test('exit 2 on a malformed file, naming the file and the field', async () => {
    const file = tempFile('malformed.json', JSON.stringify({ name: 'm', lines: 1, steps: [{ op: 'clean' }, { op: 'clean', lines: [5] }] }));
    const { code, output } = await run([file, litmusFiles[0]], 'json');
    expect(code).toBe(2);
    expect(output).toContain(`${file}: steps[1].lines[0]: expected a line number from 0 to 0, got 5`);
  });

  test('exit 2 on an unreadable file', async () => {
    const { code, output } = await run(['/nonexistent/litmus.json'], 'text');
    expect(code).toBe(2);
    expect(output).toContain('/nonexistent/litmus.json: cannot read: ENOENT');
  });

  test('json output has exactly the documented keys', async () => {
    const file = tempFile(
      'two.json',
      JSON.stringify([
        { ...ops('cpu_write', 'clean', 'device_read'), name: 'no dsb', expect: 'incoherent' },
        { ...ops('cpu_write', 'clean', 'dsb', 'device_read'), name: 'dsb' },
      ]),
    );
    const { code, output } = await run([file], 'json');
    expect(code).toBe(0);
    const report = JSON.parse(output) as Record<string, unknown>[];
    expect(report.map((entry) => Object.keys(entry))).toEqual([
      ['name', 'verdict', 'expect', 'statesExplored', 'witness'],
      ['name', 'verdict', 'statesExplored', 'witness'],
    ]);
    expect(report.map((entry) => entry.verdict)).toEqual(['incoherent', 'coherent']);
    const witness = report[0].witness as Record<string, unknown>[];
    expect(witness).toHaveLength(3);
    expect(Object.keys(witness[0])).toEqual(['step', 'actor', 'line', 'event', 'state']);
    expect(Object.keys(witness[0].state as object)).toEqual(['cache', 'cacheVersion', 'memoryVersion']);
    expect(report[1].witness).toEqual([]);
  });
});

describe('formatTimeline', () => {
  test('shows lanes, states, the stale read and step notes', () => {
    const s: Scenario = {
      name: 'no dsb',
      lines: 1,
      steps: [{ op: 'cpu_write' }, { op: 'clean', note: 'dma.c:42' }, { op: 'device_read', note: 'dma.c:50' }],
    };
    const text = formatTimeline(checkScenario(s), s);
    const rows = text.split('\n');
    expect(rows[0]).toBe('no dsb: incoherent, 8 states explored');
    expect(rows[1]).toBe('  shortest stale read on line 0: 3 events, ending at step 2 (device_read)');
    expect(rows[2]).toMatch(/^ {2}# \| step \| CPU +\| cache line 0 +\| memory \| device +\| note$/);
    expect(rows[4]).toContain('issue clean');
    expect(rows[4]).toContain('dirty v1 [pending: clean]');
    expect(rows[4]).toContain('dma.c:42');
    expect(rows[5]).toContain('device_read: v0 — STALE, latest write is v1');
    expect(rows).toHaveLength(6);
  });

  test('coherent results say so', () => {
    const s = ops('cpu_write', 'clean', 'dsb', 'device_read');
    expect(formatTimeline(checkScenario(s), s)).toMatch(/coherent, \d+ states explored\n {2}no execution reads stale data$/);
  });
});

describe('embedHandoff', () => {
  const clean: LitmusStep = { op: 'clean', note: 'arch_sync_dma_for_device' };
  const invalidate: LitmusStep = { op: 'invalidate', note: 'arch_sync_dma_for_cpu' };
  const dsb: LitmusStep = { op: 'dsb', note: 'arch_sync_dma_flush' };
  const verdict = (s: Scenario) => checkScenario(s).verdict;

  test('to-device: cpu_write; path; device_read', () => {
    const s = embedHandoff('to-device', [clean, dsb], 4);
    expect(s.lines).toBe(4);
    expect(s.steps.map((step) => step.op)).toEqual(['cpu_write', 'clean', 'dsb', 'device_read']);
    expect(verdict(s)).toBe('coherent');
    expect(verdict(embedHandoff('to-device', [clean], 4))).toBe('incoherent');
  });

  test('from-device: cpu_write; reference clean + dsb; device_write; path; cpu_read', () => {
    const s = embedHandoff('from-device', [invalidate, dsb], 2);
    expect(s.steps.map((step) => step.op)).toEqual(['cpu_write', 'clean', 'dsb', 'device_write', 'invalidate', 'dsb', 'cpu_read']);
    expect(verdict(s)).toBe('coherent');
    expect(verdict(embedHandoff('from-device', [invalidate], 2))).toBe('incoherent');
    expect(verdict(embedHandoff('from-device', [], 2))).toBe('incoherent');
    expect(verdict(embedHandoff('from-device', { forDevice: [], forCpu: [invalidate, dsb] }, 2))).toBe('incoherent');
  });

  test('bidirectional: a list is used for both halves; an object checks one half against the reference', () => {
    const s = embedHandoff('bidirectional', [{ op: 'clean_invalidate' }, dsb], 2);
    expect(s.steps.map((step) => step.op)).toEqual([
      'cpu_write',
      'clean_invalidate',
      'dsb',
      'device_read',
      'device_write',
      'clean_invalidate',
      'dsb',
      'cpu_read',
    ]);
    expect(verdict(s)).toBe('coherent');
    expect(verdict(embedHandoff('bidirectional', [clean, dsb], 2))).toBe('incoherent');
    expect(verdict(embedHandoff('bidirectional', { forDevice: [clean, dsb] }, 2))).toBe('coherent');
    expect(verdict(embedHandoff('bidirectional', { forCpu: [invalidate] }, 2))).toBe('incoherent');
  });

  test('path steps keep their lines and must fit the buffer', () => {
    expect(verdict(embedHandoff('to-device', [{ op: 'clean', lines: [0] }, dsb], 2))).toBe('incoherent');
    expect(() => embedHandoff('to-device', [{ op: 'clean', lines: [2] }], 2)).toThrow(/line 2, outside 0..1/);
  });
});
