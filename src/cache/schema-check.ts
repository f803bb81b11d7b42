// Checks for entries read back from the cache: every entry must fit the JSON
// Schema of what was stored (the schema sits beside the stored type), or it is
// dropped. Compiled on first use, so a run that reads no cache never loads ajv.
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, SchemaObject, ValidateFunction } from 'ajv';

const lazyRequire = createRequire(import.meta.url);
let ajv: AjvClass | undefined;

/** `value` fits `schema`. */
export function schemaCheck(schema: SchemaObject): (value: unknown) => boolean {
  let validate: ValidateFunction | undefined;
  return (value) => {
    if (!validate) {
      const { Ajv } = lazyRequire('ajv') as typeof import('ajv');
      ajv ??= new Ajv({ strict: true, allErrors: false });
      validate = ajv.compile(schema);
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
