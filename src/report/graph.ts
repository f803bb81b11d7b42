// The call graph around the rules' calls, as the `graph` command prints it:
// which functions issue, complete or defer maintenance, which hand a buffer
// over, which touch it from the CPU, and how they reach each other (direct
// calls and ops-table entries). The DOT output is meant to be read on one
// screen: short labels (the full text is each element's tooltip), a legend,
// the call site on each edge, only what is connected to a sync, and optional
// clusters per file or folder.
import path from 'node:path';
import type { InactiveRule } from '../types.js';

export type GraphNodeRole = 'issuing' | 'completing' | 'cpu-access' | 'deferring' | 'completes' | 'handoff' | 'caller';

export interface CallGraphNode {
  name: string;
  /** Where it is defined ('' and 0 when the tree has no definition, as for a compiler builtin). */
  file: string;
  line: number;
  role: GraphNodeRole;
  exported: boolean;
  addressTaken: boolean;
  /** Condition under which a deferring function leaves maintenance to its caller, as a reader says it. */
  defersWhen?: string;
  /** The same in a few words (what every case has in common), for labels; the full text goes in tooltips. */
  defersSummary?: string;
  /**
   * Flushes inside a loop that must stay there, and why: what in the rest of
   * the iteration needs the maintenance complete ("swiotlb_sync_single_for_cpu()
   * at line 431 may read the buffer ..."). A developer who wants to batch
   * learns what must change first.
   */
  keepsFlushInLoop?: { line: number; loopLine: number; why: string }[];
}

export interface CallGraphEdge {
  from: string;
  to: string;
  kind: 'call' | 'ops-table';
  /** The call site (or the ops-table entry): its file, when known, and line. */
  file?: string;
  line: number;
}

export interface CallGraphView {
  nodes: CallGraphNode[];
  edges: CallGraphEdge[];
  /** Set when no rule applies to the tree: why each does not (a tree from before the series defines no flush). */
  noRuleApplies?: InactiveRule[];
}

export type GraphCluster = 'none' | 'file' | 'folder';

export interface DotOptions {
  /** Group the nodes in boxes per source file or per folder (subsystem). */
  cluster?: GraphCluster;
}

/** Display order: the rule's own calls first, then the functions around them. */
const ROLE_ORDER: GraphNodeRole[] = ['issuing', 'completing', 'cpu-access', 'deferring', 'completes', 'handoff', 'caller'];

const ROLE_STYLE: Record<GraphNodeRole, { shape: string; fill: string; legend: string }> = {
  issuing: { shape: 'box', fill: '#f4b6b6', legend: 'issues maintenance (sync)' },
  completing: { shape: 'box', fill: '#b6e3b0', legend: 'completes it (flush)' },
  'cpu-access': { shape: 'note', fill: '#d9c8f0', legend: 'CPU access to the buffer' },
  deferring: { shape: 'box', fill: '#f9dca0', legend: 'returns with it pending (caller must flush)' },
  completes: { shape: 'box', fill: '#dcf2d8', legend: "completes its caller's maintenance" },
  handoff: { shape: 'box', fill: '#b8d0f4', legend: 'hands the buffer over on return' },
  caller: { shape: 'box', fill: '#ffffff', legend: 'other function on the way' },
};

/** Rule functions are the edges of the picture: kept when a focused function calls them. */
const RULE_ROLES = new Set<GraphNodeRole>(['issuing', 'completing', 'cpu-access']);
/** Functions between PATH and the syncs: what they leave pending is what PATH's functions must complete (a callee that completes its own work is not followed). */
const CARRIES_MAINTENANCE = new Set<GraphNodeRole>(['deferring']);

/** Longest line of a node label; the whole text is in the tooltip. */
const LABEL_LINE_MAX = 36;

// ----------------------------------------------------------------- focus ----

function under(file: string, folders: string[]): boolean {
  return folders.some((folder) => folder === '' || folder === '.' || file === folder || file.startsWith(folder.endsWith('/') ? folder : `${folder}/`));
}

/**
 * The part of a whole-tree graph a reader asked for: the functions defined
 * under `folders` (root-relative), the rule functions they call, the edges
 * among them, and only the parts connected to a sync (an issuing function).
 */
export function focusGraph(view: CallGraphView, folders?: string[]): CallGraphView {
  const byName = new Map(view.nodes.map((n) => [n.name, n]));
  let keep = new Set(view.nodes.filter((n) => !folders || under(n.file, folders)).map((n) => n.name));
  // Ops tables are not function nodes: an entry is kept when its table's file is in focus.
  const opsSources = new Set(view.edges.filter((e) => e.kind === 'ops-table' && (!folders || under(e.file ?? '', folders))).map((e) => e.from));
  // With the rule functions they reach, however deep (a hand-off in PATH reaches the sync through deferring helpers elsewhere).
  // Each kept name's edges are followed once (a worklist, not passes over every edge until nothing grows).
  const edgesFrom = groupEdgesBySource(view.edges);
  const pending = [...keep, ...opsSources];
  while (pending.length > 0) {
    for (const e of edgesFrom.get(pending.pop()!) ?? []) {
      const target = byName.get(e.to);
      if (!keep.has(e.to) && target && (RULE_ROLES.has(target.role) || CARRIES_MAINTENANCE.has(target.role))) {
        keep.add(e.to);
        pending.push(e.to);
      }
    }
  }
  let edges = view.edges.filter((e) => (keep.has(e.from) || opsSources.has(e.from)) && keep.has(e.to));
  // Only what is connected (either way) to an issuing function.
  const neighbours = new Map<string, string[]>();
  for (const e of edges) {
    for (const [a, b] of [[e.from, e.to], [e.to, e.from]]) {
      const list = neighbours.get(a);
      if (list) list.push(b);
      else neighbours.set(a, [b]);
    }
  }
  const reached = new Set<string>();
  const queue = [...keep].filter((name) => byName.get(name)?.role === 'issuing');
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (reached.has(name)) continue;
    reached.add(name);
    queue.push(...(neighbours.get(name) ?? []));
  }
  keep = new Set([...keep].filter((name) => reached.has(name)));
  edges = edges.filter((e) => reached.has(e.from) && reached.has(e.to));
  return { nodes: view.nodes.filter((n) => keep.has(n.name)), edges, ...(view.noRuleApplies ? { noRuleApplies: view.noRuleApplies } : {}) };
}

// ------------------------------------------------------------------ text ----

export function formatGraphText(view: CallGraphView): string {
  const nodes = sortedNodes(view.nodes);
  const known = new Set(nodes.map((node) => node.name));
  const edgesFrom = groupEdgesBySource(view.edges);
  const lines: string[] = [];

  for (const node of nodes) {
    lines.push(`${node.name} [${[node.role, ...nodeFlags(node)].join(', ')}] ${location(node)}`);
    for (const keep of node.keepsFlushInLoop ?? []) lines.push(`    flush at line ${keep.line} stays in the loop at line ${keep.loopLine}: ${keep.why}`);
    for (const edge of edgesFrom.get(node.name) ?? []) lines.push(`    -> ${edge.to} (${edge.kind}, ${edgeSite(edge)})`);
  }

  // Edges from something that is not a function node (an ops table, for instance).
  const detached = sortedEdges(view.edges.filter((edge) => !known.has(edge.from)));
  if (detached.length > 0) {
    lines.push('other edges:');
    for (const edge of detached) lines.push(`    ${edge.from} -> ${edge.to} (${edge.kind}, ${edgeSite(edge)})`);
  }

  lines.push(`${count(view.nodes.length, 'node')}, ${count(view.edges.length, 'edge')}`);
  return lines.join('\n') + '\n';
}

function location(node: CallGraphNode): string {
  return node.file ? `${node.file}:${node.line}` : '(no definition in the tree)';
}

function edgeSite(edge: CallGraphEdge): string {
  return edge.file ? `${edge.file}:${edge.line}` : `line ${edge.line}`;
}

// ------------------------------------------------------------------- dot ----

export function formatGraphDot(view: CallGraphView, opts: DotOptions = {}): string {
  const nodes = sortedNodes(view.nodes);
  const known = new Set(nodes.map((node) => node.name));
  const lines = [
    'digraph flushcheck {',
    '  rankdir=LR; ranksep=0.3; nodesep=0.1; newrank=true;',
    '  node [style=filled, fontname="Helvetica", fontsize=10, margin="0.05,0.02", height=0.3];',
    '  edge [fontname="Helvetica", fontsize=7, color="#555555", arrowsize=0.5];',
  ];

  const groups = new Map<string, CallGraphNode[]>();
  for (const node of nodes) {
    const group = opts.cluster === 'file' ? node.file : opts.cluster === 'folder' ? path.posix.dirname(node.file || '.') : '';
    const members = groups.get(group);
    if (members) members.push(node);
    else groups.set(group, [node]);
  }
  let clusterIndex = 0;
  for (const [group, members] of groups) {
    const inCluster = opts.cluster && opts.cluster !== 'none' && group !== '' && group !== '.';
    const indent = inCluster ? '    ' : '  ';
    if (inCluster) lines.push(`  subgraph cluster_${clusterIndex++} {`, `    label=${dotString(group)}; fontname="Helvetica"; fontsize=10; style="rounded,dashed"; color="#888888";`);
    for (const node of members) lines.push(`${indent}${nodeStatement(node)}`);
    if (inCluster) lines.push('  }');
  }

  // Endpoints that are not function nodes (ops tables) still get a declaration, drawn as plain text.
  const undeclared = new Set<string>();
  for (const edge of view.edges) {
    for (const end of [edge.from, edge.to]) if (!known.has(end)) undeclared.add(end);
  }
  for (const name of [...undeclared].sort()) lines.push(`  ${dotString(name)} [shape=plaintext, style="", fontsize=9];`);

  for (const edge of sortedEdges(view.edges)) {
    const site = edge.file ? `${path.posix.basename(edge.file)}:${edge.line}` : `line ${edge.line}`;
    const attributes = [
      // xlabel: placed after layout, so call sites do not widen the ranks.
      `xlabel=${dotString(site)}`,
      `tooltip=${dotString(`${edge.from} -> ${edge.to} (${edge.kind}) at ${edgeSite(edge)}`)}`,
      ...(edge.kind === 'ops-table' ? ['style=dashed'] : []),
    ];
    lines.push(`  ${dotString(edge.from)} -> ${dotString(edge.to)} [${attributes.join(', ')}];`);
  }
  lines.push(...legend(new Set(nodes.map((n) => n.role))));
  lines.push('}');
  return lines.join('\n') + '\n';
}

function nodeStatement(node: CallGraphNode): string {
  const style = ROLE_STYLE[node.role];
  const where = node.file ? `${path.posix.basename(node.file)}:${node.line}` : 'no definition in the tree';
  const flags = [...(node.exported ? ['exported'] : []), ...(node.addressTaken ? ['address taken'] : [])];
  // Exported and address-taken are drawn (double border, dashes: see the legend), not written.
  const label = [capLine(node.name), where];
  if (node.defersWhen) label.push(...wrapLabel(`defers ${deferPhrase(node.defersSummary ?? node.defersWhen)}`, 2));
  const tooltip = [
    `${node.name} (${node.role}${flags.length ? `, ${flags.join(', ')}` : ''})`,
    location(node),
    ...(node.defersWhen ? [`defers ${deferPhrase(node.defersWhen)}`] : []),
    ...(node.keepsFlushInLoop ?? []).map((k) => `flush at line ${k.line} stays in its loop: ${k.why}`),
  ].join('\n');
  const attributes = [
    `label=${dotLabel(label)}`,
    `tooltip=${dotString(tooltip)}`,
    `shape=${style.shape}`,
    `fillcolor=${dotString(style.fill)}`,
    // Two borders mark functions that hand buffers over by being visible outside their file.
    ...(node.exported ? ['peripheries=2'] : []),
    ...(node.addressTaken ? ['style="filled,dashed"'] : node.role === 'handoff' || node.role === 'completes' || node.role === 'caller' ? ['style="filled,rounded"'] : []),
    ...(node.role === 'deferring' ? ['penwidth=2'] : []),
  ];
  return `${dotString(node.name)} [${attributes.join(', ')}];`;
}

function deferPhrase(when: string): string {
  return /^(on |always|never)/.test(when) ? when : `when ${when}`;
}

/** The roles present, each drawn as it is in the graph: a reader needs no other key. */
function legend(roles: Set<GraphNodeRole>): string[] {
  const present = ROLE_ORDER.filter((role) => roles.has(role));
  if (present.length === 0) return [];
  const out = ['  subgraph cluster_legend {', '    label="legend"; fontname="Helvetica"; fontsize=10; style="rounded"; color="#bbbbbb";'];
  for (const role of present) {
    const style = ROLE_STYLE[role];
    out.push(`    ${dotString(`legend:${role}`)} [label=${dotString(style.legend)}, shape=${style.shape}, fillcolor=${dotString(style.fill)}, fontsize=9];`);
  }
  out.push(`    ${dotString('legend:exported')} [label="exported: double border\\naddress taken: dashed", shape=box, style="filled,dashed", peripheries=2, fillcolor="#ffffff", fontsize=9];`);
  // One rank: a single column beside the graph (rankdir=LR).
  const ids = [...present.map((role) => `legend:${role}`), 'legend:exported'];
  out.push(`    { rank=same; ${ids.map(dotString).join('; ')}; }`);
  out.push('  }');
  return out;
}

/** Up to `lines` lines of LABEL_LINE_MAX, broken at spaces; the last one ends in '…' when text is left over. */
function wrapLabel(text: string, lines: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > 0 && out.length < lines) {
    if (rest.length <= LABEL_LINE_MAX) {
      out.push(rest);
      rest = '';
      break;
    }
    const space = rest.lastIndexOf(' ', LABEL_LINE_MAX);
    const cut = space > 8 ? space : LABEL_LINE_MAX;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0) out[out.length - 1] = capLine(`${out[out.length - 1]!} ${rest}`);
  return out;
}

function capLine(text: string): string {
  return text.length <= LABEL_LINE_MAX ? text : `${text.slice(0, LABEL_LINE_MAX - 1)}…`;
}

function nodeFlags(node: CallGraphNode): string[] {
  return [
    ...(node.exported ? ['exported'] : []),
    ...(node.addressTaken ? ['address-taken'] : []),
    ...(node.defersWhen ? [`defers ${deferPhrase(node.defersWhen)}`] : []),
  ];
}

function sortedNodes(nodes: CallGraphNode[]): CallGraphNode[] {
  return [...nodes].sort(
    (a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || compareStrings(a.name, b.name),
  );
}

function sortedEdges(edges: CallGraphEdge[]): CallGraphEdge[] {
  return [...edges].sort((a, b) => compareStrings(a.from, b.from) || a.line - b.line || compareStrings(a.to, b.to));
}

function groupEdgesBySource(edges: CallGraphEdge[]): Map<string, CallGraphEdge[]> {
  const bySource = new Map<string, CallGraphEdge[]>();
  for (const edge of sortedEdges(edges)) {
    const list = bySource.get(edge.from) ?? [];
    list.push(edge);
    bySource.set(edge.from, list);
  }
  return bySource;
}

/** Code-point order, so output does not depend on the locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A DOT double-quoted string: only `"` and `\` need escaping; a newline is DOT's `\n`. */
function dotString(text: string): string {
  return `"${escapeDot(text)}"`;
}

/** A multi-line label; `\n` is DOT's centred line break. */
function dotLabel(lines: string[]): string {
  return `"${lines.map(escapeDot).join('\\n')}"`;
}

function escapeDot(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
