import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ConfigEnv, Tri } from '../../src/discover/kconfig.js';
import { evalCondition, preprocess } from '../../src/parse/preprocess.js';

/** CONFIG_Y* symbols are y, CONFIG_N* are n, the rest unknown (plus explicit overrides). */
function env(overrides: Record<string, Tri> = {}): ConfigEnv {
  return {
    arch: 'arm64',
    origin: 'test',
    symbol: (name) => overrides[name] ?? (name.startsWith('Y') ? 'y' : name.startsWith('N') ? 'n' : 'unknown'),
  };
}

/**
 * Build input and expected output from annotated lines: "K|text" is kept as
 * is, "B|text" must come out blanked (same length, spaces).
 */
function annotated(lines: string[]): { input: string; expected: string } {
  const input = lines.map((l) => l.slice(2)).join('\n');
  const expected = lines.map((l) => (l.startsWith('B|') ? l.slice(2).replace(/[^\r]/g, ' ') : l.slice(2))).join('\n');
  for (const l of lines) if (!/^[KB]\|/.test(l)) throw new Error(`bad annotation: ${l}`);
  return { input, expected };
}

function check(lines: string[], counts?: { decided: number; unknownConditionals: number }, e = env()): void {
  const { input, expected } = annotated(lines);
  const result = preprocess(input, e);
  expect(result.text.split('\n')).toEqual(expected.split('\n'));
  if (counts) expect({ decided: result.decided, unknownConditionals: result.unknownConditionals }).toEqual(counts);
}

describe('evalCondition', () => {
  const cases: [string, Tri][] = [
    ['0', 'n'],
    ['1', 'y'],
    ['0x10', 'y'],
    ['0UL', 'n'],
    ['defined(CONFIG_YES)', 'y'],
    ['defined CONFIG_YES', 'y'],
    ['defined ( CONFIG_NO )', 'n'],
    ['defined(CONFIG_MAYBE)', 'unknown'],
    ['CONFIG_YES', 'y'],
    ['CONFIG_NO', 'n'],
    ['!CONFIG_NO', 'y'],
    ['!defined(CONFIG_YES)', 'n'],
    ['IS_ENABLED(CONFIG_YES)', 'y'],
    ['IS_ENABLED(CONFIG_NO)', 'n'],
    ['IS_BUILTIN(CONFIG_YES)', 'y'],
    ['IS_MODULE(CONFIG_YES)', 'unknown'],
    ['IS_MODULE(CONFIG_NO)', 'n'],
    ['IS_REACHABLE(CONFIG_YES)', 'y'],
    ['IS_ENABLED(SOMETHING_ELSE)', 'unknown'],
    // three-valued logic
    ['CONFIG_NO && CONFIG_MAYBE', 'n'],
    ['CONFIG_MAYBE && CONFIG_NO', 'n'],
    ['CONFIG_YES && CONFIG_MAYBE', 'unknown'],
    ['CONFIG_YES || CONFIG_MAYBE', 'y'],
    ['CONFIG_MAYBE || CONFIG_YES', 'y'],
    ['CONFIG_NO || CONFIG_MAYBE', 'unknown'],
    ['!(CONFIG_YES && (CONFIG_NO || defined(CONFIG_YES2)))', 'y'],
    ['!(CONFIG_YES && (CONFIG_NO || defined(CONFIG_YES3)))', 'n'],
    ['(CONFIG_YES)', 'y'],
    // not configuration: unknown, unless the logic decides anyway
    ['__KERNEL__', 'unknown'],
    ['defined(arch_sync_dma_flush)', 'unknown'],
    ['LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 0)', 'unknown'],
    ['CONFIG_NO && LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 0)', 'n'],
    ['CONFIG_YES || __has_include(<linux/foo.h>)', 'y'],
    ['__has_include(<linux/foo.h>)', 'unknown'],
    ['CONFIG_NR_CPUS > 1', 'unknown'], // set, but its value is not known
    ['CONFIG_NO_INT == 0', 'y'], // unset macros are 0
    ['defined(CONFIG_YES) && 2 * 3 == 6 && (1 << 4) == 16 && -1 < 0 && 7 % 4 == 3', 'y'],
    ['1 / 0', 'unknown'],
    ['CONFIG_YES ? 1 : 0', 'y'],
    ['CONFIG_MAYBE ? 1 : 1', 'y'],
    ['CONFIG_MAYBE ? 1 : 0', 'unknown'],
    ['defined(CONFIG_YES) /* comment */ && 1 // rest', 'y'],
    // CONFIG_X_MODULE is defined only for =m; a .config never lists X_MODULE itself
    ['defined(CONFIG_NO_MODULE)', 'n'],
    ['defined(CONFIG_YES_MODULE)', 'unknown'],
    // malformed: unknown rather than a guess
    ['', 'unknown'],
    ['defined(', 'unknown'],
    ['(1', 'unknown'],
    ['1 2', 'unknown'],
    ['"string"', 'unknown'],
  ];
  it.each(cases)('%s -> %s', (expr, expected) => {
    expect(evalCondition(expr, env({ YES2: 'n', NR_CPUS: 'y', YES_MODULE: 'n' }))).toBe(expected);
  });
});

describe('preprocess', () => {
  it('keeps a decided-true branch, blanking its directives and the other branches', () => {
    check(
      [
        'K|int a;',
        'B|#ifdef CONFIG_YES',
        'K|int b;',
        'B|#else',
        'B|int c;',
        'B|#endif',
        'K|int d;',
      ],
      { decided: 1, unknownConditionals: 0 },
    );
  });

  it('blanks a decided-false conditional entirely, nested conditionals included', () => {
    check(
      [
        'B|#if 0',
        "B|don't count this apostrophe",
        'B|#if CONFIG_MAYBE',
        'B|int x;',
        'B|#endif',
        'B|#else /* not taken',
        'B|   still the comment */',
        'K|int kept;',
        'B|#endif',
      ],
      { decided: 1, unknownConditionals: 0 },
    );
  });

  it('decides nested conditionals independently inside kept and unknown branches', () => {
    check(
      [
        'B|#if defined(CONFIG_YES)',
        'K|#ifdef CONFIG_MAYBE',
        'K|a();',
        'B|# if IS_ENABLED(CONFIG_NO)',
        'B|b();',
        'B|# else',
        'K|c();',
        'B|# endif',
        'K|#else',
        'K|d();',
        'K|#endif',
        'B|#endif /* CONFIG_YES */',
      ],
      { decided: 2, unknownConditionals: 1 },
    );
  });

  it('in an #if unknown/#elif chain, keeps the directives and blanks only dead branches', () => {
    check(
      [
        'K|#if defined(arch_sync_dma_flush)',
        'K|a();',
        'K|#elif 0',
        'B|b();',
        'K|#elif defined(CONFIG_YES)',
        'K|c();',
        'K|#else',
        'B|d();',
        'K|#endif',
      ],
      { decided: 0, unknownConditionals: 1 },
    );
  });

  it('decides a fully known #if/#elif/#else chain', () => {
    check(
      [
        'B|#if CONFIG_NO',
        'B|a();',
        'B|#elif defined(CONFIG_YES)',
        'K|b();',
        'B|#elif CONFIG_MAYBE',
        'B|c();',
        'B|#else',
        'B|d();',
        'B|#endif',
      ],
      { decided: 1, unknownConditionals: 0 },
    );
    check(['B|#ifndef CONFIG_YES', 'B|a();', 'B|#elifdef CONFIG_NO', 'B|b();', 'B|#else', 'K|c();', 'B|#endif']);
  });

  it('leaves unknown conditionals completely untouched', () => {
    check(['K|#ifdef __KERNEL__', 'K|a();', 'K|#else', 'K|b();', 'K|#endif'], { decided: 0, unknownConditionals: 1 });
  });

  it('blanks every line of a continued or commented directive', () => {
    check([
      'B|#if defined(CONFIG_YES) && \\',
      'B|    !defined(CONFIG_NO)  /* a comment',
      'B|    spanning lines */',
      'K|kept();',
      'B|#endif // CONFIG_YES \\',
      'B|   continued line comment',
      'K|after();',
    ]);
  });

  it('ignores directives inside comments and string literals', () => {
    check([
      'K|/*',
      'K|#if 0',
      'K|*/',
      'K|const char *s = "a \\',
      'K|#if 0 still in the string";',
      'K|// #if 0 \\',
      'K|#if 0 continued line comment',
      "K|char c = '#'; int x = 1; # if 0",
      'K|a();',
    ], { decided: 0, unknownConditionals: 0 });
  });

  it('treats an unterminated #if as running to the end of the file', () => {
    check(['K|a();', 'B|#if CONFIG_NO', 'B|b();', 'B|c();'], { decided: 1, unknownConditionals: 0 });
    check(['B|#ifdef CONFIG_YES', 'K|b();', 'B|#else', 'B|c();']);
    check(['K|#if CONFIG_MAYBE', 'K|b();']);
  });

  it('leaves stray #else/#endif alone', () => {
    check(['K|a();', 'K|#endif', 'K|#else', 'B|#if 1', 'K|b();', 'B|#endif']);
  });

  it('takes a file’s include guard as true, but not a look-alike #ifndef', () => {
    check(
      [
        'K|/* SPDX-License-Identifier: GPL-2.0 */',
        'B|#ifndef _LINUX_DMA_H',
        'K|#define _LINUX_DMA_H',
        'K|#ifndef arch_sync_dma_flush',
        'K|static inline void arch_sync_dma_flush(void) { }',
        'K|#endif',
        'B|#endif /* _LINUX_DMA_H */',
        'K|',
      ],
      { decided: 1, unknownConditionals: 1 },
    );
    check(['B|#if !defined(GUARD_H)', 'K|#define GUARD_H', 'K|int a;', 'B|#endif']);
    // Code after the #endif: not a guard.
    check(['K|#ifndef GUARD_H', 'K|#define GUARD_H', 'K|#endif', 'K|int a;']);
    // Code before the #define: not a guard.
    check(['K|#ifndef GUARD_H', 'K|int a;', 'K|#define GUARD_H', 'K|#endif']);
    check(['B|#ifndef PLAT_RAM_H', 'K|#define PLAT_RAM_H __FILE__', 'K|int a;', 'B|#endif']);
    // A function-like macro: the default-definition idiom, not a guard.
    check(['K|#ifndef dma_flush', 'K|#define dma_flush() do { } while (0)', 'K|#endif']);
  });

  it('keeps CRLF line ends and tabs outside blanked text', () => {
    const input = '#ifdef CONFIG_NO\r\n\tx();\r\n#endif\r\n\ty();\r\n';
    expect(preprocess(input, env()).text).toBe(`${' '.repeat(16)}\r\n     \r\n      \r\n\ty();\r\n`);
  });

  it('returns the source unchanged when nothing is decided', () => {
    const input = '#include <linux/dma.h>\n#define X 1\nint a;\n';
    expect(preprocess(input, env())).toEqual({ text: input, decided: 0, unknownConditionals: 0 });
  });

  it('preserves length, line breaks and every kept character (property)', () => {
    const line = fc.constantFrom(
      '#if CONFIG_YES', '#if CONFIG_NO', '#if CONFIG_MAYBE', '#ifdef CONFIG_YES', '#ifndef CONFIG_NO', '#elif 1',
      '#elif CONFIG_MAYBE', '#else', '#endif', '#endif /* x', 'end of comment */', '# if 0 \\', 'int a;',
      "char c = 'x';", '"str', '/* #if 0 */', '// c', '\tcall(arch_sync_dma_flush);', '', '\r',
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const input = lines.join('\n');
        const { text } = preprocess(input, env());
        expect(text.length).toBe(input.length);
        for (let i = 0; i < input.length; i++) {
          if (text[i] !== input[i]) {
            expect(text[i]).toBe(' ');
            expect(input[i]).not.toBe('\n');
          } else if (input[i] === '\n' || input[i] === '\r') {
            expect(text[i]).toBe(input[i]);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

// Differential check against the real C preprocessor: blanking must never
// change what gets compiled, whatever the unknown symbols turn out to be.
const cppPath = ['/usr/bin/cpp', '/usr/local/bin/cpp'].find((p) => fs.existsSync(p));

describe.skipIf(!cppPath)('preprocess agrees with cpp', () => {
  // CONFIG_Y* are y, CONFIG_N* are n, CONFIG_M* unknown to preprocess but
  // given some value in each cpp run.
  const symbols = ['CONFIG_Y1', 'CONFIG_Y2', 'CONFIG_N1', 'CONFIG_N2', 'CONFIG_M1', 'CONFIG_M2'];
  const atom = fc.oneof(
    fc.constantFrom(...symbols).map((s) => `defined(${s})`),
    fc.constantFrom(...symbols),
    fc.constantFrom(...symbols).map((s) => `IS_ENABLED(${s})`),
    fc.constantFrom('0', '1'),
  );
  const { expr } = fc.letrec<{ expr: string }>((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      atom,
      tie('expr').map((e) => `!(${e})`),
      fc.tuple(tie('expr'), fc.constantFrom('&&', '||'), tie('expr')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    ),
  }));
  let marker = 0;
  const opening = fc.oneof(
    expr.map((e) => `#if ${e}`),
    fc.constantFrom(...symbols).map((s) => `#ifdef ${s}`),
    fc.constantFrom(...symbols).map((s) => `#ifndef ${s}`),
  );
  const { block } = fc.letrec<{ block: string[] }>((tie) => ({
    block: fc
      .array(
        fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          fc.constant(null).map(() => [`code_${marker++};`]),
          fc
            .tuple(opening, tie('block'), fc.array(fc.tuple(expr, tie('block')), { maxLength: 2 }), fc.option(tie('block')))
            .map(([open, body, elifs, elseBody]) => [
              open,
              ...body,
              ...elifs.flatMap(([e, b]) => [`#elif ${e}`, ...b]),
              ...(elseBody ? ['#else', ...elseBody] : []),
              '#endif',
            ]),
        ),
        { maxLength: 4 },
      )
      .map((items) => items.flat()),
  }));

  const cpp = (source: string, defined: string[]): string[] => {
    const prelude = '#define IS_ENABLED(x) x\n';
    const out = execFileSync(cppPath!, ['-P', '-undef', ...defined.map((s) => `-D${s}=1`)], { input: prelude + source, encoding: 'utf8' });
    return out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  };

  it('for random nested conditionals and every valuation of the unknown symbols', () => {
    const known = env({ M1: 'unknown', M2: 'unknown' });
    fc.assert(
      fc.property(block, fc.boolean(), fc.boolean(), (lines, m1, m2) => {
        const source = lines.join('\n') + '\n';
        const { text } = preprocess(source, known);
        const defined = ['CONFIG_Y1', 'CONFIG_Y2', ...(m1 ? ['CONFIG_M1'] : []), ...(m2 ? ['CONFIG_M2'] : [])];
        expect(cpp(text, defined)).toEqual(cpp(source, defined));
        // Without unknown symbols everything is decided: no directive survives.
        if (!source.includes('CONFIG_M')) expect(text).not.toMatch(/#/);
      }),
      { numRuns: 150 },
    );
  });
});
