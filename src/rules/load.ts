// Loads rule files: the bundled rules/ folder plus any user `--rules` folders.
// A rule file is one YAML document (JSON is accepted: it is a YAML subset, and
// the YAML parser gives line numbers and rejects duplicate keys) validated
// against src/rules/schema.ts, then checked for what a schema cannot express.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';
import { precompiledValidator } from '../cache/schema-check.js';
import type { Rule } from '../types.js';
import { bundledRulesDir } from './paths.js';
import { ruleFileSchema } from './schema.js';

export { bundledRulesDir } from './paths.js';

const RULE_FILE_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

// The YAML parser and the schema compiler cost ~100 ms to load and run; a run
// that finds every rule file unchanged in its cache never needs them.
const lazyRequire = createRequire(import.meta.url);
const parseAllDocuments = (text: string): ReturnType<typeof import('yaml').parseAllDocuments> => (lazyRequire('yaml') as typeof import('yaml')).parseAllDocuments(text);

/** Rules already validated, by file name and text (the analysis cache provides one). */
export interface RuleMemo {
  /** The value stored under `key`, if it passes `isValid` (a failing one is dropped). */
  get(key: string, isValid?: (value: unknown) => boolean): unknown;
  put(key: string, value: unknown): void;
}

/** A rule file (or rules folder) is unusable. Each problem names the file and, where there is one, the field. */
export class RuleError extends Error {
  override name = 'RuleError';
  readonly problems: string[];

  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

/** Loads the bundled rules, then every rule file in `dirs` (a file path is accepted too). */
export function loadRules(dirs: string[], memo?: RuleMemo): Rule[] {
  // A folder named twice (or `--rules` pointing at the bundled folder) is read once.
  const files = unique([bundledRulesDir(), ...dirs.map((dir) => resolve(dir))].flatMap(ruleFilesIn));
  const rules = files.map((file) => {
    const source = displayPath(file);
    const text = readRuleFile(file);
    const built = builtRule(text);
    if (built) return { ...built, source };
    if (!memo) return parseRuleFile(source, text);
    const key = `rule:${createHash('sha1').update(source).update('\0').update(text).digest('hex')}`;
    const known = memo.get(key, (value) => isRuleFrom(value, source)) as Rule | undefined;
    if (known) return known;
    const rule = parseRuleFile(source, text);
    memo.put(key, rule);
    return rule;
  });
  rejectDuplicateIds(rules);
  return rules;
}

let builtRules: Map<string, Omit<Rule, 'source'>> | undefined;

/**
 * The bundled rules as the build parsed and validated them
 * (scripts/precompile-validators.mjs writes dist/rules/bundled.json), found by
 * the digest of the file's text: a rule file edited since is parsed again.
 * Saves loading the YAML parser on every run.
 */
function builtRule(text: string): Omit<Rule, 'source'> | undefined {
  if (!builtRules) {
    builtRules = new Map();
    try {
      // From dist/<folder>/, as in the CLI's bundle (dist/cli/bundle.cjs), not from this module's own folder.
      const parsed = lazyRequire('../rules/bundled.json') as Record<string, Omit<Rule, 'source'>>;
      for (const [key, rule] of Object.entries(parsed)) builtRules.set(key, rule);
    } catch {
      // Run from src/ (tests): every rule is parsed.
    }
  }
  const rule = builtRules.get(ruleTextKey(text));
  return rule ? structuredClone(rule) : undefined;
}

/** What bundled.json keys a rule by. */
export function ruleTextKey(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * Parses and validates one rule file's text. `source` is the name used in
 * messages and stored in `Rule.source`.
 */
export function parseRuleFile(source: string, text: string): Rule {
  const document = parseSingleDocument(source, text);
  const validate = ruleValidator();
  if (!validate(document)) {
    throw new RuleError(unique((validate.errors ?? []).map((error) => `${source}: ${describeSchemaError(error)}`)));
  }
  const rule: Rule = { ...(document as Omit<Rule, 'source'>), source };
  const problems = semanticProblems(rule).map((problem) => `${source}: ${problem}`);
  if (problems.length > 0) throw new RuleError(problems);
  return rule;
}

/** A rule read back from the cache: it came from `source` and still fits the rule schema. */
function isRuleFrom(value: unknown, source: string): boolean {
  if (!value || typeof value !== 'object' || (value as Rule).source !== source) return false;
  const { source: _source, ...rule } = value as Rule;
  // The validator fills in defaults: check a copy.
  return ruleValidator()(structuredClone(rule)) === true;
}

/** The rule files of a rules folder (sorted), or the one rule file named; the build lists the bundled ones with it too. */
export function ruleFilesIn(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new RuleError([`${displayPath(path)}: rules folder not found; pass --rules a folder (or file) of rule .yaml files`]);
  }
  if (stat.isFile()) {
    if (!RULE_FILE_EXTENSIONS.has(extname(path).toLowerCase())) {
      throw new RuleError([`${displayPath(path)}: not a rule file (rule files end in .yaml, .yml or .json); pass --rules a folder of rule files or one such file`]);
    }
    return [path];
  }
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (error) {
    throw new RuleError([`${displayPath(path)}: cannot read rules folder (${(error as Error).message}); pass --rules a readable folder`]);
  }
  return names
    .filter((name) => RULE_FILE_EXTENSIONS.has(extname(name).toLowerCase()))
    .sort()
    .map((name) => join(path, name))
    .filter((file) => {
      try {
        return statSync(file).isFile();
      } catch (error) {
        // A broken symlink, or a file removed meanwhile.
        throw new RuleError([`${displayPath(file)}: cannot read rule file (${(error as Error).message}); fix or remove it`]);
      }
    });
}

function readRuleFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new RuleError([`${displayPath(file)}: cannot read rule file (${(error as Error).message}); make it readable or remove it from the rules folder`]);
  }
}

/** Relative to the working directory when inside it, so messages read `rules/x.yaml`. */
function displayPath(file: string): string {
  const fromCwd = relative(process.cwd(), file);
  return fromCwd !== '' && !fromCwd.startsWith('..') && !isAbsolute(fromCwd) ? fromCwd : file;
}

function parseSingleDocument(source: string, text: string): unknown {
  const documents = parseAllDocuments(text);
  // parseAllDocuments returns an EmptyStream (not an array) for empty input.
  if (!Array.isArray(documents) || documents.length === 0) {
    throw new RuleError([`${source}: empty rule file; expected one YAML document holding one rule`]);
  }
  const syntaxErrors = documents.flatMap((document) => document.errors);
  if (syntaxErrors.length > 0) {
    // One line: a file that is not YAML at all has an error on every line.
    const [error] = syntaxErrors;
    const position = error.linePos?.[0];
    const where = position ? `${source}:${position.line}:${position.col}` : source;
    // yaml appends " at line N, column M:" and a source excerpt; the position is already in front.
    const reason = error.message.split(' at line ')[0].replace(/\s+/g, ' ');
    const more = syntaxErrors.length > 1 ? ` (and ${syntaxErrors.length - 1} more; is it a YAML rule file?)` : '';
    throw new RuleError([`${where}: YAML syntax error: ${reason.length > 120 ? `${reason.slice(0, 119)}…` : reason}${more}`]);
  }
  if (documents.length > 1) {
    throw new RuleError([
      `${source}: holds ${documents.length} YAML documents; put each rule in its own file`,
    ]);
  }
  try {
    // maxAliasCount (yaml's default, 100) stops a billion-laughs document.
    return documents[0].toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new RuleError([`${source}: cannot expand the YAML (${(error as Error).message}); write the rule without anchors and aliases`]);
  }
}

let compiledValidator: ValidateFunction | undefined;

/** verbose: errors carry their schema node, which holds the `hint` and the allowed field names. */
export const RULE_VALIDATOR_OPTIONS: Options = { allErrors: true, useDefaults: true, verbose: true, strict: true };
/** Keywords of ours in the rule schema (annotations for messages). */
export const RULE_VOCABULARY = ['hint'];

/** The rule schema's validator: the one the build compiled (scripts/precompile-validators.mjs), else compiled now. */
function ruleValidator(): ValidateFunction {
  if (compiledValidator) return compiledValidator;
  compiledValidator = precompiledValidator(ruleFileSchema, RULE_VALIDATOR_OPTIONS);
  if (compiledValidator) return compiledValidator;
  const { Ajv } = lazyRequire('ajv') as typeof import('ajv');
  const ajv = new Ajv(RULE_VALIDATOR_OPTIONS);
  ajv.addVocabulary(RULE_VOCABULARY);
  compiledValidator = ajv.compile(ruleFileSchema);
  return compiledValidator;
}

const TYPE_WORDING: Record<string, string> = {
  array: 'a list',
  object: 'a mapping',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
};

function describeSchemaError(error: ErrorObject): string {
  const path = pointerToSegments(error.instancePath);
  const parentSchema = (error.parentSchema ?? {}) as { hint?: string; properties?: Record<string, unknown> };
  const params = error.params as Record<string, unknown>;
  let message: string;
  switch (error.keyword) {
    case 'required':
      path.push(String(params.missingProperty));
      message = 'is required';
      break;
    case 'additionalProperties': {
      path.push(String(params.additionalProperty));
      const allowed = Object.keys(parentSchema.properties ?? {});
      message = allowed.length > 0 ? `unknown field; expected one of ${allowed.join(', ')}` : 'unknown field';
      break;
    }
    case 'enum':
      message = `must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
      break;
    case 'type':
      message = `must be ${TYPE_WORDING[String(params.type)] ?? String(params.type)}`;
      break;
    case 'minItems':
    case 'minLength':
      message = params.limit === 1 ? 'must not be empty' : (error.message ?? 'is too short');
      break;
    default:
      message = parentSchema.hint ?? error.message ?? `fails ${error.keyword}`;
  }
  const field = formatFieldPath(path);
  return field === '' ? message : `${field}: ${message}`;
}

/** `/issue/0/effect` -> ['issue', 0, 'effect'] (JSON Pointer, RFC 6901). */
function pointerToSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

/** ['issue', 0, 'effect'] -> `issue[0].effect`. */
function formatFieldPath(segments: (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** Checks the schema cannot express; each problem is `field: message`. */
function semanticProblems(rule: Rule): string[] {
  const problems: string[] = [];

  try {
    new RegExp(rule.errorLabels);
    const safeRegex = lazyRequire('safe-regex2') as (re: string) => boolean;
    if (!safeRegex(rule.errorLabels)) {
      problems.push('errorLabels: the pattern can take exponential time (nested repetition such as (a+)+); simplify it');
    }
  } catch (error) {
    problems.push(`errorLabels: not a valid regular expression (${(error as Error).message})`);
  }

  // A call may play one part only: issuing and completing at once would make the rule vacuous.
  const firstUse = new Map<string, string>();
  const claim = (name: string, field: string) => {
    const earlier = firstUse.get(name);
    if (earlier !== undefined) problems.push(`${field}.name: ${name} is already listed at ${earlier}`);
    else firstUse.set(name, field);
  };
  rule.issue.forEach((call, i) => claim(call.name, `issue[${i}]`));
  rule.complete.forEach((call, i) => claim(call.name, `complete[${i}]`));

  rule.issue.forEach((call, i) => {
    const listsDirections = Object.keys(call.effect).some((key) => key !== 'default');
    if (listsDirections && call.directionArg === undefined) {
      problems.push(`issue[${i}].directionArg: is required when effect lists per-direction entries`);
    }
  });

  rule.contracts.forEach((contract, i) => {
    if (contract.defer === contract.complete) {
      problems.push(`contracts[${i}].complete: must differ from defer (${contract.defer})`);
    }
  });

  if (rule.model) {
    const namedCalls = new Set([
      ...rule.issue.map((call) => call.name),
      ...rule.complete.map((call) => call.name),
      ...rule.cpuAccess.map((call) => call.name),
      ...rule.contracts.flatMap((contract) => [contract.defer, contract.complete]),
    ]);
    for (const name of Object.keys(rule.model.calls)) {
      if (!namedCalls.has(name)) {
        problems.push(`model.calls.${name}: not a call of this rule (list it under issue, complete, cpuAccess or contracts)`);
      }
    }
  }
  return problems;
}

function rejectDuplicateIds(rules: Rule[]): void {
  const byId = new Map<string, Rule>();
  const problems: string[] = [];
  for (const rule of rules) {
    const first = byId.get(rule.id);
    if (first) problems.push(`duplicate rule id ${rule.id}: defined in ${first.source} and ${rule.source}`);
    else byId.set(rule.id, rule);
  }
  if (problems.length > 0) throw new RuleError(problems);
}

function unique(lines: string[]): string[] {
  return [...new Set(lines)];
}
