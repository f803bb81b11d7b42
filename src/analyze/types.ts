// What the analysis of one function produces, and what its callers read.
import type { Expr } from '../ir/expr.js';
import type { FunctionIR, LoopInfo } from '../ir/types.js';
import type { CacheEffect, DeferralContract, IssuingCall, PathStep, Rule } from '../types.js';
import type { ChainSite, EvalEnv, PendingItem, ReturnValue } from './state.js';

/** A condition on the function's parameters (as the caller must substitute them). */
export interface Literal {
  atom: Expr;
  value: boolean;
}

/** Maintenance a function leaves pending for its caller, as the caller sees it. */
export interface DeferredItem {
  callee: string;
  effect: CacheEffect;
  /** The steps inside this function (and its callees) that led to it. */
  inner: PathStep[];
  origin: PendingItem['origin'];
  /** It came through a callee whose analysis was cut short (may be infeasible). */
  uncertain?: boolean;
  /** See PendingItem.chain. */
  chain?: ChainSite[];
  /** The parameters the buffer's address is computed from (indices); unset: unknown. */
  addrParams?: number[];
  /** For a sync issued here: the variables holding the buffer (PendingItem.addr and addrRoots). */
  addrSeed?: { addr: string[]; addrRoots: string[] };
}

/** One way a function can return, as its callers see it. */
export interface Outcome {
  /** Conditions on the function's parameters under which it returns this way. */
  lits: Literal[];
  /** Maintenance the caller had pending is still pending afterwards. */
  keepsCaller: boolean;
  /** This way out only exists after an error check (the caller's path inherits that). */
  error: boolean;
  /** The return value on this way out: true, false, negative (an error code such as -EIO, so true too) or 'U' unknown. */
  ret: ReturnValue;
  /** This way out reports failure (error label or error code). */
  failed: boolean;
  /** Maintenance this function leaves pending for its caller. */
  items: DeferredItem[];
}

/** A CPU access the function makes while its caller's maintenance may still be pending. */
export interface AccessClause {
  lits: Literal[];
  /** The parameters (indices) the accessed address is computed from: the caller's buffer must come in through one. */
  params: number[];
  /** Where the access is, through every callee down to the copy. */
  steps: PathStep[];
}

/**
 * A CPU access the function makes while maintenance *it* issued is pending,
 * on paths a parameter of its own decides (`if (flush)`): whether that
 * happens is the callers' choice, so the finding is theirs, at the call that
 * makes the choice (`dma_direct_unmap_phys(..., false)`).
 */
export interface OwnAccess {
  lits: Literal[];
  /** The issuing call and what it does. */
  callee: string;
  effect: CacheEffect;
  origin: PendingItem['origin'];
  /** From the sync to the access. */
  steps: PathStep[];
  chain?: ChainSite[];
}

export interface Summary {
  /** null: the function does nothing the rule cares about (identity). */
  outcomes: Outcome[] | null;
  accesses: AccessClause[];
  ownAccesses: OwnAccess[];
  handoff: boolean;
  handoffWhy: string;
}

export interface RawFinding {
  kind: 'unflushed-return' | 'unflushed-access';
  fn: FunctionIR;
  item: PendingItem;
  at: { node: number; line: number; column: number; what: string; file?: string };
  error: boolean;
  /** The path reports failure to the caller (error label or error code). */
  failed: boolean;
  path: PathStep[];
}

export interface CompletionSite {
  node: number;
  line: number;
  column: number;
  /** Some state reaching it had maintenance issued in this function. */
  sawLocal: boolean;
  /** Some state reaching it carried the caller's pending maintenance. */
  sawCaller: boolean;
  /** Nodes where the local maintenance reaching it was issued. */
  localOrigins: Set<number>;
  /**
   * Evidence that functions are meant to defer to their callers: for each
   * level of the chains it completes, the function and the constant
   * arguments of each call above it up to here
   * (`dma_direct_map_phys|5=0`: called with flush=false by this completer).
   */
  completedVia?: string[];
  /** One path from a sync to this flush (for the cache-model replay). */
  samplePath?: PathStep[];
  /** The loop around the flush, read off the CFG once (see rule.ts siteLoop); null when there is none. */
  loop?: SiteLoop | null;
  /**
   * For a flush in a loop that issues maintenance: would one flush after the
   * loop do (the function analysed again that way finds nothing new)? `why`
   * names what needs the maintenance complete inside the loop.
   */
  batch?: { ok: boolean; why?: string };
  /**
   * Calls that would carry the buffer of a pending invalidation if the flush
   * moved after the loop: their definitions must be read to decide `batch`.
   */
  hoistedCalls?: { callee: string; taintedArgs: number[] }[];
}

/** What the batchable note needs to know about the loop a flush sits in. */
export interface SiteLoop {
  line: number;
  /** Maintenance reaching the flush was issued inside this loop. */
  issuedInside: boolean;
}

export interface CallRecord {
  callee: string;
  targets: FunctionIR[];
  withLocal: boolean;
  /** An invalidation issued here was pending at the call: what the callee reads may be stale. */
  withInvalidation: boolean;
  /** The arguments (indices) that carry the buffer of a pending invalidation into the callee. */
  taintedArgs?: number[];
  withCaller: boolean;
}

/** A way out that keeps the caller's maintenance pending, with its path (for contract checks). */
export interface KeptCallerExit {
  lits: Literal[];
  error: boolean;
  failed: boolean;
  line: number;
  steps: PathStep[];
}

export interface FunctionResult {
  summary: Summary;
  findings: RawFinding[];
  completions: CompletionSite[];
  calls: CallRecord[];
  /** The safety valve (visits or time) stopped the exploration: results are partial. */
  truncated: boolean;
  /** Some node merged states by property (see explore.ts): exact, but correlations may be lost. */
  merged?: boolean;
  syncSites: number;
  /** Why part of the body was not lowered (the CFG's cutShort), recorded so a cached result need not rebuild the CFG. */
  cutShort?: string;
  /** Truncated by the wall-clock budget: depends on the machine's load, so never cached. */
  timedOut?: boolean;
  /** Only with `traceCaller`: normal ways out that keep the caller's maintenance. */
  keptCaller?: KeptCallerExit[];
}

export interface RuleContext {
  rule: Rule;
  issuing: Map<string, IssuingCall>;
  completing: Set<string>;
  cpuAccess: Set<string>;
  contractDefers: Map<string, DeferralContract>;
  errorLabel: RegExp;
  env: EvalEnv;
  /** Exact abstract states per CFG node before states merge by property (explore.ts). */
  exactStates?: number;
}

/** Options for one analysis that is not the plain one. */
export interface AnalysisOptions {
  /** Analyse as if this flush were moved after its loop (the batchable check). */
  hoist?: { flushNode: number; loop: LoopInfo };
  /** Keep the path of ways out that keep the caller's maintenance (contract checks). */
  traceCaller?: boolean;
}
