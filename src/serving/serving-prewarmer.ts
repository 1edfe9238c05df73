import { Injectable, Logger } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { VersionPrewarmer } from '../rollout/version-prewarmer';
import { ModelResolver } from './model-resolver.service';
import { SessionCache } from './session-cache';

/** Rollout's prewarm: loads the versions a rule is about to send traffic to. */
@Injectable()
export class ServingPrewarmer extends VersionPrewarmer {
  private readonly logger = new Logger('Prewarm');

  constructor(
    private readonly resolver: ModelResolver,
    private readonly sessions: SessionCache,
  ) {
    super();
  }

  serves(tenantId: string, model: string): boolean {
    return this.sessions.hasLoadedVersionOf(tenantId, model);
  }

  async prewarm(ctx: AuthContext, model: string, versions: number[]): Promise<void> {
    try {
      const servable = await this.resolver.resolveModel(ctx, model);
      await Promise.all(
        versions.map((v) => {
          const version = servable.versions.get(v);
          return version ? this.sessions.load(version) : undefined;
        }),
      );
    } catch (error) {
      // Best effort: the rule still switches; a version that failed to load retries on demand.
      this.logger.warn(`could not prewarm ${model} ${versions.join(',')}: ${(error as Error).message}`);
    }
  }
}
