// "Which of these files mention these names?" for a tree snapshot: contents a
// snapshot overlays (another revision, a patch) are searched in memory; files
// whose content key the scan index knows are answered without reading them;
// only the rest is read, by the prefilter's workers, and recorded in the index.
import fs from 'node:fs';
import path from 'node:path';
import type { ScanIndex } from '../cache/store.js';
import type { Diagnostic } from '../types.js';
import { buildWholeWordMatcher, prefilter, type PrefilterOptions } from './prefilter.js';
import type { TreeSource } from './source.js';

export interface ScanResult {
  matched: Map<string, Buffer>;
  diagnostics: Diagnostic[];
  /** Files answered by the index, and files actually read. */
  fromIndex: number;
  read: number;
}

export async function scanSnapshot(
  source: TreeSource,
  files: string[],
  names: string[],
  index: ScanIndex | undefined,
  opts: PrefilterOptions,
): Promise<ScanResult> {
  const matches = buildWholeWordMatcher(names);
  const matched = new Map<string, Buffer>();
  const diagnostics: Diagnostic[] = [];
  const toRead: string[] = [];
  const knownMatches: string[] = [];
  let fromIndex = 0;
  const query = index?.query(names);
  for (const file of files) {
    const content = source.overlay.get(file);
    if (content) {
      if (matches(content)) matched.set(file, content);
      continue;
    }
    const key = source.keys.get(file);
    const known = key === undefined || query === undefined ? undefined : index!.lookup(key, query);
    if (known === undefined) toRead.push(file);
    else {
      fromIndex++;
      if (known) knownMatches.push(file);
    }
  }
  for (const file of knownMatches) {
    try {
      matched.set(file, fs.readFileSync(path.join(source.root, file)));
    } catch (e) {
      diagnostics.push({ file, reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    }
  }
  if (!toRead.length) return { matched, diagnostics, fromIndex, read: 0 };

  // Scanning for the whole vocabulary costs the same single pass and answers
  // the next run's questions about these files too.
  const vocab = index ? [...new Set([...index.vocab, ...names])] : names;
  const scan = await prefilter(source.root, toRead, vocab, { ...opts, contentKeys: !!index });
  diagnostics.push(...scan.diagnostics);
  if (index) {
    const single = new Map(vocab.map((n) => [n, buildWholeWordMatcher([n])]));
    for (const file of toRead) {
      // Recorded under the blob id of the bytes read, not the one git lists:
      // a file git is told not to look at (assume-unchanged) may differ on disk.
      const key = scan.keys.get(file);
      if (key === undefined) continue;
      const content = scan.matched.get(file);
      index.record(key, vocab, content ? vocab.filter((n) => single.get(n)!(content)) : []);
    }
  }
  const wanted = vocab === names ? null : matches;
  for (const [file, content] of scan.matched) if (!wanted || wanted(content)) matched.set(file, content);
  return { matched, diagnostics, fromIndex, read: toRead.length };
}
