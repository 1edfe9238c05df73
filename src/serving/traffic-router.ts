import { Injectable } from '@nestjs/common';
import type { ServableModel } from './servable';

/**
 * The hook for a model's traffic rule (Rollout, API.md): which version serves a request that
 * names neither a version nor an alias. It is consulted on every such request, so an
 * implementation answers from memory. Returning null falls through to alias `production`,
 * then the latest version.
 */
export abstract class TrafficRouter {
  abstract route(model: ServableModel, routingKey: string | undefined): number | null;
}

/** Until rollout exists: no model has a traffic rule. */
@Injectable()
export class NoTrafficRouter extends TrafficRouter {
  route(): number | null {
    return null;
  }
}
