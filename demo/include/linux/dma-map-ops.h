// SPDX-License-Identifier: MIT
/*
 * flushcheck demo header (our own minimal stand-in, not kernel code):
 * the DMA cache-maintenance interface the demo driver uses. The sync
 * calls only issue maintenance; arch_sync_dma_flush() completes
 * everything issued before it. Its body is empty here: the checker only
 * needs it defined.
 */
#ifndef _DEMO_DMA_MAP_OPS_H
#define _DEMO_DMA_MAP_OPS_H

#include <linux/types.h>

struct device;

enum dma_data_direction {
	DMA_BIDIRECTIONAL = 0,
	DMA_TO_DEVICE = 1,
	DMA_FROM_DEVICE = 2,
	DMA_NONE = 3,
};

struct dma_map_ops {
	void (*sync_single_for_cpu)(struct device *dev, dma_addr_t addr,
				    size_t size, enum dma_data_direction dir);
	void (*sync_single_for_device)(struct device *dev, dma_addr_t addr,
				       size_t size, enum dma_data_direction dir);
};

void set_dma_ops(struct device *dev, const struct dma_map_ops *ops);
bool dev_is_dma_coherent(struct device *dev);

void arch_sync_dma_for_device(phys_addr_t paddr, size_t size,
			      enum dma_data_direction dir);
void arch_sync_dma_for_cpu(phys_addr_t paddr, size_t size,
			   enum dma_data_direction dir);

static inline void arch_sync_dma_flush(void)
{
	/* completion point for all maintenance issued so far */
}

#endif /* _DEMO_DMA_MAP_OPS_H */
