import type { TensorSpec } from '../registry/artifact/artifact.types';
import { decodeOipRequest } from './oip-payload';

describe('decodeOipRequest', () => {
  const linear: TensorSpec[] = [{ name: 'x', type: 'float32', shape: ['N', 2] }];

  it('takes inputs: [] for a model that takes no inputs (a constant), as Triton does', () => {
    expect(decodeOipRequest({ inputs: [], outputs: undefined }, [], ['y'])).toEqual({ tensors: [], wanted: null });
  });

  it('still wants an array, and a non-empty one from a model with inputs', () => {
    expect(() => decodeOipRequest({ inputs: undefined, outputs: undefined }, [], ['y'])).toThrow('inputs must be an array: [] for this model, which takes no inputs');
    expect(() => decodeOipRequest({ inputs: [], outputs: undefined }, linear, ['y'])).toThrow('inputs must be a non-empty array');
    expect(decodeOipRequest({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }], outputs: undefined }, linear, ['y']).tensors).toHaveLength(1);
  });
});
