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

  it('refuses two outputs that would share a column for different values', () => {
    const triple = { name: 'variable', type: 'float32', shape: ['N', 3] };
    expect(() => jobColumns([], 'csv', [pin('a', [{ ...variable, name: 'variable_0' }]), pin('b', [triple])])).toThrow(
      expect.objectContaining({
        code: 'INVALID_BATCH_JOB',
        message: "column 'variable_0' would hold output 'variable_0' of model 'a' (version 1) and value 0 of output 'variable' of model 'b' (version 1): rename one of the outputs, or score these models in separate jobs",
      }),
    );
    // Within one model too; and a retry adding such a model to the columns an earlier run wrote.
    expect(() => jobColumns([], 'csv', [pin('a', [triple, { ...variable, name: 'variable_1' }])])).toThrow(/column 'variable_1' would hold/);
    const written = jobColumns([], 'csv', [pin('b', [triple])]);
    expect(() => jobColumns([], 'csv', [pin('b', [triple]), pin('a', [{ ...variable, name: 'variable_2' }])], written)).toThrow(/column 'variable_2' would hold/);
    // The same output of two models shares its columns, as before.
    expect(jobColumns([], 'csv', [pin('a', [triple]), pin('b', [triple])]).map((c) => c.name)).toEqual(['model', 'version', 'variable_0', 'variable_1', 'variable_2']);
  });
});
