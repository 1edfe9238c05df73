import { Injectable } from '@nestjs/common';
import * as fsp from 'node:fs/promises';
import { AppConfig } from '../../config/app-config';
import { ModelStore, StagedFile } from '../store/model-store';
import { InspectedArtifact } from './artifact.types';
import { extractMlflowModel } from './mlflow-archive';
import { assertMlflowColumnsFit } from './mlflow-signature-fit';
import { OnnxInspector } from './onnx-inspector';

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/** A zip without entries is only its end record (what shutil.make_archive writes for an empty folder). */
const EMPTY_ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x05, 0x06]);

/**
 * Turns a staged upload into a servable artifact: a bare ONNX file, or an MLflow model
 * zip whose onnx flavor names the file. Either way the ONNX file is proven to load.
 */
@Injectable()
export class ArtifactInspector {
  constructor(
    private readonly onnx: OnnxInspector,
    private readonly store: ModelStore,
    private readonly config: AppConfig,
  ) {}

  async inspect(upload: StagedFile): Promise<InspectedArtifact> {
    if (await startsWithAny(upload.path, [ZIP_MAGIC, EMPTY_ZIP_MAGIC])) {
      const mlflow = await extractMlflowModel(upload.path, this.store, this.config.MMS_MAX_ARTIFACT_BYTES);
      try {
        const signature = await this.onnx.inspect(mlflow.onnx.path);
        assertMlflowColumnsFit(signature.inputs, mlflow.metadata);
        return { format: 'mlflow', onnxPath: mlflow.onnx.path, onnxSha256: mlflow.onnx.sha256, onnxSizeBytes: mlflow.onnx.sizeBytes, signature, mlflow: mlflow.metadata };
      } catch (error) {
        await this.store.discard(mlflow.onnx.path);
        throw error;
      }
    }
    const signature = await this.onnx.inspect(upload.path);
    return { format: 'onnx', onnxPath: upload.path, onnxSha256: upload.sha256, onnxSizeBytes: upload.sizeBytes, signature, mlflow: null };
  }
}

async function startsWithAny(file: string, magics: readonly Buffer[]): Promise<boolean> {
  const handle = await fsp.open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return magics.some((magic) => bytesRead >= magic.length && head.subarray(0, magic.length).equals(magic));
  } finally {
    await handle.close();
  }
}
