import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RegistryEvents } from '../registry/registry-events';
import { RolloutRepository } from './rollout.repository';
import { TrafficRule } from './traffic-rule';

/** A rule changed elsewhere, with the versions it names that it did not name before. */
export interface RuleChange {
  rule: TrafficRule;
  versions: number[];
}

export type RuleChangeHook = (changes: RuleChange[]) => Promise<void>;

/**
 * Every traffic rule, in memory, keyed by model id. This replica's changes apply at once;
 * other replicas' are noticed by polling a one-row fingerprint of the table (works the same on
 * PostgreSQL and the embedded database, and costs one tiny query per poll, never a request's),
 * and on PostgreSQL at once too, when the other replica's change notification arrives.
 */
@Injectable()
export class TrafficRulesStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TrafficRules');
  private rules = new Map<string, TrafficRule>();
  private fingerprint = '';
  private timer?: NodeJS.Timeout;
  private polling = false;
  /** A change was announced while a poll ran (which may have read before it committed): poll once more. */
  private pollAgain = false;
  private unsubscribers: Array<() => void> = [];
  private beforeApply?: RuleChangeHook;
  /** Models whose rules' new versions are warming (a reload from elsewhere waiting for them), else null. */
  private warming: ReadonlySet<string> | null = null;
  private readingDuringWarmUp = false;
  /** Bumped whenever a read of the table is applied. */
  private applied = 0;
  /** This replica's own changes applied so far: a read they overlap may predate them (see read). */
  private localChanges = 0;

  constructor(
    private readonly repository: RolloutRepository,
    private readonly events: RegistryEvents,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Deleting a model deletes its rule in the same transaction: drop it here at once, not at the next poll.
    this.unsubscribers.push(
      this.events.subscribe((change) => {
        if (change.kind === 'model-deleted') void this.poll();
      }),
      // Another replica's rule change (announced as 'model-updated') or model deletion: apply it
      // now, as its alias changes are, rather than up to half a second later at the next poll.
      this.events.subscribeRemote((change) => {
        if (change.kind === 'model-updated' || change.kind === 'model-deleted') void this.poll();
      }),
    );
    await this.reload();
    // Other replicas' rule changes show up within this long even when their notification is lost.
    this.timer = setInterval(() => void this.poll(), this.config.MMS_TRAFFIC_RULES_POLL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    clearInterval(this.timer);
  }

  ruleOf(modelId: string): TrafficRule | undefined {
    return this.rules.get(modelId);
  }

  /** Applies a committed change of this replica at once. */
  put(rule: TrafficRule): void {
    this.localChanges++;
    this.rules.set(rule.modelId, rule);
  }

  remove(modelId: string): void {
    this.localChanges++;
    this.rules.delete(modelId);
  }

  /**
   * Runs before rules changed elsewhere apply here, with each rule that names versions it did not
   * name before (and those versions): the prewarmer loads them, as the replica that made the
   * change did before switching.
   */
  beforeOthersChangesApply(hook: RuleChangeHook): void {
    this.beforeApply = hook;
  }

  /** Re-reads every rule; `fromElsewhere`: changes found by the poll, announced to the hook first. */
  async reload(fromElsewhere = false): Promise<void> {
    // This replica's own change (a bulk rollout) reloads too: a poll reading meanwhile must read again.
    if (!fromElsewhere) this.localChanges++;
    let { fingerprint, rules } = await this.read();
    if (fromElsewhere && this.beforeApply) {
      const changes = rules.map((rule) => ({ rule, versions: newVersionsOf(rule, this.rules.get(rule.modelId)) })).filter((c) => c.versions.length);
      if (changes.length) {
        // Meanwhile everything else applies at once (a rule removed, or one naming no version new
        // here; also what other polls read during the warm-up): only the rules whose versions warm
        // keep their old form, so that one model's (another tenant's, a bulk rollout's) warm-up
        // never holds another rule's change back for seconds.
        const warming = new Set(changes.map((c) => c.rule.modelId));
        this.warming = warming;
        this.applyAllBut(rules, warming);
        try {
          await this.beforeApply(changes);
        } finally {
          this.warming = null;
        }
        ({ fingerprint, rules } = await this.read());
      }
    }
    this.rules = new Map(rules.map((r) => [r.modelId, r]));
    this.applied++;
    this.fingerprint = fingerprint;
  }

  /** Applies a read of the table, except for these models' rules (and rules naming versions new here), which stay as they are. */
  private applyAllBut(rules: TrafficRule[], held: ReadonlySet<string>): void {
    const next = new Map<string, TrafficRule>();
    for (const r of rules) {
      const before = this.rules.get(r.modelId);
      const applied = held.has(r.modelId) || newVersionsOf(r, before).length ? before : r;
      if (applied) next.set(r.modelId, applied);
    }
    this.rules = next; // a rule removed goes at once, warming or not: removing needs no warm-up
    this.applied++;
  }

  /**
   * A poll while a warm-up runs: applies what changed since, but the rules warming (and those that
   * now name new versions, which the read after the warm-up applies). Only if nothing was applied
   * while it read, so that an older read never undoes a newer one.
   */
  private async applyDuringWarmUp(): Promise<void> {
    if (this.readingDuringWarmUp) return;
    this.readingDuringWarmUp = true;
    try {
      const applied = this.applied;
      const { rules } = await this.read();
      if (this.warming && this.applied === applied) this.applyAllBut(rules, this.warming);
    } catch (error) {
      this.logger.debug(`poll failed: ${(error as Error).message}`);
    } finally {
      this.readingDuringWarmUp = false;
    }
  }

  /**
   * The table as it is now. A change of this replica applied while the read ran may be missing
   * from it (applied after its commit, which the read may not see), and applying the read would
   * undo it here until the next poll: such a read is done again.
   */
  private async read(): Promise<{ fingerprint: string; rules: TrafficRule[] }> {
    for (let attempt = 1; ; attempt++) {
      const seen = this.localChanges;
      const fingerprint = await this.repository.rulesFingerprint();
      const rules = await this.repository.loadAllRules();
      if (this.localChanges === seen || attempt === 3) return { fingerprint, rules };
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      if (this.warming) void this.applyDuringWarmUp();
      return;
    }
    this.polling = true;
    try {
      do {
        this.pollAgain = false;
        if ((await this.repository.rulesFingerprint()) !== this.fingerprint) await this.reload(true);
      } while (this.pollAgain);
    } catch (error) {
      // The database may be away; keep routing by the rules we have.
      this.logger.debug(`poll failed: ${(error as Error).message}`);
    } finally {
      this.polling = false;
    }
  }
}

function versionsOf(rule: TrafficRule | undefined): number[] {
  return rule ? [...rule.split.filter((s) => s.weight > 0).map((s) => s.version), ...(rule.mirror ? [rule.mirror.version] : [])] : [];
}

function newVersionsOf(rule: TrafficRule, before: TrafficRule | undefined): number[] {
  const had = new Set(versionsOf(before));
  return [...new Set(versionsOf(rule))].filter((v) => !had.has(v));
}
