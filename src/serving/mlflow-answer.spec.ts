import type { TensorSpec } from '../registry/artifact/artifact.types';
import { mlflowAnswerForm, mlflowPredictions } from './mlflow-answer';
import type { HostTensor } from './tensor-codec';

const f32 = (name: string, dims: number[], values: number[]): HostTensor => ({ name, type: 'float32', dims, data: new Float32Array(values) });
const spec = (name: string, shape: TensorSpec['shape']): TensorSpec => ({ name, type: 'float32', shape });

describe('MLflow answers', () => {
  const x = [spec('x', ['N', 2])];

  it('answers records for data frames and output arrays for tensors', () => {
    const outputs = [f32('variable', [2, 1], [142.5, 7])];
    expect(mlflowPredictions('records', outputs)).toEqual([{ variable: 142.5 }, { variable: 7 }]);
    expect(mlflowPredictions('dict', outputs)).toEqual({ variable: [[142.5], [7]] });
  });

  it('answers a data frame as records when every output is per row by the signature', () => {
    const outputs = [f32('y', [3, 1], [1, 2, 3]), f32('p', [3], [4, 5, 6])];
    expect(mlflowAnswerForm(3, x, [spec('y', ['N', 1]), spec('p', [null])], outputs)).toBe('records');
    // An output declared without a shape is taken by what it holds, as a symbolic one.
    expect(mlflowAnswerForm(3, x, [spec('y', ['N', 1]), spec('p', [])], outputs)).toBe('records');
    // Tensors are always answered as a dict.
    expect(mlflowAnswerForm(null, x, [spec('y', ['N', 1]), spec('p', ['N'])], outputs)).toBe('dict');
  });

  it('answers the whole data frame as a dict when an output has a fixed size of its own, whatever the row count', () => {
    const konst = spec('konst', [3]);
    const y = spec('y', ['N', 2]);
    // The constant [7, 8, 9] has as many entries as 3 rows: it still is not per row.
    for (const rows of [1, 2, 3, 4]) {
      const outputs = [f32('y', [rows, 2], Array.from({ length: rows * 2 }, (_, i) => i)), f32('konst', [3], [7, 8, 9])];
      expect({ rows, form: mlflowAnswerForm(rows, x, [y, konst], outputs) }).toEqual({ rows, form: 'dict' });
    }
    // NonZero's [2, K] with 2 rows: the first dimension is the input's rank, not the rows.
    expect(mlflowAnswerForm(2, x, [spec('nz', [2, 'K'])], [f32('nz', [2, 2], [0, 1, 0, 1])])).toBe('dict');
    // A scalar is never per row.
    expect(mlflowAnswerForm(1, x, [spec('total', [])], [f32('total', [], [10])])).toBe('dict');
  });

  it('takes a fixed first dimension as per row when it is the inputs\' own fixed batch size', () => {
    const one = [spec('float_input', [1, 6])];
    expect(mlflowAnswerForm(1, one, [spec('variable', [1, 1])], [f32('variable', [1, 1], [142.5])])).toBe('records');
    expect(mlflowAnswerForm(1, one, [spec('variable', [1, 1]), spec('k', [2])], [f32('variable', [1, 1], [142.5]), f32('k', [2], [1, 2])])).toBe('dict');
    // Inputs that disagree on their first dimension have no batch size of their own.
    expect(mlflowAnswerForm(1, [spec('a', [1, 2]), spec('b', ['N', 1])], [spec('y', [1, 1])], [f32('y', [1, 1], [3])])).toBe('dict');
  });

  it('answers a dict when a symbolic output does not come out with one entry per row', () => {
    expect(mlflowAnswerForm(3, x, [spec('y', ['N', 2]), spec('sel', ['M'])], [f32('y', [3, 2], [1, 2, 3, 4, 5, 6]), f32('sel', [2], [0, 2])])).toBe('dict');
  });
});
