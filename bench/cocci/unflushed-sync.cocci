// SPDX-License-Identifier: MIT
/// An arm64 DMA cache sync (arch_sync_dma_for_device/arch_sync_dma_for_cpu only
/// issue "dc" maintenance since the batched-sync series) from which some path
/// reaches the end of the function without arch_sync_dma_flush() ("dsb sy").
///
/// Intraprocedural: a helper that leaves the flush to its caller is reported,
/// and conditions are not correlated. See bench/cocci/README.md.
//
// Confidence: Moderate
// Options: --include-headers --no-includes

virtual report

@r depends on report exists@
identifier fn;
position p;
@@

fn(...)
{
  ... when any
(
  arch_sync_dma_for_device@p(...);
|
  arch_sync_dma_for_cpu@p(...);
)
  ... when != arch_sync_dma_flush();
}

@script:python depends on r@
p << r.p;
fn << r.fn;
@@

print("%s:%s: %s" % (p[0].file, p[0].line, fn))
