// How much source one run parses. Parsing is the expensive stage (tree-sitter
// and lowering cost about a second per MB and a lot of memory), and a tree
// chooses what it holds: four near-8 MB files that merely name a sync once
// took 84 s and 5 GB. The DMA code of a kernel sits in files of tens of KB
// (the largest parsed on Linux 7.2 is 64 KB, all 20 together 489 KB; four 1 MB files of dense code take ~13 s and ~540 MB), so generous bounds cost nothing
// there. A file over them is not parsed; the run says so (a diagnostic, and
// the summary's count), since its sync sites go unjudged.

/** Largest file parsed. */
export const MAX_PARSE_BYTES = 1024 * 1024;
/** Above this size, a file that is mostly data (tables of numbers) is not parsed: it holds no DMA code worth its cost. */
export const MAX_DATA_FILE_BYTES = 256 * 1024;
/** All files parsed in one run, together. */
export const MAX_RUN_PARSE_BYTES = 4 * 1024 * 1024;

export class ParseBudget {
  private used = 0;
  /** Files refused, for the summary. */
  refused = 0;

  constructor(
    private readonly perFile = MAX_PARSE_BYTES,
    private readonly perRun = MAX_RUN_PARSE_BYTES,
    private readonly dataFile = MAX_DATA_FILE_BYTES,
  ) {}

  /** Why `content` is not parsed, or null (and its bytes are counted). */
  admit(content: Buffer): string | null {
    const size = content.length;
    let reason: string | null = null;
    if (size > this.perFile) reason = `${size} bytes, over the ${this.perFile}-byte parse limit; not analysed`;
    else if (size > this.dataFile && isMostlyData(content)) reason = `${size} bytes of mostly data (numbers and commas), over the ${this.dataFile}-byte limit for such files; not analysed`;
    else if (this.used + size > this.perRun) reason = `${size} bytes would take this run over its ${this.perRun}-byte parse budget; not analysed`;
    if (reason) {
      this.refused++;
      return reason;
    }
    this.used += size;
    return null;
  }
}

/** In a 64 KB sample from the middle of the file, numbers and commas make up more than 60% of what is not white space. */
export function isMostlyData(content: Buffer): boolean {
  const from = Math.max(0, Math.floor(content.length / 2) - 32 * 1024);
  const sample = content.subarray(from, from + 64 * 1024).toString('latin1');
  let numeric = 0;
  for (const m of sample.matchAll(/\b(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b|,/g)) numeric += m[0].length;
  const solid = sample.replace(/\s+/g, '').length;
  return solid > 0 && numeric > solid * 0.6;
}
