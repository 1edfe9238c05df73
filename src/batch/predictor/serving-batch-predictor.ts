import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../auth/auth-context';
import { InferenceExecutor } from '../../serving/inference-executor.service';
import { ModelResolver } from '../../serving/model-resolver.service';
import type { ServableVersion } from '../../serving/servable';
import { ServingError, ServingErrorCode } from '../../serving/serving.error';
import { SessionCache } from '../../serving/session-cache';
import type { HostTensor } from '../../serving/tensor-codec';
import { BatchPredictor, RouteSelector } from './batch-predictor';

/**
 * BatchPredictor on online serving's own core: its resolver (same version and segment
 * fallback rules, same registry-change invalidation) and its executor (session cache, worker
 * threads, micro-batching). Batch mini-batches are large, so they run as calls of their own.
 */
@Injectable()
export class ServingBatchPredictor extends BatchPredictor {
  constructor(
    private readonly resolver: ModelResolver,
    private readonly executor: InferenceExecutor,
    private readonly sessions: SessionCache,
  ) {
    super();
  }

  resolve(ctx: AuthContext, selector: RouteSelector): Promise<ServableVersion> {
    return this.resolver.resolve(ctx, selector.model !== undefined ? { model: selector.model } : { segment: selector.segment });
  }

  primeModels(ctx: AuthContext, names: readonly string[]): Promise<void> {
    return this.resolver.primeModels(ctx, names);
  }

  async warm(version: ServableVersion): Promise<'loaded' | 'no-room' | 'failed'> {
    if (!this.sessions.hasRoomToWarm(version.tenantId)) return 'no-room';
    try {
      await this.sessions.load(version);
      return 'loaded';
    } catch {
      return 'failed';
    }
  }

  async predict(version: ServableVersion, inputs: HostTensor[]): Promise<HostTensor[]> {
    const outputs = await this.executor.run(version, inputs).catch((error: unknown) => {
      throw withoutOnlineRetryHint(error);
    });
    // In the order of version.outputs, whatever order the runtime answered in.
    const byName = new Map(outputs.map((o) => [o.name, o]));
    return version.outputs.map((spec) => {
      const out = byName.get(spec.name);
      if (!out) throw new Error(`the model did not return its output '${spec.name}'`);
      return out;
    });
  }

  async close(): Promise<void> {
    // The executor belongs to the serving module, which closes it.
  }
}

/**
 * A load failure's message tells an online client when serving tries the load again ("it is
 * tried again in 4 s"); in a batch partition's error that reads as a promise of another attempt,
 * even once the partition has spent its retries and failed for good. The partition's own retries
 * are the batch's (maxRetries), so the message keeps only what failed and why.
 */
function withoutOnlineRetryHint(error: unknown): unknown {
  if (!(error instanceof ServingError) || error.code !== ServingErrorCode.ModelLoadFailed || typeof error.details.reason !== 'string') return error;
  const { model, version, reason } = error.details;
  return new ServingError(error.code, `Model '${String(model)}' version ${String(version)} could not be loaded (${reason})`, error.details);
}
