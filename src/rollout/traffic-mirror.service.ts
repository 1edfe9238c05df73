import { Injectable, Logger } from '@nestjs/common';
import { MirroredModel, ShadowMonitor } from './shadow-monitor';
import { shouldMirror } from './traffic-rule';
import { TrafficRulesStore } from './traffic-rules.store';

/**
 * Mirrored calls in flight at most; beyond it mirroring is shed (it is the first work to go).
 * Shadow calls run in the background (a worker takes one only when it has nothing else to run),
 * so under a load that keeps the workers busy they wait, this fills, and new ones are shed.
 */
export const MIRROR_MAX_IN_FLIGHT = 32;

export type FlatOutputs = Record<string, ArrayLike<number | bigint>>;

export interface MirrorPlan extends MirroredModel {
  primaryVersion: number;
  shadowVersion: number;
}

/**
 * Runs a sample of requests a second time on the rule's shadow version, after the primary
 * answer exists, and records how the two differ. Fire and forget: it never changes, fails or
 * delays the primary answer.
 */
@Injectable()
export class TrafficMirror {
  private readonly logger = new Logger('TrafficMirror');
  private inFlight = 0;
  private shedCount = 0;

  constructor(
    private readonly rules: TrafficRulesStore,
    private readonly shadows: ShadowMonitor,
  ) {}

  /**
   * Decides, before the primary call, whether this request is mirrored: sampled by the rule's
   * percentage, and shed when too many mirrored calls are in flight. Null = not mirrored.
   */
  plan(primary: MirroredModel & { version: number }): MirrorPlan | null {
    const { modelId, tenantId, model, version: primaryVersion } = primary;
    const rule = this.rules.ruleOf(modelId);
    if (!rule?.mirror || rule.mirror.version === primaryVersion || !shouldMirror(rule)) return null;
    if (this.inFlight >= MIRROR_MAX_IN_FLIGHT) {
      this.shedCount++;
      return null;
    }
    return { modelId, tenantId, model, primaryVersion, shadowVersion: rule.mirror.version };
  }

  /**
   * Runs the shadow call once the primary answer exists; fire and forget. `runShadow` answers
   * null when the call was dropped unrun (its worker never had an idle moment): shed, not a shadow error.
   */
  start(plan: MirrorPlan, primaryOutputs: FlatOutputs, runShadow: () => Promise<FlatOutputs | null>): void {
    const pair = this.shadows.pair(plan, plan.primaryVersion, plan.shadowVersion);
    this.inFlight++;
    // setImmediate: the primary answer goes out before the shadow call even starts.
    setImmediate(() => {
      runShadow()
        .then((shadowOutputs) => {
          if (shadowOutputs) pair.record(primaryOutputs, shadowOutputs);
          else this.shedCount++;
        })
        .catch((error: unknown) => {
          pair.recordError();
          this.logger.debug(`shadow v${plan.shadowVersion} failed: ${(error as Error).message}`);
        })
        .finally(() => this.inFlight--);
    });
  }

  /** Mirrored calls dropped because too many were in flight. */
  get shed(): number {
    return this.shedCount;
  }
}
