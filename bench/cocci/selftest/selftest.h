/* SPDX-License-Identifier: MIT */
/* Self-test of unflushed-sync.cocci: a static inline helper in a header (--include-headers). */
static inline void header_helper(phys_addr_t p, size_t n, int dir, bool flush)
{
	arch_sync_dma_for_device(p, n, dir); /* EXPECT-REPORT */
	if (flush)
		arch_sync_dma_flush();
}

static inline void header_flushed(phys_addr_t p, size_t n, int dir)
{
	arch_sync_dma_for_device(p, n, dir);
	arch_sync_dma_flush();
}
