// Checks for entries read back from the cache: every entry must fit the JSON
// Schema of what was stored (the schema sits beside the stored type), or it is
// dropped. The build compiles each validator ahead of time
// (scripts/precompile-validators.mjs writes dist/validators/<key>.cjs): ajv's
// code generation costs more than a warm run's whole analysis. A validator is
// found by the digest of its schema and options, so one generated from another
// version of a schema is never used; without one (tests run from src/), the
// schema is compiled on first use, and a run that reads no cache never loads ajv.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, Options, SchemaObject, ValidateFunction } from 'ajv';

const lazyRequire = createRequire(import.meta.url);
let ajv: AjvClass | undefined;

/** How the cache's entries are checked: the first error is enough to drop one. */
export const STORED_ENTRY_OPTIONS: Options = { strict: true, allErrors: false };

/** The name of the validator the build generates for a schema and options (dist/validators/<key>.cjs). */
export function precompiledKey(schema: SchemaObject, options: Options): string {
  return createHash('sha1').update(JSON.stringify({ options, schema })).digest('hex').slice(0, 20);
}

/**
 * Validators the CLI's bundle carries, by key (scripts/bundle.mjs registers
 * them): compiled with the rest of the bundle from V8's code cache, where
 * each loaded from its own file was compiled anew on every run (~5 ms of a
 * warm diff).
 */
const bundledValidators = new Map<string, unknown>();

export function registerPrecompiledValidators(validators: Record<string, unknown>): void {
  for (const [key, loaded] of Object.entries(validators)) bundledValidators.set(key, loaded);
}

/** The build's validator for this schema and options, or undefined when there is none (or it is damaged). */
export function precompiledValidator(schema: SchemaObject, options: Options): ValidateFunction | undefined {
  try {
    const key = precompiledKey(schema, options);
    const loaded = (bundledValidators.get(key) ?? lazyRequire(`../validators/${key}.cjs`)) as { default?: ValidateFunction } | ValidateFunction;
    const validate = typeof loaded === 'function' ? loaded : loaded.default;
    return typeof validate === 'function' ? validate : undefined;
  } catch {
    return undefined;
  }
}

/** `value` fits `schema`, which describes a T (the type beside the schema). */
export function schemaCheck<T = unknown>(schema: SchemaObject): (value: unknown) => value is T {
  let validate: ValidateFunction | undefined;
  return (value): value is T => {
    if (!validate) {
      validate = precompiledValidator(schema, STORED_ENTRY_OPTIONS);
      if (!validate) {
        const { Ajv } = lazyRequire('ajv') as typeof import('ajv');
        ajv ??= new Ajv(STORED_ENTRY_OPTIONS);
        validate = ajv.compile(schema);
      }
    }
    return validate(value) === true;
  };
}

/** Schema building blocks shared by the stored types. */
export const int = { type: 'integer' } as const;
export const str = { type: 'string' } as const;
export const bool = { type: 'boolean' } as const;
export const strings = { type: 'array', items: str } as const;

/** An object with exactly these required properties (and these optional ones). */
export function record(required: Record<string, SchemaObject>, optional: Record<string, SchemaObject> = {}): SchemaObject {
  return { type: 'object', properties: { ...required, ...optional }, required: Object.keys(required), additionalProperties: false };
}

/**
 * An object with these properties typed, and others allowed: for shapes that
 * grow with the analysis (a new optional field must not make every stored
 * result unreadable); the digest each entry carries covers their content.
 */
export function open(required: Record<string, SchemaObject>, optional: Record<string, SchemaObject> = {}): SchemaObject {
  return { type: 'object', properties: { ...required, ...optional }, required: Object.keys(required) };
}

export function list(items: SchemaObject): SchemaObject {
  return { type: 'array', items };
}
