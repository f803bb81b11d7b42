// SARIF 2.1.0 for GitHub code scanning (and any other SARIF viewer).
// GitHub requires: a driver with rules, results with ruleId/level/message and a
// physicalLocation whose uri is relative to the checkout (%SRCROOT%); it uses
// codeFlows to show the path and partialFingerprints to track an alert across
// commits even when the code around it moves.
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type {
  Log,
  Notification,
  PhysicalLocation,
  ReportingDescriptor,
  Result,
  ThreadFlowLocation,
} from 'sarif';
import type { Finding, LintResult, Rule } from '../types.js';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
export const FLUSHCHECK_INFORMATION_URI = 'https://example.invalid/flushcheck';
export const FINGERPRINT_KEY = 'flushcheck/v1';

const SRCROOT = '%SRCROOT%';

export function formatSarif(result: LintResult, rules: Rule[]): string {
  const descriptors = ruleDescriptors(result, rules);
  const ruleIndex = new Map(descriptors.map((descriptor, index) => [descriptor.id, index]));
  const fingerprints = partialFingerprints(result.findings);

  const results: Result[] = result.findings.map((finding, i) => {
    const sarifResult: Result = {
      ruleId: finding.ruleId,
      ruleIndex: ruleIndex.get(finding.ruleId),
      level: finding.severity,
      message: { text: finding.message },
      locations: [{ physicalLocation: physicalLocation(finding.file, finding.line, finding.column) }],
      partialFingerprints: { [FINGERPRINT_KEY]: fingerprints[i] },
      properties: {
        kind: finding.kind,
        function: finding.function,
        ...(finding.sync ? { sync: finding.sync } : {}),
        ...(finding.model ? { model: finding.model } : {}),
      },
    };
    // threadFlow.locations must be non-empty, so a finding without a path has no codeFlows.
    if (finding.path.length > 0) {
      const locations: ThreadFlowLocation[] = finding.path.map((step) => ({
        location: { physicalLocation: physicalLocation(step.file, step.line), message: { text: step.event } },
      }));
      sarifResult.codeFlows = [{ threadFlows: [{ locations }] }];
    }
    return sarifResult;
  });

  const log: Log = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'flushcheck',
            version: result.version,
            informationUri: FLUSHCHECK_INFORMATION_URI,
            rules: descriptors,
          },
        },
        ...(result.root ? { originalUriBaseIds: { [SRCROOT]: { uri: directoryUri(result.root) } } } : {}),
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: result.stats.diagnostics.map(
              (diagnostic): Notification => ({
                level: 'warning',
                message: { text: diagnostic.reason },
                locations: [{ physicalLocation: { artifactLocation: artifactLocation(diagnostic.file) } }],
              }),
            ),
            toolConfigurationNotifications: result.inactiveRules.map(
              (inactive): Notification => ({
                level: 'note',
                message: { text: `rule ${inactive.ruleId} inactive: ${inactive.reason}` },
                associatedRule: { id: inactive.ruleId, index: ruleIndex.get(inactive.ruleId) },
              }),
            ),
          },
        ],
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

/** One descriptor per loaded rule, plus any rule id a finding uses that was not passed in. */
function ruleDescriptors(result: LintResult, rules: Rule[]): ReportingDescriptor[] {
  const descriptors: ReportingDescriptor[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.id)) continue;
    seen.add(rule.id);
    descriptors.push({
      id: rule.id,
      name: pascalCase(rule.id),
      shortDescription: { text: firstSentence(rule.description) },
      fullDescription: { text: rule.description },
      defaultConfiguration: { level: 'error' },
    });
  }
  for (const finding of result.findings) {
    if (seen.has(finding.ruleId)) continue;
    seen.add(finding.ruleId);
    descriptors.push({
      id: finding.ruleId,
      name: pascalCase(finding.ruleId),
      shortDescription: { text: finding.ruleId },
      defaultConfiguration: { level: 'error' },
    });
  }
  return descriptors;
}

/**
 * Hash of what identifies a finding independently of line numbers (rule, function,
 * issuing callee, kind). Findings sharing that key get `:1`, `:2`, ... in report
 * order, as GitHub's own primaryLocationLineHash does, so they stay distinct alerts.
 */
function partialFingerprints(findings: Finding[]): string[] {
  const occurrences = new Map<string, number>();
  return findings.map((finding) => {
    const hash = createHash('sha256')
      .update([finding.ruleId, finding.function, finding.sync?.callee ?? '', finding.kind].join('\0'))
      .digest('hex')
      .slice(0, 32);
    const occurrence = (occurrences.get(hash) ?? 0) + 1;
    occurrences.set(hash, occurrence);
    return `${hash}:${occurrence}`;
  });
}

function physicalLocation(file: string, line: number, column?: number): PhysicalLocation {
  return {
    artifactLocation: artifactLocation(file),
    // SARIF lines and columns are 1-based; clamp so a missing position still validates.
    region: column === undefined ? { startLine: Math.max(1, line) } : { startLine: Math.max(1, line), startColumn: Math.max(1, column) },
  };
}

function artifactLocation(file: string) {
  return { uri: relativeUri(file), uriBaseId: SRCROOT };
}

/** Root-relative path -> relative URI reference ('/' separated, each segment percent-encoded). */
function relativeUri(file: string): string {
  return file.replace(/\\/g, '/').split('/').map(encodeURIComponent).join('/');
}

function directoryUri(dir: string): string {
  const href = pathToFileURL(dir).href;
  return href.endsWith('/') ? href : `${href}/`;
}

function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  return end === -1 ? text : text.slice(0, end + 1);
}

function pascalCase(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
}
