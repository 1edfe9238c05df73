import { DataSource } from 'typeorm';
import { ModelListFilter, ModelsRepository } from '../../src/registry/models.repository';
import { openFreshDatabase, OpenedTestDatabase } from '../support/open-database';
import { createTenant, newVersion, sha256Hex } from '../support/registry-fixtures';

jest.setTimeout(60_000);

describe('ModelsRepository on a real database', () => {
  let db: OpenedTestDatabase;
  let dataSource: DataSource;
  let repo: ModelsRepository;

  beforeAll(async () => {
    db = await openFreshDatabase();
    dataSource = db.database.dataSource;
    repo = new ModelsRepository(dataSource);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  /** Every describe works in a tenant of its own, so listings see only what it registered. */
  const useTenant = () => {
    const tenant = { id: '' };
    beforeAll(async () => {
      tenant.id = await createTenant(dataSource);
    });
    return tenant;
  };

  const rowCount = async (table: 'model_versions' | 'model_aliases', modelId: string) =>
    Number(((await dataSource.query(`SELECT count(*) AS n FROM ${table} WHERE model_id = $1`, [modelId])) as Array<{ n: string }>)[0].n);

  const requireModel = async (tenantId: string, name: string) => {
    const model = await repo.findModelByName(tenantId, name);
    if (!model) throw new Error(`test setup: ${name} missing`);
    return model;
  };

  const setAlias = (tenantId: string, name: string, alias: string, version: number) =>
    repo.withModelLocked(tenantId, name, (tx, model) => repo.upsertAlias(tx, tenantId, model!.id, alias, version));

  const deleteVersion = (tenantId: string, name: string, version: number) =>
    repo.withModelLocked(tenantId, name, (tx, model) => repo.deleteVersion(tx, tenantId, model!.id, version));

  describe('appendVersion', () => {
    const tenant = useTenant();

    it('creates the model with version 1, then appends version 2', async () => {
      const first = await repo.appendVersion(tenant.id, 'demand-0001', newVersion({ description: 'first', segment: { region: 'north' } }));
      expect(first.model).toMatchObject({ tenantId: tenant.id, name: 'demand-0001', latestVersion: 1, description: 'first', segment: { region: 'north' } });
      expect(first.version).toMatchObject({ tenantId: tenant.id, modelId: first.model.id, version: 1, sizeBytes: 1234, format: 'onnx' });
      const second = await repo.appendVersion(tenant.id, 'demand-0001', newVersion());
      expect(second.model).toMatchObject({ id: first.model.id, latestVersion: 2 });
      expect(second.version.version).toBe(2);
      expect((await repo.findVersionsOfModel(tenant.id, first.model.id)).map((v) => v.version)).toEqual([1, 2]);
    });

    it('replaces the segment only when given, merges model tags and keeps each version its own tags', async () => {
      await repo.appendVersion(tenant.id, 'labelled', newVersion({ segment: { region: 'north', store: '0042' }, tags: { algo: 'gbr', run: '1' } }));
      const kept = await repo.appendVersion(tenant.id, 'labelled', newVersion({ tags: { run: '2' } }));
      expect(kept.model).toMatchObject({ segment: { region: 'north', store: '0042' }, tags: { algo: 'gbr', run: '2' } });
      expect(kept.version.tags).toEqual({ run: '2' });
      const replaced = await repo.appendVersion(tenant.id, 'labelled', newVersion({ segment: { region: 'south' } }));
      expect(replaced.model.segment).toEqual({ region: 'south' });
    });

    it('reads back exactly what it stored, bigint size and jsonb included', async () => {
      const v = newVersion({ sizeBytes: 3 * 1024 ** 3, format: 'mlflow', mlflow: { runId: 'abc', flavor: { data: 'model.onnx' } }, description: 'big' });
      const { model } = await repo.appendVersion(tenant.id, 'round-trip', v);
      expect(await repo.findVersion(tenant.id, model.id, 1)).toMatchObject({
        sha256: v.sha256,
        modelSha256: v.modelSha256,
        sizeBytes: 3 * 1024 ** 3,
        format: 'mlflow',
        mlflow: v.mlflow,
        signature: v.signature,
        description: 'big',
        createdBy: 'root',
      });
    });

    it('gives 20 concurrent appends to one new model the versions 1..20', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => repo.appendVersion(tenant.id, 'concurrent', newVersion())));
      expect(results.map((r) => r.version.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(new Set(results.map((r) => r.model.id)).size).toBe(1);
      expect((await requireModel(tenant.id, 'concurrent')).latestVersion).toBe(20);
    });

    it('never hands out a deleted version number again', async () => {
      await repo.appendVersion(tenant.id, 'renumber', newVersion());
      await repo.appendVersion(tenant.id, 'renumber', newVersion());
      await deleteVersion(tenant.id, 'renumber', 2);
      expect((await repo.appendVersion(tenant.id, 'renumber', newVersion())).version.version).toBe(3);
    });
  });

  describe('listModels', () => {
    const tenant = useTenant();
    const filter = (f: Partial<ModelListFilter> = {}): ModelListFilter => ({ segment: {}, tags: {}, limit: 100, ...f });
    const names = async (f: Partial<ModelListFilter> = {}) => (await repo.listModels(tenant.id, filter(f))).map((r) => r.model.name);

    beforeAll(async () => {
      const models: Array<[string, Record<string, string>, Record<string, string>]> = [
        ['shop-north-0001', { region: 'north', store: '0001' }, { algo: 'gbr', family: 'shop' }],
        ['shop-north-0002', { region: 'north', store: '0002' }, { algo: 'linear', family: 'shop' }],
        ['shop-south-0003', { region: 'south', store: '0003' }, { algo: 'gbr', family: 'shop' }],
        ['region.north', { region: 'north' }, { algo: 'gbr' }],
      ];
      for (const [name, segment, tags] of models) await repo.appendVersion(tenant.id, name, newVersion({ segment, tags }));
    });

    it('orders by name', async () => {
      expect(await names()).toEqual(['region.north', 'shop-north-0001', 'shop-north-0002', 'shop-south-0003']);
    });

    it('matches segment keys by containment: a model matches when it has every requested key', async () => {
      expect(await names({ segment: { region: 'north' } })).toEqual(['region.north', 'shop-north-0001', 'shop-north-0002']);
      expect(await names({ segment: { region: 'north', store: '0002' } })).toEqual(['shop-north-0002']);
      expect(await names({ segment: { store: '2' } })).toEqual([]);
    });

    it('matches tags by containment, combined with segment keys', async () => {
      expect(await names({ tags: { algo: 'gbr', family: 'shop' } })).toEqual(['shop-north-0001', 'shop-south-0003']);
      expect(await names({ segment: { region: 'north' }, tags: { algo: 'gbr' } })).toEqual(['region.north', 'shop-north-0001']);
    });

    it('matches q as a case-insensitive substring of the name, never as a pattern', async () => {
      expect(await names({ q: 'NORTH-000' })).toEqual(['shop-north-0001', 'shop-north-0002']);
      expect(await names({ q: '.' })).toEqual(['region.north']);
      expect(await names({ q: '_' })).toEqual([]);
      expect(await names({ q: '%' })).toEqual([]);
    });

    it('pages with limit and an after-cursor', async () => {
      expect(await names({ limit: 2 })).toEqual(['region.north', 'shop-north-0001']);
      expect(await names({ limit: 2, after: 'shop-north-0001' })).toEqual(['shop-north-0002', 'shop-south-0003']);
      expect(await names({ after: 'shop-south-0003' })).toEqual([]);
      expect(await names({ after: 'shop-north-0001', tags: { algo: 'gbr' } })).toEqual(['shop-south-0003']);
    });

    it('returns each model with its latest version', async () => {
      await repo.appendVersion(tenant.id, 'shop-south-0003', newVersion({ tags: { run: 'second' } }));
      const [row] = await repo.listModels(tenant.id, filter({ q: 'south' }));
      expect(row.latest).toMatchObject({ version: 2, tags: { run: 'second' }, modelId: row.model.id });
    });

    it('falls back to the highest remaining version when the latest was deleted, and to null when none is left', async () => {
      for (let i = 0; i < 3; i++) await repo.appendVersion(tenant.id, 'zz-fallback', newVersion());
      await repo.appendVersion(tenant.id, 'zz-emptied', newVersion());
      await deleteVersion(tenant.id, 'zz-fallback', 3);
      await deleteVersion(tenant.id, 'zz-emptied', 1);
      const rows = await repo.listModels(tenant.id, filter({ q: 'zz-' }));
      expect(rows.map((r) => [r.model.name, r.model.latestVersion, r.latest?.version ?? null])).toEqual([
        ['zz-emptied', 1, null],
        ['zz-fallback', 3, 2],
      ]);
    });
  });

  describe('aliases and deletes', () => {
    const tenant = useTenant();

    it('upserts an alias and moves it', async () => {
      await repo.appendVersion(tenant.id, 'aliased', newVersion());
      await repo.appendVersion(tenant.id, 'aliased', newVersion());
      expect(await setAlias(tenant.id, 'aliased', 'production', 1)).toMatchObject({ alias: 'production', version: 1, tenantId: tenant.id });
      expect(await setAlias(tenant.id, 'aliased', 'production', 2)).toMatchObject({ alias: 'production', version: 2 });
      const model = await requireModel(tenant.id, 'aliased');
      expect((await repo.findAliasesOfModel(tenant.id, model.id)).map((a) => [a.alias, a.version])).toEqual([['production', 2]]);
    });

    it('refuses, at the database level, to delete a version an alias points at', async () => {
      await repo.appendVersion(tenant.id, 'pinned', newVersion());
      await setAlias(tenant.id, 'pinned', 'staging', 1);
      await expect(deleteVersion(tenant.id, 'pinned', 1)).rejects.toMatchObject({ driverError: expect.objectContaining({ code: '23503' }) });
      const model = await requireModel(tenant.id, 'pinned');
      expect(await repo.findVersion(tenant.id, model.id, 1)).not.toBeNull();
    });

    it('finds the aliases pointing at a version', async () => {
      await repo.appendVersion(tenant.id, 'targets', newVersion());
      await setAlias(tenant.id, 'targets', 'production', 1);
      await setAlias(tenant.id, 'targets', 'canary', 1);
      const found = await repo.withModelLocked(tenant.id, 'targets', (tx, model) => repo.findAliasesPointingAt(tx, tenant.id, model!.id, 1));
      expect(found.map((a) => a.alias).sort()).toEqual(['canary', 'production']);
    });

    it('deletes an alias once', async () => {
      await repo.appendVersion(tenant.id, 'unaliased', newVersion());
      await setAlias(tenant.id, 'unaliased', 'canary', 1);
      const model = await requireModel(tenant.id, 'unaliased');
      expect(await repo.deleteAlias(tenant.id, model.id, 'canary')).toBe(true);
      expect(await repo.deleteAlias(tenant.id, model.id, 'canary')).toBe(false);
    });

    it('deletes a model with its versions and aliases', async () => {
      await repo.appendVersion(tenant.id, 'doomed', newVersion());
      await repo.appendVersion(tenant.id, 'doomed', newVersion());
      await setAlias(tenant.id, 'doomed', 'production', 2);
      const model = await requireModel(tenant.id, 'doomed');
      expect(await repo.deleteModel(tenant.id, 'doomed')).toBe(true);
      expect(await repo.findModelByName(tenant.id, 'doomed')).toBeNull();
      expect([await rowCount('model_versions', model.id), await rowCount('model_aliases', model.id)]).toEqual([0, 0]);
      expect(await repo.deleteModel(tenant.id, 'doomed')).toBe(false);
    });

    it('deletes a model together with its traffic rule (split and mirror)', async () => {
      await repo.appendVersion(tenant.id, 'ruled-doomed', newVersion());
      await repo.appendVersion(tenant.id, 'ruled-doomed', newVersion());
      const model = await requireModel(tenant.id, 'ruled-doomed');
      await dataSource.query(`INSERT INTO traffic_rules (model_id, tenant_id, mirror_percent, updated_by) VALUES ($1, $2, 10, 'test')`, [model.id, tenant.id]);
      await dataSource.query(
        `INSERT INTO traffic_rule_versions (model_id, tenant_id, version, role, weight) VALUES ($1, $2, 1, 'split', 50), ($1, $2, 2, 'split', 50), ($1, $2, 2, 'mirror', 10)`,
        [model.id, tenant.id],
      );
      expect(await repo.deleteModel(tenant.id, 'ruled-doomed')).toBe(true);
      expect(await repo.findModelByName(tenant.id, 'ruled-doomed')).toBeNull();
      const left = (await dataSource.query(
        `SELECT (SELECT count(*) FROM traffic_rules WHERE model_id = $1) + (SELECT count(*) FROM traffic_rule_versions WHERE model_id = $1) AS n`,
        [model.id],
      )) as Array<{ n: string }>;
      expect(Number(left[0].n)).toBe(0);
    });

    it('patches description, segment and tags', async () => {
      const { model } = await repo.appendVersion(tenant.id, 'patched', newVersion({ tags: { a: '1' } }));
      await repo.updateModel(tenant.id, model.id, { description: 'new', segment: { region: 'east' }, tags: { b: '2' } });
      expect(await requireModel(tenant.id, 'patched')).toMatchObject({ description: 'new', segment: { region: 'east' }, tags: { b: '2' } });
    });
  });

  describe('isArtifactReferenced', () => {
    const tenant = useTenant();

    it('is true while any version of any tenant uses the blob, false once none does', async () => {
      const other = await createTenant(dataSource);
      const shared = newVersion();
      await repo.appendVersion(tenant.id, 'blob-user', shared);
      await repo.appendVersion(other, 'blob-user', { ...shared });
      expect(await repo.isArtifactReferenced(shared.modelSha256)).toBe(true);
      await repo.deleteModel(tenant.id, 'blob-user');
      expect(await repo.isArtifactReferenced(shared.modelSha256)).toBe(true);
      await repo.deleteModel(other, 'blob-user');
      expect(await repo.isArtifactReferenced(shared.modelSha256)).toBe(false);
      expect(await repo.isArtifactReferenced(sha256Hex('never stored'))).toBe(false);
    });

    it('looks at the model file, not at the uploaded archive', async () => {
      const v = newVersion({ format: 'mlflow', sha256: sha256Hex('the zip'), modelSha256: sha256Hex('the onnx inside') });
      await repo.appendVersion(tenant.id, 'mlflow-blob', v);
      expect(await repo.isArtifactReferenced(v.modelSha256)).toBe(true);
      expect(await repo.isArtifactReferenced(v.sha256)).toBe(false);
    });
  });

  describe('tenant isolation', () => {
    const a = useTenant();
    const b = useTenant();
    /** Tenant B's rows as they must stay whatever tenant A does. */
    let bShared: { id: string };

    beforeAll(async () => {
      for (const tenantId of [a.id, b.id]) {
        await repo.appendVersion(tenantId, 'shared', newVersion({ segment: { region: 'north' } }));
        await setAlias(tenantId, 'shared', 'production', 1);
      }
      await repo.appendVersion(a.id, 'only-a', newVersion({ segment: { region: 'north' } }));
      await repo.appendVersion(b.id, 'only-b', newVersion({ segment: { region: 'north' } }));
      bShared = await requireModel(b.id, 'shared');
    });

    const expectTenantBIntact = async () => {
      expect((await repo.listModels(b.id, { segment: {}, tags: {}, limit: 10 })).map((r) => r.model.name)).toEqual(['only-b', 'shared']);
      expect((await repo.findVersionsOfModel(b.id, bShared.id)).map((v) => v.version)).toEqual([1]);
      expect((await repo.findAliasesOfModel(b.id, bShared.id)).map((x) => [x.alias, x.version])).toEqual([['production', 1]]);
      expect((await requireModel(b.id, 'shared')).description).toBeNull();
    };

    it("finds, lists and locks only the caller's models", async () => {
      expect(await repo.findModelByName(a.id, 'only-b')).toBeNull();
      expect((await repo.findModelByName(a.id, 'shared'))?.tenantId).toBe(a.id);
      const listed = await repo.listModels(a.id, { segment: { region: 'north' }, tags: {}, limit: 10 });
      expect(listed.map((r) => [r.model.name, r.model.tenantId, r.latest?.tenantId])).toEqual([
        ['only-a', a.id, a.id],
        ['shared', a.id, a.id],
      ]);
      expect(await repo.withModelLocked(a.id, 'only-b', async (_tx, model) => model)).toBeNull();
    });

    it("never reaches another tenant's versions or aliases through their model id", async () => {
      expect(await repo.findVersion(a.id, bShared.id, 1)).toBeNull();
      expect(await repo.findVersionsOfModel(a.id, bShared.id)).toEqual([]);
      expect(await repo.findAliasesOfModel(a.id, bShared.id)).toEqual([]);
      const pointing = await repo.withModelLocked(a.id, 'shared', (tx) => repo.findAliasesPointingAt(tx, a.id, bShared.id, 1));
      expect(pointing).toEqual([]);
    });

    it("changes nothing of another tenant's when given its names or ids", async () => {
      expect(await repo.deleteModel(a.id, 'only-b')).toBe(false);
      expect(await repo.deleteAlias(a.id, bShared.id, 'production')).toBe(false);
      await repo.updateModel(a.id, bShared.id, { description: 'hijacked' });
      await repo.withModelLocked(a.id, 'shared', (tx) => repo.deleteVersion(tx, a.id, bShared.id, 1));
      await expectTenantBIntact();
    });

    it("deletes only the caller's model of a name both tenants use", async () => {
      expect(await repo.deleteModel(a.id, 'shared')).toBe(true);
      expect(await repo.findModelByName(a.id, 'shared')).toBeNull();
      await expectTenantBIntact();
    });
  });
});
