// SPDX-License-Identifier: MIT
/*
 * flushcheck demo: a made-up "acme" NIC with one TX descriptor ring.
 * Each descriptor points at a packet buffer; both live in memory the
 * device reads by DMA, so the CPU's writes must be cleaned out of the
 * cache (and the clean completed) before the doorbell.
 */
#ifndef _ACME_RING_H
#define _ACME_RING_H

#include <linux/types.h>
#include <linux/dma-map-ops.h>

#define ACME_RING_SIZE		256
#define ACME_REG_TX_TAIL	0x18
#define ACME_DESC_OWN		0x80000000u

struct acme_desc {
	u64 addr;
	u32 len;
	u32 flags;
};

struct acme_ring {
	struct device *dev;
	void *regs;
	struct acme_desc *desc;		/* CPU address of the ring */
	phys_addr_t desc_paddr;		/* its physical address */
	unsigned int head;
};

void acme_writel(struct acme_ring *ring, unsigned int reg, u32 val);

int acme_ring_refill(struct acme_ring *ring, const phys_addr_t *bufs,
		     const size_t *lens, unsigned int count);
int acme_ring_post_one(struct acme_ring *ring, phys_addr_t buf, size_t len);
void acme_ring_reclaim(struct acme_ring *ring, unsigned int idx,
		       phys_addr_t buf, size_t len);

#endif /* _ACME_RING_H */
