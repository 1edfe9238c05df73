import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultFixtures } from '../../../test/fixtures/onnx-builder';
import { buildZip } from '../../../test/support/mlflow-zip';
import { useTempDir } from '../../../test/support/temp-dir';
import { RegistryError, RegistryErrorCode } from '../registry.error';
import { LocalModelStore } from '../store/local-model-store';
import { extractMlflowModel } from './mlflow-archive';

describe('extractMlflowModel: an MLmodel file past the size it accepts', () => {
  const tempDir = useTempDir('h29d-mlmodel-');

  it('says how big it is, the limit, and what to do instead', async () => {
    const store = new LocalModelStore(path.join(tempDir(), 'store'));
    await store.init();
    // A column signature of 30,000 features: what a wide tabular model logs with infer_signature on a DataFrame.
    const columns = JSON.stringify(Array.from({ length: 30_000 }, (_, i) => ({ type: 'double', name: `feature_${i}` })));
    const mlmodel = ['flavors:', '  onnx:', '    data: model.onnx', 'signature:', `  inputs: '${columns}'`].join('\n');
    const file = path.join(tempDir(), 'wide.zip');
    fs.writeFileSync(file, await buildZip([{ name: 'MLmodel', data: mlmodel }, { name: 'model.onnx', data: defaultFixtures().linear.bytes }]));

    const error = await extractMlflowModel(file, store, 1 << 28).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistryError);
    const { code, message, details } = error as RegistryError;
    expect(code).toBe(RegistryErrorCode.MlmodelInvalid);
    expect(message).toContain(`The MLmodel file is ${Buffer.byteLength(mlmodel)} bytes, more than the 1048576 (1 MiB) accepted`);
    expect(message).toContain('tensor signature');
    expect(details).toEqual({ sizeBytes: Buffer.byteLength(mlmodel), maxBytes: 1048576 });
  });
});
