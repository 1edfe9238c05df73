import { Injectable } from '@nestjs/common';
import { InferenceSession } from 'onnxruntime-node';
import { withoutServerPaths } from '../../common/server-paths';
import { RegistryError, RegistryErrorCode } from '../registry.error';
import { ModelSignature, TensorSpec } from './artifact.types';

/**
 * Proves that an ONNX file loads in the runtime that will serve it, and reads its
 * signature. Anything that does not load is a 422: we never store what we cannot serve.
 */
@Injectable()
export class OnnxInspector {
  async inspect(onnxPath: string): Promise<ModelSignature> {
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(onnxPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    } catch (error) {
      throw new RegistryError(RegistryErrorCode.ArtifactInvalid, 'The artifact is not a model the ONNX runtime can load', {
        reason: withoutServerPaths(firstLine((error as Error).message)),
      });
    }
    try {
      return {
        inputs: session.inputMetadata.map(toTensorSpec),
        outputs: session.outputMetadata.map(toTensorSpec),
      };
    } finally {
      await session.release();
    }
  }
}

function toTensorSpec(meta: InferenceSession.ValueMetadata): TensorSpec {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', shape: [] };
  return {
    name: meta.name,
    type: meta.type,
    shape: meta.shape.map((d) => (typeof d === 'number' ? (d >= 0 ? d : null) : d || null)),
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0].slice(0, 500);
}
