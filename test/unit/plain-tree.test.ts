// The CFG builder reads PlainNode copies (src/parse/plain-tree.ts) instead of
// tree-sitter's nodes: every node of a copy must answer what the lowering
// asks (type, text, children, fields, MISSING) as the tree-sitter node does.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type Parser from 'tree-sitter';
import { parseC } from '../../src/parse/tree.js';
import { plainCopy, type PlainNode } from '../../src/parse/plain-tree.js';

/** Every field tree-sitter-c's grammar names (node-types.json), so each node is asked for each. */
const FIELDS = (() => {
  const types = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('tree-sitter-c/package.json')), 'src', 'node-types.json'), 'utf8')) as { fields?: Record<string, unknown> }[];
  return [...new Set(types.flatMap((t) => Object.keys(t.fields ?? {})))].sort();
})();

function where(n: { type: string; startIndex: number; endIndex: number } | null): string | null {
  return n ? `${n.type}@${n.startIndex}-${n.endIndex}` : null;
}

/** The differences between a tree-sitter node and its copy, over the whole subtree (an empty list when none). */
function differences(native: Parser.SyntaxNode, plain: PlainNode, out: string[] = []): string[] {
  const at = where(native)!;
  const same = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${at}: ${what}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  };
  same('type', native.type, plain.type);
  same('text', native.text, plain.text);
  same('isMissing', native.isMissing, plain.isMissing);
  same('startPosition', native.startPosition, plain.startPosition);
  same('childCount', native.childCount, plain.childCount);
  same('namedChildren', native.namedChildren.map(where), plain.namedChildren.map(where));
  for (const field of FIELDS) same(`field ${field}`, where(native.childForFieldName(field)), where(plain.childForFieldName(field)));
  same('child(0)', where(native.child(0)), where(plain.child(0)));
  native.children.forEach((c, i) => differences(c, plain.children[i], out));
  return out;
}

const KERNEL_STYLE = `
static int map_sg(struct device *dev, struct scatterlist *sgl, int nents, enum dma_data_direction dir)
{
	struct scatterlist *sg;
	int i, ret = 0;

	for_each_sg(sgl, sg, nents, i) {
		if (!dev_is_dma_coherent(dev))
			arch_sync_dma_for_device(sg_phys(sg), sg->length, dir);
#ifdef CONFIG_SWIOTLB
		if (is_swiotlb_buffer(dev, sg_phys(sg)))
			goto err_unmap;
#endif
	}
	if (unlikely(ret = nents, ret < 0 ||))
		return -EINVAL;
	switch (dir) {
	case DMA_TO_DEVICE: { arch_sync_dma_flush(); break; }
	default: ;
	}
	do { ret += *(&i) ? -i : +i; } while (0)
	return ret;
err_unmap:
	return -EIO;
}
`;

describe('plainCopy', () => {
  it('answers as tree-sitter does on kernel-style C with MISSING and ERROR nodes', () => {
    const tree = parseC(KERNEL_STYLE);
    expect(tree.rootNode.hasError).toBe(true);
    const def = tree.rootNode.descendantsOfType('function_definition')[0];
    expect(differences(def, plainCopy(def, KERNEL_STYLE))).toEqual([]);
  });

  it('answers as tree-sitter does for every function of every fixture', () => {
    const root = path.resolve(__dirname, '..', '..');
    const sources = ['fixtures', 'demo'].flatMap((d) => fs.readdirSync(path.join(root, d), { recursive: true, encoding: 'utf8' }).filter((f) => /\.[ch]$/.test(f)).map((f) => path.join(root, d, f)));
    expect(sources.length).toBeGreaterThan(100);
    let functions = 0;
    for (const file of sources) {
      const text = fs.readFileSync(file, 'latin1');
      const tree = parseC(text);
      for (const def of tree.rootNode.descendantsOfType('function_definition')) {
        functions++;
        expect(differences(def, plainCopy(def, text)), `${path.relative(root, file)}:${def.startPosition.row + 1}`).toEqual([]);
      }
    }
    expect(functions).toBeGreaterThan(200);
  });

  it('copies a leaf, and gives each node of a copy its own id', () => {
    const text = 'int x = 1;';
    const leaf = parseC(text).rootNode.descendantsOfType('number_literal')[0];
    const copy = plainCopy(leaf, text);
    expect([copy.type, copy.text, copy.childCount, copy.child(0)]).toEqual(['number_literal', '1', 0, null]);
    const decl = plainCopy(parseC(text).rootNode, text);
    const ids: number[] = [];
    const visit = (n: PlainNode) => {
      ids.push(n.id);
      n.children.forEach(visit);
    };
    visit(decl);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('parseC node classes', () => {
  // parse/tree.ts gives tree-sitter its table of node classes, with each named
  // type on its class's prototype: a node's type must still be what the binding says.
  const typeFromBinding = (() => {
    const SyntaxNode = (require('tree-sitter') as { SyntaxNode: { prototype: object } }).SyntaxNode;
    return Object.getOwnPropertyDescriptor(SyntaxNode.prototype, 'type')!.get!;
  })();

  it('give every node of kernel-style C, ERROR and MISSING included, the type the binding gives it', () => {
    const tree = parseC(KERNEL_STYLE);
    let fromPrototype = 0;
    const mismatches: string[] = [];
    const visit = (n: Parser.SyntaxNode) => {
      if (Object.getOwnPropertyDescriptor(Object.getPrototypeOf(n), 'type')?.value !== undefined) fromPrototype++;
      const bound = typeFromBinding.call(n) as string;
      if (n.type !== bound) mismatches.push(`${where(n)}: ${n.type} vs ${bound}`);
      n.children.forEach(visit);
    };
    visit(tree.rootNode);
    expect(mismatches).toEqual([]);
    // The table was ours: named nodes read their type from their class.
    expect(fromPrototype).toBeGreaterThan(50);
  });
});
