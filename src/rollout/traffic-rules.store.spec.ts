import { RegistryEvents } from '../registry/registry-events';
import type { RolloutRepository } from './rollout.repository';
import type { TrafficRule } from './traffic-rule';
import { RuleChange, TrafficRulesStore } from './traffic-rules.store';
import type { AppConfig } from '../config/app-config';

const rule = (modelId: string, versions: number[]): TrafficRule => ({
  modelId,
  tenantId: 't1',
  split: versions.map((version) => ({ version, weight: 100 / versions.length })),
  mirror: null,
  updatedAt: new Date(0),
  updatedBy: 'test',
});

/**
 * The rules table as a fake: what a read returns, and a count that stands in for its fingerprint;
 * `hold` makes the next fingerprint read wait (returning what the table had when it was asked).
 */
class FakeRulesTable {
  rows: TrafficRule[] = [];
  writes = 0;
  private held?: Promise<void>;
  release?: () => void;
  hold() {
    this.held = new Promise<void>((resolve) => (this.release = resolve));
  }
  async loadAllRules() {
    return [...this.rows];
  }
  async rulesFingerprint() {
    const seen = String(this.writes);
    const held = this.held;
    this.held = undefined;
    if (held) await held;
    return seen;
  }
  commit(r: TrafficRule) {
    this.rows = [...this.rows.filter((x) => x.modelId !== r.modelId), r];
    this.writes++;
  }
}

describe('TrafficRulesStore', () => {
  it("does not undo this replica's own change with a read made while another replica's change warmed up", async () => {
    const table = new FakeRulesTable();
    const store = new TrafficRulesStore(table as unknown as RolloutRepository, new RegistryEvents(), { MMS_TRAFFIC_RULES_POLL_MS: 500 } as AppConfig);
    let releaseWarmUp!: () => void;
    const warmed: RuleChange[][] = [];
    store.beforeOthersChangesApply(async (changes) => {
      warmed.push(changes);
      await new Promise<void>((resolve) => (releaseWarmUp = resolve));
    });
    // Another replica sets a rule on model a; this replica's poll reads it and starts warming its versions.
    table.commit(rule('a', [2]));
    const reloading = store.reload(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warmed.map((c) => c.map((x) => x.rule.modelId))).toEqual([['a']]);
    // Meanwhile this replica commits its own rule on model b and applies it at once.
    table.commit(rule('b', [1]));
    store.put(rule('b', [1]));
    releaseWarmUp();
    await reloading;
    expect(store.ruleOf('a')?.split.map((s) => s.version)).toEqual([2]);
    expect(store.ruleOf('b')?.split.map((s) => s.version)).toEqual([1]);
  });
});

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('TrafficRulesStore and other replicas’ change notifications', () => {
  let table: FakeRulesTable;
  let events: RegistryEvents;
  let store: TrafficRulesStore;
  beforeEach(async () => {
    table = new FakeRulesTable();
    events = new RegistryEvents();
    store = new TrafficRulesStore(table as unknown as RolloutRepository, events, { MMS_TRAFFIC_RULES_POLL_MS: 600_000 } as AppConfig);
    await store.onApplicationBootstrap();
  });
  afterEach(() => store.onApplicationShutdown());

  it('applies a rule another replica set as soon as its notification arrives, not at the next half-second poll', async () => {
    table.commit(rule('a', [2]));
    events.publishRemote({ tenantId: 't1', model: 'a', kind: 'model-updated' });
    await settle();
    expect(store.ruleOf('a')?.split[0].version).toBe(2);
  });

  it('reads again when a notification arrives while a poll is reading (that read may predate the change)', async () => {
    table.hold();
    events.publishRemote({ tenantId: 't1', model: 'a', kind: 'model-updated' });
    await settle(); // the first poll is now waiting on a fingerprint taken before the commit below
    table.commit(rule('a', [3]));
    events.publishRemote({ tenantId: 't1', model: 'a', kind: 'model-updated' });
    table.release!();
    await settle();
    expect(store.ruleOf('a')?.split[0].version).toBe(3);
  });
});
