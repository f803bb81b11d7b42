// JSON Schema of a rule file: one YAML (or JSON) document holding one `Rule`
// (src/types.ts) without `source`, which the loader fills in. Validation runs
// with ajv `useDefaults`, so the defaults below are written into the parsed
// document and the loader can hand the result straight out as a `Rule`.
//
// Each schema node may carry a `hint`: an annotation-only keyword whose text
// replaces ajv's generic wording ("must match pattern ...") in error messages,
// so a rule author reads what the field should look like instead of a regex.

export const CACHE_EFFECTS = ['clean', 'invalidate', 'clean_invalidate', 'none'] as const;
export const DMA_DIRECTIONS = ['DMA_TO_DEVICE', 'DMA_FROM_DEVICE', 'DMA_BIDIRECTIONAL', 'DMA_NONE'] as const;
import { MODEL_OPS } from '../types.js';
export { MODEL_OPS };
export const CPU_ACCESS_KINDS = ['read', 'write', 'readwrite'] as const;

export const DEFAULT_HANDOFF = { addressTaken: true, exported: true, noCaller: true } as const;
/** Goto labels that kernel code conventionally uses for its error exits. */
/**
 * Labels that only error handling jumps to, kernel style: err_unmap, out_err,
 * iova_fail, out_unlink, free_pages, unwind. A word of the label must say so.
 */
export const DEFAULT_ERROR_LABELS =
  '(^|_)(err|errs|error|errout|fail|failed|failure|bail|unwind|abort|cleanup|undo|unlink|unmap|free|release|destroy|rollback)(_|\\d|$)';

const cIdentifier = {
  type: 'string',
  pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
  hint: 'must be a C identifier (function or macro name)',
} as const;

const argumentIndex = { type: 'integer', minimum: 0, hint: 'must be a 0-based argument index' } as const;

/** `{DMA_TO_DEVICE: x, ..., default: x}`; `default` is required so no direction is left unanswered. */
function perDirection(values: readonly string[]) {
  const value = { enum: values };
  return {
    type: 'object',
    properties: {
      DMA_TO_DEVICE: value,
      DMA_FROM_DEVICE: value,
      DMA_BIDIRECTIONAL: value,
      DMA_NONE: value,
      default: value,
    },
    required: ['default'],
    additionalProperties: false,
  } as const;
}

export const ruleFileSchema = {
  $id: 'https://example.invalid/flushcheck/rule.schema.json',
  title: 'flushcheck rule',
  type: 'object',
  properties: {
    id: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9-]*$',
      hint: 'must be lower-case letters, digits and dashes (e.g. dma-sync-flush)',
    },
    description: { type: 'string', minLength: 1 },
    applies: {
      type: 'object',
      properties: {
        arch: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, uniqueItems: true },
        kconfig: {
          type: 'string',
          pattern: '^(?!CONFIG_)[A-Za-z0-9_]+$',
          hint: 'must be a Kconfig symbol without the CONFIG_ prefix (e.g. ARCH_HAS_BATCHED_DMA_SYNC)',
        },
        definedFunction: cIdentifier,
      },
      additionalProperties: false,
    },
    issue: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        properties: {
          name: cIdentifier,
          directionArg: argumentIndex,
          addressArg: argumentIndex,
          effect: perDirection(CACHE_EFFECTS),
        },
        required: ['name', 'effect'],
        additionalProperties: false,
      },
    },
    complete: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        properties: { name: cIdentifier },
        required: ['name'],
        additionalProperties: false,
      },
    },
    cpuAccess: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        properties: {
          name: cIdentifier,
          addressArg: argumentIndex,
          access: { enum: CPU_ACCESS_KINDS },
        },
        required: ['name', 'access'],
        additionalProperties: false,
      },
    },
    handoff: {
      type: 'object',
      default: DEFAULT_HANDOFF,
      // Each flag defaults on its own too, so `handoff: {exported: false}` keeps the other two.
      properties: {
        addressTaken: { type: 'boolean', default: DEFAULT_HANDOFF.addressTaken },
        exported: { type: 'boolean', default: DEFAULT_HANDOFF.exported },
        noCaller: { type: 'boolean', default: DEFAULT_HANDOFF.noCaller },
      },
      additionalProperties: false,
    },
    contracts: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        properties: {
          defer: cIdentifier,
          complete: cIdentifier,
          description: { type: 'string' },
          checkCallers: { type: 'boolean' },
        },
        required: ['defer', 'complete'],
        additionalProperties: false,
      },
    },
    errorLabels: { type: 'string', minLength: 1, default: DEFAULT_ERROR_LABELS },
    model: {
      type: 'object',
      properties: {
        // Keys are call names; the loader checks that each one is a call the rule names.
        calls: { type: 'object', additionalProperties: perDirection([...MODEL_OPS, 'none']) },
      },
      required: ['calls'],
      additionalProperties: false,
    },
  },
  required: ['id', 'description', 'applies', 'issue', 'complete'],
  additionalProperties: false,
} as const;
