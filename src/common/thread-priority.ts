import * as os from 'node:os';

/** What a worker thread that runs below the HTTP thread is started with (inference workers, batch scoring threads). */
export interface ThreadPriorityData {
  /** Nice levels below the HTTP thread (MMS_WORKER_NICE). */
  nice: number;
}

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
