/**
 * glibc's malloc serves blocks from 128 KiB up by mmap, and raises that threshold each time such
 * a block is freed (up to 32 MiB): from then on a session's big blocks (weights, packed weights)
 * come from the heap, where a cache that loads and evicts sessions all day leaves them scattered
 * between live ones. Measured (docs/benchmarks.md §2b): 500 sessions of a 0.5 MB network held
 * 1.8× the cache's bound after a few thousand loads and evictions, 0.8× with the threshold fixed,
 * at the same throughput. `npm start` fixes it; a process started otherwise is told how.
 */
export const FIXED_MMAP_THRESHOLD = 'glibc.malloc.mmap_threshold=131072';

/** Advice for a process on glibc whose mmap threshold is not fixed, or undefined. */
export function mallocAdvice(env: NodeJS.ProcessEnv, onGlibc: boolean): string | undefined {
  if (!onGlibc || env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.GLIBC_TUNABLES?.includes('glibc.malloc.mmap_threshold')) return undefined;
  return (
    `glibc's mmap threshold is not fixed: sessions loaded and evicted over time can hold up to about twice MMS_CACHE_MAX_BYTES. ` +
    `Start the process with GLIBC_TUNABLES=${FIXED_MMAP_THRESHOLD} (npm start does; see docs/cache.md)`
  );
}

/** Whether this process runs on glibc (not musl, not another OS). */
export function runsOnGlibc(): boolean {
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    return typeof header?.glibcVersionRuntime === 'string';
  } catch {
    return false; // no report, no advice
  }
}
