// `flushcheck model FILE.json...`: check litmus scenarios and print verdicts.
import { readFile } from 'node:fs/promises';
import { checkScenario } from './check.js';
import { parseScenarioFile, ScenarioError, type ModelResult, type Scenario } from './scenario.js';
import { formatTimeline } from './timeline.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/**
 * A scenario fails when its verdict disagrees with its `expect`, or — when it
 * has no `expect` — when it is incoherent. So a litmus suite whose expected
 * incoherences are all found passes (exit 0), and an unannotated scenario
 * (e.g. a replayed code path) fails exactly when it can read stale data.
 */
export function scenarioFails(r: ModelResult): boolean {
  return r.expect === undefined ? r.verdict === 'incoherent' : !r.agrees;
}

/**
 * Runs the model on litmus files. Exit code: 2 if any file is unreadable or
 * invalid (nothing is checked then; the message names the file and field),
 * else 1 if any scenario fails (see scenarioFails), else 0.
 * JSON output: `[{ name, verdict, expect?, statesExplored, witness }]`.
 */
export async function runModelCommand(files: string[], format: 'text' | 'json', out: (s: string) => void): Promise<number> {
  if (files.length === 0) {
    out('flushcheck model: no litmus files given');
    return EXIT_BAD_INPUT;
  }
  const loaded: { file: string; scenarios: Scenario[] }[] = [];
  const errors: string[] = [];
  for (const file of files) {
    try {
      loaded.push({ file, scenarios: parseScenarioFile(await readFile(file, 'utf8'), file) });
    } catch (error) {
      if (error instanceof ScenarioError) errors.push(error.message);
      else errors.push(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  if (errors.length > 0) {
    for (const message of errors) out(`flushcheck model: ${message}`);
    return EXIT_BAD_INPUT;
  }

  const checked = loaded.flatMap(({ file, scenarios }) => scenarios.map((scenario) => ({ file, scenario, result: checkScenario(scenario) })));
  const failures = checked.filter(({ result }) => scenarioFails(result)).length;

  if (format === 'json') {
    const report = checked.map(({ result }) => {
      const entry: Record<string, unknown> = { name: result.name, verdict: result.verdict };
      if (result.expect !== undefined) entry.expect = result.expect;
      entry.statesExplored = result.statesExplored;
      entry.witness = result.witness;
      return entry;
    });
    out(JSON.stringify(report, null, 2));
  } else {
    for (const { file, scenario, result } of checked) {
      const mark = scenarioFails(result) ? 'FAIL' : 'ok  ';
      if (result.verdict === 'coherent') {
        const expected = result.expect ? ` (expected ${result.expect})` : '';
        out(`${mark} ${file}: ${result.name}: coherent${expected}, ${result.statesExplored} states explored`);
      } else {
        out(`${mark} ${file}: ${formatTimeline(result, scenario)}`);
      }
    }
    out(`${checked.length} scenarios, ${failures} failed`);
  }
  return failures > 0 ? EXIT_FAILED : EXIT_OK;
}
