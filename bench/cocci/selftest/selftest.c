// SPDX-License-Identifier: MIT
/*
 * Self-test of unflushed-sync.cocci (our own code, not kernel code). Every sync
 * the semantic patch must report carries an EXPECT-REPORT comment; every other
 * sync must not be reported. bench/cocci.ts runs this before the tree.
 */

void no_flush(phys_addr_t p, size_t n, int dir)
{
	arch_sync_dma_for_device(p, n, dir); /* EXPECT-REPORT */
}

void flushed(phys_addr_t p, size_t n, int dir)
{
	arch_sync_dma_for_cpu(p, n, dir);
	arch_sync_dma_flush();
}

int early_return(phys_addr_t p, size_t n, int dir, int err)
{
	arch_sync_dma_for_device(p, n, dir); /* EXPECT-REPORT */
	if (err)
		return -EINVAL;
	arch_sync_dma_flush();
	return 0;
}

void bool_param(struct device *dev, phys_addr_t p, size_t n, int dir, bool flush)
{
	if (!dev_is_dma_coherent(dev)) {
		arch_sync_dma_for_cpu(p, n, dir); /* EXPECT-REPORT */
		if (flush)
			arch_sync_dma_flush();
	}
}

void loop_then_flush(struct scatterlist *sgl, int nents, int dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		arch_sync_dma_for_device(sg_phys(sg), sg->length, dir);
	arch_sync_dma_flush();
}

void correlated(struct device *dev, struct scatterlist *sgl, int nents, int dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		if (!dev_is_dma_coherent(dev))
			arch_sync_dma_for_device(sg_phys(sg), sg->length, dir); /* EXPECT-REPORT */
	}
	if (!dev_is_dma_coherent(dev))
		arch_sync_dma_flush();
}

int goto_skips_flush(phys_addr_t p, size_t n, int dir)
{
	int ret;

	arch_sync_dma_for_device(p, n, dir); /* EXPECT-REPORT */
	ret = start_hw();
	if (ret)
		goto out;
	arch_sync_dma_flush();
out:
	return ret;
}

void two_syncs_one_flush(phys_addr_t p, size_t n, int dir)
{
	arch_sync_dma_for_device(p, n, dir);
	arch_sync_dma_for_cpu(p, n, dir);
	arch_sync_dma_flush();
}

void second_unflushed(phys_addr_t p, size_t n, int dir)
{
	arch_sync_dma_for_device(p, n, dir);
	arch_sync_dma_flush();
	arch_sync_dma_for_cpu(p, n, dir); /* EXPECT-REPORT */
}

void return_in_loop(struct scatterlist *sgl, int nents, int dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		arch_sync_dma_for_cpu(sg_phys(sg), sg->length, dir); /* EXPECT-REPORT */
		if (WARN_ON(!sg_page(sg)))
			return;
	}
	arch_sync_dma_flush();
}

void flushed_on_both_branches(phys_addr_t p, size_t n, int dir, int slow)
{
	arch_sync_dma_for_device(p, n, dir);
	if (slow) {
		arch_sync_dma_flush();
		wait_a_bit();
	} else {
		arch_sync_dma_flush();
	}
}
