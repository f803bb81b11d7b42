// Machine-readable report. Objects are rebuilt field by field so the key order
// (and the absence of fields outside the documented format) does not depend on
// how the analysis happened to construct them.
import type { Finding, LintResult } from '../types.js';

export function formatJson(result: LintResult): string {
  return JSON.stringify(lintReport(result), null, 2) + '\n';
}

/** The lint report as an object (other reports extend it). */
export function lintReport(result: LintResult) {
  return {
    tool: result.tool,
    version: result.version,
    findings: result.findings.map(findingJson),
    inactiveRules: result.inactiveRules.map((inactive) => ({ ruleId: inactive.ruleId, reason: inactive.reason })),
    stats: {
      files: result.stats.files,
      parsed: result.stats.parsed,
      functions: result.stats.functions,
      syncSites: result.stats.syncSites,
      syncSitesNotJudged: result.stats.syncSitesNotJudged ?? 0,
      unreadable: result.stats.unreadable || undefined,
      notParsed: result.stats.notParsed,
      ms: Math.round(result.stats.ms),
      diagnostics: result.stats.diagnostics.map((diagnostic) => ({ file: diagnostic.file, reason: diagnostic.reason })),
      model: result.stats.model && { pathsReplayed: result.stats.model.pathsReplayed, coherent: result.stats.model.coherent, incoherent: result.stats.model.incoherent },
      scope: result.stats.scope && {
        paths: result.stats.scope.paths,
        exclude: result.stats.scope.exclude,
        files: result.stats.scope.files,
        functions: result.stats.scope.functions,
        syncSites: result.stats.scope.syncSites,
        findingsOutside: result.stats.scope.findingsOutside,
        diagnostics: result.stats.scope.diagnostics,
      },
    },
  };
}

export function findingJson(finding: Finding) {
  return {
    ruleId: finding.ruleId,
    severity: finding.severity,
    kind: finding.kind,
    file: finding.file,
    line: finding.line,
    column: finding.column,
    function: finding.function,
    message: finding.message,
    path: finding.path.map((step) => ({ file: step.file, line: step.line, column: step.column, event: step.event })),
    // Where the buffer changes hands, the sync behind a call, the CPU access: context for the place to fix.
    related: finding.related?.length ? finding.related.map((r) => ({ file: r.file, line: r.line, column: r.column, message: r.message })) : undefined,
    // Optional fields are omitted rather than null; JSON.stringify drops `undefined`.
    identity: finding.identity,
    sync: finding.sync && {
      callee: finding.sync.callee,
      function: finding.sync.function,
      file: finding.sync.file,
      line: finding.sync.line,
    },
    model: finding.model && {
      verdict: finding.model.verdict,
      witness: finding.model.witness,
      reason: finding.model.reason,
    },
  };
}
