// What a run is about (the arch, the configuration #if is decided from, the
// rules), and the cache of whole snapshot analyses built on it. Kept apart
// from the analysis (lint.ts), which is loaded only when a snapshot's
// analysis is not stored: a pre-commit check whose change no rule reads, or
// whose tree was analysed before, loads none of it.
import fs from 'node:fs';
import path from 'node:path';
import { archSelects, isSelectsEntry, loadKernelConfig, KNOWN_ARCHES, type ConfigEnv } from './discover/kconfig.js';
import type { Snapshot } from './discover/snapshot.js';
import { isStoredSnapshot, type StoredSnapshot } from './discover/record.js';
import { loadRules } from './rules/load.js';
import { packageVersion } from './rules/paths.js';
import { UsageError } from './errors.js';
import { digest, type AnalysisCache } from './cache/store.js';
import type { LintOptions } from './lint.js';
import type { Diagnostic, InactiveRule, LintResult, Rule } from './types.js';

export const VERSION: string = (() => {
  try {
    return packageVersion();
  } catch {
    return '0.0.0';
  }
})();

/**
 * A snapshot's analysis from the cache when the same content was analysed
 * with the same configuration and rules (the base of every `diff --cached`),
 * else analysed and stored. Either way the snapshot holds its record after,
 * for a changed snapshot to start from. The stored result is what the
 * analysis returned, so a recalled one is the same report.
 */
export async function analyzeSnapshot(opts: LintOptions & { source: Snapshot; cache: AnalysisCache }, configured: Configuration = configure(opts)): Promise<{ result: LintResult; rules: Rule[] }> {
  const started = performance.now();
  const names = opts.source.identities.map((identity) => snapshotEntryName(identity, configured, opts));
  // A result not analysed now: this snapshot's, with this run's time.
  const recalled = (result: LintResult) => {
    opts.cache.stats.snapshotHits++;
    opts.source.analysed = result;
    return { result: { ...result, stats: { ...result.stats, ms: Math.round(performance.now() - started) } }, rules: configured.rules };
  };
  for (const name of names) {
    const stored = opts.cache.snapshots.get(name, isStoredSnapshot) as StoredSnapshot | undefined;
    if (!stored) continue;
    opts.source.adopt(stored.record);
    // Stored under its other names too (a tree reached from its parent's with changes is also the tree).
    for (const other of names) if (other !== name && !opts.cache.snapshots.has(other)) opts.cache.snapshots.put(other, stored);
    return recalled(stored.result as LintResult);
  }
  if (opts.source.inherited) {
    // The change touched only files the analysis it starts from never looked at.
    const result = opts.source.inherited as LintResult;
    for (const name of names) opts.cache.snapshots.put(name, { result, record: opts.source.record() } satisfies StoredSnapshot);
    return recalled(result);
  }
  // The tree's listing (from git's index, or ls-tree: see GitTreeBacking.prefetch) comes while the analysis loads.
  opts.source.prefetchListing();
  // analyzeTree adds to the configuration's diagnostics and inactive rules: its own lists.
  const { analyzeTree } = await import('./lint.js');
  const { result, rules } = await analyzeTree(opts, { ...configured, diagnostics: [], inactive: [] });
  opts.cache.stats.snapshotMisses++;
  opts.source.analysed = result;
  const entry: StoredSnapshot = { result, record: opts.source.record() };
  for (const name of names) opts.cache.snapshots.put(name, entry);
  return { result, rules };
}

/**
 * Where the analysis of the snapshot named `identity` is stored: its tree
 * (so `diff` can find a recent tree to start from), then a digest of the
 * identity and of all the analysis depends on besides the files.
 */
export function snapshotEntryName(identity: string, configured: Configuration, opts: LintOptions): string {
  const tree = /^tree:([0-9a-f]+)/.exec(identity)?.[1] ?? 'x';
  const envKey = configured.envKey;
  const rules = JSON.stringify(configured.rules.map((r) => ({ ...r, source: '' })));
  const what = digest(identity, configured.root, configured.arch, envKey, rules, String(opts.maxStates ?? ''), String(opts.fileTimeoutMs ?? ''), VERSION);
  return `${tree}${identity.includes('+') ? '+' : '-'}${what.slice(0, 24)}`;
}

/** What a run is about; `envKey` fingerprints the configuration for cache keys. */
export type Configuration = { root: string; arch: string; env: ConfigEnv; envKey: string; rules: Rule[]; diagnostics: Diagnostic[]; inactive: InactiveRule[] };

/** The arch, the configuration #if is decided from, and the rules: what the run is about. */
export function configure(opts: LintOptions): Configuration {
  const arch = opts.arch ?? 'arm64';
  if (!KNOWN_ARCHES.includes(arch)) throw new UsageError(`unknown --arch '${arch}'; use one of: ${KNOWN_ARCHES.join(', ')}`);
  const root = path.resolve(opts.root);
  let env: ConfigEnv;
  try {
    env = opts.kconfigFile ? loadKernelConfig(opts.kconfigFile, root, arch) : archSelects(root, arch, opts.cache?.files.checked(isSelectsEntry, 'kconfig-selects:'));
  } catch (e) {
    const message = (e as Error).message;
    throw new UsageError(
      opts.kconfigFile
        ? `--kconfig: ${message}${/; (run|pass) /.test(message) ? '' : `; pass the .config of a configured kernel build (make defconfig writes one), or leave --kconfig out to decide #if from arch/${arch}/Kconfig`}`
        : message,
    );
  }
  const rules = loadRules(opts.rulesDirs ?? [], opts.cache?.files);
  const envKey = configFingerprint(env, opts.kconfigFile ?? path.join(root, 'arch', arch, 'Kconfig'));
  return { root, arch, env, envKey, rules, diagnostics: [], inactive: [] };
}

/** What the configuration decides, for cache keys: the arch, where #if answers come from, and that file's text. */
function configFingerprint(env: ConfigEnv, file: string): string {
  let text = '';
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch {
    // No file: the origin and note say so.
  }
  return digest(env.arch, env.origin, env.note ?? '', env.inputs ?? '', text);
}

