// The call graph of issuing, completing and deferring functions, for
// `flushcheck graph`: only functions the rules found relevant, and the edges
// between them (direct calls and ops-table assignments).
import { analyzeTree, type LintOptions } from './lint.js';
import type { CallGraphView } from './report/graph.js';
import { show } from './ir/expr.js';
import { ruleNames } from './analyze/rule.js';
import { phraseCondition, summariseCondition, type Condition } from './report/conditions.js';
import { compareText } from './order.js';

export async function buildGraph(opts: LintOptions): Promise<CallGraphView> {
  const { program, runs, rules, result } = await analyzeTree(opts);
  const nodes = new Map<string, CallGraphView['nodes'][number]>();
  const edges: CallGraphView['edges'] = [];
  const edgeKeys = new Set<string>();
  const active = rules.filter((r) => runs.has(r.id));
  const issuing = new Set(active.flatMap((r) => r.issue.map((i) => i.name)));
  const completing = new Set(active.flatMap((r) => [...r.complete.map((c) => c.name), ...r.contracts.map((c) => c.complete)]));
  const cpuAccess = new Set(active.flatMap((r) => r.cpuAccess.map((c) => c.name)));
  const direct = new Set([...active.flatMap(ruleNames), ...cpuAccess]);

  const ensure = (name: string, file = '', line = 0) => {
    if (!file) {
      // Rule functions: show where this arch's definition is, if the tree has one.
      const def = program.resolve('', name)[0] ?? program.byName.get(name)?.[0];
      if (def) ({ file, line } = def);
    }
    if (!nodes.has(name)) {
      const role = issuing.has(name) ? 'issuing' : completing.has(name) ? 'completing' : cpuAccess.has(name) ? 'cpu-access' : 'caller';
      nodes.set(name, { name, file, line, role, exported: program.exported.has(name), addressTaken: program.addressTaken.has(name) });
    }
    return nodes.get(name)!;
  };

  for (const run of runs.values()) {
    for (const u of run.unbatchable) {
      const node = ensure(u.fn.name, u.fn.file, u.fn.line);
      (node.keepsFlushInLoop ??= []).push({ line: u.line, loopLine: u.loopLine, why: u.why });
    }
    for (const [fn, res] of run.results) {
      const node = ensure(fn.name, fn.file, fn.line);
      node.file ||= fn.file;
      node.line ||= fn.line;
      const outcomes = res.summary.outcomes;
      // A function can play several parts across rules: deferring matters
      // most to a reader, then hand-off, then completing.
      const rank = { issuing: 4, completing: 4, 'cpu-access': 4, deferring: 3, handoff: 2, completes: 1, caller: 0 } as const;
      if (rank[node.role] < rank.deferring) {
        if (outcomes?.some((o) => o.items.length)) {
          node.role = 'deferring';
          // Deferrals on normal paths are the contract callers must honour;
          // error-only ones (a failed map) are labelled as such.
          // simplified for the reader: impossible and redundant combinations dropped.
          const deferring = outcomes.filter((o) => o.items.length);
          const normal = deferring.filter((o) => !o.error);
          const condition: Condition = (normal.length ? normal : deferring).map((o) => o.lits.map((l) => ({ atom: show(l.atom), value: l.value })));
          const onErrorPaths = (phrase: string) => (normal.length ? phrase : phrase === 'always' ? 'on error paths only' : `on error paths, when ${phrase}`);
          node.defersWhen = onErrorPaths(phraseCondition(condition));
          node.defersSummary = onErrorPaths(summariseCondition(condition));
        } else if (res.summary.handoff && rank[node.role] < rank.handoff) node.role = 'handoff';
        else if (outcomes?.some((o) => !o.keepsCaller) && rank[node.role] < rank.completes) node.role = 'completes';
      }
      for (const n of fn.cfg().nodes) {
        if (n.op !== 'call' || n.viaPointer) continue;
        const relevant = direct.has(n.callee) || program.resolve(fn.file, n.callee).some((t) => run.results.has(t));
        if (!relevant) continue;
        ensure(n.callee);
        const key = `${fn.name}>${n.callee}`;
        if (!edgeKeys.has(key)) {
          edgeKeys.add(key);
          edges.push({ from: fn.name, to: n.callee, kind: 'call', file: fn.file, line: n.line });
        }
      }
    }
  }
  for (const [field, targets] of program.opsTargets) {
    for (const t of targets) {
      if (!nodes.has(t.target)) continue;
      const from = `${t.struct}.${field}`;
      ensure(from, t.file, t.line);
      edges.push({ from, to: t.target, kind: 'ops-table', file: t.file, line: t.line });
    }
  }
  const noRuleApplies = active.length === 0 && result.inactiveRules.length ? { noRuleApplies: result.inactiveRules } : {};
  return { nodes: [...nodes.values()].sort((a, b) => compareText(a.name, b.name)), edges, ...noRuleApplies };
}
