import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { MirrorPlan, TrafficMirror } from '../rollout/traffic-mirror.service';
import { InferenceExecutor } from './inference-executor.service';
import { BackgroundCallDropped } from './runtime/inference-runtime';
import { ModelResolver } from './model-resolver.service';
import type { ServableVersion } from './servable';
import { inferenceFailed } from './serving.error';
import { type HostTensor, MAX_ELEMENTS } from './tensor-codec';

/** Whether the request left the version to the model's rule (it named neither a version nor an alias). */
export type Routing = 'by-rule' | 'explicit';

/** What a mirrored request's shadow version answered. */
export interface ShadowAnswer {
  version: number;
  outputs: HostTensor[];
}

export interface MirroredRun {
  outputs: HostTensor[];
  /** For a mirrored request: settles once the shadow call is over, with its answer (null if it was shed or failed). */
  shadow: Promise<ShadowAnswer | null> | null;
}

/**
 * Online inference on every protocol (/v1/predict, OIP infer, MLflow invocations): runs the
 * version, and mirrors the call when the model's traffic rule asks for it. Only requests the
 * rule routes are mirrored: one naming a version or alias chose its version itself, so the
 * rule (and its comparison figures) does not govern it.
 */
@Injectable()
export class MirroredExecutor {
  constructor(
    private readonly executor: InferenceExecutor,
    private readonly resolver: ModelResolver,
    private readonly mirror: TrafficMirror,
  ) {}

  async run(ctx: AuthContext, version: ServableVersion, feeds: HostTensor[], routing: Routing): Promise<HostTensor[]> {
    return (await this.runMirrored(ctx, version, feeds, routing)).outputs;
  }

  /** As `run`, with the shadow's answer to come when the request is mirrored (for the prediction log). */
  async runMirrored(ctx: AuthContext, version: ServableVersion, feeds: HostTensor[], routing: Routing): Promise<MirroredRun> {
    const plan = routing === 'by-rule' ? this.mirror.plan(version) : null;
    // The primary call transfers the feeds' buffers to a worker: a mirrored request keeps a copy.
    const shadowFeeds = plan ? feeds.map((f) => ({ ...f, data: f.data.slice() })) : null;
    const outputs = refuseHugeAnswer(version, await this.executor.run(version, feeds));
    return { outputs, shadow: plan ? this.startShadow(ctx, version, plan, outputs, shadowFeeds!) : null };
  }

  private startShadow(ctx: AuthContext, primary: ServableVersion, plan: MirrorPlan, outputs: HostTensor[], feeds: HostTensor[]): Promise<ShadowAnswer | null> {
    const flat = (tensors: HostTensor[]) => Object.fromEntries(tensors.map((t) => [t.name, t.data as ArrayLike<number | bigint>]));
    return new Promise((settle) => {
      this.mirror.start(plan, flat(outputs), async () => {
        let answer: HostTensor[] | null = null;
        try {
          const model = await this.resolver.resolveModel(ctx, primary.model);
          const shadow = model.versions.get(plan.shadowVersion);
          if (!shadow) throw new Error(`version ${plan.shadowVersion} is gone`);
          // In the background: its worker runs it only when no request is waiting there.
          answer = await this.executor.run(shadow, feeds, 'background');
          return flat(answer);
        } catch (error) {
          if (error instanceof BackgroundCallDropped) return null;
          throw error;
        } finally {
          settle(answer && { version: plan.shadowVersion, outputs: answer });
        }
      });
    });
  }
}

/** How a /v1/predict-style selector chose its version. */
export function routingOf(selector: { version?: number; alias?: string }): Routing {
  return selector.version === undefined && selector.alias === undefined ? 'by-rule' : 'explicit';
}

/**
 * A model can answer far more values than its inputs hold (ConstantOfShape, Expand, Tile sized
 * by an input): as JSON those would take the HTTP or codec thread past V8's limits and abort the
 * process. An online answer holds at most as many values as a request may send (the outputs came
 * from the worker by transfer, not copied); batch, which writes no JSON, has no such cap.
 */
function refuseHugeAnswer(version: ServableVersion, outputs: HostTensor[]): HostTensor[] {
  const values = outputs.reduce((sum, o) => sum + o.dims.reduce((n, d) => n * d, 1), 0);
  if (values <= MAX_ELEMENTS) return outputs;
  throw inferenceFailed(version, `the answer would hold ${values} values, more than the ${MAX_ELEMENTS} an answer may hold: send fewer rows, or score them in a batch job`);
}
