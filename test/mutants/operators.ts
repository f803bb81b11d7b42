// Mutation operators on the real kernel tree. Each finds the sites where it
// fits in a file's text and returns one mutant per site: the mutated text,
// what was done, and whether flushcheck must report it (`detect`) or must
// stay silent (`silent`), with a one-line reason. The texts are mutated in
// memory and analysed as an overlay on the tree; the tree itself is never
// written and no kernel code enters this repository.

export interface Mutant {
  id: string;
  operator: string;
  file: string;
  line: number;
  label: 'detect' | 'silent';
  reason: string;
  text: string;
  /** Other files the same mutant changes (a change spanning two files). */
  also?: { file: string; text: string }[];
  /** Where a detect-mutant's new finding must be (default: `file`, where the code changed). */
  expectIn?: string;
}

/** Files whose syncs and flushes the operators mutate (the batched-sync series' files). */
export const FLUSH_FILES = ['kernel/dma/direct.c', 'kernel/dma/direct.h', 'kernel/dma/swiotlb.c', 'kernel/dma/mapping.c', 'drivers/iommu/dma-iommu.c', 'drivers/xen/swiotlb-xen.c'];

/** Callers of dma_iova_link() whose dma_iova_sync() the operators drop. */
export const IOVA_SYNC_FILES = ['block/blk-mq-dma.c', 'drivers/infiniband/core/rw.c', 'drivers/vfio/pci/mlx5/cmd.c', 'drivers/dma-buf/dma-buf-mapping.c', 'drivers/gpu/drm/drm_pagemap.c', 'drivers/gpu/drm/drm_gpusvm.c', 'mm/hmm.c', 'net/core/tso.c'];

type Lines = string[];

const FLUSH = /^(\s*)arch_sync_dma_flush\(\);\s*$/;
const BARE_IF = /^\s*(?:\}\s*else\s+)?if\s*\((.*)\)\s*$/;

function lineOf(lines: Lines, i: number): number {
  return i + 1;
}

/** The function whose body holds line `i` (kernel style: the definition starts at column 0). */
export function functionAt(lines: Lines, i: number): string {
  for (let j = i; j >= 0; j--) {
    const m = /^(?:static\s+)?(?:inline\s+)?[A-Za-z_][\w\s*]*?\b([A-Za-z_]\w*)\s*\(/.exec(lines[j]);
    if (m && !/^\s/.test(lines[j]) && !lines[j].includes(';')) return m[1];
  }
  return '?';
}

function mutant(operator: string, file: string, lines: Lines, i: number, label: Mutant['label'], reason: string, out: Lines): Mutant {
  const fn = functionAt(lines, i);
  return { id: `${operator}:${file}:${lineOf(lines, i)}`, operator, file, line: lineOf(lines, i), label, reason: `${fn}(): ${reason}`, text: out.join('\n') };
}

/** Drop a flush (with its guard when the guard is a bare `if` holding only it). */
export function dropFlush(file: string, text: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  lines.forEach((l, i) => {
    if (!FLUSH.test(l)) return;
    const guarded = i > 0 && BARE_IF.test(lines[i - 1]) && !lines[i - 1].trim().endsWith('{');
    const next = [...lines];
    next.splice(guarded ? i - 1 : i, guarded ? 2 : 1);
    out.push(mutant('drop-flush', file, lines, i, 'detect', 'the maintenance issued before this flush is left pending where it was completed', next));
  });
  return out;
}

/** Negate the guard of a flush: it now runs only where nothing was issued. */
export function negateFlushGuard(file: string, text: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  lines.forEach((l, i) => {
    if (!FLUSH.test(l) || i === 0) return;
    const m = BARE_IF.exec(lines[i - 1]);
    if (!m || lines[i - 1].trim().endsWith('{')) return;
    const next = [...lines];
    next[i - 1] = lines[i - 1].replace(`(${m[1]})`, `(!(${m[1]}))`);
    out.push(mutant('negate-guard', file, lines, i, 'detect', `the flush runs only when !(${m[1]}), where nothing was issued`, next));
  });
  return out;
}

/** Drop the guard of a flush: an unconditional flush completes the same maintenance. */
export function dropFlushGuard(file: string, text: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  lines.forEach((l, i) => {
    if (!FLUSH.test(l) || i === 0) return;
    const m = BARE_IF.exec(lines[i - 1]);
    if (!m || lines[i - 1].trim().endsWith('{') || /else/.test(lines[i - 1])) return;
    const next = [...lines];
    next.splice(i - 1, 1);
    out.push(mutant('drop-guard', file, lines, i, 'silent', 'an unconditional flush completes at least what the guarded one did', next));
  });
  return out;
}

/** A flush right after a `for_each_sg` loop's closing brace: moved before the loop (detect), or into it (silent). */
export function moveFlushAroundLoop(file: string, text: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*for_each_sg\(.*\)\s*\{\s*$/.test(lines[i])) continue;
    const indent = /^\s*/.exec(lines[i])![0];
    const close = lines.findIndex((l, j) => j > i && l === `${indent}}`);
    if (close < 0) continue;
    // The statements after the loop up to the flush: `[blank] [if (...) [{]] flush`.
    let j = close + 1;
    while (j < lines.length && lines[j].trim() === '') j++;
    const guard = BARE_IF.exec(lines[j]) ? j : lines[j]?.trim().startsWith('if') && lines[j].trim().endsWith('{') ? j : -1;
    const flushAt = guard >= 0 ? guard + 1 : j;
    if (!FLUSH.test(lines[flushAt] ?? '')) continue;
    const braced = guard >= 0 && lines[guard].trim().endsWith('{');
    if (braced) continue; // `if (...) { flush; more; }`: moving it changes more than the flush
    const flushLines = guard >= 0 ? [lines[guard], lines[flushAt]] : [lines[flushAt]];
    const before = [...lines.slice(0, i), ...flushLines, ...lines.slice(i, flushAt - flushLines.length + 1), ...lines.slice(flushAt + 1)];
    out.push(mutant('flush-before-loop', file, lines, flushAt, 'detect', 'the flush moved before the loop completes nothing the loop issues', before));
    const inside = [...lines.slice(0, close), ...flushLines.map((l) => `\t${l}`), ...lines.slice(close, flushAt - flushLines.length + 1), ...lines.slice(flushAt + 1)];
    out.push(mutant('flush-into-loop', file, lines, flushAt, 'silent', 'a flush per entry completes each entry (slower, still correct)', inside));
  }
  return out;
}

/** Duplicate a flush: the second completes nothing but is harmless. */
export function redundantFlush(file: string, text: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  lines.forEach((l, i) => {
    const m = FLUSH.exec(l);
    if (!m || (i > 0 && BARE_IF.test(lines[i - 1]) && !lines[i - 1].trim().endsWith('{'))) return;
    const next = [...lines];
    next.splice(i + 1, 0, `${m[1]}arch_sync_dma_flush();`);
    out.push(mutant('redundant-flush', file, lines, i, 'silent', 'a second flush after a flush changes nothing', next));
  });
  return out;
}

/** Wrap a flush in `do { } while (0)`. */
export function wrapDoWhile(file: string, text: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  lines.forEach((l, i) => {
    const m = FLUSH.exec(l);
    if (!m) return;
    const next = [...lines];
    next[i] = `${m[1]}do { arch_sync_dma_flush(); } while (0);`;
    out.push(mutant('do-while-0', file, lines, i, 'silent', 'do { flush; } while (0) is the flush', next));
  });
  return out;
}

/** Rename a local variable throughout its function. */
export function renameLocal(file: string, text: string, local: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  const decl = new RegExp(`^\\s+[A-Za-z_][\\w\\s*]*\\b${local}\\b\\s*(=|;)`);
  lines.forEach((l, i) => {
    if (!decl.test(l)) return;
    // From the declaration to the function's closing brace at column 0.
    const end = lines.findIndex((x, j) => j > i && x === '}');
    if (end < 0) return;
    const next = [...lines];
    const word = new RegExp(`\\b${local}\\b`, 'g');
    for (let j = i; j < end; j++) next[j] = next[j].replace(word, `${local}_renamed`);
    out.push(mutant('rename-local', file, lines, i, 'silent', `renaming the local ${local} changes nothing`, next));
  });
  return out;
}

/** Rename a static function everywhere in its file. */
export function renameStatic(file: string, text: string, name: string): Mutant[] {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^static\\b.*\\b${name}\\(`).test(l) || (l.startsWith(`${name}(`) && /^static/.test(lines[lines.indexOf(l) - 1] ?? '')));
  if (at < 0) return [];
  const next = text.replace(new RegExp(`\\b${name}\\b`, 'g'), `${name}_renamed`);
  return [{ id: `rename-static:${file}:${at + 1}`, operator: 'rename-static', file, line: at + 1, label: 'silent', reason: `${name}(): renaming a static helper changes no finding's identity`, text: next }];
}

/** Swap two adjacent declarations at the top of a function. */
export function swapDeclarations(file: string, text: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  const decl = /^\t(?:struct\s+\w+\s*\*?\s*\w+|int\s+\w+|size_t\s+\w+|bool\s+\w+);$/;
  for (let i = 1; i + 1 < lines.length; i++) {
    if (lines[i - 1] !== '{' || !decl.test(lines[i]) || !decl.test(lines[i + 1])) continue;
    const next = [...lines];
    [next[i], next[i + 1]] = [next[i + 1], next[i]];
    out.push(mutant('swap-declarations', file, lines, i, 'silent', 'the order of two declarations without initialisers changes nothing', next));
  }
  return out;
}

/** After a sync in a void function, an error path that flushes before returning. */
export function addCompletingErrorPath(file: string, text: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  lines.forEach((l, i) => {
    const m = /^(\s*)arch_sync_dma_for_(?:device|cpu)\(([^,]+),\s*([^,]+),/.exec(l);
    if (!m || !l.trim().endsWith(';') || (i > 0 && BARE_IF.test(lines[i - 1]))) return;
    const header = lines.slice(0, i).reverse().find((x) => /^[A-Za-z_]/.test(x) && x.includes('('));
    if (!header || !/\bvoid\b/.test(header.split('(')[0])) return;
    const ind = m[1];
    const next = [...lines];
    next.splice(i + 1, 0, `${ind}if (unlikely(!${m[3].trim()})) {`, `${ind}\tarch_sync_dma_flush();`, `${ind}\treturn;`, `${ind}}`);
    out.push(mutant('completing-error-path', file, lines, i, 'silent', 'an early return that flushes first leaves nothing pending', next));
  });
  return out;
}

/** Drop a caller's dma_iova_sync() (and the check of its result). */
export function dropIovaSync(file: string, text: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  lines.forEach((l, i) => {
    if (!/\bdma_iova_sync\(/.test(l)) return;
    const next = [...lines];
    // The call may span lines: up to the line ending in `;` or `)`.
    let end = i;
    while (end < lines.length && !/[;{]\s*$/.test(lines[end]) && !/\)\)\s*$/.test(lines[end])) end++;
    const stmt = lines.slice(i, end + 1).join('\n');
    const m = /^(\s*)(?:(\w+)\s*=\s*)?dma_iova_sync\(/.exec(lines[i]);
    const ifCall = /^(\s*)if \(dma_iova_sync\(/.exec(lines[i]);
    const ret = /^(\s*)return dma_iova_sync\(/.exec(lines[i]);
    if (ret) next.splice(i, end - i + 1, `${ret[1]}return 0;`);
    else if (ifCall) next.splice(i, end - i + 1, `${ifCall[1]}if (0)`);
    else if (m && m[2]) next.splice(i, end - i + 1, `${m[1]}${m[2]} = 0;`);
    else if (m) next.splice(i, end - i + 1);
    else return;
    void stmt;
    // Links of MMIO ranges issue no cache maintenance (dma_iova_link() skips
    // the sync for DMA_ATTR_MMIO): their dma_iova_sync() only syncs the IOTLB.
    const fnStart = lines.slice(0, i).map((l, j) => (/^[A-Za-z_]/.test(l) && l.includes('(') ? j : -1)).filter((j) => j >= 0).pop() ?? 0;
    const mmio = /dma_iova_link\([^;]*DMA_ATTR_MMIO/.test(lines.slice(fnStart, i).join('\n'));
    out.push(
      mmio
        ? mutant('drop-iova-sync', file, lines, i, 'silent', 'its links pass DMA_ATTR_MMIO: no cache maintenance is pending, only the IOTLB sync goes', next)
        : mutant('drop-iova-sync', file, lines, i, 'detect', 'the links this caller made are never synced before the device uses them', next),
    );
  });
  return out;
}

/** Pass `false` for a `bool flush` argument where nothing flushes after. */
export function flushArgumentFalse(file: string, text: string): Mutant[] {
  const lines = text.split('\n');
  const out: Mutant[] = [];
  lines.forEach((l, i) => {
    const m = /\b(dma_direct_map_phys|dma_direct_unmap_phys|dma_direct_sync_single_for_cpu)\((.*), true\);/.exec(l);
    if (!m) return;
    const next = [...lines];
    next[i] = l.replace(', true);', ', false);');
    out.push(mutant('flush-false', file, lines, i, 'detect', `${m[1]}(..., false) leaves its sync pending and nothing flushes after it`, next));
  });
  return out;
}

/**
 * Batch a per-entry helper the way the series batched dma-direct: the helper
 * `name` (a static function of `file` that flushes after its sync) gets a
 * `bool flush` parameter, the ops table keeps calling it through a wrapper
 * that passes true, and the sg loop `caller` passes false and flushes once
 * after the loop. For-cpu helpers bounce after their flush (detect: the copy
 * runs before the batched flush); for-device helpers bounce before their sync
 * (silent: batching them is what the series did and is correct).
 */
export function batchHelper(file: string, text: string, name: string, caller: string, label: Mutant['label'], reason: string): Mutant[] {
  const head = new RegExp(`^(static [\\w ]+?\\*?\\s*)\\n?${name}\\(`, 'm');
  const m = head.exec(text) ?? new RegExp(`^(static [\\w ]+?\\*?\\s*)${name}\\(`, 'm').exec(text);
  if (!m) return [];
  const start = m.index;
  const open = text.indexOf('{', start);
  const close = text.indexOf('\n}\n', open);
  const params = text.slice(text.indexOf('(', start) + 1, text.lastIndexOf(')', open));
  if (open < 0 || close < 0) return [];
  const body = text.slice(open, close + 2);
  if (!/arch_sync_dma_flush\(\);/.test(body)) return [];
  const argNames = params.split(',').map((p) => /(\w+)\s*$/.exec(p.trim())?.[1] ?? '');
  const returnType = m[1].replace(/^static\s+/, '').trim();
  const helper = `static ${returnType} __${name}(${params}, bool flush)\n${body.replace('arch_sync_dma_flush();', 'if (flush)\n\t\t\t\tarch_sync_dma_flush();')}\n`;
  const wrapper = `static ${returnType} ${name}(${params})\n{\n\t${returnType === 'void' ? '' : 'return '}__${name}(${argNames.join(', ')}, true);\n}\n`;
  let out = text.slice(0, start) + helper + '\n' + wrapper + text.slice(close + 3);
  // The sg loop: call the helper without flushing, flush once after the loop.
  const callerAt = out.search(new RegExp(`^${caller}\\(`, 'm'));
  if (callerAt < 0) return [];
  const loop = out.indexOf('for_each_sg(', callerAt);
  const call = out.indexOf(`${name}(`, loop);
  const end = out.indexOf(');', call);
  if (loop < 0 || call < 0 || end < 0) return [];
  out = `${out.slice(0, call)}__${name}(${out.slice(call + name.length + 1, end)}, false);${out.slice(end + 2)}`;
  const afterLoop = statementEnd(out, out.indexOf(')', out.indexOf('(', loop)) + 1);
  const dev = /struct device \*(\w+)/.exec(out.slice(callerAt, loop))?.[1] ?? 'dev';
  out = `${out.slice(0, afterLoop)}\n\tif (!dev_is_dma_coherent(${dev}))\n\t\tarch_sync_dma_flush();${out.slice(afterLoop)}`;
  const line = text.slice(0, start).split('\n').length;
  return [{ id: `batch-helper:${file}:${line}`, operator: 'batch-helper', file, line, label, reason: `${caller}(): ${reason}`, text: out }];
}

/** Where the statement starting at `from` ends (after its `;` or its braced block). */
function statementEnd(text: string, from: number): number {
  let i = from;
  while (/\s/.test(text[i])) i++;
  if (text[i] === '{') {
    for (let depth = 0; i < text.length; i++) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}' && --depth === 0) return i + 1;
    }
    return text.length;
  }
  for (let depth = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ';' && depth === 0) return i + 1;
  }
  return text.length;
}
