import type { HostTensor } from '../tensor-codec';
import { chunkRowsFor, concatParts, rowsOf, sliceRows, splitOutputs } from './batch-plan';

const f32 = (name: string, rows: number[][]): HostTensor => ({ name, type: 'float32', dims: [rows.length, rows[0].length], data: Float32Array.from(rows.flat()) });

describe('batch-plan', () => {
  it('concatenates parts along rows, input by input', () => {
    const merged = concatParts([
      [f32('x', [[1, 2]]), f32('y', [[9]])],
      [f32('x', [[3, 4], [5, 6]]), f32('y', [[8], [7]])],
    ]);
    expect(merged.map((t) => t.dims)).toEqual([[3, 2], [3, 1]]);
    expect(Array.from(merged[0].data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(merged[1].data as Float32Array)).toEqual([9, 8, 7]);
  });

  it('splits merged outputs back by each part\'s rows', () => {
    const out = f32('y', [[10], [20], [30]]);
    const parts = splitOutputs([out], [1, 2])!;
    expect(parts.map((p) => Array.from(p[0].data as Float32Array))).toEqual([[10], [20, 30]]);
    expect(parts[1][0].dims).toEqual([2, 1]);
  });

  it('refuses to split outputs that do not follow the rows', () => {
    expect(splitOutputs([f32('total', [[60]])], [1, 2])).toBeNull();
  });

  it('slices rows and sizes chunks by element budget', () => {
    const x = f32('x', [[1, 2], [3, 4], [5, 6]]);
    expect(Array.from(sliceRows([x], 1, 3)[0].data as Float32Array)).toEqual([3, 4, 5, 6]);
    expect(chunkRowsFor([x], 4)).toBe(2);
    expect(chunkRowsFor([x], 1)).toBe(1);
    expect(rowsOf([x, f32('y', [[1], [2], [3]])])).toBe(3);
    expect(rowsOf([x, f32('y', [[1]])])).toBeNull();
  });
});
