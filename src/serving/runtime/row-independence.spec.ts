import type { HostTensor } from '../tensor-codec';
import { checkRowIndependence } from './row-independence';

const f32 = (rows: number[][]): HostTensor => ({ name: 'x', type: 'float32', dims: [rows.length, rows[0].length], data: Float32Array.from(rows.flat()) });
const rowsOf = (t: HostTensor): number[][] => {
  const width = t.dims[1];
  return Array.from({ length: t.dims[0] }, (_, r) => Array.from((t.data as Float32Array).subarray(r * width, (r + 1) * width)));
};
/** A fake model: `perCall` maps the call's rows to its output rows. */
const model = (perCall: (rows: number[][]) => number[][]) => {
  const calls: number[] = [];
  const run = async (feeds: HostTensor[]) => {
    calls.push(feeds[0].dims[0]);
    return [{ ...f32(perCall(rowsOf(feeds[0]))), name: 'y' }];
  };
  return { run, calls };
};
const doubling = (rows: number[][]) => rows.map((r) => r.map((v) => 2 * v));
const centering = (rows: number[][]) => rows.map((r) => r.map((v, j) => v - rows.reduce((s, q) => s + q[j], 0) / rows.length));

describe('checkRowIndependence', () => {
  it('finds a row-wise model independent: two different rows together give what each gives alone', async () => {
    const { run, calls } = model(doubling);
    expect(await checkRowIndependence(run, [[f32([[1, 2]])], [f32([[3, 4]])]])).toBe('independent');
    expect(calls).toEqual([1, 1, 2]);
  });

  it('finds a model that mixes rows dependent, though its outputs follow the rows', async () => {
    const { run } = model(centering);
    expect(await checkRowIndependence(run, [[f32([[100, 100]])], [f32([[0, 0]])]])).toBe('dependent');
  });

  it('finds a model whose outputs do not follow the rows dependent', async () => {
    const { run } = model((rows) => [rows.reduce((a, b) => a.map((v, j) => v + b[j]))]);
    expect(await checkRowIndependence(run, [[f32([[1, 2]])], [f32([[3, 4]])]])).toBe('dependent');
  });

  it('takes the second row from anywhere in the parts, a big request\'s own rows included', async () => {
    const { run } = model(centering);
    expect(await checkRowIndependence(run, [[f32([[5, 5], [5, 5], [7, 5]])]])).toBe('dependent');
  });

  it('is undecided when the rows are all the same (a model that mixes rows answers them alike), or a run fails', async () => {
    const { run, calls } = model(centering);
    expect(await checkRowIndependence(run, [[f32([[5, 5]])], [f32([[5, 5], [5, 5]])]])).toBe('undecided');
    expect(calls).toEqual([]);
    const failing = async () => Promise.reject(new Error('bad input'));
    expect(await checkRowIndependence(failing, [[f32([[1, 2]])], [f32([[3, 4]])]])).toBe('undecided');
  });

  it('finds a model whose rows run alone but not together dependent (a batch of one fixed in the graph)', async () => {
    const oneRowOnly = async (feeds: HostTensor[]) => (feeds[0].dims[0] === 1 ? [{ ...feeds[0], name: 'y' }] : Promise.reject(new Error('reshape to [1, 2] failed')));
    expect(await checkRowIndependence(oneRowOnly, [[f32([[1, 2]])], [f32([[3, 4]])]])).toBe('dependent');
  });

  it('allows float outputs to differ in their last bits between a one-row and a two-row call', async () => {
    const { run } = model((rows) => rows.map((r) => r.map((v) => v * (rows.length === 2 ? 1 + 1e-6 : 1))));
    expect(await checkRowIndependence(run, [[f32([[1, 2]])], [f32([[3, 4]])]])).toBe('independent');
  });
});
