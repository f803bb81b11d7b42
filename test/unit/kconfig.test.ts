import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { archSelects, archSymbol, configMacro, configTest, isSelectsEntry, KNOWN_ARCHES, loadDotConfig, loadKernelConfig } from '../../src/discover/kconfig.js';
import { defconfigValues, readKconfigTree, type ExplicitValue } from '../../src/discover/kconfig-tree.js';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempFile(rel: string, content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-kconfig-'));
  tempDirs.push(dir);
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

describe('loadDotConfig', () => {
  const dotConfig = [
    '#',
    '# Automatically generated file; DO NOT EDIT.',
    '#',
    'CONFIG_ARM64=y',
    'CONFIG_DMA_BUILTIN=y',
    'CONFIG_DMA_MODULE_DRIVER=m',
    'CONFIG_CMDLINE="console=ttyAMA0"',
    'CONFIG_NR_CPUS=256',
    'CONFIG_BASE_HEX=0x1000',
    '# CONFIG_SWIOTLB is not set',
    '',
  ].join('\n');

  it('maps y/m/values to y, "is not set" and absent symbols to n', () => {
    const env = loadDotConfig(tempFile('.config', dotConfig), 'arm64');
    expect(env.origin).toBe('kconfig-file');
    expect(env.arch).toBe('arm64');
    expect(env.symbol('ARM64')).toBe('y');
    expect(env.symbol('DMA_BUILTIN')).toBe('y');
    expect(env.symbol('DMA_MODULE_DRIVER')).toBe('y');
    expect(env.symbol('CMDLINE')).toBe('y');
    expect(env.symbol('NR_CPUS')).toBe('y');
    expect(env.symbol('BASE_HEX')).toBe('y');
    expect(env.symbol('SWIOTLB')).toBe('n');
    expect(env.symbol('NEVER_MENTIONED')).toBe('n');
  });

  it('tolerates a CONFIG_ prefix and CRLF line ends', () => {
    const env = loadDotConfig(tempFile('.config', dotConfig.replace(/\n/g, '\r\n')), 'arm64');
    expect(env.symbol('CONFIG_ARM64')).toBe('y');
    expect(env.symbol('CONFIG_SWIOTLB')).toBe('n');
  });

  it('throws clear errors for unreadable or invalid files and unknown arches', () => {
    expect(() => loadDotConfig(path.join(os.tmpdir(), 'flushcheck-missing.config'), 'arm64')).toThrow(
      /cannot read kernel config .*flushcheck-missing\.config/,
    );
    expect(() => loadDotConfig(tempFile('bad.config', 'CONFIG_A=y\nthis is not kconfig\n'), 'arm64')).toThrow(
      /bad\.config:2: not a kernel \.config line: "this is not kconfig"/,
    );
    expect(() => loadDotConfig(tempFile('empty.config', '# nothing\n\n'), 'arm64')).toThrow(/no CONFIG_ entries/);
    expect(() => loadDotConfig(tempFile('.config', dotConfig), 'amd64')).toThrow(
      /unknown arch 'amd64': expected one of alpha, arc, arm, arm64, .* x86, xtensa/,
    );
  });
});

describe('KNOWN_ARCHES', () => {
  it('lists the mainline arch folders', () => {
    expect(KNOWN_ARCHES).toEqual([
      'alpha', 'arc', 'arm', 'arm64', 'csky', 'hexagon', 'loongarch', 'm68k', 'microblaze', 'mips', 'nios2',
      'openrisc', 'parisc', 'powerpc', 'riscv', 's390', 'sh', 'sparc', 'um', 'x86', 'xtensa',
    ]);
    expect(archSymbol('arm64')).toBe('ARM64');
    expect(archSymbol('powerpc')).toBe('PPC');
    expect(archSymbol('sh')).toBe('SUPERH');
    expect(archSymbol('um')).toBe('UML');
  });
});

describe('archSelects', () => {
  const arm64Kconfig = [
    '# SPDX-License-Identifier: GPL-2.0-only',
    'config ARM64',
    '\tdef_bool y',
    '\tselect ARCH_HAS_SYNC_DMA_FOR_DEVICE',
    '\tselect ARCH_HAS_SYNC_DMA_FOR_CPU  # trailing comment',
    '\tselect ACPI_IORT if ACPI',
    '\tselect HAVE_LONG_CONDITION \\',
    '\t\tif (FOO || \\',
    '\t\t    BAR)',
    '\tselect SELECTED_BOTH_WAYS if FOO',
    '\tselect SELECTED_BOTH_WAYS',
    '\thelp',
    '\t  ARM 64-bit (AArch64) Linux support.',
    '\t  select NOT_A_SELECT_BUT_HELP_TEXT',
    '',
    '\t  config NOT_A_CONFIG_EITHER',
    '',
    'config 64BIT',
    '\tdef_bool y',
    '\tselect FROM_ALWAYS_ON',
    '',
    'config PROMPTED',
    '\tbool "Say yes or no"',
    '\tdefault y',
    '',
    'config HIDDEN_DEFAULT_Y',
    '\tbool',
    '\tdefault y',
    '',
    'config DEPENDENT',
    '\tdef_bool y',
    '\tdepends on SOMETHING',
    '\tselect FROM_DEPENDENT',
    '',
    'config CONDITIONAL_DEFAULT',
    '\tdef_bool y if SOMETHING',
    '',
    'if SOMETHING',
    'config INSIDE_IF',
    '\tdef_bool y',
    'endif',
    '',
    'menu "Open menu"',
    'config IN_OPEN_MENU',
    '\tdef_bool y',
    'endmenu',
    '',
    'menu "Conditional menu"',
    '\tdepends on SOMETHING',
    'config IN_CONDITIONAL_MENU',
    '\tdef_bool y',
    'endmenu',
    '',
    'config AFTER_MENUS',
    '\tdef_bool y',
    '',
    'config NUMBER',
    '\tint',
    '\tdefault 4',
    '',
  ].join('\n');

  const treeWith = (arch: string, kconfig: string): string => {
    const file = tempFile(`arch/${arch}/Kconfig`, kconfig);
    return path.dirname(path.dirname(path.dirname(file)));
  };

  it('reads the arch block: unconditional selects y, conditional ones unknown', () => {
    const env = archSelects(treeWith('arm64', arm64Kconfig), 'arm64');
    expect(env.origin).toBe('arch-selects');
    expect(env.note).toBeUndefined();
    const values = Object.fromEntries(
      [
        'ARM64', 'ARCH_HAS_SYNC_DMA_FOR_DEVICE', 'ARCH_HAS_SYNC_DMA_FOR_CPU', 'ACPI_IORT', 'HAVE_LONG_CONDITION',
        'SELECTED_BOTH_WAYS', 'NOT_A_SELECT_BUT_HELP_TEXT', 'NOT_A_CONFIG_EITHER', 'ACPI', 'FOO',
      ].map((s) => [s, env.symbol(s)]),
    );
    expect(values).toEqual({
      ARM64: 'y',
      ARCH_HAS_SYNC_DMA_FOR_DEVICE: 'y',
      ARCH_HAS_SYNC_DMA_FOR_CPU: 'y',
      ACPI_IORT: 'unknown',
      HAVE_LONG_CONDITION: 'unknown',
      SELECTED_BOTH_WAYS: 'y',
      NOT_A_SELECT_BUT_HELP_TEXT: 'unknown',
      NOT_A_CONFIG_EITHER: 'unknown',
      ACPI: 'unknown',
      FOO: 'unknown',
    });
    expect(env.symbol('CONFIG_ARCH_HAS_SYNC_DMA_FOR_DEVICE')).toBe('y');
  });

  it('treats unconditional hidden bools of the arch Kconfig (and their selects) as y', () => {
    const env = archSelects(treeWith('arm64', arm64Kconfig), 'arm64');
    const values = Object.fromEntries(
      [
        '64BIT', 'FROM_ALWAYS_ON', 'HIDDEN_DEFAULT_Y', 'AFTER_MENUS', 'IN_OPEN_MENU', 'PROMPTED', 'DEPENDENT',
        'FROM_DEPENDENT', 'CONDITIONAL_DEFAULT', 'INSIDE_IF', 'IN_CONDITIONAL_MENU', 'NUMBER',
      ].map((s) => [s, env.symbol(s)]),
    );
    expect(values).toEqual({
      '64BIT': 'y',
      FROM_ALWAYS_ON: 'y',
      HIDDEN_DEFAULT_Y: 'y',
      AFTER_MENUS: 'y',
      IN_OPEN_MENU: 'y',
      PROMPTED: 'unknown',
      DEPENDENT: 'unknown',
      FROM_DEPENDENT: 'unknown',
      CONDITIONAL_DEFAULT: 'unknown',
      INSIDE_IF: 'unknown',
      IN_CONDITIONAL_MENU: 'unknown',
      NUMBER: 'unknown',
    });
  });

  it('keeps what it read in a memo by the text, and answers from it the next time', () => {
    const root = treeWith('arm64', arm64Kconfig);
    const memo = new Map<string, [string, 'y' | 'n' | 'unknown'][]>();
    const store = { get: (key: string) => memo.get(key), put: (key: string, selected: [string, 'y' | 'n' | 'unknown'][]) => void memo.set(key, selected) };
    const read = archSelects(root, 'arm64', store);
    expect(memo.size).toBe(1);
    const [key, kept] = [...memo][0];
    expect(isSelectsEntry(JSON.parse(JSON.stringify(kept)))).toBe(true);
    const again = archSelects(root, 'arm64', store);
    for (const sym of ['ARM64', 'ARCH_HAS_SYNC_DMA_FOR_DEVICE', 'ACPI_IORT', '64BIT', 'PROMPTED', 'FOO']) expect(again.symbol(sym), sym).toBe(read.symbol(sym));
    expect(again.alwaysOn).toEqual(read.alwaysOn);
    // The second answer came from the memo: what it holds is what is answered.
    memo.set(key, [['ACPI_IORT', 'y']]);
    expect(archSelects(root, 'arm64', store).symbol('ACPI_IORT')).toBe('y');
    // Another text (or another arch) is another key: read afresh.
    const edited = treeWith('arm64', `${arm64Kconfig}\nconfig LATE_ALWAYS_ON\n\tdef_bool y\n`);
    expect(archSelects(edited, 'arm64', store).symbol('LATE_ALWAYS_ON')).toBe('y');
    expect(memo.size).toBe(2);
    expect(isSelectsEntry([['X', 'maybe']])).toBe(false);
    expect(isSelectsEntry({ X: 'y' })).toBe(false);
  });

  it("sets other arches' symbols to n", () => {
    const env = archSelects(treeWith('arm64', arm64Kconfig), 'arm64');
    for (const sym of ['ARM', 'X86', 'X86_64', 'X86_32', 'PPC', 'PPC64', 'MIPS', 'RISCV', 'S390', 'SUPERH', 'UML', 'SPARC64']) {
      expect(env.symbol(sym), sym).toBe('n');
    }
  });

  it('handles x86: X86 is y, the 32/64-bit variants are unknown', () => {
    const x86Kconfig = [
      'config 64BIT',
      '\tbool "64-bit kernel" if "$(ARCH)" = "x86"',
      '\tdefault "$(ARCH)" != "i386"',
      'config X86_64',
      '\tdef_bool y',
      '\tdepends on 64BIT',
      '\tselect SWIOTLB',
      'config X86',
      '\tdef_bool y',
      '\tselect ARCH_HAS_DEBUG_WX',
      '',
    ].join('\n');
    const env = archSelects(treeWith('x86', x86Kconfig), 'x86');
    expect(env.symbol('X86')).toBe('y');
    expect(env.symbol('ARCH_HAS_DEBUG_WX')).toBe('y');
    expect(env.symbol('X86_64')).toBe('unknown');
    expect(env.symbol('X86_32')).toBe('unknown');
    expect(env.symbol('64BIT')).toBe('unknown');
    expect(env.symbol('SWIOTLB')).toBe('unknown');
    expect(env.symbol('ARM64')).toBe('n');
  });

  it('without arch/<arch>/Kconfig, knows only the arch symbols and says so', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-kconfig-'));
    tempDirs.push(root);
    const env = archSelects(root, 'arm64');
    expect(env.note).toMatch(/cannot read .*arch\/arm64\/Kconfig/);
    expect(env.symbol('ARM64')).toBe('y');
    expect(env.symbol('X86')).toBe('n');
    expect(env.symbol('ARCH_HAS_SYNC_DMA_FOR_DEVICE')).toBe('unknown');
  });

  it('rejects an unknown arch, listing the valid ones', () => {
    expect(() => archSelects(os.tmpdir(), 'aarch64')).toThrow(/unknown arch 'aarch64': expected one of .*arm64/);
  });

  const KERNELS = '/root/.cache/flushcheck-kernels';
  it.skipIf(!fs.existsSync(`${KERNELS}/linux-7.2/arch/arm64/Kconfig`))('on linux-7.2, arm64 selects the batched DMA sync', () => {
    const env = archSelects(`${KERNELS}/linux-7.2`, 'arm64');
    expect(env.symbol('ARCH_HAS_BATCHED_DMA_SYNC')).toBe('y');
    expect(env.symbol('ARCH_HAS_SYNC_DMA_FOR_DEVICE')).toBe('y');
    expect(env.symbol('ARCH_HAS_SYNC_DMA_FOR_CPU')).toBe('y');
    expect(env.symbol('ARM64')).toBe('y');
    expect(env.symbol('X86')).toBe('n');
  });

  it.skipIf(!fs.existsSync(`${KERNELS}/linux-6.12/arch/arm64/Kconfig`))('on linux-6.12, the batched DMA sync is not selected', () => {
    const env = archSelects(`${KERNELS}/linux-6.12`, 'arm64');
    expect(env.symbol('ARCH_HAS_BATCHED_DMA_SYNC')).toBe('unknown');
    expect(env.symbol('ARCH_HAS_SYNC_DMA_FOR_DEVICE')).toBe('y');
    expect(env.symbol('ARCH_HAS_SYNC_DMA_FOR_CPU')).toBe('y');
  });
});

describe('=m: a module defines CONFIG_X_MODULE, not CONFIG_X', () => {
  const env = () =>
    loadDotConfig(
      tempFile('.config', ['#', '# Automatically generated file; DO NOT EDIT.', '#', 'CONFIG_ARM64=y', 'CONFIG_BUILTIN=y', 'CONFIG_MOD=m', '# CONFIG_OFF is not set', ''].join('\n')),
      'arm64',
    );

  it('keeps the tristate value', () => {
    const e = env();
    expect([e.tristate!('BUILTIN'), e.tristate!('MOD'), e.tristate!('OFF'), e.tristate!('ABSENT')]).toEqual(['y', 'm', 'n', 'n']);
    expect(e.symbol('MOD')).toBe('y'); // enabled
  });

  it('decides #ifdef and the <linux/kconfig.h> tests as autoconf.h does', () => {
    const e = env();
    expect([configMacro('CONFIG_MOD', e), configMacro('CONFIG_MOD_MODULE', e), configMacro('CONFIG_BUILTIN_MODULE', e), configMacro('CONFIG_BUILTIN', e)]).toEqual(['n', 'y', 'n', 'y']);
    const tests = (name: string) => ['IS_ENABLED', 'IS_BUILTIN', 'IS_MODULE', 'IS_REACHABLE'].map((t) => configTest(t, name, e));
    expect(tests('CONFIG_BUILTIN')).toEqual(['y', 'y', 'n', 'y']);
    expect(tests('CONFIG_MOD')).toEqual(['y', 'n', 'y', 'unknown']);
    expect(tests('CONFIG_OFF')).toEqual(['n', 'n', 'n', 'n']);
    expect(configTest('KERNEL_VERSION', 'CONFIG_MOD', e)).toBeNull();
  });
});

describe('loadKernelConfig: a full .config as it is, a defconfig resolved like make olddefconfig', () => {
  const MINI = path.resolve(__dirname, '../../fixtures/trees/mini-kernel');
  const header = ['#', '# Automatically generated file; DO NOT EDIT.', '#'];

  it('reads a .config with make\'s header that has what the arch always selects as a full .config', () => {
    const env = loadKernelConfig(tempFile('.config', [...header, 'CONFIG_ARM64=y', 'CONFIG_ARCH_HAS_BATCHED_DMA_SYNC=y', 'CONFIG_FOO_CORE=y', ''].join('\n')), MINI, 'arm64');
    expect(env.origin).toBe('kconfig-file');
    expect(env.symbol('FOO_FLUSH')).toBe('n');
  });

  it('gives a defconfig\'s configuration a digest of the Kconfig files it is resolved against (cache keys change with them)', () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'flushcheck-kconfig-inputs-'));
    try {
      fs.cpSync(MINI, copy, { recursive: true });
      const defconfig = path.join(copy, 'arch/arm64/configs/foo_defconfig');
      const before = loadKernelConfig(defconfig, copy, 'arm64').inputs;
      expect(before).toMatch(/^[0-9a-f]{40}$/);
      expect(loadKernelConfig(defconfig, copy, 'arm64').inputs).toBe(before);
      fs.appendFileSync(path.join(copy, 'kernel/dma/Kconfig'), '\n# a comment\n');
      expect(loadKernelConfig(defconfig, copy, 'arm64').inputs).not.toBe(before);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  it('resolves a defconfig: defaults under their dependencies, the arch selects, prompts', () => {
    const env = loadKernelConfig(path.join(MINI, 'arch/arm64/configs/foo_defconfig'), MINI, 'arm64');
    expect(env.origin).toBe('defconfig');
    expect(env.note).toMatch(/read as a defconfig/);
    expect([env.tristate!('ARM64'), env.tristate!('ARCH_HAS_BATCHED_DMA_SYNC'), env.tristate!('FOO_CORE'), env.tristate!('FOO_DMA'), env.tristate!('FOO_FLUSH')]).toEqual(['y', 'y', 'y', 'y', 'y']);
    expect(env.tristate!('ARM')).toBe('n');
    expect(env.tristate!('NO_SUCH_SYMBOL')).toBe('n');
    // A module: the bool that depends on it can still be y.
    const modular = loadKernelConfig(tempFile('defconfig', 'CONFIG_FOO_DMA=m\n'), MINI, 'arm64');
    expect([modular.tristate!('FOO_DMA'), modular.tristate!('FOO_FLUSH')]).toEqual(['m', 'y']);
    // Left out: FOO_DMA's default is n, so FOO_FLUSH's dependency fails.
    const bare = loadKernelConfig(tempFile('defconfig', 'CONFIG_FOO_CORE=y\n'), MINI, 'arm64');
    expect([bare.tristate!('FOO_DMA'), bare.tristate!('FOO_FLUSH')]).toEqual(['n', 'n']);
  });

  it('resolves a .config that lacks what the arch always selects (a hand-trimmed one) the same way', () => {
    const env = loadKernelConfig(tempFile('.config', [...header, 'CONFIG_ARM64=y', 'CONFIG_FOO_DMA=y', ''].join('\n')), MINI, 'arm64');
    expect(env.origin).toBe('defconfig');
    expect(env.symbol('ARCH_HAS_BATCHED_DMA_SYNC')).toBe('y');
  });

  it('refuses another arch\'s .config, and a defconfig without a Kconfig to resolve it with, saying how to make a .config', () => {
    expect(() => loadKernelConfig(tempFile('.config', [...header, 'CONFIG_X86=y', 'CONFIG_X86_64=y', ''].join('\n')), MINI, 'arm64')).toThrow(
      /is a \.config for x86 \(CONFIG_X86=y\); pass --arch x86, or a \.config made for arm64/,
    );
    const bare = path.dirname(tempFile('x/defconfig', 'CONFIG_FOO=y\n'));
    expect(() => loadKernelConfig(path.join(bare, 'defconfig'), bare, 'arm64')).toThrow(
      /is a defconfig \(no '# Automatically generated file' header\) and .* has no Kconfig to resolve it with; run 'make ARCH=arm64 olddefconfig' with it as \.config in a kernel tree and pass the \.config that writes/,
    );
  });
});

describe('defconfigValues', () => {
  function resolve(kconfig: string, defconfig: Record<string, ExplicitValue> = {}) {
    const root = path.dirname(tempFile('Kconfig', kconfig));
    return defconfigValues(readKconfigTree(root, 'arm64'), new Map(Object.entries(defconfig)), new Map());
  }

  it('ignores what the file sets for a symbol without a prompt; a select forces it on', () => {
    const value = resolve(['config HIDDEN', '\tbool', '', 'config SHOWN', '\tbool "shown"', '\tselect FORCED', '', 'config FORCED', '\tbool', ''].join('\n'), { HIDDEN: 'y', SHOWN: 'y' });
    expect([value('HIDDEN'), value('SHOWN'), value('FORCED')]).toEqual([[0, 0], [2, 2], [2, 2]]);
  });

  it('does not turn on a selected symbol no Kconfig defines', () => {
    const value = resolve(['config A', '\tdef_bool y', '\tselect OTHER_ARCH_ONLY', ''].join('\n'));
    expect(value('OTHER_ARCH_ONLY')).toEqual([0, 0]);
  });

  it('leaves what it cannot decide unknown: choices, $(shell) defaults, if blocks on them', () => {
    const value = resolve(
      [
        'choice',
        '\tprompt "page size"',
        'config PAGES_4K',
        '\tbool "4K"',
        'config PAGES_64K',
        '\tbool "64K"',
        'endchoice',
        'config CC_HAS_X',
        '\tdef_bool $(cc-option,-mx)',
        'if PAGES_4K',
        'config SMALL',
        '\tdef_bool y',
        'endif',
        '',
      ].join('\n'),
    );
    expect([value('PAGES_4K'), value('CC_HAS_X'), value('SMALL')]).toEqual([[0, 2], [0, 2], [0, 2]]);
  });

  it('follows source, rsource and menu dependencies', () => {
    const root = path.dirname(tempFile('tree/Kconfig', 'menu "m"\n\tdepends on GATE\nsource "sub/Kconfig"\nendmenu\nconfig GATE\n\tbool "gate"\n'));
    fs.mkdirSync(path.join(root, 'sub'));
    fs.writeFileSync(path.join(root, 'sub', 'Kconfig'), 'rsource "more.kconfig"\n');
    fs.writeFileSync(path.join(root, 'sub', 'more.kconfig'), 'config INNER\n\tdef_bool y\n');
    const tree = readKconfigTree(root, 'arm64');
    expect(defconfigValues(tree, new Map([['GATE', 'y']]), new Map())('INNER')).toEqual([2, 2]);
    expect(defconfigValues(tree, new Map(), new Map())('INNER')).toEqual([0, 0]);
  });
});

describe('defconfigValues: entries between definitions', () => {
  it("gives a comment's `depends on` to the comment, not to the menu around it", () => {
    const root = path.dirname(tempFile('menu/Kconfig', ['menu "m"', 'comment "needs GATE"', '\tdepends on GATE', 'config INSIDE', '\tdef_bool y', 'endmenu', 'config GATE', '\tbool "gate"', ''].join('\n')));
    expect(defconfigValues(readKconfigTree(root, 'arm64'), new Map(), new Map())('INSIDE')).toEqual([2, 2]);
  });
});
