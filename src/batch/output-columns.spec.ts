import type { PinnedVersion } from './batch.types';
import { jobColumns } from './output-columns';

const pin = (model: string, outputs: Array<{ name: string; type: string; shape: Array<number | string | null> }>): PinnedVersion => ({
  versionId: `id-${model}`,
  model,
  version: 1,
  modelSha256: 'x',
  signature: { inputs: [{ name: 'float_input', type: 'float32', shape: ['N', 6] }], outputs },
  mlflow: null,
});

describe('jobColumns', () => {
  const variable = { name: 'variable', type: 'float32', shape: ['N', 1] };

  it('puts passthrough, model and version first, then each output once, widened across models', () => {
    const columns = jobColumns(['store'], 'csv', [pin('a', [variable]), pin('b', [{ ...variable, type: 'float64' }, { name: 'pair', type: 'int64', shape: ['N', 2] }])]);
    expect(columns).toEqual([
      { name: 'store', type: 'string' },
      { name: 'model', type: 'string' },
      { name: 'version', type: 'int32' },
      { name: 'variable', type: 'double' },
      { name: 'pair_0', type: 'int64' },
      { name: 'pair_1', type: 'int64' },
    ]);
  });

  it('refuses a passthrough column named like an output, which would overwrite its values', () => {
    expect(() => jobColumns(['store', 'variable'], 'csv', [pin('a', [variable])])).toThrow(
      expect.objectContaining({ code: 'INVALID_BATCH_JOB', message: "passthrough column 'variable' has the name of an output of model 'a' (version 1): rename the input column or leave it out of passthrough" }),
    );
    expect(() => jobColumns([], 'csv', [pin('a', [{ ...variable, name: 'version' }])])).toThrow(/output of model 'a' \(version 1\) is named 'version'/);
  });
});
