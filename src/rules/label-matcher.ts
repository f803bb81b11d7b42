// A rule's `errorLabels` pattern, matched under a time budget. Rules are user
// input: a pattern with nested or overlapping quantifiers (`(a+)+$`, `(a|a)*$`)
// can take exponential time on a long goto label and hang the run. Loading
// rejects the obvious shapes (safe-regex2, see load.ts); this catches the rest:
// each distinct label is matched once, in a vm context whose timeout
// interrupts the regular expression engine. The bundled default pattern is
// matched directly: it repeats nothing (no quantifier at all), so a match
// attempt at each position of a label reads a bounded number of characters.
// A vm run with a timeout starts a watchdog thread, ~1 ms each: a cold lint
// of linux-7.2 asked ~40 of them, on its critical path.
import vm from 'node:vm';
import { DEFAULT_ERROR_LABELS } from './schema.js';

/** A label taking longer than this to match is suspect; kernel labels take microseconds. */
const MATCH_BUDGET_MS = 200;
/**
 * A suspect label is matched again with this budget before the pattern is
 * blamed: the budget is wall-clock time, and a loaded machine (two cores
 * shared with a test suite) can stop the process for longer than the first.
 * Catastrophic backtracking takes exponentially longer, so it still shows.
 */
const RETRY_BUDGET_FACTOR = 10;

const TEST = new vm.Script('pattern.test(label)');
/** The default as RegExp#source shows it (the same escapes), to compare with a pattern's. */
const DEFAULT_ERROR_LABELS_SOURCE = new RegExp(DEFAULT_ERROR_LABELS).source;

/**
 * What one pattern (source and budget) answered: every rule with the same
 * pattern (the bundled default), every analysis of a review and every request
 * of a resident process asks the same labels, and each vm run with a timeout
 * starts a watchdog thread. Only answers are kept: a label that exhausted the
 * budget is tried again by the next run (a loaded machine may have been the cause).
 */
interface PatternAnswers {
  context: vm.Context;
  answers: Map<string, boolean>;
}

const answersByPattern = new Map<string, PatternAnswers>();
/** A resident process must not grow without bound (a kernel has a few thousand distinct labels). */
const MAX_PATTERNS = 100;
const MAX_ANSWERS = 100_000;

/**
 * A RegExp whose `test` runs under the budget. A label that exhausts it counts
 * as no error label, every later test answers false at once, and `problem`
 * says which rule file to fix (lint turns it into a usage error).
 */
export class BudgetedPattern extends RegExp {
  problem: string | null = null;
  private readonly known: PatternAnswers;
  /** The bundled default: matched directly (see the top of this file). */
  private readonly direct: boolean;

  constructor(
    source: string,
    private readonly ruleFile: string,
    private readonly budgetMs = MATCH_BUDGET_MS,
  ) {
    super(source);
    this.direct = this.source === DEFAULT_ERROR_LABELS_SOURCE;
    const key = `${budgetMs}\0${source}`;
    let known = answersByPattern.get(key);
    if (!known) {
      if (answersByPattern.size >= MAX_PATTERNS) answersByPattern.clear();
      known = { context: vm.createContext({ pattern: new RegExp(source), label: '' }), answers: new Map() };
      answersByPattern.set(key, known);
    }
    this.known = known;
  }

  override test(label: string): boolean {
    if (this.direct) return super.test(label);
    const known = this.known.answers.get(label);
    if (known !== undefined) return known;
    if (this.problem) return false;
    this.known.context.label = label;
    const answer = this.match(this.budgetMs) ?? this.match(this.budgetMs * RETRY_BUDGET_FACTOR);
    if (answer === undefined) {
      this.problem = `${this.ruleFile}: errorLabels: matching the label '${label.slice(0, 60)}' took over ${this.budgetMs * RETRY_BUDGET_FACTOR} ms (catastrophic backtracking); simplify the pattern (no nested or overlapping repetition)`;
      return false;
    }
    if (this.known.answers.size >= MAX_ANSWERS) this.known.answers.clear();
    this.known.answers.set(label, answer);
    return answer;
  }

  /** The pattern's answer for the context's label, or undefined when it takes longer than `timeout` ms. */
  private match(timeout: number): boolean | undefined {
    try {
      return TEST.runInContext(this.known.context, { timeout }) === true;
    } catch {
      return undefined;
    }
  }
}
