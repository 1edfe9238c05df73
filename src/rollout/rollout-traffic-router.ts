import { Injectable } from '@nestjs/common';
import type { ServableModel } from '../serving/servable';
import { TrafficRouter } from '../serving/traffic-router';
import { pickSplitVersion } from './traffic-rule';
import { TrafficRulesStore } from './traffic-rules.store';

/** Serving's traffic hook: the model's split, from memory; null (no rule, or mirror only) falls through. */
@Injectable()
export class RolloutTrafficRouter extends TrafficRouter {
  constructor(private readonly rules: TrafficRulesStore) {
    super();
  }

  route(model: ServableModel, routingKey: string | undefined): number | null {
    const rule = this.rules.ruleOf(model.id);
    if (!rule) return null;
    const version = pickSplitVersion(rule, routingKey);
    // A version deleted meanwhile (the rule forbids it, but caches lag): let the default rule serve.
    return version !== null && model.versions.has(version) ? version : null;
  }
}
