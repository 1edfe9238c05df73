import * as os from 'node:os';

/**
 * Lowers the calling thread's CPU priority by `levels` nice levels (to at most 19), so that when
 * the cores are contended the process's other threads, the HTTP thread above all, run first.
 * Linux only, where nice is per thread and setpriority() on "this process" (0) sets the calling
 * thread's alone; elsewhere it would lower the whole process, so nothing changes. Raising a nice
 * value needs no privilege. Returns the thread's nice value afterwards (null: unchanged).
 */
export function lowerThisThreadPriority(levels: number): number | null {
  if (levels <= 0 || process.platform !== 'linux') return null;
  try {
    os.setPriority(0, Math.min(19, os.getPriority(0) + levels));
    return os.getPriority(0);
  } catch {
    return null; // not permitted: the thread runs at the process's priority
  }
}
