import type { AuthContext } from '../../auth/auth-context';
import type { Labels } from '../../registry/entities/model.entity';
import type { ServableVersion } from '../../serving/servable';
import type { HostTensor } from '../../serving/tensor-codec';

export interface RouteSelector {
  model?: string;
  segment?: Labels;
}

/**
 * The seam between batch and online serving: which version serves a route (the same rule as
 * /v1/predict, fallback by segment included) and running one mini-batch on it. Batch knows
 * nothing else about serving, so swapping this for serving's shared resolver, session cache
 * and worker pool is one provider.
 */
export abstract class BatchPredictor {
  /** The version that serves this model name or segment now (pinned by the caller for the job). */
  abstract resolve(ctx: AuthContext, selector: RouteSelector): Promise<ServableVersion>;
  /** Reads these models' registry entries in bulk, so that resolving each afterwards is answered from memory. */
  abstract primeModels(ctx: AuthContext, names: readonly string[]): Promise<void>;
  /**
   * Loads the version's session ahead of its first mini-batch if the cache has spare room.
   * Best effort: a load that fails is reported when the partition is scored.
   */
  abstract warm(version: ServableVersion): Promise<'loaded' | 'no-room' | 'failed'>;
  /** One call on the version's session: inputs in signature order, outputs in `version.outputs` order. */
  abstract predict(version: ServableVersion, inputs: HostTensor[]): Promise<HostTensor[]>;
  abstract close(): Promise<void>;
}
