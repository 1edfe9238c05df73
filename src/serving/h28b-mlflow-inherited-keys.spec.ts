import type { TensorSpec } from '../registry/artifact/artifact.types';
import { decodeMlflowInputs, parseMlflowPayload } from './mlflow-payload';

/** Columns named like Object.prototype's members (an F1 data set's `constructor`) are columns like any other. */
describe('MLflow records with a column named like an Object.prototype member', () => {
  const specs: TensorSpec[] = [
    { name: 'constructor', type: 'float32', shape: ['N', 1] },
    { name: 'toString', type: 'float32', shape: ['N', 1] },
  ];

  it('reads a record without such a key as a missing value (NaN), as pandas does', () => {
    const frame = parseMlflowPayload({ dataframe_records: [{ toString: 1, constructor: 2 }, { toString: 3 }] });
    const { tensors } = decodeMlflowInputs(frame, specs, null);
    expect(Array.from(tensors[0].data as Float32Array)).toEqual([2, NaN]);
    expect(Array.from(tensors[1].data as Float32Array)).toEqual([1, 3]);
  });

  it('refuses instances records without such a key by name, as for any other input', () => {
    const records = parseMlflowPayload({ instances: [{ toString: [1], constructor: [2] }, { toString: [3] }] });
    expect(() => decodeMlflowInputs(records, specs, null)).toThrow("instances[1] has no 'constructor': every record must give every input");
  });
});
