import type { TensorSpec } from '../registry/artifact/artifact.types';
import { decodeMlflowInputs, parseMlflowPayload } from './mlflow-payload';

/** ONNX names are free text: an input may be called `__proto__`, and a data frame may name its column so (CSV, dataframe_split). */
describe('MLflow data frames feed inputs whatever their names', () => {
  const specs: TensorSpec[] = [{ name: '__proto__', type: 'float32', shape: ['N', 1] }, { name: 'constructor', type: 'float32', shape: ['N', 1] }];

  it("reads a column named '__proto__' as that input, not as missing", () => {
    const frame = parseMlflowPayload({ dataframe_split: { columns: ['constructor', '__proto__'], data: [[1, 2]] } });
    const { tensors } = decodeMlflowInputs(frame, specs, null);
    expect(tensors.map((t) => [t.name, Array.from(t.data as Float32Array)])).toEqual([
      ['__proto__', [2]],
      ['constructor', [1]],
    ]);
  });
});
