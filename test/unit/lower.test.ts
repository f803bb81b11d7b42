// What lowerFile reads at file level besides functions: prototypes (a name
// declared but defined elsewhere, e.g. in assembly) and ops tables.
import { describe, expect, it } from 'vitest';
import { lowerFile } from '../../src/ir/lower.js';

const lower = (source: string) => lowerFile('x.c', source, { interesting: () => false });

describe('lowerFile', () => {
  it('lists the function declarators that are a declaration child or grandchild, and only those', () => {
    const source = `
int top(void);
struct page *returns_pointer(int n);
int first(void), second(int x);
#ifdef CONFIG_X
void inside_ifdef(struct device *dev);
#endif
int (*fp)(void);
static int defined_here(int a)
{
	void block_scope(void);
	int local = 3;
	return a + local;
}
struct ops { int (*field)(void); };
`;
    expect(lower(source).prototypes).toEqual(['top', 'returns_pointer', 'first', 'second', 'inside_ifdef', 'block_scope']);
  });

  it('finds the table of each `.field = function` pair, and none in a file without pairs', () => {
    const withTables = `
static int unrelated = 4;
static const struct dma_map_ops direct_ops = {
	.map_page = direct_map_page,
	.flags = 3,
};
struct dma_map_ops *pick(void) { struct dma_map_ops local = { .unmap_page = local_unmap }; return &local; }
`;
    expect(lower(withTables).ops.map((o) => [o.struct, o.field, o.target, o.line])).toEqual([
      ['direct_ops', 'map_page', 'direct_map_page', 4],
      ['local', 'unmap_page', 'local_unmap', 7],
    ]);
    expect(lower('static int a = 1, b = 2;\nint f(void) { int c = a; return c + b; }\n').ops).toEqual([]);
  });
});
