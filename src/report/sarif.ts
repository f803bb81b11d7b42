// SARIF 2.1.0 for GitHub code scanning (and any other SARIF viewer).
// GitHub requires: a driver with rules, results with ruleId/level/message and a
// physicalLocation whose uri is relative to the checkout (%SRCROOT%); it uses
// codeFlows to show the path and partialFingerprints to track an alert across
// commits even when the code around it moves.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
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
/**
 * Where flushcheck is documented: package.json's `homepage`. The repository
 * has no public URL, so it is the README's anchor, relative to the
 * repository (never a made-up host, never a package registry's page).
 */
export const FLUSHCHECK_INFORMATION_URI: string = (() => {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { homepage?: string }).homepage ?? 'README.md#flushcheck';
  } catch {
    return 'README.md#flushcheck';
  }
})();
export const FINGERPRINT_KEY = 'flushcheck/v1';

/** How a result relates to the run it is compared with (diff: the base revision; review: the tree before the series). */
type BaselineState = 'new' | 'unchanged' | 'absent';

export interface SarifOptions {
  /**
   * A comparison: every finding of `result` is 'new' or 'unchanged' (new ones
   * are listed in `introduced`), and `absent` ones (fixed) are added as results.
   */
  baseline?: { introduced: Finding[]; absent: Finding[] };
}

const SRCROOT = '%SRCROOT%';

export function formatSarif(result: LintResult, rules: Rule[], opts: SarifOptions = {}): string {
  const findings = opts.baseline ? [...result.findings, ...opts.baseline.absent] : result.findings;
  const descriptors = ruleDescriptors(findings, rules);
  const ruleIndex = new Map(descriptors.map((descriptor, index) => [descriptor.id, index]));
  const fingerprints = partialFingerprints(findings);
  const introduced = new Set(opts.baseline?.introduced ?? []);
  const absent = new Set(opts.baseline?.absent ?? []);
  const baselineState = (finding: Finding): BaselineState | undefined =>
    !opts.baseline ? undefined : absent.has(finding) ? 'absent' : introduced.has(finding) ? 'new' : 'unchanged';

  const results: Result[] = findings.map((finding, i) => {
    const sarifResult: Result = {
      ruleId: finding.ruleId,
      ruleIndex: ruleIndex.get(finding.ruleId),
      level: finding.severity,
      message: { text: finding.message },
      locations: [{ physicalLocation: physicalLocation(finding.file, finding.line, finding.column) }],
      partialFingerprints: { [FINGERPRINT_KEY]: fingerprints[i] },
      ...(baselineState(finding) ? { baselineState: baselineState(finding) } : {}),
      properties: {
        kind: finding.kind,
        function: finding.function,
        ...(finding.sync ? { sync: finding.sync } : {}),
        ...(finding.model ? { model: finding.model } : {}),
      },
    };
    // Where the code must change is the result's location; the rest (the hand-off return, the exported entry) is related.
    if (finding.related && finding.related.length > 0) {
      sarifResult.relatedLocations = finding.related.map((related, id) => ({
        id,
        physicalLocation: physicalLocation(related.file, related.line, related.column > 0 ? related.column : undefined),
        message: { text: related.message },
      }));
    }
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
function ruleDescriptors(findings: Finding[], rules: Rule[]): ReportingDescriptor[] {
  const descriptors: ReportingDescriptor[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.id)) continue;
    seen.add(rule.id);
    const help = ruleHelp(rule);
    descriptors.push({
      id: rule.id,
      name: pascalCase(rule.id),
      shortDescription: { text: shortDescription(rule) },
      fullDescription: { text: rule.description },
      help: { text: help.text, markdown: help.markdown },
      defaultConfiguration: { level: 'error' },
    });
  }
  for (const finding of findings) {
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

/** One line from the rule's own data: what issues, what completes (the description says why). */
function shortDescription(rule: Rule): string {
  const issue = rule.issue.map((i) => `${i.name}()`).join(', ');
  const complete = rule.complete.map((c) => `${c.name}()`).join(' or ');
  return `Maintenance issued by ${issue || 'a sync'} must be completed by ${complete || 'a flush'} before a hand-off`;
}

/** Help shown beside an alert: what is checked, what each finding kind means, and how to fix it. */
function ruleHelp(rule: Rule): { text: string; markdown: string } {
  const issue = rule.issue.map((i) => `${i.name}()`);
  const complete = rule.complete.map((c) => `${c.name}()`);
  const flush = complete[0] ?? 'the completing call';
  const handoff = [
    rule.handoff.exported ? 'is exported' : '',
    rule.handoff.addressTaken ? 'has its address taken (ops tables, callbacks)' : '',
    rule.handoff.noCaller ? 'has no caller in the tree' : '',
  ].filter(Boolean);
  const kinds: [string, string][] = [
    ['unflushed-return', `maintenance is still pending when a function that hands the buffer over returns (one that ${handoff.join(', or ') || 'the rule names'}).`],
    ['unflushed-access', `a CPU access (${rule.cpuAccess.map((a) => `${a.name}()`).join(', ') || 'none listed'}) runs while an invalidation is pending.`],
    ['batchable', `a flush inside a loop that issues maintenance: one ${flush} after the loop costs one barrier instead of N.`],
    ['redundant-flush', 'a flush that no pending maintenance reaches.'],
    ['model-coherent', 'a static finding the cache model proves harmless on this path (a failed map, for example).'],
  ];
  const contracts = rule.contracts.filter((c) => c.checkCallers !== false).map((c) => `${c.defer}() may return pending; its caller must reach ${c.complete}().`);
  const fix = `Complete the maintenance in the function that issues it: call ${flush} once after the last sync (after the loop, if the syncs are in one) on every path before the buffer is handed over. Adding flushes to callers is not needed when the function that syncs completes its own work.`;
  const text = [
    rule.description,
    `Issuing calls: ${issue.join(', ')}. Completing calls: ${complete.join(', ')}.`,
    ...kinds.map(([kind, meaning]) => `${kind}: ${meaning}`),
    ...(contracts.length ? [`Deferral contracts: ${contracts.join(' ')}`] : []),
    `How to fix: ${fix}`,
  ].join('\n\n');
  const code = (name: string) => `\`${name}\``;
  const markdown = [
    rule.description,
    `**Issuing calls:** ${issue.map(code).join(', ')}. **Completing calls:** ${complete.map(code).join(', ')}.`,
    kinds.map(([kind, meaning]) => `- ${code(kind)}: ${meaning}`).join('\n'),
    ...(contracts.length ? [`**Deferral contracts:** ${contracts.join(' ')}`] : []),
    `**How to fix:** ${fix}`,
    `See the flushcheck README (${FLUSHCHECK_INFORMATION_URI}) for the analysis and its known limits.`,
  ].join('\n\n');
  return { text, markdown };
}

/**
 * Hash of what identifies a finding independently of line numbers and helper
 * names (its identity and kind). Findings sharing that key get `:1`, `:2`, ... in report
 * order, as GitHub's own primaryLocationLineHash does, so they stay distinct alerts.
 */
function partialFingerprints(findings: Finding[]): string[] {
  const occurrences = new Map<string, number>();
  return findings.map((finding) => {
    const hash = createHash('sha256')
      .update(finding.identity ? [finding.identity, finding.kind].join('\0') : [finding.ruleId, finding.function, finding.sync?.callee ?? '', finding.kind].join('\0'))
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

/**
 * Root-relative path -> relative URI reference: '/' separates segments and
 * every byte of a segment's UTF-8 outside RFC 3986's unreserved set is
 * percent-encoded (a `\\` in a file name stays `%5C`: it is not a separator
 * on Linux; `%` is `%25`; a lone surrogate from a non-UTF-8 name is U+FFFD).
 */
export function relativeUri(file: string): string {
  return file.split('/').map(encodeSegment).join('/');
}

function encodeSegment(segment: string): string {
  let out = '';
  for (const byte of Buffer.from(segment, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function directoryUri(dir: string): string {
  const href = pathToFileURL(dir).href;
  return href.endsWith('/') ? href : `${href}/`;
}

function pascalCase(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
}
