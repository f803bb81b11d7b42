// The call graph around the rules' calls, as the `graph` command prints it:
// which functions issue, complete or defer maintenance, which hand a buffer
// over, and how they reach each other (direct calls and ops-table entries).

export type GraphNodeRole = 'issuing' | 'completing' | 'deferring' | 'completes' | 'handoff' | 'caller';

export interface CallGraphNode {
  name: string;
  file: string;
  line: number;
  role: GraphNodeRole;
  exported: boolean;
  addressTaken: boolean;
  /** Condition under which a deferring function leaves maintenance to its caller. */
  defersWhen?: string;
}

export interface CallGraphEdge {
  from: string;
  to: string;
  kind: 'call' | 'ops-table';
  line: number;
}

export interface CallGraphView {
  nodes: CallGraphNode[];
  edges: CallGraphEdge[];
}

/** Display order: the rule's own calls first, then the functions around them. */
const ROLE_ORDER: GraphNodeRole[] = ['issuing', 'completing', 'deferring', 'completes', 'handoff', 'caller'];

const ROLE_STYLE: Record<GraphNodeRole, { shape: string; fill: string }> = {
  issuing: { shape: 'box', fill: '#f4b6b6' },
  completing: { shape: 'box', fill: '#b6e3b0' },
  deferring: { shape: 'hexagon', fill: '#f9dca0' },
  completes: { shape: 'ellipse', fill: '#dcf2d8' },
  handoff: { shape: 'octagon', fill: '#b8d0f4' },
  caller: { shape: 'ellipse', fill: '#ffffff' },
};

export function formatGraphText(view: CallGraphView): string {
  const nodes = sortedNodes(view.nodes);
  const known = new Set(nodes.map((node) => node.name));
  const edgesFrom = groupEdgesBySource(view.edges);
  const lines: string[] = [];

  for (const node of nodes) {
    lines.push(`${node.name} [${[node.role, ...nodeFlags(node)].join(', ')}] ${node.file}:${node.line}`);
    for (const edge of edgesFrom.get(node.name) ?? []) lines.push(`    -> ${edge.to} (${edge.kind}, line ${edge.line})`);
  }

  // Edges from something that is not a function node (an ops table, for instance).
  const detached = sortedEdges(view.edges.filter((edge) => !known.has(edge.from)));
  if (detached.length > 0) {
    lines.push('other edges:');
    for (const edge of detached) lines.push(`    ${edge.from} -> ${edge.to} (${edge.kind}, line ${edge.line})`);
  }

  lines.push(`${count(view.nodes.length, 'node')}, ${count(view.edges.length, 'edge')}`);
  return lines.join('\n') + '\n';
}

export function formatGraphDot(view: CallGraphView): string {
  const nodes = sortedNodes(view.nodes);
  const known = new Set(nodes.map((node) => node.name));
  const lines = [
    'digraph flushcheck {',
    '  rankdir=LR;',
    '  node [style=filled, fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];

  for (const node of nodes) {
    const style = ROLE_STYLE[node.role];
    const label = [node.name, `${node.file}:${node.line}`, [node.role, ...nodeFlags(node)].join(', ')];
    const attributes = [
      `label=${dotLabel(label)}`,
      `shape=${style.shape}`,
      `fillcolor=${dotString(style.fill)}`,
      // Two borders mark functions that hand buffers over by being visible outside their file.
      ...(node.exported ? ['peripheries=2'] : []),
      ...(node.addressTaken ? ['style="filled,dashed"'] : []),
    ];
    lines.push(`  ${dotString(node.name)} [${attributes.join(', ')}];`);
  }

  // Endpoints that are not function nodes still get a declaration, drawn as plain text.
  const undeclared = new Set<string>();
  for (const edge of view.edges) {
    for (const end of [edge.from, edge.to]) if (!known.has(end)) undeclared.add(end);
  }
  for (const name of [...undeclared].sort()) lines.push(`  ${dotString(name)} [shape=plaintext, style=""];`);

  for (const edge of sortedEdges(view.edges)) {
    const attributes = [`label=${dotString(`line ${edge.line}`)}`, ...(edge.kind === 'ops-table' ? ['style=dashed'] : [])];
    lines.push(`  ${dotString(edge.from)} -> ${dotString(edge.to)} [${attributes.join(', ')}];`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

function nodeFlags(node: CallGraphNode): string[] {
  return [
    ...(node.exported ? ['exported'] : []),
    ...(node.addressTaken ? ['address-taken'] : []),
    ...(node.defersWhen ? [`defers when ${node.defersWhen}`] : []),
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

/** A DOT double-quoted string: only `"` and `\` need escaping. */
function dotString(text: string): string {
  return `"${escapeDot(text)}"`;
}

/** A multi-line label; `\n` is DOT's centred line break. */
function dotLabel(lines: string[]): string {
  return `"${lines.map(escapeDot).join('\\n')}"`;
}

function escapeDot(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
