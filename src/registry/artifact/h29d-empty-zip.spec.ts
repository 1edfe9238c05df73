import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildZip } from '../../../test/support/mlflow-zip';
import { useTempDir } from '../../../test/support/temp-dir';
import type { AppConfig } from '../../config/app-config';
import { RegistryError, RegistryErrorCode } from '../registry.error';
import { LocalModelStore } from '../store/local-model-store';
import { ArtifactInspector } from './artifact-inspector.service';
import { OnnxInspector } from './onnx-inspector';

describe('ArtifactInspector: a zip archive without entries', () => {
  const tempDir = useTempDir('h29d-empty-zip-');

  it('is read as a zip (no MLmodel file), not handed to onnxruntime as a broken ONNX file', async () => {
    const store = new LocalModelStore(path.join(tempDir(), 'store'));
    await store.init();
    const bytes = await buildZip([]); // what shutil.make_archive writes for an empty folder: the end record alone
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from('PK\x05\x06', 'latin1'));
    const file = path.join(tempDir(), 'empty.zip');
    fs.writeFileSync(file, bytes);
    const inspector = new ArtifactInspector(new OnnxInspector(), store, { MMS_MAX_ARTIFACT_BYTES: 1 << 28 } as AppConfig);

    const error = await inspector.inspect({ path: file, sha256: 'x', sizeBytes: bytes.length }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe(RegistryErrorCode.MlmodelInvalid);
    expect((error as RegistryError).message).toMatch(/no MLmodel file/);
  });
});
