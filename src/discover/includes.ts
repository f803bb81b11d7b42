// Where a callee is defined, found the way the compiler finds it: through the
// #include lines of the file that calls it. Static inline helpers and macros
// live in headers that name no rule identifier (include/linux/swiotlb.h's
// swiotlb_sync_single_for_cpu() reaches the bounce copy); the text scan never
// reads those, so the analysis asks for them by following the calling file's
// includes. Only headers are read here, and each once per run.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { callNames } from './call-names.js';

/** The folders `#include <x>` searches for an arch, in the kernel's order (see the top Makefile's LINUXINCLUDE). */
function includeDirs(arch: string): string[] {
  return [`arch/${arch}/include`, `arch/${arch}/include/uapi`, 'include', 'include/uapi'];
}

/**
 * What a resolver learned about a snapshot's includes, kept with the
 * snapshot's record (discover/record.ts) so that a changed snapshot reuses
 * what the change cannot have altered: the walks of files whose #include
 * lines and walked headers are unchanged, and the answers that looked only
 * at unchanged headers.
 */
export interface IncludeRecord {
  /** Every header the walks name; `order` and `header` are indices into it. */
  headers: string[];
  /** Per walked file: a digest of its #include lines, the headers in breadth-first order so far, how many of [file, ...order] were expanded. */
  walks: Record<string, { directives: string; order: number[]; expanded: number }>;
  /** Per file and name: the answer, and how many headers of the walk it looked at (`k`). */
  answers: Record<string, Record<string, { k: number; header: number | null; calls: string[] }>>;
}

interface Walk {
  order: string[];
  queue: string[];
  seen: Set<string>;
  expanded: number;
}

type Answer = { header: string; calls: string[] } | null;

export class IncludeResolver {
  private readonly texts = new Map<string, string | null>();
  private readonly includes = new Map<string, string[]>();
  /** Per including file, its breadth-first walk of includes so far. */
  private readonly closures = new Map<string, Walk>();
  private readonly directiveDigests = new Map<string, string>();
  /** Per file and name, the answer and how many headers of the walk it read. */
  private readonly answers = new Map<string, Map<string, { k: number; answer: Answer }>>();

  /** `read`: a root-relative file's bytes (the analysed snapshot's), or null. `known`: what a resolver of this snapshot learned before. */
  constructor(
    private readonly arch: string,
    private readonly read: (file: string) => Buffer | null,
    private readonly isFile: (file: string) => boolean,
    known?: IncludeRecord,
  ) {
    if (known) this.restore(known);
  }

  /**
   * The first header reachable from `file` that defines `name` (a function
   * with a body, or a function-like macro), with the names its body calls;
   * null when the first header to declare it only declares it (an extern
   * function, defined in some .c file) or none does. Headers are read in the
   * compiler's order and only as far as needed.
   */
  definition(file: string, name: string): Answer {
    let perFile = this.answers.get(file);
    const known = perFile?.get(name);
    if (known) return known.answer;
    let k = 0;
    let answer: Answer = null;
    for (const header of this.closure(file)) {
      k++;
      const found = lookUp(this.text(header), name);
      if (found === 'declared') break;
      if (found) {
        answer = { header, calls: found };
        break;
      }
    }
    if (!perFile) this.answers.set(file, (perFile = new Map()));
    perFile.set(name, { k, answer });
    return answer;
  }

  /** What this resolver learned, for the snapshot's record. */
  record(): IncludeRecord {
    const headers: string[] = [];
    const index = new Map<string, number>();
    const at = (header: string) => {
      let i = index.get(header);
      if (i === undefined) index.set(header, (i = headers.push(header) - 1));
      return i;
    };
    const walks: IncludeRecord['walks'] = {};
    for (const [file, walk] of this.closures) {
      walks[file] = { directives: this.directivesOf(file), order: walk.order.map(at), expanded: walk.expanded };
    }
    const answers: IncludeRecord['answers'] = {};
    for (const [file, perFile] of this.answers) {
      answers[file] = {};
      for (const [name, { k, answer }] of perFile) answers[file][name] = { k, header: answer ? at(answer.header) : null, calls: answer?.calls ?? [] };
    }
    return { headers, walks, answers };
  }

  private restore(known: IncludeRecord): void {
    for (const [file, walk] of Object.entries(known.walks)) {
      const order = walk.order.map((i) => known.headers[i]);
      this.closures.set(file, { order, queue: [file, ...order].slice(walk.expanded), seen: new Set([file, ...order]), expanded: walk.expanded });
      this.directiveDigests.set(file, walk.directives);
    }
    for (const [file, perFile] of Object.entries(known.answers)) {
      const map = new Map<string, { k: number; answer: Answer }>();
      for (const [name, a] of Object.entries(perFile)) map.set(name, { k: a.k, answer: a.header === null ? null : { header: known.headers[a.header], calls: a.calls } });
      this.answers.set(file, map);
    }
  }

  /** The headers `file` includes, directly or not, in breadth-first order, read only as far as the caller iterates. */
  private *closure(file: string): Generator<string> {
    let walk = this.closures.get(file);
    if (!walk) this.closures.set(file, (walk = { order: [], queue: [file], seen: new Set([file]), expanded: 0 }));
    for (let i = 0; ; i++) {
      while (i >= walk.order.length && walk.queue.length) {
        walk.expanded++;
        for (const h of this.directIncludes(walk.queue.shift()!)) {
          if (walk.seen.has(h)) continue;
          walk.seen.add(h);
          walk.order.push(h);
          walk.queue.push(h);
        }
      }
      if (i >= walk.order.length) return;
      yield walk.order[i];
    }
  }

  private directIncludes(file: string): string[] {
    const known = this.includes.get(file);
    if (known) return known;
    const out: string[] = [];
    for (const [quoted, name] of includeDirectives(this.text(file) ?? '')) {
      const target = this.locate(file, quoted, name);
      if (target) out.push(target);
    }
    this.includes.set(file, out);
    return out;
  }

  private directivesOf(file: string): string {
    let d = this.directiveDigests.get(file);
    if (d === undefined) this.directiveDigests.set(file, (d = directivesDigest(this.text(file) ?? '')));
    return d;
  }

  private locate(from: string, quoted: boolean, name: string): string | null {
    if (name.includes('..') && !quoted) return null;
    const candidates: string[] = [];
    if (quoted) candidates.push(path.posix.normalize(path.posix.join(path.posix.dirname(from), name)));
    for (const dir of includeDirs(this.arch)) candidates.push(`${dir}/${name}`);
    // arch/<x>/include/generated/asm/*.h wrap asm-generic headers; the source tree has no generated folder.
    if (name.startsWith('asm/')) candidates.push(`include/asm-generic/${name.slice(4)}`);
    return candidates.find((c) => !c.startsWith('..') && this.isFile(c)) ?? null;
  }

  private text(file: string): string | null {
    if (!this.texts.has(file)) this.texts.set(file, this.read(file)?.toString('latin1') ?? null);
    return this.texts.get(file)!;
  }
}

/** What a header says about `name`: its definitions' calls, 'declared' (a prototype comes first), or null (neither). */
function lookUp(text: string | null, name: string): string[] | 'declared' | null {
  if (!text || !text.includes(name)) return null;
  // Every definition there: `#ifdef CONFIG_X` variants and their stubs.
  const calls = new Set<string>();
  let found = false;
  for (let at = definitionAt(text, name, 0); at >= 0; at = definitionAt(text, name, at + name.length)) {
    found = true;
    for (const c of callNames(bodyAt(text, at))) calls.add(c);
  }
  if (found) return [...calls];
  return declaresName(text, name) ? 'declared' : null;
}

/** A file's #include lines: whether the name is quoted, and the name. */
function includeDirectives(text: string): [boolean, string][] {
  return [...text.matchAll(/^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]/gm)].map((m) => [m[1] === '"', m[2].trim()]);
}

/** A digest of a file's #include lines: a change that keeps them keeps the file's walk. */
export function directivesDigest(text: string): string {
  return createHash('sha1').update(JSON.stringify(includeDirectives(text))).digest('hex');
}

/** Where `text` defines `name` (the name's offset) at or after `from`, or -1. */
function definitionAt(text: string, name: string, from: number): number {
  for (let at = text.indexOf(name, from); at >= 0; at = text.indexOf(name, at + name.length)) {
    if (isDefinitionAt(text, name, at)) return at;
  }
  return -1;
}

/** Is the occurrence of `name` at `at` a function definition's declarator or a function-like macro's name? */
function isDefinitionAt(text: string, name: string, at: number): boolean {
  if (isWord(text.charCodeAt(at - 1)) || isWord(text.charCodeAt(at + name.length))) return false;
  const lineStart = text.lastIndexOf('\n', at) + 1;
  const before = text.slice(lineStart, at);
  if (/^[ \t]*#[ \t]*define[ \t]+$/.test(before) && text[at + name.length] === '(') return true;
  // A declarator: nothing but type words before it on its line, its
  // parameters, then a body (not a `;` prototype or a call).
  if (/[;#{}()=,]/.test(before) || (/^\s/.test(before) && !/^\s*(static|inline|__always_inline)/.test(before))) return false;
  let i = at + name.length;
  while (text[i] === ' ' || text[i] === '\t') i++;
  if (text[i] !== '(') return false;
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) break;
    else if (c === ';' || c === '{' || c === '}') break;
  }
  if (text[i] !== ')') return false;
  i++;
  while (i < text.length && /\s/.test(text[i])) i++;
  return text[i] === '{';
}

/** The text of the definition at `at`: a macro's (continued) lines, or a function's braced body. */
function bodyAt(text: string, at: number): string {
  const lineStart = text.lastIndexOf('\n', at) + 1;
  if (/^[ \t]*#/.test(text.slice(lineStart, at))) {
    let end = at;
    for (;;) {
      const nl = text.indexOf('\n', end);
      if (nl < 0) return text.slice(at);
      if (text[nl - 1] !== '\\') return text.slice(at, nl);
      end = nl + 1;
    }
  }
  const open = text.indexOf('{', at);
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  return text.slice(open);
}

function isWord(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

/** Does `text` declare `name` as a function (a prototype `...name(...);` at the start of a declaration)? */
function declaresName(text: string, name: string): boolean {
  for (let at = text.indexOf(name); at >= 0; at = text.indexOf(name, at + name.length)) {
    if (isWord(text.charCodeAt(at - 1)) || isWord(text.charCodeAt(at + name.length))) continue;
    const lineStart = text.lastIndexOf('\n', at) + 1;
    const before = text.slice(lineStart, at);
    if (/[;#{}()=,]/.test(before) || /^\s/.test(before)) continue;
    let i = at + name.length;
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] !== '(') continue;
    let depth = 0;
    for (; i < text.length; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')' && --depth === 0) break;
      else if (text[i] === '{' || text[i] === '}') break;
    }
    if (text[i] !== ')') continue;
    const rest = /^[^;{]*/.exec(text.slice(i + 1, i + 200))![0];
    if (text[i + 1 + rest.length] === ';') return true;
  }
  return false;
}
