import * as fs from 'node:fs';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { lowerThisThreadPriority } from './thread-priority';

/** The nice value of one of this process's threads, from /proc (field 19 of stat). */
function niceOf(tid: number): number {
  const stat = fs.readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** Runs lowerThisThreadPriority(levels) in a real worker thread: its answer, its thread id, and its nice from /proc while it still runs. */
async function inAThread(levels: number): Promise<{ answer: number | null; nice: number }> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    require('@swc-node/register');
    const { lowerThisThreadPriority } = require(workerData.module);
    const answer = lowerThisThreadPriority(workerData.levels);
    const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
    parentPort.postMessage({ answer, tid });
    parentPort.once('message', () => process.exit(0));`;
  const worker = new Worker(code, { eval: true, workerData: { module: require.resolve('./thread-priority'), levels } });
  try {
    const { answer, tid } = await new Promise<{ answer: number | null; tid: number }>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    return { answer, nice: niceOf(tid) };
  } finally {
    worker.postMessage('done');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
}

const onLinux = process.platform === 'linux' ? describe : describe.skip;

onLinux('lowerThisThreadPriority (Linux: nice is per thread)', () => {
  const base = os.getPriority(0);

  it('lowers the calling thread alone, by the levels asked', async () => {
    const { answer, nice } = await inAThread(7);
    expect(answer).toBe(Math.min(19, base + 7));
    expect(nice).toBe(Math.min(19, base + 7));
    expect(niceOf(process.pid)).toBe(base); // the main thread is untouched
  });

  it('stops at 19', async () => {
    expect(await inAThread(40)).toEqual({ answer: 19, nice: 19 });
  });

  it('leaves the thread alone when asked for 0 levels', () => {
    expect(lowerThisThreadPriority(0)).toBeNull();
    expect(niceOf(process.pid)).toBe(base);
  });
});
