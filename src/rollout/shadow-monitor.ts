import { Injectable } from '@nestjs/common';
import { ComparisonFigures, ShadowComparison } from './shadow-comparison';

/**
 * Comparison figures of mirrored traffic, per model and primary/shadow pair, kept in this
 * process (each replica reports what it mirrored; /metrics carries them for aggregation).
 */
@Injectable()
export class ShadowMonitor {
  private readonly byModel = new Map<string, Map<string, ShadowComparison>>();

  pair(modelId: string, primaryVersion: number, shadowVersion: number): ShadowComparison {
    let pairs = this.byModel.get(modelId);
    if (!pairs) this.byModel.set(modelId, (pairs = new Map()));
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
  }
}
