import type { AppConfig } from '../config/app-config';
import { RegistryEvents } from '../registry/registry-events';
import type { RolloutRepository } from './rollout.repository';
import type { TrafficRule } from './traffic-rule';
import { TrafficRulesStore } from './traffic-rules.store';

const rule = (modelId: string, versions: number[], tenantId = 't1'): TrafficRule => ({
  modelId,
  tenantId,
  split: versions.map((version) => ({ version, weight: 100 / versions.length })),
  mirror: null,
  updatedAt: new Date(0),
  updatedBy: 'test',
});

/** The rules table as a fake: what a read returns, and a write count standing in for its fingerprint. */
class FakeRulesTable {
  rows: TrafficRule[] = [];
  writes = 0;
  async loadAllRules() {
    return [...this.rows];
  }
  async rulesFingerprint() {
    return String(this.writes);
  }
  commit(r: TrafficRule) {
    this.rows = [...this.rows.filter((x) => x.modelId !== r.modelId), r];
    this.writes++;
  }
  drop(modelId: string) {
    this.rows = this.rows.filter((x) => x.modelId !== modelId);
    this.writes++;
  }
}

/**
 * Other replicas' rule changes apply within half a second (README, Safe rollout: Consistency);
 * only a rule whose new versions this replica warms first may take up to 2.5 s. A poll that found
 * several changes held them all back while any one of them warmed: another model's (another
 * tenant's, a bulk rollout's) warm-up delayed a rule's removal by up to 2 s.
 */
describe('TrafficRulesStore: a warm-up holds back only the rules it warms', () => {
  it('applies the other changes of the same poll at once, and the warmed rule after its warm-up', async () => {
    const table = new FakeRulesTable();
    const store = new TrafficRulesStore(table as unknown as RolloutRepository, new RegistryEvents(), { MMS_TRAFFIC_RULES_POLL_MS: 500 } as AppConfig);
    table.commit(rule('x', [1]));
    table.commit(rule('y', [1], 't2'));
    table.commit(rule('z', [1, 2]));
    await store.reload();

    let releaseWarmUp!: () => void;
    store.beforeOthersChangesApply(() => new Promise<void>((resolve) => (releaseWarmUp = resolve)));
    // Elsewhere: another tenant's rule moves to a version this replica must warm; x's rule is
    // removed; z's is narrowed to a version it named already; w gets a rule naming a new version.
    table.commit(rule('y', [2], 't2'));
    table.drop('x');
    table.commit(rule('z', [2]));
    table.commit(rule('w', [3]));
    const reloading = store.reload(true);
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));

    expect(store.ruleOf('x')).toBeUndefined();
    expect(store.ruleOf('z')?.split.map((s) => s.version)).toEqual([2]);
    // Those waiting for their versions keep what they had meanwhile.
    expect(store.ruleOf('y')?.split.map((s) => s.version)).toEqual([1]);
    expect(store.ruleOf('w')).toBeUndefined();

    releaseWarmUp();
    await reloading;
    expect(store.ruleOf('y')?.split.map((s) => s.version)).toEqual([2]);
    expect(store.ruleOf('w')?.split.map((s) => s.version)).toEqual([3]);
    expect(store.ruleOf('x')).toBeUndefined();
  });
});

describe('TrafficRulesStore: changes read while a warm-up runs', () => {
  it('applies a change another poll finds during the warm-up at once, not after it', async () => {
    const table = new FakeRulesTable();
    const store = new TrafficRulesStore(table as unknown as RolloutRepository, new RegistryEvents(), { MMS_TRAFFIC_RULES_POLL_MS: 600_000 } as AppConfig);
    table.commit(rule('x', [1]));
    table.commit(rule('y', [1]));
    await store.reload();
    let releaseWarmUp!: () => void;
    store.beforeOthersChangesApply(() => new Promise<void>((resolve) => (releaseWarmUp = resolve)));
    const poll = () => (store as unknown as { poll(): Promise<void> }).poll();
    const settle = async () => {
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    // y moves to a version to warm; the poll that reads it waits for the warm-up...
    table.commit(rule('y', [2]));
    const first = poll();
    await settle();
    // ...while x's rule is removed, and the next poll finds it.
    table.drop('x');
    await poll();
    await settle();
    expect(store.ruleOf('x')).toBeUndefined();
    expect(store.ruleOf('y')?.split.map((s) => s.version)).toEqual([1]);
    releaseWarmUp();
    await first;
    expect(store.ruleOf('y')?.split.map((s) => s.version)).toEqual([2]);
    expect(store.ruleOf('x')).toBeUndefined();
  });
});
