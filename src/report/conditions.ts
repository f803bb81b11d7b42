// Conditions as a reader wants them: the analysis hands over a disjunction of
// conjunctions of literals (`atom` true or false), one per path outcome,
// often with impossible combinations (`attrs & DMA_ATTR_MMIO` true while
// `attrs & (DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_MMIO)` is false) and pairs that
// differ in one literal only. Simplified, they say the same in a few words:
// "!dev_is_dma_coherent(dev) && flush is false".

export interface Literal {
  /** The condition's C text as the analysis shows it. */
  atom: string;
  value: boolean;
}

/** A disjunction of conjunctions; `[]` is false (never), `[[]]` is true (always). */
export type Condition = Literal[][];

/** `x & FLAG` or `x & (A | B)`: which variable, which flags. */
function maskTest(atom: string): { base: string; flags: Set<string> } | null {
  const m = /^\(?\s*([A-Za-z_][\w.>-]*(?:->[A-Za-z_]\w*)*)\s*&\s*\(?\s*([A-Za-z_]\w*(?:\s*\|\s*[A-Za-z_]\w*)*)\s*\)?\s*\)?$/.exec(atom);
  if (!m) return null;
  return { base: m[1]!, flags: new Set(m[2]!.split('|').map((f) => f.trim())) };
}

function subset(a: Set<string>, b: Set<string>): boolean {
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/**
 * One conjunction without duplicates and implied literals, or null when it
 * cannot hold: an atom both true and false, or `x & A` true while a false
 * `x & (A | ...)` says every bit of A is clear.
 */
function simplifyConjunction(input: Literal[]): Literal[] | null {
  const conj = reduceNegatedConjunctions(input);
  if (conj === null) return null;
  const byAtom = new Map<string, boolean>();
  for (const lit of conj) {
    const seen = byAtom.get(lit.atom);
    if (seen !== undefined && seen !== lit.value) return null;
    byAtom.set(lit.atom, lit.value);
  }
  const lits = [...byAtom].map(([atom, value]) => ({ atom, value }));
  const masks = lits.map((l) => ({ lit: l, mask: maskTest(l.atom) }));
  const drop = new Set<Literal>();
  for (const a of masks) {
    if (!a.mask) continue;
    for (const b of masks) {
      if (a === b || !b.mask || a.mask.base !== b.mask.base) continue;
      // x & A set, while x & B clear with A ⊆ B: impossible.
      if (a.lit.value && !b.lit.value && subset(a.mask.flags, b.mask.flags)) return null;
      // x & A clear is implied by x & B clear when A ⊆ B.
      if (!a.lit.value && !b.lit.value && subset(a.mask.flags, b.mask.flags) && a.mask.flags.size < b.mask.flags.size) drop.add(a.lit);
      // x & B set is implied by x & A set when A ⊆ B.
      if (a.lit.value && b.lit.value && subset(b.mask.flags, a.mask.flags) && b.mask.flags.size < a.mask.flags.size) drop.add(a.lit);
    }
  }
  return lits.filter((l) => !drop.has(l));
}

/** Without surrounding parentheses that enclose the whole text. */
function unwrap(text: string): string {
  let t = text.trim();
  while (t.startsWith('(') && t.endsWith(')') && balancedInside(t.slice(1, -1))) t = t.slice(1, -1).trim();
  return t;
}

function balancedInside(text: string): boolean {
  let depth = 0;
  for (const c of text) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/** `a && (b || c) && !d` split at its top-level `&&` (or `||`); one part when there is none. */
function topLevelParts(text: string, op: '&&' | '||'): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && text.startsWith(op, i)) {
      parts.push(text.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  parts.push(text.slice(start));
  return parts.map(unwrap);
}

/** A literal's test as C text, true form: `x`, or `!x` for a false one. */
function asText(l: Literal): string {
  return l.value ? unwrap(l.atom) : `!${/^[\w.>-]+(?:\([^()]*\))?$/.test(unwrap(l.atom)) ? unwrap(l.atom) : `(${unwrap(l.atom)})`}`;
}

/**
 * `!(A && B)` where the conjunction already holds A is `!B`; where it holds
 * every part, the conjunction is impossible (null); where it holds `!A` (or
 * `!B`), it is implied, and dropped, as is `(A || B)` where it holds A. The
 * analysis hands these over when it merges paths under a shared condition.
 * Repeated while a literal changes: a reduced one may imply another.
 */
function reduceNegatedConjunctions(conj: Literal[]): Literal[] | null {
  for (let lits: Literal[] | null = conj; ; ) {
    const next = reduceNegatedConjunctionsOnce(lits);
    if (next === null || (next.length === lits.length && next.every((l, i) => l === lits![i]))) return next;
    lits = next;
  }
}

function reduceNegatedConjunctionsOnce(conj: Literal[]): Literal[] | null {
  const known = new Set(conj.map(asText));
  const out: Literal[] = [];
  for (const lit of conj) {
    if (lit.value) {
      const alternatives = topLevelParts(unwrap(lit.atom), '||');
      const others = new Set(conj.filter((l) => l !== lit).map(asText));
      // An alternative holds when every one of its conjuncts is held by another literal.
      if (alternatives.length > 1 && alternatives.some((part) => topLevelParts(part, '&&').every((c) => others.has(c)))) continue;
    }
    // A conjunction's parts; none for a test with a top-level `||` too (C text the analysis kept as written, `a || b && c`, is no conjunction of `a || b` and `c`).
    const parts = lit.value || topLevelParts(unwrap(lit.atom), '||').length > 1 ? [] : topLevelParts(unwrap(lit.atom), '&&');
    if (parts.length < 2) {
      out.push(lit);
      continue;
    }
    // Some part known false: the negation holds already.
    if (parts.some((part) => known.has(asText({ atom: part, value: false })))) continue;
    const left = parts.filter((part) => !known.has(part) && !known.has(unwrap(part)));
    if (left.length === 0) return null;
    if (left.length === parts.length) {
      out.push(lit);
      continue;
    }
    const rest = left.join(' && ');
    // !(!x) is x for a plain test; anything else stays a negated test.
    const plain = /^!([\w.>-]+(?:\([^()]*\))?)$/.exec(rest);
    out.push(left.length === 1 && plain ? { atom: plain[1]!, value: true } : { atom: rest, value: false });
  }
  return out;
}

const key = (l: Literal) => `${l.value ? '' : '!'}${l.atom}`;

function includesAll(big: Literal[], small: Literal[]): boolean {
  const keys = new Set(big.map(key));
  return small.every((l) => keys.has(key(l)));
}

/**
 * The disjunction without impossible conjunctions, duplicates, absorbed
 * conjunctions (A || A && B is A) and complementary pairs (A && x || A && !x
 * is A), repeated until nothing changes.
 */
export function simplifyCondition(condition: Condition): Condition {
  let terms = condition.map(simplifyConjunction).filter((c): c is Literal[] => c !== null);
  for (let changed = true; changed; ) {
    changed = false;
    // Absorption and duplicates.
    terms = terms.filter((t, i) => !terms.some((u, j) => j !== i && includesAll(t, u) && (u.length < t.length || j < i)));
    // Resolution: two terms equal but for one complementary literal merge into their common part.
    outer: for (let i = 0; i < terms.length; i++) {
      for (let j = i + 1; j < terms.length; j++) {
        const a = terms[i]!;
        const b = terms[j]!;
        if (a.length !== b.length) continue;
        const onlyA = a.filter((l) => !b.some((m) => key(m) === key(l)));
        if (onlyA.length !== 1) continue;
        const onlyB = b.filter((l) => !a.some((m) => key(m) === key(l)));
        if (onlyB.length !== 1 || onlyB[0]!.atom !== onlyA[0]!.atom) continue;
        terms = [...terms.filter((_, k) => k !== i && k !== j), a.filter((l) => l !== onlyA[0])];
        changed = true;
        break outer;
      }
    }
  }
  return terms;
}

/** A literal as a reader says it: `flush is false` for a plain variable, the C test otherwise. */
function phraseLiteral(l: Literal): string {
  if (/^[A-Za-z_]\w*$/.test(l.atom) && !/^[A-Z_0-9]+$/.test(l.atom)) return `${l.atom} is ${l.value ? 'true' : 'false'}`;
  // Wrapped unless one pair of parentheses already encloses it all: `(a) || (b)` is not enclosed.
  if (l.value) return /[ &|]/.test(l.atom) && unwrap(l.atom) === l.atom.trim() ? `(${l.atom})` : l.atom;
  // Only parentheses that enclose the whole test are taken off: `!((a & X) && (b & Y))`, never `!(a & X) && (b & Y)`.
  return /^[\w.>-]+(?:\([^()]*\))?$/.test(l.atom) ? `!${l.atom}` : `!(${unwrap(l.atom)})`;
}

/** "always", "never", or the simplified disjunction in C-like words. */
export function phraseCondition(condition: Condition): string {
  return phraseSimplified(simplifyCondition(condition));
}

/** phraseCondition of a condition simplifyCondition already returned. */
function phraseSimplified(simple: Condition): string {
  if (simple.length === 0) return 'never';
  if (simple.some((t) => t.length === 0)) return 'always';
  return simple.map((t) => t.map(phraseLiteral).join(' && ')).join(' || ');
}

/**
 * A few words for a label: the condition itself when it is one case;
 * otherwise what every case has in common and how many cases there are.
 */
export function summariseCondition(condition: Condition): string {
  const simple = simplifyCondition(condition);
  if (simple.length <= 1) return phraseSimplified(simple);
  const common = simple[0]!.filter((l) => simple.every((t) => t.some((m) => key(m) === key(l))));
  if (common.length === 0) return `in ${simple.length} cases`;
  return `${common.map(phraseLiteral).join(' && ')} (${simple.length} cases)`;
}
