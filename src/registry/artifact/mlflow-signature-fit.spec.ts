import type { TensorSpec } from './artifact.types';
import { assertMlflowColumnsFit } from './mlflow-signature-fit';

describe('assertMlflowColumnsFit', () => {
  const columns = (...specs: Array<[string, string]>) => ({ signature: { inputs: specs.map(([name, type]) => ({ name, type })) } });
  const features: TensorSpec[] = [{ name: 'float_input', type: 'float32', shape: ['N', 3] }];
  const perColumn: TensorSpec[] = [
    { name: 'store', type: 'string', shape: ['N', 1] },
    { name: 'x', type: 'float32', shape: ['N', 1] },
  ];

  it('takes columns that can feed the inputs: as many as a single input holds, or one per input by name', () => {
    expect(() => assertMlflowColumnsFit(features, columns(['a', 'double'], ['b', 'double'], ['c', 'long']))).not.toThrow();
    expect(() => assertMlflowColumnsFit(perColumn, columns(['x', 'double'], ['store', 'string']))).not.toThrow();
    // A model exported with a fixed batch of 4 takes frames of 4 rows: tried with 4.
    expect(() => assertMlflowColumnsFit([{ name: 'float_input', type: 'float32', shape: [4, 2] }], columns(['a', 'double'], ['b', 'double']))).not.toThrow();
  });

  it('refuses columns that could never feed them (422 MLMODEL_INVALID), naming both', () => {
    expect(() => assertMlflowColumnsFit(features, columns(['a', 'double'], ['b', 'double']))).toThrow(
      expect.objectContaining({ code: 'MLMODEL_INVALID', message: expect.stringContaining("The MLmodel signature's columns (a, b) cannot feed the ONNX model's inputs") }),
    );
    expect(() => assertMlflowColumnsFit(perColumn, columns(['x', 'double'], ['store', 'double']))).toThrow(expect.objectContaining({ code: 'MLMODEL_INVALID' }));
  });

  it('leaves tensor signatures, no signature and column types it cannot try alone', () => {
    expect(() => assertMlflowColumnsFit(features, { signature: { inputs: [{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 3] } }] } })).not.toThrow();
    expect(() => assertMlflowColumnsFit(features, {})).not.toThrow();
    expect(() => assertMlflowColumnsFit(features, columns(['a', 'datetime']))).not.toThrow();
  });
});
