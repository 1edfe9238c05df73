import type { HostTensor } from '../../serving/tensor-codec';
import type { PartitionResult, ScoreTask } from './score-partition';

/** Main thread → scoring thread. */
export type ToScoringThread =
  | { type: 'score'; id: number; task: ScoreTask }
  | { type: 'predicted'; id: number; outputs: HostTensor[] }
  /** `refused`: the runtime refused these rows' values (INFERENCE_FAILED), which another try would not change. */
  | { type: 'predict-failed'; id: number; message: string; stopped: boolean; refused: boolean };

/** Scoring thread → main thread: a mini-batch to run (inference stays on serving's workers), then the outcome. */
export type FromScoringThread =
  | { type: 'predict'; id: number; feeds: HostTensor[] }
  | { type: 'done'; id: number; result: PartitionResult }
  | { type: 'failed'; id: number; message: string; stopped: boolean };

/** The buffers of tensors, to move them between threads rather than copy them. */
export function buffersOf(tensors: readonly HostTensor[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of tensors) {
    const data = t.data as { buffer?: unknown };
    if (data.buffer instanceof ArrayBuffer && !out.includes(data.buffer)) out.push(data.buffer);
  }
  return out;
}
