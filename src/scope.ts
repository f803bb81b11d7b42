// The findings a report covers when the user named part of the tree
// (`lint drivers/iommu` in a kernel tree): the whole tree was analysed, the
// report keeps what lies under the paths and says how much that was.
import type { RuleRun } from './analyze/rule.js';
import { scopeFilter, type ReportScope } from './discover/scope.js';
import type { FunctionIR } from './ir/types.js';
import type { Diagnostic, Finding, ScopeStats } from './types.js';

/**
 * The findings under the scope, and what the scope holds: files, judged
 * functions, sync sites, and how many findings and diagnostics lie elsewhere.
 */
export function restrictToScope(
  scope: ReportScope,
  findings: Finding[],
  runs: Iterable<RuleRun>,
  files: readonly string[],
  diagnostics: Diagnostic[],
): { findings: Finding[]; stats: ScopeStats } {
  const inScope = scopeFilter(scope);
  const kept = findings.filter((f) => inScope(f.file));
  const judged = new Set<FunctionIR>();
  let syncSites = 0;
  for (const run of runs) {
    for (const [fn, res] of run.results) {
      if (!inScope(fn.file)) continue;
      judged.add(fn);
      syncSites += res.syncSites;
    }
  }
  return {
    findings: kept,
    stats: {
      paths: scope.given,
      exclude: scope.exclude,
      files: files.filter(inScope).length,
      functions: judged.size,
      syncSites,
      findingsOutside: findings.length - kept.length,
      diagnostics: diagnostics.filter((d) => inScope(d.file)).length,
    },
  };
}
