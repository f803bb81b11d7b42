// Shared contracts between the pipeline stages. Each stage folder has its own
// internal types; only what crosses a stage boundary lives here.

// ---------------------------------------------------------------- rules ----

/** What a maintenance operation does to the cache on the rule's architecture. */
export type CacheEffect = 'clean' | 'invalidate' | 'clean_invalidate' | 'none';

export type DmaDirection = 'DMA_TO_DEVICE' | 'DMA_FROM_DEVICE' | 'DMA_BIDIRECTIONAL' | 'DMA_NONE';

/** A call that issues cache maintenance without waiting for it (e.g. `dc` without `dsb`). */
export interface IssuingCall {
  name: string;
  /** 0-based index of the `enum dma_data_direction` argument, if any. */
  directionArg?: number;
  /** 0-based index of the address argument (for buffer matching / reports). */
  addressArg?: number;
  /** Effect per direction; `default` applies when the direction is unknown or not listed. */
  effect: Partial<Record<DmaDirection | 'default', CacheEffect>>;
}

/** A call that completes all maintenance issued before it (e.g. `dsb sy`). */
export interface CompletingCall {
  name: string;
}

/** A CPU access that must not happen while an invalidation of its buffer is pending. */
export interface CpuAccessCall {
  name: string;
  addressArg?: number;
  access: 'read' | 'write' | 'readwrite';
}

/**
 * An exported function allowed to return with maintenance pending because its
 * partner completes it (dma_iova_link -> dma_iova_sync). Callers inherit the
 * obligation at `defer` calls; `complete` calls discharge it.
 */
export interface DeferralContract {
  defer: string;
  complete: string;
  description?: string;
  /**
   * Whether this rule checks the callers of `defer` (default true). False when
   * another rule already judges those callers (arm64's dcache_*_nosync rule lets
   * arch_sync_dma_for_* return pending; dma-sync-flush checks their callers), so
   * one bug is not reported twice.
   */
  checkCallers?: boolean;
}

export interface HandoffPolicy {
  /** Function whose address is taken (ops tables, callbacks) hands the buffer over on return. */
  addressTaken: boolean;
  /** EXPORT_SYMBOL*'d function hands over on return (unless a contract covers it). */
  exported: boolean;
  /** A function with no caller among the functions analysed hands over on return. */
  noCaller: boolean;
}

export interface RuleApplicability {
  /** Architectures on which the rule is meaningful (maintenance is asynchronous). */
  arch?: string[];
  /** Kconfig symbol that must not be known-disabled for the rule to apply. */
  kconfig?: string;
  /** The rule is inactive when the tree defines no function/macro of this name. */
  definedFunction?: string;
}

/** Mapping of rule calls to cache-model operations (used by src/model replay). */
export interface ModelMapping {
  /** call name -> per-direction op; `dsb` for completion. */
  calls: Record<string, Partial<Record<DmaDirection | 'default', ModelOp | 'none'>>>;
}

/** Operations of the cache model; rule `model` sections and litmus files name them. */
export const MODEL_OPS = ['cpu_write', 'cpu_read', 'device_write', 'device_read', 'clean', 'invalidate', 'clean_invalidate', 'dsb'] as const;

export type ModelOp = (typeof MODEL_OPS)[number];

export interface Rule {
  id: string;
  description: string;
  applies: RuleApplicability;
  issue: IssuingCall[];
  complete: CompletingCall[];
  cpuAccess: CpuAccessCall[];
  handoff: HandoffPolicy;
  contracts: DeferralContract[];
  /** Regex (source) for goto labels that mark error paths. */
  errorLabels: string;
  model?: ModelMapping;
  /** File the rule was loaded from (for messages). */
  source: string;
}

// ------------------------------------------------------------- findings ----

export type Severity = 'error' | 'warning' | 'note';

export type FindingKind =
  | 'unflushed-return' // pending maintenance reaches the return of a hand-off function
  | 'unflushed-access' // pending invalidation reaches a CPU access to the buffer
  | 'broken-contract' // a function a rule declares as completing (or deferring) does not behave so
  | 'batchable' // per-entry flush inside a loop that could be hoisted
  | 'redundant-flush' // flush with nothing pending on every path
  | 'model-coherent' // static finding the cache model proved harmless (issue 3)
  | 'not-judged'; // a function or sync site the analysis could not decide: a visible gap, never silent

export interface PathStep {
  file: string;
  line: number;
  /** 1-based column of the call or statement, where the IR has one (text notes print 1 without it). */
  column?: number;
  event: string;
  /** What the step does on the cache model (internal: drives the replay, not serialized). */
  op?: ModelOp;
}

export interface ModelVerdict {
  verdict: 'coherent' | 'incoherent' | 'unknown';
  witness: unknown[];
  reason?: string;
  /** Readable timeline of the witness (text output only). */
  timeline?: string;
}

/** A place that explains a finding without being where to change the code (SARIF relatedLocations, gcc `note:` lines). */
export interface RelatedLocation {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface Finding {
  ruleId: string;
  kind: FindingKind;
  severity: Severity;
  /** Path relative to the scanned root, '/' separated. */
  file: string;
  line: number;
  column: number;
  function: string;
  message: string;
  path: PathStep[];
  /** Other places the reader needs: the hand-off function's return, the exported entry point, the access. */
  related?: RelatedLocation[];
  /**
   * What the finding is about, with no line and no static function's name:
   * the rule, the file to fix, the issuing call, and the way the buffer
   * changes hands (the exported or address-taken function that returns it,
   * or the CPU access that reads it). Renaming a helper, moving or
   * reformatting code keeps it; diff, review and SARIF fingerprints match on
   * it (with the kind and severity, and an ordinal among equals).
   */
  identity?: string;
  /** The issuing call this finding concerns (stable key for diffs). */
  sync?: { callee: string; function: string; file: string; line: number };
  /** The path reports failure to the caller (internal: decides the model's hand-off). */
  failedPath?: boolean;
  model?: ModelVerdict;
}

export interface Diagnostic {
  file: string;
  reason: string;
}

export interface InactiveRule {
  ruleId: string;
  reason: string;
}

export interface ModelStats {
  /** Code paths replayed on the cache model (findings and flushed sync paths). */
  pathsReplayed: number;
  coherent: number;
  incoherent: number;
}

export interface LintStats {
  /** Source files seen by discovery. */
  files: number;
  /** Of those, files that could not be read (each also a diagnostic). */
  unreadable?: number;
  /** Files parsed with tree-sitter (the prefilter kept them). */
  parsed: number;
  /** Files that name a rule function but were not parsed (over the parse limits, see parse/budget.ts): their sync sites are not judged. */
  notParsed?: number;
  /** Function definitions analysed. */
  functions: number;
  /** Issuing call sites analysed. */
  syncSites: number;
  /** Of those, sites (or the functions holding them) the analysis could not decide: each is also a `not-judged` finding. */
  syncSitesNotJudged?: number;
  ms: number;
  model?: ModelStats;
  diagnostics: Diagnostic[];
  /** Set when the report covers part of the tree (lint PATH...): `files` above were read as context. */
  scope?: ScopeStats;
}

/** What the part of the tree a report covers holds; the rest of the tree was analysed as context. */
export interface ScopeStats {
  /** The paths (or globs) the report covers, as given. */
  paths: string[];
  /** Root-relative globs left out of the report (--exclude). */
  exclude: string[];
  /** Source files under the paths. */
  files: number;
  /** Functions under the paths the rules judged (they issue, defer or complete maintenance, or call what does). */
  functions: number;
  /** Issuing call sites in those functions. */
  syncSites: number;
  /** Findings elsewhere in the tree, left out of the report. */
  findingsOutside: number;
  /** Of `diagnostics`, those about files under the paths. */
  diagnostics: number;
}

export interface LintResult {
  tool: 'flushcheck';
  version: string;
  root: string;
  arch: string;
  findings: Finding[];
  inactiveRules: InactiveRule[];
  stats: LintStats;
}
