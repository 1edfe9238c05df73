import { Injectable } from '@nestjs/common';
import { ComparisonFigures, ShadowComparison } from './shadow-comparison';

/**
 * Comparison figures of mirrored traffic, per model and primary/shadow pair, kept in this
 * process (each replica reports what it mirrored; /metrics carries them for aggregation).
 */
@Injectable()
export class ShadowMonitor {
  private readonly byModel = new Map<string, Map<string, ShadowComparison>>();
  /** Each model's tenant and name (`tenantId\u0000name`), by model id: a deleted model's figures go with it. */
  private readonly owners = new Map<string, string>();

  pair(model: MirroredModel, primaryVersion: number, shadowVersion: number): ShadowComparison {
    const { modelId } = model;
    let pairs = this.byModel.get(modelId);
    if (!pairs) {
      this.byModel.set(modelId, (pairs = new Map()));
      this.owners.set(modelId, ownerKey(model.tenantId, model.model));
    }
    const key = `${primaryVersion}>${shadowVersion}`;
    let pair = pairs.get(key);
    if (!pair) pairs.set(key, (pair = new ShadowComparison(primaryVersion, shadowVersion)));
    return pair;
  }

  figuresOf(modelId: string): ComparisonFigures[] {
    return [...(this.byModel.get(modelId)?.values() ?? [])].map((p) => p.figures());
  }

  /** Every pair, for /metrics. */
  all(): Array<{ modelId: string; figures: ComparisonFigures }> {
    return [...this.byModel.entries()].flatMap(([modelId, pairs]) => [...pairs.values()].map((p) => ({ modelId, figures: p.figures() })));
  }

  forget(modelId: string): void {
    this.byModel.delete(modelId);
    this.owners.delete(modelId);
  }

  /**
   * A version was deleted (here or on another replica): the pairs it was part of go. Its number is
   * never handed out again, so they could only pile up (a nightly mirror-promote-delete cycle adds
   * a pair, 16 KiB of reservoir, per model and night) and list versions that no longer exist.
   */
  forgetVersion(tenantId: string, model: string, version: number): void {
    const owner = ownerKey(tenantId, model);
    for (const [modelId, of] of this.owners) {
      if (of !== owner) continue;
      const pairs = this.byModel.get(modelId)!;
      for (const [key, pair] of pairs) if (pair.primaryVersion === version || pair.shadowVersion === version) pairs.delete(key);
      if (pairs.size === 0) this.forget(modelId);
    }
  }

  /** The model was deleted (here or on another replica): its figures go, as no one can ask for them again. */
  forgetModel(tenantId: string, model: string): void {
    const owner = ownerKey(tenantId, model);
    for (const [modelId, of] of this.owners) if (of === owner) this.forget(modelId);
  }
}

/** A mirrored model: its id (what the figures are kept by), tenant and name (what its deletion names). */
export interface MirroredModel {
  modelId: string;
  tenantId: string;
  model: string;
}

function ownerKey(tenantId: string, model: string): string {
  return `${tenantId}\u0000${model}`;
}
