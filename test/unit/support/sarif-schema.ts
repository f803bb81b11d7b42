// Validates SARIF produced by the tests against the SARIF 2.1.0 JSON schema
// (the OASIS schema as @microsoft/jest-sarif ships it; draft-04, hence
// ajv-draft-04). Formats are not checked: ajv has no `uri` format without
// ajv-formats, and the structure is what viewers and code scanning rely on.
import { createRequire } from 'node:module';
import type { ErrorObject } from 'ajv';

const require = createRequire(import.meta.url);
const Ajv = require('ajv-draft-04') as typeof import('ajv-draft-04').default;
const schema = require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as object;
// unicodeRegExp off: the schema's language pattern is not a valid regex under the u flag.
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false });
const validate = ajv.compile(schema);

/** The schema's complaints about a SARIF text, one line each; empty when valid. */
export function sarifSchemaErrors(text: string): string[] {
  const log: unknown = JSON.parse(text);
  if (validate(log)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
