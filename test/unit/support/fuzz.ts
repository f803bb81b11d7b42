// Shared by the fuzz tests: seeded randomness (a failure names its seed and
// replays alone) and the mutations both apply.

/** mulberry32: small, fast, and the same sequence everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number in [0, n). */
export const int = (rnd: () => number, n: number): number => Math.floor(rnd() * n);

/** Removes up to 200 bytes at a random place. */
export function deleteSpan(buf: Buffer, rnd: () => number): Buffer {
  const at = int(rnd, buf.length + 1);
  return Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + 1 + int(rnd, 200)))]);
}
