import type { HostTensor, TensorData } from '../tensor-codec';
import { concatParts, sliceRows, splitOutputs } from './batch-plan';

/**
 * Whether a model treats its rows independently: the condition for merging requests into one
 * call and for cutting a big one into chunks. An output whose first dimension follows the rows
 * does not prove it: `x - mean(x over rows)` has one output row per input row, yet each depends
 * on all the others, so merged requests would change each other's answers. The worker checks it
 * twice: from the graph when it loads the session (row-wise-graph.ts: a graph not seen to keep
 * rows apart is never merged), then by experiment, once per session, on the first call that would
 * merge or chunk: two different rows run together must give the outputs each gives alone. The
 * experiment alone can be fooled by rows that meet only sometimes; it catches what the graph
 * cannot show, such as a batch of one fixed inside the graph.
 */
export type RowCheck = 'independent' | 'dependent' | 'undecided';

/**
 * How many rows to look at for one that differs from the first (identical rows prove nothing),
 * spread over each part: a big request's first rows are often alike (sorted data).
 */
const ROWS_SCANNED = 64;

/**
 * Runs the experiment on two different rows taken from `parts` (each a request's inputs, or one
 * big request). 'undecided' when every row scanned is the same as the first (a model that mixes
 * rows gives the same answers for identical rows), or when a run fails: the caller then runs the
 * parts one by one, which is correct whatever the model does, and checks again next time.
 */
export async function checkRowIndependence(run: (feeds: HostTensor[]) => Promise<HostTensor[]>, parts: readonly HostTensor[][]): Promise<RowCheck> {
  const pair = twoDifferentRows(parts);
  if (!pair) return 'undecided';
  try {
    const alone = [await run(pair[0]), await run(pair[1])];
    const together = await run(concatParts(pair)).catch(() => null);
    // Each row runs, the two together do not (a batch fixed at one row inside the graph): never merge.
    if (!together) return 'dependent';
    const split = splitOutputs(together, [1, 1]);
    return split && split.every((outputs, i) => sameOutputs(outputs, alone[i])) ? 'independent' : 'dependent';
  } catch {
    return 'undecided';
  }
}

function twoDifferentRows(parts: readonly HostTensor[][]): [HostTensor[], HostTensor[]] | null {
  const first = sliceRows(parts[0], 0, 1);
  let scanned = 0;
  for (const part of parts) {
    const rows = part[0].dims[0];
    const step = Math.max(1, Math.floor(rows / ROWS_SCANNED));
    for (let r = 0; r < rows && scanned < 2 * ROWS_SCANNED; r += step, scanned++) {
      const row = sliceRows(part, r, r + 1);
      if (!row.every((t, i) => sameData(t.data, first[i].data, 0))) return [first, row];
    }
  }
  return null;
}

/**
 * Float outputs may differ in their last bits between a one-row and a two-row call (the kernels
 * block the work differently); a model that mixes rows moves them by far more.
 */
const RELATIVE_TOLERANCE = 1e-4;

function sameOutputs(a: readonly HostTensor[], b: readonly HostTensor[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((t, i) => t.dims.join() === b[i].dims.join() && sameData(t.data, b[i].data, t.type.startsWith('float') ? RELATIVE_TOLERANCE : 0));
}

function sameData(a: TensorData, b: TensorData, tolerance: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (typeof x !== 'number' || typeof y !== 'number') return false;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (!(Math.abs(x - y) <= tolerance * Math.max(1, Math.abs(x), Math.abs(y)))) return false;
  }
  return true;
}
