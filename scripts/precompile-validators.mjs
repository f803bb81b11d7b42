// Build step (after tsc, before the bundle: see build.mjs): the JSON Schema validators the
// cache and the rule loader check their input with, compiled ahead of time
// with ajv's standalone code generation into dist/validators/<key>.cjs.
// Compiling them at run time costs ~0.3 s of a run (ajv's code generation);
// a warm pre-commit check cannot afford it. src/cache/schema-check.ts finds
// a validator by the digest of its schema and options, so one compiled from
// another schema is never used (it compiles at run time then, as under vitest).
// The bundled rule files are parsed here too (dist/rules/bundled.json). The
// CLI's bundle, made after this step, carries the validators (bundle.mjs).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Ajv } = require('ajv');
const standaloneCode = require('ajv/dist/standalone').default;
const dist = new URL('../dist/', import.meta.url);
const { precompiledKey, STORED_ENTRY_OPTIONS } = await import(new URL('cache/schema-check.js', dist));
const { storedResultSchema } = await import(new URL('analyze/memo.js', dist));
const { storedFileSchema, storedCfgSchema } = await import(new URL('ir/stored.js', dist));
const { ruleFileSchema } = await import(new URL('rules/schema.js', dist));
const { storedSnapshotSchema } = await import(new URL('discover/record.js', dist));
const { selectsEntrySchema } = await import(new URL('discover/kconfig.js', dist));
const { storedReplaySchema } = await import(new URL('model/replay.js', dist));
const { RULE_VALIDATOR_OPTIONS, RULE_VOCABULARY, bundledRulesDir, parseRuleFile, ruleFilesIn, ruleTextKey } = await import(new URL('rules/load.js', dist));

const out = new URL('validators/', dist);
mkdirSync(out, { recursive: true });
const jobs = [
  [storedResultSchema, STORED_ENTRY_OPTIONS, []],
  [storedFileSchema, STORED_ENTRY_OPTIONS, []],
  [storedCfgSchema, STORED_ENTRY_OPTIONS, []],
  [storedSnapshotSchema, STORED_ENTRY_OPTIONS, []],
  [selectsEntrySchema, STORED_ENTRY_OPTIONS, []],
  [storedReplaySchema, STORED_ENTRY_OPTIONS, []],
  [ruleFileSchema, RULE_VALIDATOR_OPTIONS, RULE_VOCABULARY],
];
for (const [schema, options, vocabulary] of jobs) {
  const ajv = new Ajv({ ...options, code: { source: true } });
  if (vocabulary.length) ajv.addVocabulary(vocabulary);
  const validate = ajv.compile(schema);
  writeFileSync(new URL(`${precompiledKey(schema, options)}.cjs`, out), standaloneCode(ajv, validate));
}

// The bundled rules, parsed and validated now: a run reads them by the digest
// of their text (src/rules/load.ts) and never loads the YAML parser for them.
// The files are the ones the loader lists (same extensions, same folder).
const bundled = {};
for (const file of ruleFilesIn(bundledRulesDir())) {
  const text = readFileSync(file, 'utf8');
  const { source: _source, ...rule } = parseRuleFile(`rules/${basename(file)}`, text);
  bundled[ruleTextKey(text)] = rule;
}
writeFileSync(new URL('rules/bundled.json', dist), JSON.stringify(bundled));

