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

describe("a function's calls", () => {
  const callsOf = (source: string) => lower(source).functions.map((f) => [f.name, f.calls]);

  it('are the names it calls in code, not words before a parenthesis in its comments or literals', () => {
    // The comments are shaped like kernel ones that made false edges: swiotlb_find_pool()'s
    // "returned by swiotlb_tbl_map_single() and" and queue_iova()'s "__iommu_dma_unmap() through".
    const source = `
static void find_pool(struct device *dev)
{
	/*
	 * Returned by map_single() and passed to a driver; it's ordered (cf. unmap()).
	 */
	barrier(); // pairs with smp_mb() in find_slots()
	pr_debug("flush() skipped for %s\\n", "x(");
	if (c == '(' || c == '"')
		real_after_quotes(dev);
	ops->sync_one(dev);
	dev->ops.sync_two(dev);
	put_char("/* not a comment */"); after_string();
}
`;
    expect(callsOf(source)).toEqual([
      ['find_pool', ['barrier', 'pr_debug', 'real_after_quotes', 'put_char', 'after_string', '->sync_one', '->sync_two']],
    ]);
  });

  it("end an unterminated literal at its line, as GCC does, so the next line's calls count", () => {
    const source = `
static void f(void)
{
	say(it's);
	next_line_call();
}
`;
    expect(callsOf(source)).toEqual([['f', ['say', 'next_line_call']]]);
  });
});

describe("a file's exports and the functions it uses as values", () => {
  it('come from its code, not from a comment or a string', () => {
    const source = `
/* Was exported: EXPORT_SYMBOL_GPL(old_map); callers list (old_map, old_unmap). */
static int old_map(void) { return 0; }
static int old_unmap(void) { return 0; }
static int live_map(void) { return 0; }
static const char *why = "see = old_unmap, for the ring";
int (*pick)(void) = live_map; // not old_map;
EXPORT_SYMBOL(live_map);
`;
    const ir = lower(source);
    expect(ir.exports).toEqual(['live_map']);
    expect(ir.valueRefs.filter((r) => r.includes('map'))).toEqual(['live_map']);
  });
});
