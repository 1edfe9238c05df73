import { buildDoublingModel, buildLinearModel, buildTypedModel } from '../../../test/fixtures/onnx-builder';
import { inputsWithoutShape } from './onnx-declared-shapes';

describe('inputsWithoutShape', () => {
  it('finds an input declared without a shape, and not one declared as a scalar', () => {
    expect(inputsWithoutShape(buildDoublingModel('no shape'))).toEqual(['x']);
    expect(inputsWithoutShape(buildDoublingModel('scalar'))).toEqual([]);
  });

  it('finds none in models whose inputs all have shapes', () => {
    expect(inputsWithoutShape(buildLinearModel({ weights: [1, 2, 3], bias: 0 }).bytes)).toEqual([]);
    expect(inputsWithoutShape(buildTypedModel().bytes)).toEqual([]);
  });

  it('refuses bytes that are not a complete message', () => {
    const bytes = buildDoublingModel('no shape');
    expect(() => inputsWithoutShape(bytes.subarray(0, bytes.length - 3))).toThrow('truncated ONNX message');
  });
});
