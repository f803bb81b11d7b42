// A function body's syntax tree copied into plain objects, for building its
// CFG. Every property of a tree-sitter node is a call into the native binding
// (and `children` allocates wrappers for each child): building a kernel
// function's CFG asked for a node's type, text and fields again and again,
// and that was a quarter of a cold analysis. One walk with a tree cursor
// copies what the lowering reads; after it, reads are property loads.
import type Parser from 'tree-sitter';

/** What the lowering reads of a syntax node; a tree-sitter node and a PlainNode both have it. */
export interface SNode {
  readonly id: number;
  readonly type: string;
  readonly text: string;
  readonly isMissing: boolean;
  readonly startIndex: number;
  readonly endIndex: number;
  readonly startPosition: Parser.Point;
  readonly children: readonly SNode[];
  readonly namedChildren: readonly SNode[];
  readonly childCount: number;
  child(index: number): SNode | null;
  childForFieldName(name: string): SNode | null;
}

export class PlainNode implements SNode {
  readonly children: PlainNode[] = [];
  private named?: PlainNode[];

  constructor(
    private readonly source: string,
    readonly id: number,
    readonly type: string,
    readonly isNamed: boolean,
    readonly isMissing: boolean,
    readonly startIndex: number,
    readonly endIndex: number,
    readonly startPosition: Parser.Point,
    /** The field this node fills in its parent (`body`, `condition`), or null. */
    readonly fieldName: string | null,
  ) {}

  get text(): string {
    return this.source.substring(this.startIndex, this.endIndex);
  }

  get namedChildren(): PlainNode[] {
    this.named ??= this.children.filter((c) => c.isNamed);
    return this.named;
  }

  get childCount(): number {
    return this.children.length;
  }

  child(index: number): PlainNode | null {
    return this.children[index] ?? null;
  }

  childForFieldName(name: string): PlainNode | null {
    for (const c of this.children) if (c.fieldName === name) return c;
    return null;
  }
}

/**
 * A plain copy of `node`'s subtree. `source` is the text the tree was parsed
 * from (node indices are indices into it, as the binding's `text` uses them).
 */
export function plainCopy(node: Parser.SyntaxNode, source: string): PlainNode {
  const cursor = node.walk();
  let ids = 0;
  const copy = (fieldName: string | null): PlainNode =>
    new PlainNode(source, ids++, cursor.nodeType, cursor.nodeIsNamed, cursor.nodeIsMissing, cursor.startIndex, cursor.endIndex, cursor.startPosition, fieldName);
  const top = copy(null);
  const open: PlainNode[] = [top];
  for (;;) {
    if (cursor.gotoFirstChild()) {
      const child = copy(cursor.currentFieldName || null);
      open[open.length - 1].children.push(child);
      open.push(child);
      continue;
    }
    // A leaf: on to its next sibling, or up until a node has one. The walk
    // started at `node`, so the cursor cannot leave its subtree.
    for (;;) {
      open.pop();
      if (!open.length) return top;
      if (cursor.gotoNextSibling()) {
        const sibling = copy(cursor.currentFieldName || null);
        open[open.length - 1].children.push(sibling);
        open.push(sibling);
        break;
      }
      cursor.gotoParent();
    }
  }
}
