import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { RolloutRepository } from './rollout.repository';
import { RuleChange, TrafficRulesStore } from './traffic-rules.store';
import { VersionPrewarmer } from './version-prewarmer';

/** At most this many versions are warmed per batch of changes, as a bulk rollout warms its first 50 models. */
const MAX_VERSIONS = 100;
/** A rule waits at most this long for its versions: a slow load must not hold other replicas' switch back for long. */
const MAX_WAIT_MS = 2_000;

/**
 * Warms, on this replica, the versions of rules another replica set, before they apply here:
 * the replica that received the change warmed them in its own process only, and the session
 * cache is per process. Only models this replica serves now (a version loaded) are warmed.
 */
@Injectable()
export class RuleChangePrewarmer implements OnModuleInit {
  private readonly logger = new Logger('RulePrewarm');

  constructor(
    private readonly rules: TrafficRulesStore,
    private readonly repository: RolloutRepository,
    private readonly prewarmer: VersionPrewarmer,
  ) {}

  onModuleInit(): void {
    this.rules.beforeOthersChangesApply((changes) => this.prewarm(changes));
  }

  private async prewarm(changes: RuleChange[]): Promise<void> {
    const warming = this.warmServed(changes).catch((error: Error) => this.logger.warn(`could not prewarm rules changed elsewhere: ${error.message}`));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([warming, new Promise<void>((resolve) => (timer = setTimeout(resolve, MAX_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /**
   * Only models this replica serves now (a version loaded): one that does not would load them for
   * nothing, and evict for them. They are picked first, then the budget applies to them alone.
   */
  private async warmServed(changes: RuleChange[]): Promise<void> {
    const byTenant = new Map<string, RuleChange[]>();
    for (const c of changes) byTenant.set(c.rule.tenantId, [...(byTenant.get(c.rule.tenantId) ?? []), c]);
    const served: Array<{ tenantId: string; model: string; versions: number[] }> = [];
    for (const [tenantId, tenantChanges] of byTenant) {
      const names = await this.repository.modelNames(tenantId, tenantChanges.map((c) => c.rule.modelId));
      for (const c of tenantChanges) {
        const model = names.get(c.rule.modelId);
        if (model !== undefined && this.prewarmer.serves(tenantId, model)) served.push({ tenantId, model, versions: c.versions });
      }
    }
    let budget = MAX_VERSIONS;
    const picked = served.flatMap((s) => {
      const versions = s.versions.slice(0, Math.max(0, budget));
      budget -= versions.length;
      return versions.length ? [{ ...s, versions }] : [];
    });
    await Promise.all(picked.map((p) => this.prewarmer.prewarm(systemContext(p.tenantId), p.model, p.versions)));
  }
}

/** The tenant's own models, with no key's scope: this replica acts for the change another replica accepted. */
function systemContext(tenantId: string): AuthContext {
  return { tenantId, role: 'root', principal: 'system:rule-sync', keyId: null, via: 'root', modelScope: null };
}
