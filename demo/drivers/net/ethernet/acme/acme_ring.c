// SPDX-License-Identifier: MIT
/*
 * flushcheck demo: TX ring handling for the made-up acme NIC.
 *
 * acme_ring_sync_desc() issues the cache cleans for one descriptor and its
 * buffer. It only completes them when asked (flush == true), so that a
 * caller filling many descriptors can complete them all with a single
 * arch_sync_dma_flush(). acme_ring_refill() uses it that way. The bug
 * flushcheck finds is in acme_ring_post_one(): it was written after
 * refill, passes false too, and then rings the doorbell and returns
 * without ever completing the cleans.
 */
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/dma-map-ops.h>
#include "acme_ring.h"

static void acme_ring_fill(struct acme_ring *ring, unsigned int idx,
			   phys_addr_t buf, size_t len)
{
	ring->desc[idx].addr = buf;
	ring->desc[idx].len = len;
	ring->desc[idx].flags = ACME_DESC_OWN;
}

static void acme_ring_sync_desc(struct acme_ring *ring, unsigned int idx,
				phys_addr_t buf, size_t len, bool flush)
{
	if (dev_is_dma_coherent(ring->dev))
		return;

	arch_sync_dma_for_device(buf, len, DMA_TO_DEVICE);
	arch_sync_dma_for_device(ring->desc_paddr +
				 idx * sizeof(struct acme_desc),
				 sizeof(struct acme_desc), DMA_TO_DEVICE);
	if (flush)
		arch_sync_dma_flush();
}

/* Fills @count descriptors and completes all their cleans at once. */
int acme_ring_refill(struct acme_ring *ring, const phys_addr_t *bufs,
		     const size_t *lens, unsigned int count)
{
	unsigned int i, idx = ring->head;

	if (count > ACME_RING_SIZE)
		return -EINVAL;

	for (i = 0; i < count; i++) {
		acme_ring_fill(ring, idx, bufs[i], lens[i]);
		acme_ring_sync_desc(ring, idx, bufs[i], lens[i], false);
		idx = (idx + 1) % ACME_RING_SIZE;
	}
	arch_sync_dma_flush();

	ring->head = idx;
	acme_writel(ring, ACME_REG_TX_TAIL, idx);
	return 0;
}
EXPORT_SYMBOL_GPL(acme_ring_refill);

/* Device wrote back the descriptor: make it visible to the CPU. */
void acme_ring_reclaim(struct acme_ring *ring, unsigned int idx,
		       phys_addr_t buf, size_t len)
{
	bool coherent = dev_is_dma_coherent(ring->dev);

	if (!coherent)
		arch_sync_dma_for_cpu(ring->desc_paddr +
				      idx * sizeof(struct acme_desc),
				      sizeof(struct acme_desc), DMA_FROM_DEVICE);
	/* The packet buffer was only read by the device: nothing to do. */
	arch_sync_dma_for_cpu(buf, len, DMA_TO_DEVICE);
	if (!coherent)
		arch_sync_dma_flush();
}
EXPORT_SYMBOL_GPL(acme_ring_reclaim);

/* Posts one packet. BUG: the cleans are never completed. */
int acme_ring_post_one(struct acme_ring *ring, phys_addr_t buf, size_t len)
{
	unsigned int idx = ring->head;

	acme_ring_fill(ring, idx, buf, len);
	acme_ring_sync_desc(ring, idx, buf, len, false);

	ring->head = (idx + 1) % ACME_RING_SIZE;
	acme_writel(ring, ACME_REG_TX_TAIL, ring->head);
	return 0;
}
EXPORT_SYMBOL_GPL(acme_ring_post_one);
