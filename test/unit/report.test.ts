import type { Log } from 'sarif';
import { describe, expect, it } from 'vitest';
import { focusGraph, formatGraphDot, formatGraphText, type CallGraphView } from '../../src/report/graph.js';
import { phraseCondition, simplifyCondition, summariseCondition, type Literal } from '../../src/report/conditions.js';
import { formatJson } from '../../src/report/json.js';
import { FINGERPRINT_KEY, formatSarif, relativeUri } from '../../src/report/sarif.js';
import { sarifSchemaErrors } from './support/sarif-schema.js';
import { formatText } from '../../src/report/text.js';
import type { LintResult, Rule } from '../../src/types.js';

const ESC = '\x1b[';

function sampleResult(): LintResult {
  return {
    tool: 'flushcheck',
    version: '0.1.0',
    root: '/src/linux',
    arch: 'arm64',
    findings: [
      {
        ruleId: 'dma-sync-flush',
        kind: 'unflushed-return',
        severity: 'error',
        file: 'drivers/iommu/dma-iommu.c',
        line: 1120,
        column: 2,
        function: 'iommu_dma_sync_sg_for_device',
        message: 'arch_sync_dma_for_device() is not flushed before return',
        path: [
          { file: 'drivers/iommu/dma-iommu.c', line: 1110, event: 'arch_sync_dma_for_device() issues clean' },
          { file: 'drivers/iommu/dma-iommu.c', line: 1114, event: 'takes the loop exit' },
          { file: 'drivers/iommu/dma-iommu.c', line: 1120, event: 'returns with the clean pending' },
        ],
        sync: {
          callee: 'arch_sync_dma_for_device',
          function: 'iommu_dma_sync_sg_for_device',
          file: 'drivers/iommu/dma-iommu.c',
          line: 1110,
        },
        model: { verdict: 'incoherent', witness: [], reason: 'device reads before the clean completes' },
      },
      {
        ruleId: 'dma-sync-flush',
        kind: 'redundant-flush',
        severity: 'note',
        file: 'kernel/dma/direct.c',
        line: 40,
        column: 3,
        function: 'dma_direct_sync_single_for_cpu',
        message: 'arch_sync_dma_flush() with nothing pending',
        path: [],
      },
    ],
    inactiveRules: [
      { ruleId: 'dma-iova-link-sync', reason: 'the tree defines no dma_iova_sync' },
      { ruleId: 'dma-iova-link-sync', reason: 'the tree defines no dma_iova_sync' },
    ],
    stats: {
      files: 12,
      parsed: 3,
      functions: 57,
      syncSites: 4,
      ms: 41.6,
      diagnostics: [{ file: 'drivers/foo.c', reason: 'parse error at line 3' }],
    },
  };
}

function sampleRules(): Rule[] {
  const base = {
    applies: {},
    complete: [{ name: 'arch_sync_dma_flush' }],
    cpuAccess: [],
    handoff: { addressTaken: true, exported: true, noCaller: true },
    contracts: [],
    errorLabels: '^err',
  };
  return [
    {
      ...base,
      id: 'dma-sync-flush',
      description: 'Syncs only issue maintenance. arch_sync_dma_flush() completes it.',
      issue: [{ name: 'arch_sync_dma_for_device', effect: { default: 'clean' } }],
      source: 'rules/dma-sync-flush.yaml',
    },
    {
      ...base,
      id: 'dma-iova-link-sync',
      description: 'dma_iova_link() needs dma_iova_sync()',
      issue: [{ name: 'dma_iova_link', effect: { default: 'clean' } }],
      complete: [{ name: 'dma_iova_sync' }],
      source: 'rules/dma-iova-link-sync.yaml',
    },
  ];
}

describe('formatJson', () => {
  it('prints exactly the documented shape', () => {
    expect(formatJson(sampleResult())).toBe(`{
  "tool": "flushcheck",
  "version": "0.1.0",
  "findings": [
    {
      "ruleId": "dma-sync-flush",
      "severity": "error",
      "kind": "unflushed-return",
      "file": "drivers/iommu/dma-iommu.c",
      "line": 1120,
      "column": 2,
      "function": "iommu_dma_sync_sg_for_device",
      "message": "arch_sync_dma_for_device() is not flushed before return",
      "path": [
        {
          "file": "drivers/iommu/dma-iommu.c",
          "line": 1110,
          "event": "arch_sync_dma_for_device() issues clean"
        },
        {
          "file": "drivers/iommu/dma-iommu.c",
          "line": 1114,
          "event": "takes the loop exit"
        },
        {
          "file": "drivers/iommu/dma-iommu.c",
          "line": 1120,
          "event": "returns with the clean pending"
        }
      ],
      "sync": {
        "callee": "arch_sync_dma_for_device",
        "function": "iommu_dma_sync_sg_for_device",
        "file": "drivers/iommu/dma-iommu.c",
        "line": 1110
      },
      "model": {
        "verdict": "incoherent",
        "witness": [],
        "reason": "device reads before the clean completes"
      }
    },
    {
      "ruleId": "dma-sync-flush",
      "severity": "note",
      "kind": "redundant-flush",
      "file": "kernel/dma/direct.c",
      "line": 40,
      "column": 3,
      "function": "dma_direct_sync_single_for_cpu",
      "message": "arch_sync_dma_flush() with nothing pending",
      "path": []
    }
  ],
  "inactiveRules": [
    {
      "ruleId": "dma-iova-link-sync",
      "reason": "the tree defines no dma_iova_sync"
    },
    {
      "ruleId": "dma-iova-link-sync",
      "reason": "the tree defines no dma_iova_sync"
    }
  ],
  "stats": {
    "files": 12,
    "parsed": 3,
    "functions": 57,
    "syncSites": 4,
    "syncSitesNotJudged": 0,
    "ms": 42,
    "diagnostics": [
      {
        "file": "drivers/foo.c",
        "reason": "parse error at line 3"
      }
    ]
  }
}
`);
  });

  it('keeps the key order whatever order the finding was built in', () => {
    const result = sampleResult();
    const [first] = result.findings;
    result.findings = [Object.fromEntries(Object.entries(first).reverse()) as typeof first];
    expect(Object.keys(JSON.parse(formatJson(result)).findings[0])).toEqual([
      'ruleId', 'severity', 'kind', 'file', 'line', 'column', 'function', 'message', 'path', 'sync', 'model',
    ]);
  });
});

describe('formatText', () => {
  it('prints a gcc-style headline, one note line per path step, the model verdict, inactive rules once and a summary', () => {
    const text = formatText(sampleResult(), { color: false });
    expect(text).not.toContain(ESC);
    expect(text.split('\n')).toEqual([
      'drivers/iommu/dma-iommu.c:1120:2: error: arch_sync_dma_for_device() is not flushed before return [dma-sync-flush]',
      'drivers/iommu/dma-iommu.c:1110:1: note: arch_sync_dma_for_device() issues clean',
      'drivers/iommu/dma-iommu.c:1114:1: note: takes the loop exit',
      'drivers/iommu/dma-iommu.c:1120:1: note: returns with the clean pending',
      '  model: incoherent — device reads before the clean completes',
      'kernel/dma/direct.c:40:3: note: arch_sync_dma_flush() with nothing pending [dma-sync-flush]',
      'flushcheck: rule dma-iova-link-sync inactive: the tree defines no dma_iova_sync',
      'flushcheck: 1 file or function not fully analysed (-v lists them)',
      '1 error, 0 warnings, 1 note in 12 files (3 parsed, 57 functions, 4 sync sites) in 42 ms',
      '',
    ]);
  });

  it('prints related locations and step columns as note lines', () => {
    const result = sampleResult();
    result.findings[0].related = [{ file: 'drivers/iommu/dma-iommu.c', line: 1125, column: 1, message: 'iommu_dma_sync_sg_for_device() hands the buffer over here' }];
    result.findings[0].path[0].column = 3;
    const lines = formatText(result, { color: false }).split('\n');
    expect(lines.slice(1, 3)).toEqual([
      'drivers/iommu/dma-iommu.c:1125:1: note: iommu_dma_sync_sg_for_device() hands the buffer over here',
      'drivers/iommu/dma-iommu.c:1110:3: note: arch_sync_dma_for_device() issues clean',
    ]);
  });

  it('--terse prints one line per finding, inactive rules and one summary line', () => {
    expect(formatText(sampleResult(), { color: false, terse: true }).split('\n')).toEqual([
      'drivers/iommu/dma-iommu.c:1120:2: error: arch_sync_dma_for_device() is not flushed before return [dma-sync-flush]',
      'kernel/dma/direct.c:40:3: note: arch_sync_dma_flush() with nothing pending [dma-sync-flush]',
      'flushcheck: rule dma-iova-link-sync inactive: the tree defines no dma_iova_sync',
      '1 error, 0 warnings, 1 note in 12 files (3 parsed, 57 functions, 4 sync sites) in 42 ms',
      '',
    ]);
  });

  it('keeps headlines within 200 characters: folders, trailing clauses, then places go; -v prints the whole message', () => {
    const result = sampleResult();
    const message =
      'invalidation issued by arch_sync_dma_for_cpu() at drivers/iommu/dma-iommu.c:2062 (through __iommu_dma_iova_unlink() at line 2121) is still pending when dma_iova_unlink() returns at line 2122 and hands the buffer over (it is exported); no arch_sync_dma_flush() on this path (error path)';
    result.findings = [{ ...result.findings[0], file: 'drivers/iommu/dma-iommu.c', line: 2121, column: 3, severity: 'warning', message, model: undefined }];
    const [first] = formatText(result, { color: false }).split('\n');
    // Folders and the trailing clause go; the places stay while they fit (two findings may differ only by where the function returns).
    expect(first).toBe('drivers/iommu/dma-iommu.c:2121:3: warning: invalidation issued by arch_sync_dma_for_cpu() at dma-iommu.c:2062 is still pending when dma_iova_unlink() returns at line 2122 [dma-sync-flush]');
    expect(first.length).toBeLessThanOrEqual(200);
    const verbose = formatText(result, { color: false, verbose: true }).split('\n');
    expect(verbose[0]).toBe(first);
    expect(verbose[1]).toBe(`drivers/iommu/dma-iommu.c:2121:3: note: ${message}`);

    // With no place or clause to drop, words are cut.
    result.findings[0].message = 'word '.repeat(80).trim();
    const [cut] = formatText(result, { color: false }).split('\n');
    expect(cut.length).toBeLessThanOrEqual(200);
    expect(cut).toMatch(/word… \[dma-sync-flush\]$/);
  });

  it('shows the cache timeline only with -v', () => {
    const result = sampleResult();
    result.findings[0].model!.timeline = '# | step | CPU\n1 | 0    | cpu_write v1';
    expect(formatText(result, { color: false })).not.toContain('cpu_write v1');
    expect(formatText(result, { color: false, verbose: true })).toContain('    1 | 0    | cpu_write v1\n');
  });

  it('escapes control characters from the tree and quotes odd file names', () => {
    const result = sampleResult();
    result.findings[0].file = 'drivers/evil\nfake.c:1:1: error: forged';
    result.findings[0].path[1].event = 'true: if (x) /* \x1b[1A\x1b[2K */';
    result.stats.diagnostics = [{ file: 'a\\b.c', reason: 'title \x1b]0;pwned\x07' }];
    const text = formatText(result, { color: false, verbose: true });
    expect(text).not.toMatch(/\x1b|\x07/);
    expect(text).toContain('"drivers/evil\\x0afake.c:1:1: error: forged":1120:2: error:');
    expect(text).toContain('note: true: if (x) /* \\x1b[1A\\x1b[2K */');
    expect(text).toContain('flushcheck: "a\\\\b.c": title \\x1b]0;pwned\\x07');
    // Every line that starts like a location is one the report meant to print.
    expect(text.split('\n').filter((l) => l.startsWith('drivers/evil'))).toEqual([]);
  });

  it('lists diagnostics once, when verbose', () => {
    const text = formatText(sampleResult(), { color: false, verbose: true });
    expect(text).toContain('flushcheck: drivers/foo.c: parse error at line 3\n');
    expect(text).not.toContain('-v lists them');
  });

  it('colours only when asked', () => {
    const text = formatText(sampleResult(), { color: true });
    expect(text).toContain(`${ESC}1m${ESC}31merror:${ESC}0m`);
    expect(text).toContain(`${ESC}1m${ESC}36mnote:${ESC}0m`);
    // Stripping the escapes gives back the plain report.
    expect(text.replace(/\x1b\[[0-9;]*m/g, '')).toBe(formatText(sampleResult(), { color: false }));
  });

  it('summarises a clean run, and counts sync sites not judged instead of claiming all were checked', () => {
    const result = sampleResult();
    result.findings = [];
    result.inactiveRules = [];
    result.stats = { files: 1, parsed: 1, functions: 1, syncSites: 1, ms: 3, diagnostics: [] };
    expect(formatText(result, { color: false })).toBe('0 errors, 0 warnings, 0 notes in 1 file (1 parsed, 1 function, 1 sync site) in 3 ms\n');
    result.stats = { files: 9, parsed: 2, functions: 7, syncSites: 20, syncSitesNotJudged: 6, ms: 3, diagnostics: [], model: { pathsReplayed: 4, coherent: 3, incoherent: 1 } };
    const text = formatText(result, { color: false });
    expect(text).toBe('0 errors, 0 warnings, 0 notes in 9 files (2 parsed, 7 functions, 20 sync sites, 6 not judged) in 3 ms\ncache model: 4 paths replayed: 3 coherent, 1 incoherent\n');
    expect(text).not.toContain('checked');
  });

  it('says what part of the tree the report covers and what lies elsewhere', () => {
    const result = sampleResult();
    result.findings = [result.findings[0]];
    result.inactiveRules = [];
    result.stats = {
      ...result.stats,
      files: 50113,
      scope: { paths: ['drivers/iommu'], exclude: ['drivers/iommu/arm'], files: 132, functions: 24, syncSites: 8, findingsOutside: 7, diagnostics: 0 },
    };
    const lines = formatText(result, { color: false }).split('\n');
    expect(lines.slice(-4)).toEqual([
      'flushcheck: 1 file or function not fully analysed (0 under the paths) (-v lists them)',
      '1 error, 0 warnings, 0 notes under drivers/iommu without drivers/iommu/arm (132 files, 24 functions judged, 8 sync sites); 7 findings elsewhere in the tree not shown',
      'context: 50113 files (3 parsed, 57 functions, 4 sync sites) analysed in 42 ms',
      '',
    ]);
  });
});

/** formatSarif, checked against the SARIF 2.1.0 schema: every SARIF these tests make is valid. */
function validSarif(...args: Parameters<typeof formatSarif>): string {
  const text = formatSarif(...args);
  expect(sarifSchemaErrors(text)).toEqual([]);
  return text;
}

describe('formatSarif', () => {
  const sarif = (): Log => JSON.parse(validSarif(sampleResult(), sampleRules())) as Log;

  it('is valid against the SARIF 2.1.0 schema, with and without a baseline, related locations and odd file names', () => {
    expect(sarifSchemaErrors(validSarif(sampleResult(), sampleRules()))).toEqual([]);
    expect(sarifSchemaErrors(validSarif(sampleResult(), []))).toEqual([]);
    const result = sampleResult();
    result.findings[0].related = [{ file: 'kernel/dma/mapping.c', line: 443, column: 0, message: 'dma_sync_sg_for_device() returns here and hands the buffer over' }];
    result.findings[1].file = 'drivers/we\\ird %name\n.c';
    const compared = validSarif(result, sampleRules(), { baseline: { introduced: [result.findings[0]], absent: [{ ...result.findings[0], function: 'gone' }] } });
    expect(sarifSchemaErrors(compared)).toEqual([]);
    // The schema check itself can fail: a result without a message is refused.
    const broken = JSON.parse(compared) as Log;
    delete (broken.runs[0].results![0] as { message?: unknown }).message;
    expect(sarifSchemaErrors(JSON.stringify(broken)).length).toBeGreaterThan(0);
  });

  it('gives each rule a distinct short and full description and help as text and markdown', () => {
    const [flushRule] = sarif().runs[0].tool.driver.rules!;
    expect(flushRule.shortDescription?.text).toBe('Maintenance issued by arch_sync_dma_for_device() must be completed by arch_sync_dma_flush() before a hand-off');
    expect(flushRule.fullDescription?.text).toBe('Syncs only issue maintenance. arch_sync_dma_flush() completes it.');
    expect(flushRule.help?.text).toContain('unflushed-return: maintenance is still pending when a function that hands the buffer over returns');
    expect(flushRule.help?.text).toContain('How to fix: Complete the maintenance in the function that issues it: call arch_sync_dma_flush() once after the last sync');
    expect(flushRule.help?.markdown).toContain('- `batchable`: a flush inside a loop');
    expect(flushRule.help?.markdown).toContain('**How to fix:**');
  });

  it('marks results new, unchanged or absent against a baseline', () => {
    const result = sampleResult();
    const fixed = { ...result.findings[0], function: 'old_function' };
    const log = JSON.parse(validSarif(result, sampleRules(), { baseline: { introduced: [result.findings[1]], absent: [fixed] } })) as Log;
    expect(log.runs[0].results!.map((r) => [r.properties?.function, r.baselineState])).toEqual([
      ['iommu_dma_sync_sg_for_device', 'unchanged'],
      ['dma_direct_sync_single_for_cpu', 'new'],
      ['old_function', 'absent'],
    ]);
    expect(sarif().runs[0].results!.every((r) => r.baselineState === undefined)).toBe(true);
  });

  it('renders related locations, and percent-encodes URIs (a backslash is %5C, never a /)', () => {
    const result = sampleResult();
    result.findings[0].related = [{ file: 'kernel/dma/mapping.c', line: 443, column: 5, message: 'returns here' }];
    result.findings[1].file = 'drivers/a\\b c%d#e?é.c';
    const [first, second] = (JSON.parse(validSarif(result, sampleRules())) as Log).runs[0].results!;
    expect(first.relatedLocations).toEqual([
      {
        id: 0,
        physicalLocation: { artifactLocation: { uri: 'kernel/dma/mapping.c', uriBaseId: '%SRCROOT%' }, region: { startLine: 443, startColumn: 5 } },
        message: { text: 'returns here' },
      },
    ]);
    expect(second.locations![0].physicalLocation!.artifactLocation!.uri).toBe('drivers/a%5Cb%20c%25d%23e%3F%C3%A9.c');
    expect(relativeUri('x/\ud800.c')).toBe('x/%EF%BF%BD.c');
  });

  it('has the fields GitHub code scanning requires', () => {
    const log = sarif();
    expect(log.$schema).toBe('https://json.schemastore.org/sarif-2.1.0.json');
    expect(log.version).toBe('2.1.0');
    expect(log.runs).toHaveLength(1);
    const [run] = log.runs;
    expect(run.tool.driver.name).toBe('flushcheck');
    expect(run.tool.driver.version).toBe('0.1.0');
    // The README's anchor, relative to the repository (package.json's homepage): no made-up host.
    expect(run.tool.driver.informationUri).toBe('README.md#flushcheck');
    expect(run.tool.driver.rules?.map((rule) => rule.id)).toEqual(['dma-sync-flush', 'dma-iova-link-sync']);
    const [flushRule] = run.tool.driver.rules!;
    expect(flushRule.defaultConfiguration?.level).toBe('error');
    expect(run.originalUriBaseIds?.['%SRCROOT%']?.uri).toBe('file:///src/linux/');

    const results = run.results!;
    expect(results).toHaveLength(2);
    expect(results.map((r) => r.level)).toEqual(['error', 'note']);
    for (const result of results) {
      expect(result.ruleId).toBe('dma-sync-flush');
      expect(result.ruleIndex).toBe(0);
      expect(result.message.text).toBeTruthy();
    }
    expect(results[0].locations?.[0].physicalLocation).toEqual({
      artifactLocation: { uri: 'drivers/iommu/dma-iommu.c', uriBaseId: '%SRCROOT%' },
      region: { startLine: 1120, startColumn: 2 },
    });
  });

  it('turns the path into one code flow, and omits it when there is no path', () => {
    const [withPath, withoutPath] = sarif().runs[0].results!;
    expect(withPath.codeFlows).toHaveLength(1);
    const locations = withPath.codeFlows![0].threadFlows[0].locations;
    expect(locations).toHaveLength(3);
    expect(locations[1].location).toEqual({
      physicalLocation: {
        artifactLocation: { uri: 'drivers/iommu/dma-iommu.c', uriBaseId: '%SRCROOT%' },
        region: { startLine: 1114 },
      },
      message: { text: 'takes the loop exit' },
    });
    expect(withoutPath.codeFlows).toBeUndefined();
  });

  it('fingerprints are stable across runs and differ between findings', () => {
    const first = sarif().runs[0].results!.map((r) => r.partialFingerprints?.[FINGERPRINT_KEY]);
    const second = sarif().runs[0].results!.map((r) => r.partialFingerprints?.[FINGERPRINT_KEY]);
    expect(first).toEqual(second);
    expect(first[0]).toMatch(/^[0-9a-f]{32}:1$/);
    expect(first[0]).not.toBe(first[1]);

    // Line numbers do not enter the fingerprint: moved code keeps its alert.
    const moved = sampleResult();
    moved.findings[0].line += 30;
    const movedPrint = (JSON.parse(validSarif(moved, sampleRules())) as Log).runs[0].results![0].partialFingerprints;
    expect(movedPrint?.[FINGERPRINT_KEY]).toBe(first[0]);
  });

  it('keeps two findings with the same key apart', () => {
    const result = sampleResult();
    result.findings = [result.findings[0], { ...result.findings[0], line: 1130 }];
    const prints = (JSON.parse(validSarif(result, sampleRules())) as Log).runs[0].results!.map(
      (r) => r.partialFingerprints?.[FINGERPRINT_KEY],
    );
    expect(prints[0]!.replace(/:1$/, ':2')).toBe(prints[1]);
  });

  it('reports inactive rules and diagnostics as notifications', () => {
    const [invocation] = sarif().runs[0].invocations!;
    expect(invocation.executionSuccessful).toBe(true);
    expect(invocation.toolConfigurationNotifications?.[0]).toMatchObject({
      level: 'note',
      associatedRule: { id: 'dma-iova-link-sync', index: 1 },
    });
    expect(invocation.toolExecutionNotifications?.[0]).toMatchObject({
      level: 'warning',
      message: { text: 'parse error at line 3' },
    });
  });

  it('adds a descriptor for a finding whose rule was not passed in', () => {
    const run = (JSON.parse(validSarif(sampleResult(), [])) as Log).runs[0];
    expect(run.tool.driver.rules?.map((rule) => rule.id)).toEqual(['dma-sync-flush']);
    expect(run.results![0].ruleIndex).toBe(0);
  });
});

describe('graph formatters', () => {
  const view: CallGraphView = {
    nodes: [
      { name: 'iommu_dma_map_sg', file: 'drivers/iommu/dma-iommu.c', line: 1400, role: 'handoff', exported: false, addressTaken: true },
      { name: 'arch_sync_dma_flush', file: 'arch/arm64/include/asm/cacheflush.h', line: 80, role: 'completing', exported: false, addressTaken: false },
      { name: 'arch_sync_dma_for_device', file: 'arch/arm64/mm/dma-mapping.c', line: 15, role: 'issuing', exported: true, addressTaken: false },
      { name: 'dma_iova_link', file: 'drivers/iommu/dma-iommu.c', line: 1800, role: 'deferring', exported: true, addressTaken: false, defersWhen: '!dev_is_dma_coherent(dev)' },
    ],
    edges: [
      { from: 'iommu_dma_map_sg', to: 'arch_sync_dma_flush', kind: 'call', line: 1420 },
      { from: 'iommu_dma_map_sg', to: 'arch_sync_dma_for_device', kind: 'call', line: 1410 },
      { from: 'iommu_dma_ops', to: 'iommu_dma_map_sg', kind: 'ops-table', line: 1900 },
    ],
  };

  it('text lists nodes by role with their outgoing edges', () => {
    expect(formatGraphText(view)).toBe(
      [
        'arch_sync_dma_for_device [issuing, exported] arch/arm64/mm/dma-mapping.c:15',
        'arch_sync_dma_flush [completing] arch/arm64/include/asm/cacheflush.h:80',
        'dma_iova_link [deferring, exported, defers when !dev_is_dma_coherent(dev)] drivers/iommu/dma-iommu.c:1800',
        'iommu_dma_map_sg [handoff, address-taken] drivers/iommu/dma-iommu.c:1400',
        '    -> arch_sync_dma_for_device (call, line 1410)',
        '    -> arch_sync_dma_flush (call, line 1420)',
        'other edges:',
        '    iommu_dma_ops -> iommu_dma_map_sg (ops-table, line 1900)',
        '4 nodes, 3 edges',
        '',
      ].join('\n'),
    );
  });

  it('dot is a digraph with short labels, full tooltips, role styles, call sites on edges and a legend', () => {
    const dot = formatGraphDot(view);
    expect(dot.startsWith('digraph flushcheck {\n')).toBe(true);
    expect(dot.endsWith('}\n')).toBe(true);
    expect(dot).toContain(
      '  "arch_sync_dma_for_device" [label="arch_sync_dma_for_device\\ndma-mapping.c:15", tooltip="arch_sync_dma_for_device (issuing, exported)\\narch/arm64/mm/dma-mapping.c:15", shape=box, fillcolor="#f4b6b6", peripheries=2];',
    );
    expect(dot).toContain('"dma_iova_link" [label="dma_iova_link\\ndma-iommu.c:1800\\ndefers when\\n!dev_is_dma_coherent(dev)"');
    expect(dot).toContain('  "iommu_dma_ops" [shape=plaintext, style="", fontsize=9];');
    expect(dot).toContain('  "iommu_dma_ops" -> "iommu_dma_map_sg" [xlabel="line 1900", tooltip="iommu_dma_ops -> iommu_dma_map_sg (ops-table) at line 1900", style=dashed];');
    expect(dot).toContain('  "iommu_dma_map_sg" -> "arch_sync_dma_for_device" [xlabel="line 1410"');
    // The legend shows each role present, drawn as in the graph.
    expect(dot).toContain('    "legend:issuing" [label="issues maintenance (sync)", shape=box, fillcolor="#f4b6b6", fontsize=9];');
    expect(dot).toContain('    "legend:deferring" [label="returns with it pending (caller must flush)"');
    expect(dot).not.toContain('legend:cpu-access');
    // Every statement line has balanced quotes.
    for (const line of dot.split('\n').filter((l) => /^ +"/.test(l))) {
      expect((line.replace(/\\"/g, '').match(/"/g) ?? []).length % 2).toBe(0);
    }
  });

  it('caps label lines, keeps the whole condition in the tooltip, and names a missing definition', () => {
    const long = 'is_swiotlb_force_bounce(dev) && (attrs & DMA_ATTR_CC_SHARED) && !dev_is_dma_coherent(dev) && flush is false';
    const wide: CallGraphView = {
      nodes: [
        { name: 'dma_direct_map_phys', file: 'kernel/dma/direct.h', line: 85, role: 'deferring', exported: false, addressTaken: false, defersWhen: long },
        { name: 'memcpy', file: '', line: 0, role: 'cpu-access', exported: false, addressTaken: false },
      ],
      edges: [{ from: 'dma_direct_map_phys', to: 'memcpy', kind: 'call', file: 'kernel/dma/direct.h', line: 90 }],
    };
    const dot = formatGraphDot(wide);
    const label = /"dma_direct_map_phys" \[label="([^"]*)"/.exec(dot)![1]!.split('\\n');
    for (const line of label) expect([...line].length).toBeLessThanOrEqual(36);
    expect(label.slice(2)).toEqual(['defers when', 'is_swiotlb_force_bounce(dev) && (at…']);
    expect(dot).toContain(`defers when ${long}"`);
    expect(dot).toContain('"memcpy" [label="memcpy\\nno definition in the tree"');
    expect(dot).toContain('xlabel="direct.h:90"');
    expect(formatGraphText(wide)).toContain('memcpy [cpu-access] (no definition in the tree)\n');
    expect(formatGraphText(wide)).toContain('    -> memcpy (call, kernel/dma/direct.h:90)\n');
  });

  it('clusters nodes per file or per folder', () => {
    const withFiles: CallGraphView = { ...view, edges: view.edges };
    const byFile = formatGraphDot(withFiles, { cluster: 'file' });
    expect(byFile).toContain('label="drivers/iommu/dma-iommu.c"');
    expect(byFile).toContain('label="arch/arm64/mm/dma-mapping.c"');
    const byFolder = formatGraphDot(withFiles, { cluster: 'folder' });
    expect(byFolder).toContain('label="drivers/iommu"');
    expect(byFolder.match(/subgraph cluster_\d+/g)).toHaveLength(3);
  });

  it('focus keeps the folder, the rule functions it calls, and only what is connected to a sync', () => {
    const tree: CallGraphView = {
      nodes: [
        ...view.nodes,
        { name: 'lonely', file: 'drivers/iommu/other.c', line: 3, role: 'caller', exported: false, addressTaken: false },
        { name: 'elsewhere', file: 'kernel/dma/mapping.c', line: 9, role: 'handoff', exported: true, addressTaken: false },
      ],
      edges: [...view.edges, { from: 'elsewhere', to: 'dma_iova_link', kind: 'call', file: 'kernel/dma/mapping.c', line: 10 }],
    };
    const focused = focusGraph(tree, ['drivers/iommu']);
    expect(focused.nodes.map((n) => n.name).sort()).toEqual(['arch_sync_dma_flush', 'arch_sync_dma_for_device', 'iommu_dma_map_sg']);
    expect(focused.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual(['iommu_dma_map_sg>arch_sync_dma_flush', 'iommu_dma_map_sg>arch_sync_dma_for_device']);
    // The whole tree: still no unconnected node.
    expect(focusGraph(tree).nodes.map((n) => n.name)).not.toContain('lonely');
  });

  it('focus on a file of hand-offs follows the helpers that defer down to the sync, not one that completes its own work', () => {
    const node = (name: string, file: string, role: CallGraphView['nodes'][number]['role']) => ({ name, file, line: 1, role, exported: false, addressTaken: false });
    const chain: CallGraphView = {
      nodes: [
        node('dma_map_phys', 'kernel/dma/mapping.c', 'handoff'),
        node('dma_direct_map_phys', 'kernel/dma/direct.h', 'deferring'),
        node('dma_direct_sync_one', 'kernel/dma/direct.h', 'deferring'),
        node('unrelated_handoff', 'drivers/x/x.c', 'handoff'),
        node('dma_direct_sync_sg', 'kernel/dma/direct.c', 'completes'),
        node('arch_sync_dma_for_device', 'arch/arm64/mm/dma-mapping.c', 'issuing'),
      ],
      edges: [
        { from: 'dma_map_phys', to: 'dma_direct_map_phys', kind: 'call', file: 'kernel/dma/mapping.c', line: 2 },
        { from: 'dma_direct_map_phys', to: 'dma_direct_sync_one', kind: 'call', file: 'kernel/dma/direct.h', line: 3 },
        { from: 'dma_direct_sync_one', to: 'arch_sync_dma_for_device', kind: 'call', file: 'kernel/dma/direct.h', line: 4 },
        { from: 'unrelated_handoff', to: 'arch_sync_dma_for_device', kind: 'call', file: 'drivers/x/x.c', line: 5 },
        { from: 'dma_map_phys', to: 'dma_direct_sync_sg', kind: 'call', file: 'kernel/dma/mapping.c', line: 6 },
        { from: 'dma_direct_sync_sg', to: 'arch_sync_dma_for_device', kind: 'call', file: 'kernel/dma/direct.c', line: 7 },
      ],
    };
    const focused = focusGraph(chain, ['kernel/dma/mapping.c']);
    expect(focused.nodes.map((n) => n.name).sort()).toEqual(['arch_sync_dma_for_device', 'dma_direct_map_phys', 'dma_direct_sync_one', 'dma_map_phys']);
    expect(focused.edges).toHaveLength(3);
  });

  it('dot escapes quotes and backslashes', () => {
    const odd: CallGraphView = {
      nodes: [{ name: 'a"b\\c', file: 'x.c', line: 1, role: 'caller', exported: false, addressTaken: false }],
      edges: [],
    };
    expect(formatGraphDot(odd)).toContain('"a\\"b\\\\c" [label="a\\"b\\\\c\\nx.c:1"');
  });
});

describe('conditions for readers', () => {
  const lit = (atom: string, value = true): Literal => ({ atom, value });

  it('drops impossible conjunctions: an atom both ways, or a flag set while a mask holding it is clear', () => {
    expect(simplifyCondition([[lit('flush'), lit('flush', false)]])).toEqual([]);
    expect(simplifyCondition([[lit('attrs & DMA_ATTR_MMIO'), lit('attrs & (DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_MMIO)', false)]])).toEqual([]);
    expect(phraseCondition([[lit('attrs & DMA_ATTR_MMIO'), lit('attrs & (DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_MMIO)', false)]])).toBe('never');
  });

  it('drops implied literals, duplicates, absorbed terms and merges complementary pairs', () => {
    const mask = lit('attrs & (DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_MMIO)', false);
    expect(simplifyCondition([[lit('attrs & DMA_ATTR_MMIO', false), mask, mask]])).toEqual([[mask]]);
    const coherent = lit('dev_is_dma_coherent(dev)', false);
    expect(simplifyCondition([[coherent], [coherent, lit('flush', false)]])).toEqual([[coherent]]);
    expect(simplifyCondition([[coherent, lit('x')], [coherent, lit('x', false)]])).toEqual([[coherent]]);
    expect(phraseCondition([[coherent, lit('x')], [lit('x', false), coherent]])).toBe('!dev_is_dma_coherent(dev)');
    expect(phraseCondition([[], [coherent]])).toBe('always');
  });

  it('reduces a negated conjunction by what the conjunction already holds', () => {
    const coherent = lit('dev_is_dma_coherent(dev)', false);
    const merged = lit('!dev_is_dma_coherent(dev) && (attrs & DMA_ATTR_REQUIRE_COHERENT)', false);
    expect(phraseCondition([[merged, coherent]])).toBe('!(attrs & DMA_ATTR_REQUIRE_COHERENT) && !dev_is_dma_coherent(dev)');
    // Every part held: !(A && B) with A and B is impossible.
    expect(phraseCondition([[merged, coherent, lit('attrs & DMA_ATTR_REQUIRE_COHERENT')]])).toBe('never');
    // (A || B) with B held is implied; an atom like (a) || (b) is wrapped whole when shown.
    const either = lit('(state->__size & DMA_IOVA_USE_SWIOTLB) || (!dev_is_dma_coherent(dev))');
    expect(phraseCondition([[either, coherent]])).toBe('!dev_is_dma_coherent(dev)');
    const both = lit('(x & A) || (!dev_is_dma_coherent(dev) && flush)');
    expect(phraseCondition([[both, coherent, lit('flush')]])).toBe('!dev_is_dma_coherent(dev) && flush is true');
    expect(phraseCondition([[either, lit('flush')]])).toBe('((state->__size & DMA_IOVA_USE_SWIOTLB) || (!dev_is_dma_coherent(dev))) && flush is true');
    // Nothing known: left as it is.
    expect(phraseCondition([[merged]])).toBe('!(!dev_is_dma_coherent(dev) && (attrs & DMA_ATTR_REQUIRE_COHERENT))');
  });

  it("drops a negated conjunction one of whose parts is known false, and shows one as a whole (dma_iova_link's summary on 7.2)", () => {
    const swiotlbCoherent = lit('(state->__size & DMA_IOVA_USE_SWIOTLB) && (attrs & DMA_ATTR_REQUIRE_COHERENT)', false);
    const merged = lit('!dev_is_dma_coherent(dev) && (attrs & DMA_ATTR_REQUIRE_COHERENT)', false);
    const coherent = lit('dev_is_dma_coherent(dev)', false);
    const sync = lit('attrs & (DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_MMIO)', false);
    // !(!coherent && REQUIRE) with !coherent is !REQUIRE, which makes !(SWIOTLB && REQUIRE) hold already.
    expect(phraseCondition([[swiotlbCoherent, merged, coherent, sync]])).toBe(
      '!(attrs & DMA_ATTR_REQUIRE_COHERENT) && !dev_is_dma_coherent(dev) && !(attrs & (DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_MMIO))',
    );
    // C text with `||` and `&&` at its top level is no conjunction: nothing is taken from it.
    expect(phraseCondition([[lit('a || b && c', false), lit('c', false)]])).toBe('!(a || b && c) && c is false');
    // Alone, it is shown negated whole, not as a negated first part and a second one.
    expect(phraseCondition([[swiotlbCoherent]])).toBe('!((state->__size & DMA_IOVA_USE_SWIOTLB) && (attrs & DMA_ATTR_REQUIRE_COHERENT))');
  });

  it('says a plain variable as words and keeps C tests as C', () => {
    expect(phraseCondition([[lit('dev_is_dma_coherent(dev)', false), lit('flush', false), lit('dir == DMA_TO_DEVICE', false)]])).toBe(
      '!dev_is_dma_coherent(dev) && flush is false && !(dir == DMA_TO_DEVICE)',
    );
    expect(phraseCondition([[lit('need_sync')]])).toBe('need_sync is true');
  });

  it('summarises several cases by what they share', () => {
    const a = [lit('p'), lit('dev_is_dma_coherent(dev)', false), lit('flush', false)];
    const b = [lit('p', false), lit('q'), lit('dev_is_dma_coherent(dev)', false), lit('flush', false)];
    expect(summariseCondition([a, b])).toBe('!dev_is_dma_coherent(dev) && flush is false (2 cases)');
  });
});
