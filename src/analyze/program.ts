// The analysed program: every lowered function, how calls resolve, and which
// functions hand the buffer over when they return.
import type { FileIR, FunctionIR } from '../ir/types.js';
import type { HandoffPolicy } from '../types.js';

export interface ProgramOptions {
  arch: string;
}

/** The name a call is resolved by: its callee, or `->field` for a call through a structure's function pointer. */
export function lookupName(call: { callee: string; viaPointer?: boolean }): string {
  return call.viaPointer ? `->${call.callee}` : call.callee;
}

export class Program {
  readonly functions: FunctionIR[] = [];
  readonly byName = new Map<string, FunctionIR[]>();
  readonly exported = new Set<string>();
  readonly addressTaken = new Set<string>();
  /** Functions assigned into ops tables: field -> targets (for the graph and pointer calls). */
  readonly opsTargets = new Map<string, { target: string; file: string; line: number; struct: string }[]>();
  /** Names some analysed call resolves to. */
  readonly called = new Set<string>();
  readonly definedMacros = new Set<string>();
  /** Functions declared by a prototype only (e.g. implemented in assembly). */
  readonly prototypes = new Set<string>();

  constructor(readonly files: FileIR[], readonly opts: ProgramOptions) {
    for (const f of files) {
      for (const fn of f.functions) {
        this.functions.push(fn);
        const list = this.byName.get(fn.name) ?? [];
        list.push(fn);
        this.byName.set(fn.name, list);
      }
      f.exports.forEach((e) => this.exported.add(e));
      f.macroNames.forEach((m) => this.definedMacros.add(m));
      f.prototypes.forEach((p) => this.prototypes.add(p));
      for (const o of f.ops) {
        const list = this.opsTargets.get(o.field) ?? [];
        list.push({ target: o.target, file: f.file, line: o.line, struct: o.struct });
        this.opsTargets.set(o.field, list);
      }
    }
    const names = new Set(this.byName.keys());
    for (const f of files) {
      for (const r of f.valueRefs) if (names.has(r)) this.addressTaken.add(r);
      for (const fn of f.functions) for (const c of fn.calls) this.called.add(c);
    }
  }

  /** Does the tree define `name` as a function or macro (or declare one implemented in assembly)? */
  defines(name: string): boolean {
    return this.byName.has(name) || this.definedMacros.has(name) || this.prototypes.has(name);
  }

  /**
   * The definitions a call from `callerFile` may reach. File-static functions
   * resolve within their file; statics in headers are visible to includers; a
   * definition under arch/<arch>/ wins over a generic fallback; a
   * function-like macro shadows functions of the same name. The list is
   * shared by every caller asking the same: never modify it.
   */
  resolve(callerFile: string, name: string): FunctionIR[] {
    // A program is never changed once built (each round builds its own): an answer holds for its life.
    let perFile = this.resolved.get(callerFile);
    if (!perFile) this.resolved.set(callerFile, (perFile = new Map()));
    let known = perFile.get(name);
    if (!known) perFile.set(name, (known = this.resolveAnew(callerFile, name)));
    return known;
  }

  /** Answers by calling file, then name (no key string built per call). */
  private readonly resolved = new Map<string, Map<string, FunctionIR[]>>();

  private resolveAnew(callerFile: string, name: string): FunctionIR[] {
    if (name.startsWith('->')) return this.resolveField(name.slice(2));
    const cands = this.byName.get(name);
    if (!cands) return [];
    const macros = cands.filter((c) => c.isMacro);
    if (macros.length) {
      const local = macros.filter((m) => m.file === callerFile);
      return local.length ? local : macros;
    }
    const sameFile = cands.filter((c) => c.isStatic && c.file === callerFile);
    if (sameFile.length) return sameFile;
    const visible = cands.filter((c) => !c.isStatic || c.file.endsWith('.h'));
    const archPrefix = `arch/${this.opts.arch}/`;
    const archOwn = visible.filter((c) => c.file.startsWith(archPrefix));
    return archOwn.length ? archOwn : visible;
  }

  /**
   * The functions a call through a `field` pointer may reach: those the
   * analysed ops tables assign to that field (`.map_phys = xen_swiotlb_map_phys`).
   * Tables in files not analysed are not known: such a call may reach more.
   */
  private resolveField(field: string): FunctionIR[] {
    const known = this.fieldTargets.get(field);
    if (known) return known;
    const out = new Set<FunctionIR>();
    for (const t of this.opsTargets.get(field) ?? []) for (const f of this.resolve(t.file, t.target)) out.add(f);
    const list = [...out];
    this.fieldTargets.set(field, list);
    return list;
  }

  private readonly fieldTargets = new Map<string, FunctionIR[]>();

  isHandoff(fn: FunctionIR, policy: HandoffPolicy, contractDefers: Set<string>): { handoff: boolean; why: string } {
    if (fn.isMacro) return { handoff: false, why: 'macro' };
    if (contractDefers.has(fn.name)) return { handoff: false, why: 'contract' };
    if (policy.addressTaken && this.addressTaken.has(fn.name)) return { handoff: true, why: 'its address is taken' };
    if (policy.exported && this.exported.has(fn.name)) return { handoff: true, why: 'it is exported' };
    if (policy.noCaller && !this.called.has(fn.name)) return { handoff: true, why: 'it has no caller among the functions analysed' };
    return { handoff: false, why: '' };
  }
}
