// Runs mutants of the real kernel tree through the analysis and says which
// were caught. Each mutant is one file's mutated text, analysed as an overlay
// on the tree (the tree is never written); a shared in-memory cache makes
// each mutant cost only what it changed.
import fs from 'node:fs';
import path from 'node:path';
import { analyzeTree } from '../../src/lint.js';
import { AnalysisCache } from '../../src/cache/store.js';
import { folderSnapshot } from '../../src/discover/source.js';
import type { Snapshot } from '../../src/discover/snapshot.js';
import type { Finding } from '../../src/types.js';
import type { Mutant } from './operators.js';

export interface MutantResult {
  mutant: Mutant;
  /** Errors and warnings the mutant has and the tree does not. */
  fresh: Finding[];
  /** detect: a fresh finding is in the mutated file; silent: any fresh finding. */
  caught: boolean;
  /** detect and caught, or silent and not caught. */
  ok: boolean;
  ms: number;
}

/** What a finding is about, without lines or function names (renames and moves keep it). */
export function findingKey(f: Finding): string {
  const exit = f.related?.[0];
  const where = exit ? `${exit.file}:${/^(\w+)\(\)/.exec(exit.message)?.[1] ?? ''}` : '';
  return [f.ruleId, f.kind, f.severity, f.file, f.sync?.callee ?? '', where].join('|');
}

function flagged(findings: Finding[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const f of findings) if (f.severity !== 'note') counts.set(findingKey(f), (counts.get(findingKey(f)) ?? 0) + 1);
  return counts;
}

export class MutationHarness {
  private readonly cache = new AnalysisCache(null);
  private base!: Snapshot;
  private baseline = new Map<string, number>();
  baselineFindings: Finding[] = [];

  constructor(readonly root: string) {}

  /** The tree as it is, and its findings; each mutant starts from what this analysis learned about the files. */
  async start(): Promise<void> {
    this.base = await folderSnapshot({ root: this.root, arch: 'arm64', label: 'linux' });
    this.baselineFindings = (await analyzeTree({ root: this.root, arch: 'arm64', source: this.base, cache: this.cache })).result.findings;
    this.baseline = flagged(this.baselineFindings);
  }

  read(file: string): string {
    return fs.readFileSync(path.join(this.root, file), 'latin1');
  }

  async run(mutant: Mutant): Promise<MutantResult> {
    const started = performance.now();
    const files = [{ file: mutant.file, text: mutant.text }, ...(mutant.also ?? [])];
    const source = this.base.withChanges(new Map(files.map((f) => [f.file, Buffer.from(f.text, 'latin1')])), mutant.id, []);
    const { result } = await analyzeTree({ root: this.root, arch: 'arm64', source, cache: this.cache });
    const counts = flagged(result.findings);
    const freshKeys = new Set([...counts].filter(([k, n]) => n > (this.baseline.get(k) ?? 0)).map(([k]) => k));
    const fresh = result.findings.filter((f) => f.severity !== 'note' && freshKeys.has(findingKey(f)));
    // A detect-mutant is caught where the code changed: the new finding must
    // be reported in the mutated file (the place a developer must fix).
    const caught = mutant.label === 'detect' ? fresh.some((f) => f.file === (mutant.expectIn ?? mutant.file)) : fresh.length > 0;
    return { mutant, fresh, caught, ok: caught === (mutant.label === 'detect'), ms: performance.now() - started };
  }
}

/** The table a maintainer reads: per operator, then every miss and false alarm with its reason. */
export function report(results: MutantResult[]): string {
  const lines: string[] = [];
  const ops = [...new Set(results.map((r) => r.mutant.operator))];
  lines.push('operator                 detect (caught)  silent (flagged)');
  for (const op of ops) {
    const rs = results.filter((r) => r.mutant.operator === op);
    const d = rs.filter((r) => r.mutant.label === 'detect');
    const sl = rs.filter((r) => r.mutant.label === 'silent');
    const cell = (n: number, k: number) => (n ? `${n} (${k})` : '-').padEnd(17);
    lines.push(`${op.padEnd(24)} ${cell(d.length, d.filter((r) => r.caught).length)}${cell(sl.length, sl.filter((r) => r.caught).length)}`.trimEnd());
  }
  const detect = results.filter((r) => r.mutant.label === 'detect');
  const silent = results.filter((r) => r.mutant.label === 'silent');
  lines.push(`detected ${detect.filter((r) => r.caught).length}/${detect.length} detect-mutants; false alarms ${silent.filter((r) => r.caught).length} on ${silent.length} silent-mutants`);
  for (const r of results.filter((x) => !x.ok)) {
    const what = r.mutant.label === 'detect' ? 'MISS' : 'FALSE ALARM';
    lines.push(`${what} ${r.mutant.id}: ${r.mutant.reason}`);
    for (const f of r.fresh.slice(0, 3)) lines.push(`    ${f.file}:${f.line}: ${f.severity}: ${f.message.slice(0, 160)}`);
  }
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  if (ms.length) lines.push(`median ${Math.round(ms[Math.floor(ms.length / 2)])} ms per mutant`);
  return lines.join('\n');
}
