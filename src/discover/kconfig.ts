// Kernel configuration: which CONFIG_ symbols are known enabled/disabled.
//
// Three sources: a full .config (every symbol it does not set is off); a
// defconfig (only what differs from the defaults: the rest is resolved from the
// tree's Kconfig, see kconfig-tree.ts); or, without either, what the
// architecture's own Kconfig forces on (`select`s of the arch symbol) -- enough
// to decide the arch-level #ifs that matter here (ARCH_HAS_SYNC_DMA_FOR_DEVICE,
// ARCH_HAS_BATCHED_DMA_SYNC, ...).
import fs from 'node:fs';
import path from 'node:path';
import { defconfigValues, kconfigLogicalLines, readKconfigTree, type ExplicitValue, type Interval } from './kconfig-tree.js';
import { digest, type EntryStore } from '../cache/store.js';
import { list, schemaCheck, str } from '../cache/schema-check.js';

export type Tri = 'y' | 'n' | 'unknown';

/** A Kconfig symbol's value: built in, a module, off, or not known. */
export type Tristate = 'y' | 'm' | 'n' | 'unknown';

export interface ConfigEnv {
  arch: string;
  /** Whether CONFIG_<name> is enabled (y, m, or a value; pass the name without the CONFIG_ prefix). */
  symbol(name: string): Tri;
  /** The symbol's tristate value; without it, `symbol` is all that is known (a module counts as y). */
  tristate?(name: string): Tristate;
  /** Source of truth, for messages: 'kconfig-file' | 'defconfig' | 'arch-selects' */
  origin: string;
  /** Why this environment knows less than its origin normally gives, if it does. */
  note?: string;
  /** A digest of the files besides the config file that the answers come from (a defconfig's Kconfig tree), for cache keys. */
  inputs?: string;
}

type SymbolEnv = Pick<ConfigEnv, 'symbol' | 'tristate'>;

/** The symbol's tristate value; an environment without tristates cannot tell y from m. */
function tristateOf(env: SymbolEnv, name: string): Tristate {
  return env.tristate ? env.tristate(name) : env.symbol(name);
}

/** Whether a 'y' from this environment may really be a module. */
function mayBeModule(env: SymbolEnv, value: Tristate): boolean {
  return value === 'y' && !env.tristate;
}

/**
 * Whether the macro CONFIG_<name> is defined, as include/generated/autoconf.h
 * has it: FOO=y defines CONFIG_FOO, FOO=m defines CONFIG_FOO_MODULE only.
 */
export function configMacro(name: string, env: SymbolEnv): Tri {
  const bare = stripPrefix(name);
  const value = tristateOf(env, bare);
  if (value === 'y') return 'y';
  if (!bare.endsWith('_MODULE')) return value === 'm' ? 'n' : value;
  // No Kconfig symbol is called FOO_MODULE: it is what FOO=m defines.
  const base = tristateOf(env, bare.slice(0, -'_MODULE'.length));
  return base === 'm' ? 'y' : base === 'unknown' || mayBeModule(env, base) ? 'unknown' : 'n';
}

/** The <linux/kconfig.h> tests on CONFIG_<name>; null for any other macro. */
export function configTest(test: string, name: string, env: SymbolEnv): Tri | null {
  const value = tristateOf(env, stripPrefix(name));
  switch (test) {
    case 'IS_ENABLED':
      return value === 'm' ? 'y' : value;
    case 'IS_BUILTIN':
      return value === 'm' ? 'n' : value;
    case 'IS_MODULE':
      return value === 'm' ? 'y' : value === 'n' || (value === 'y' && !mayBeModule(env, value)) ? 'n' : 'unknown';
    case 'IS_REACHABLE':
      // A module is reachable only from code built into it or into another module: not known here.
      return value === 'm' ? 'unknown' : value;
    default:
      return null;
  }
}

/** The arch/ folder names of mainline. */
export const KNOWN_ARCHES: string[] = [
  'alpha', 'arc', 'arm', 'arm64', 'csky', 'hexagon', 'loongarch', 'm68k', 'microblaze', 'mips', 'nios2',
  'openrisc', 'parisc', 'powerpc', 'riscv', 's390', 'sh', 'sparc', 'um', 'x86', 'xtensa',
];

/** Kconfig symbol that each arch folder's Kconfig defines for itself, where it is not the upper-cased name. */
const ARCH_SYMBOL_EXCEPTIONS: Record<string, string> = { powerpc: 'PPC', sh: 'SUPERH', um: 'UML' };

/**
 * Word-size variants defined by an arch's Kconfig. They are certainly off on
 * other arches; on their own arch they depend on the 32/64-bit choice.
 */
const ARCH_VARIANT_SYMBOLS: Record<string, string[]> = {
  x86: ['X86_32', 'X86_64'],
  powerpc: ['PPC32', 'PPC64'],
  sparc: ['SPARC32', 'SPARC64'],
};

export function archSymbol(arch: string): string {
  return ARCH_SYMBOL_EXCEPTIONS[arch] ?? arch.toUpperCase();
}

function checkArch(arch: string): void {
  if (!KNOWN_ARCHES.includes(arch)) {
    throw new Error(`unknown arch '${arch}': expected one of ${KNOWN_ARCHES.join(', ')}`);
  }
}

function stripPrefix(name: string): string {
  return name.startsWith('CONFIG_') ? name.slice('CONFIG_'.length) : name;
}

/** Symbols that are on for `arch` (its own) and certainly off (every other arch's). */
function archIdentity(arch: string): Map<string, Tri> {
  const known = new Map<string, Tri>();
  for (const other of KNOWN_ARCHES) {
    if (other === arch) continue;
    known.set(archSymbol(other), 'n');
    for (const variant of ARCH_VARIANT_SYMBOLS[other] ?? []) known.set(variant, 'n');
  }
  known.set(archSymbol(arch), 'y');
  return known;
}

// ------------------------------------------------------------- .config ----

const DOT_CONFIG_SET = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const DOT_CONFIG_UNSET = /^#\s*CONFIG_([A-Za-z0-9_]+) is not set\s*$/;

/**
 * Read a full kernel .config. `=y` is built in, `=m` a module (CONFIG_X_MODULE
 * is defined, CONFIG_X is not), strings and numbers are set; `# CONFIG_X is
 * not set`, `=n` and any symbol the file does not mention are off, since a
 * .config lists every visible symbol.
 */
export function loadDotConfig(file: string, arch: string): ConfigEnv {
  checkArch(arch);
  return dotConfigEnv(readConfigFile(file).values, arch);
}

/** The configuration a full .config's values give (see loadDotConfig). */
function dotConfigEnv(values: Map<string, ExplicitValue>, arch: string): ConfigEnv {
  return {
    arch,
    origin: 'kconfig-file',
    symbol: (name) => enabled(values.get(stripPrefix(name)) ?? 'n'),
    tristate: (name) => tristateValue(values.get(stripPrefix(name)) ?? 'n'),
  };
}

function enabled(value: ExplicitValue): Tri {
  return value === 'n' ? 'n' : 'y';
}

function tristateValue(value: ExplicitValue): Tristate {
  return value === 'value' ? 'y' : value;
}

/** The CONFIG_ lines of a .config or defconfig, and whether it has the header `make` writes. */
function readConfigFile(file: string): { values: Map<string, ExplicitValue>; generated: boolean } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read kernel config ${file}: ${(err as Error).message}`);
  }
  const values = new Map<string, ExplicitValue>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const set = DOT_CONFIG_SET.exec(line);
    if (set) {
      const value = set[2].trim();
      values.set(set[1], value === 'n' || value === '' ? 'n' : value === 'y' || value === 'm' ? value : 'value');
      continue;
    }
    const unset = DOT_CONFIG_UNSET.exec(line);
    if (unset) {
      values.set(unset[1], 'n');
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    throw new Error(`${file}:${i + 1}: not a kernel .config line: ${JSON.stringify(line.slice(0, 80))}`);
  }
  if (values.size === 0) throw new Error(`${file}: no CONFIG_ entries, so not a kernel .config`);
  const generated = /^# Automatically generated file; DO NOT EDIT\./m.test(lines.slice(0, 8).join('\n'));
  return { values, generated };
}

/**
 * The configuration `--kconfig FILE` gives, read as make reads it: a full
 * .config (make's header, and everything the arch always selects present) as
 * it is; a defconfig (arch/<arch>/configs/*, savedefconfig's output: only what
 * differs from the defaults) resolved against the tree's Kconfig files.
 * Throws a message that says how to make a full .config when it cannot be read
 * either way.
 */
export function loadKernelConfig(file: string, root: string, arch: string): ConfigEnv {
  checkArch(arch);
  const { values, generated } = readConfigFile(file);
  const own = archSymbol(arch);
  const otherArch = KNOWN_ARCHES.find((a) => a !== arch && values.get(archSymbol(a)) === 'y');
  if (values.get(own) !== 'y' && otherArch && generated) {
    throw new Error(`${file} is a .config for ${otherArch} (CONFIG_${archSymbol(otherArch)}=y); pass --arch ${otherArch}, or a .config made for ${arch}`);
  }
  const alwaysOn = archSelects(root, arch).alwaysOn;
  const missing = [own, ...alwaysOn].filter((sym) => values.get(sym) !== 'y' && values.get(sym) !== 'm');
  if (generated && missing.length === 0) return dotConfigEnv(values, arch);

  const tree = readKconfigTree(root, arch);
  if (tree.symbols.size === 0) {
    throw new Error(
      `${file} is a defconfig (${generated ? `it lacks ${missing.slice(0, 3).map((s) => `CONFIG_${s}`).join(', ')}, which ${arch} always selects` : "no '# Automatically generated file' header"}) and ${root} has no Kconfig to resolve it with; ` +
        `run 'make ARCH=${arch} olddefconfig' with it as .config in a kernel tree and pass the .config that writes`,
    );
  }
  const fixed = new Map<string, Interval>([...archIdentity(arch)].map(([sym, v]) => [sym, v === 'y' ? [2, 2] : [0, 0]]));
  for (const sym of alwaysOn) fixed.set(sym, [2, 2]);
  const value = defconfigValues(tree, values, fixed);
  return {
    arch,
    origin: 'defconfig',
    inputs: tree.digest,
    note: `${file} read as a defconfig: symbols it does not set take their Kconfig defaults and selects`,
    symbol: (name) => {
      const [lo, hi] = value(stripPrefix(name));
      return lo > 0 ? 'y' : hi === 0 ? 'n' : 'unknown';
    },
    tristate: (name) => {
      const [lo, hi] = value(stripPrefix(name));
      return lo !== hi ? 'unknown' : lo === 2 ? 'y' : lo === 1 ? 'm' : 'n';
    },
  };
}

// ------------------------------------------------------- arch Kconfig ----

const ENTRY_KEYWORDS = new Set([
  'config', 'menuconfig', 'choice', 'endchoice', 'menu', 'endmenu', 'if', 'endif', 'source', 'comment', 'mainmenu',
]);

interface ConfigBlock {
  name: string;
  /** No enclosing `if`, `choice` or `menu ... depends on`. */
  unconditionalContext: boolean;
  attributes: string[];
}

/** Split a Kconfig file into `config` blocks, noting which sit under a condition. */
function configBlocks(source: string): ConfigBlock[] {
  const blocks: ConfigBlock[] = [];
  // One entry per open if/choice/menu: whether it makes its contents conditional.
  const enclosing: { kind: 'if' | 'choice' | 'menu'; conditional: boolean }[] = [];
  let current: ConfigBlock | null = null;
  let currentMenu: { conditional: boolean } | null = null;
  for (const { text } of kconfigLogicalLines(source)) {
    const keyword = text.split(/\s+/, 1)[0];
    if (!ENTRY_KEYWORDS.has(keyword)) {
      if (current) current.attributes.push(text);
      else if (currentMenu && /^depends\s+on\b/.test(text)) currentMenu.conditional = true;
      continue;
    }
    current = null;
    currentMenu = null;
    switch (keyword) {
      case 'config':
      case 'menuconfig': {
        const name = text.slice(keyword.length).trim();
        current = { name, unconditionalContext: enclosing.every((e) => !e.conditional), attributes: [] };
        blocks.push(current);
        break;
      }
      case 'if':
        enclosing.push({ kind: 'if', conditional: true });
        break;
      case 'choice':
        enclosing.push({ kind: 'choice', conditional: true });
        break;
      case 'menu': {
        const frame = { kind: 'menu' as const, conditional: false };
        enclosing.push(frame);
        currentMenu = frame;
        break;
      }
      case 'endif':
      case 'endchoice':
      case 'endmenu': {
        const kind = keyword.slice(3);
        const at = enclosing.map((e) => e.kind as string).lastIndexOf(kind);
        if (at >= 0) enclosing.splice(at);
        break;
      }
      default:
        break; // source/comment/mainmenu: nothing to track
    }
  }
  return blocks;
}

/**
 * A bool that is y on every build of this arch: `def_bool y`, or a prompt-less
 * `bool` whose first default is an unconditional `default y`, with no
 * `depends on`, outside any if/choice/conditional menu.
 */
function isAlwaysOn(block: ConfigBlock): boolean {
  if (!block.unconditionalContext) return false;
  let typedBool = false;
  let firstDefault: string | undefined;
  for (const attr of block.attributes) {
    if (/^depends\s+on\b/.test(attr)) return false;
    if (/^def_bool\b/.test(attr)) {
      typedBool = true;
      firstDefault ??= attr.slice('def_bool'.length).trim();
    } else if (/^bool\b/.test(attr)) {
      if (attr.slice('bool'.length).trim() !== '') return false; // has a prompt: the user may say n
      typedBool = true;
    } else if (/^(tristate|int|hex|string)\b/.test(attr) || /^prompt\b/.test(attr)) {
      return false;
    } else if (/^default\b/.test(attr)) {
      firstDefault ??= attr.slice('default'.length).trim();
    }
  }
  return typedBool && firstDefault === 'y';
}

/**
 * What `arch/<arch>/Kconfig` alone says, without a .config: the arch symbol
 * is y; other arches' symbols are n; symbols selected unconditionally by the
 * arch symbol (or by any other always-on bool of that file, such as arm64's
 * `config 64BIT def_bool y`) are y, as are those always-on bools; symbols
 * selected only `if` something are unknown, like everything else.
 */
export function archSelects(root: string, arch: string, memo?: SelectsMemo): ConfigEnv & { alwaysOn: string[] } {
  checkArch(arch);
  const known = archIdentity(arch);
  const kconfigFile = path.join(root, 'arch', arch, 'Kconfig');
  let source: string;
  try {
    source = fs.readFileSync(kconfigFile, 'utf8');
  } catch (err) {
    return {
      arch,
      origin: 'arch-selects',
      note: `cannot read ${kconfigFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); only the arch symbols are known`,
      symbol: (name) => known.get(stripPrefix(name)) ?? 'unknown',
      tristate: (name) => known.get(stripPrefix(name)) ?? 'unknown',
      alwaysOn: [],
    };
  }

  const key = digest(arch, source);
  const remembered = memo?.get(key);
  const selected = remembered ? new Map(remembered) : selectedBy(source, arch);
  if (!remembered) memo?.put(key, [...selected]);
  // A selected symbol is built in (select forces the selector's value: the arch's is y).
  const value = (name: string): Tri => {
    const bare = stripPrefix(name);
    return known.get(bare) ?? selected.get(bare) ?? 'unknown';
  };
  return {
    arch,
    origin: 'arch-selects',
    symbol: value,
    tristate: value,
    alwaysOn: [...selected].filter(([, v]) => v === 'y').map(([name]) => name),
  };
}

/**
 * Where archSelects keeps what it read from an arch's Kconfig, by a digest of
 * the arch and the file's text (the analysis cache: `diff` and `review` run
 * again over the same Kconfig, whose ~2,600 lines took ~8 ms to read on every
 * pre-commit check).
 */
export type SelectsMemo = EntryStore<[string, Tri][]>;

/** The JSON Schema of a SelectsMemo entry: [symbol, y or unknown] pairs (precompiled by the build). */
export const selectsEntrySchema = list({ type: 'array', items: [str, { enum: ['y', 'unknown'] }], minItems: 2, additionalItems: false });

/** Whether a value read back from a SelectsMemo is one archSelects put there. */
export const isSelectsEntry = schemaCheck<[string, Tri][]>(selectsEntrySchema);

/** The symbols the arch's always-on entries select: y, or unknown when only selected `if` something. */
function selectedBy(source: string, arch: string): Map<string, Tri> {
  const selected = new Map<string, Tri>();
  const own = archSymbol(arch);
  for (const block of configBlocks(source)) {
    const alwaysOn = block.name === own || isAlwaysOn(block);
    if (!alwaysOn) continue;
    if (block.name !== own) selected.set(block.name, 'y');
    for (const attr of block.attributes) {
      const select = /^select\s+([A-Za-z0-9_]+)(\s+if\s+.+)?$/.exec(attr);
      if (!select) continue;
      // An unconditional select anywhere wins over conditional ones.
      if (!select[2]) selected.set(select[1], 'y');
      else if (!selected.has(select[1])) selected.set(select[1], 'unknown');
    }
  }
  return selected;
}
