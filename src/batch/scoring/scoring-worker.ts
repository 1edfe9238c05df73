import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThreadPriority, ThreadPriorityData } from '../../common/thread-priority';
import type { HostTensor } from '../../serving/tensor-codec';
import { INFERENCE_REFUSED, scorePartition } from './score-partition';
import { buffersOf, FromScoringThread, ToScoringThread } from './scoring-protocol';

/**
 * A scoring thread: the per-row work of batch partitions (parse the staging rows, build the
 * feature tensors, encode and hash the output rows, write the file) runs here, off the main
 * thread that serves HTTP and runs the database. Each mini-batch goes back to the main thread
 * to run on serving's inference workers, where the session cache lives.
 */
const port = parentPort!;
lowerThisThreadPriority((workerData as ThreadPriorityData | undefined)?.nice ?? 0);
const waiting = new Map<number, { resolve: (outputs: HostTensor[]) => void; reject: (error: Error) => void }>();

function send(message: FromScoringThread, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

port.on('message', (message: ToScoringThread) => {
  if (message.type === 'score') {
    const { id, task } = message;
    const predict = (feeds: HostTensor[]) =>
      new Promise<HostTensor[]>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        send({ type: 'predict', id, feeds }, buffersOf(feeds));
      });
    scorePartition(task, predict).then(
      (result) => send({ type: 'done', id, result }),
      (error: Error) => send({ type: 'failed', id, message: error.message, stopped: error.name === 'StoppedError' }),
    );
    return;
  }
  const call = waiting.get(message.id);
  waiting.delete(message.id);
  if (!call) return;
  if (message.type === 'predicted') call.resolve(message.outputs);
  else {
    const error = new Error(message.message);
    if (message.stopped) error.name = 'StoppedError';
    else if (message.refused) error.name = INFERENCE_REFUSED;
    call.reject(error);
  }
});
