// What `flushcheck review` produces, consumed by the report formats
// (text, markdown, json, --reply emails).
import type { Finding, InactiveRule } from '../types.js';
import type { Patch, Series } from '../patch/types.js';

/** One patch of the series and what it did to the findings. */
export interface PatchReview {
  /** 1-based position in the series as applied (not the [M/N] number, which may be missing). */
  index: number;
  /** `M/N` as the subject numbers it, or `index/count` when the subject has no number. */
  label: string;
  subject: string;
  applied: boolean;
  /** git's reason when the patch did not apply, or why it was refused (path escaping the tree). */
  error?: string;
  /** Why the patch was not tried (binary, oversize, earlier failure without --keep-going). */
  skipped?: string;
  /** Findings present after this patch and not before (matched by rule + function + sync). */
  introduced: Finding[];
  /** Findings present before this patch and not after. */
  fixed: Finding[];
  /** The parsed patch (hunks, Message-ID) for quoting in replies; not serialized to JSON. */
  patch: Patch;
  /** The files as this patch left them (null: deleted), for excerpts in replies; not serialized. */
  files?: Map<string, Buffer | null>;
}

/** A finding introduced by one patch and fixed by a later one: the series is not bisectable. */
export interface BisectBreak {
  finding: Finding;
  introducedBy: number;
  fixedBy: number;
  /** e.g. "4/8 leaves dma_direct_sync_sg_for_device unflushed until 6/8" */
  text: string;
}

export interface ReviewResult {
  tool: 'flushcheck';
  version: string;
  /** The tree the series was applied to and the base it was applied on (commit id, or 'working tree copy'). */
  tree: string;
  base: string;
  arch: string;
  /** The --kconfig file, if one was given (else #if CONFIG_* follows the arch's defaults). */
  kconfig?: string;
  series: Series;
  patches: PatchReview[];
  /**
   * True when no finding is introduced by one patch and fixed by a later one;
   * null when some patch was not applied (no verdict on patches never tried).
   */
  bisectable: boolean | null;
  breaks: BisectBreak[];
  /** Every finding in the tree after the last applied patch, as `lint` reports them. */
  findings: Finding[];
  /** The findings of the tree before the series (what SARIF compares with). */
  baseFindings: Finding[];
  /** Files the applied patches renamed, first name to last (findings keep their identity across a rename). */
  renamed?: Map<string, string>;
  /** `batchable` notes in functions the series touches: flushes the series could still hoist. */
  batchable: Finding[];
  /** Rules that did not run on this tree (as lint reports them): a series cannot be judged by them. */
  inactiveRules: InactiveRule[];
  /** The rules' completing calls (arch_sync_dma_flush, ...): what a reply looks for in removed lines. */
  completingCalls?: string[];
  /** How many rules ran: 0 means nothing was judged. */
  activeRules: number;
  /** What the reader should know about how the review was done (the base chosen and why). */
  notes: string[];
  /** A file of the base the series applies on (null: absent), for excerpts in replies; not serialized. */
  baseFile?: (rel: string) => Buffer | null;
  ms: number;
}
