import type { Multipart } from '@fastify/multipart';
import { Test } from '@nestjs/testing';
import { Readable } from 'node:stream';
import { TABULAR_SIGNATURE } from '../../test/support/registry-fixtures';
import { AuthContext, DEFAULT_TENANT_ID } from '../auth/auth-context';
import { AppConfig, loadConfig } from '../config/app-config';
import { ArtifactInspector } from './artifact/artifact-inspector.service';
import { InspectedArtifact } from './artifact/artifact.types';
import { ModelAliasEntity } from './entities/model-alias.entity';
import { ModelVersionEntity } from './entities/model-version.entity';
import { Labels, ModelEntity } from './entities/model.entity';
import { encodeCursor } from './model-list-query';
import { ModelListFilter, ModelListRow, ModelsRepository, NewVersion } from './models.repository';
import { RegistryError, RegistryErrorCode } from './registry.error';
import { RegistryService } from './registry.service';
import { ModelStore, StagedFile } from './store/model-store';

const ctx = { tenantId: DEFAULT_TENANT_ID, role: 'root', principal: 'root', keyId: null, via: 'root', modelScope: null } as AuthContext;
/** Stands in for the transaction the repository hands to `withModelLocked` callbacks. */
const TX = Symbol('tx');

/** The registry's rows in memory: just enough of ModelsRepository for the service's logic. */
class InMemoryModelsRepository {
  readonly models: ModelEntity[] = [];
  readonly versions: ModelVersionEntity[] = [];
  readonly aliases: ModelAliasEntity[] = [];

  appendVersion = jest.fn(async (tenantId: string, name: string, v: NewVersion) => {
    let model = this.models.find((m) => m.tenantId === tenantId && m.name === name);
    if (!model) {
      model = Object.assign(new ModelEntity(), { id: `model-${name}`, tenantId, name, description: v.description, segment: {}, tags: {}, latestVersion: 0 });
      model.createdAt = model.updatedAt = new Date();
      this.models.push(model);
    }
    model.latestVersion++;
    model.segment = v.segment ?? model.segment;
    model.tags = { ...model.tags, ...v.tags };
    const version = Object.assign(new ModelVersionEntity(), { ...v, id: `${name}@${model.latestVersion}`, tenantId, modelId: model.id, version: model.latestVersion, createdAt: new Date() });
    this.versions.push(version);
    return { model, version };
  });
  modelExists = async (tenantId: string, name: string) => !!(await this.findModelByName(tenantId, name));
  findModelByName = async (tenantId: string, name: string) => this.models.find((m) => m.tenantId === tenantId && m.name === name) ?? null;
  findVersionsOfModel = async (tenantId: string, modelId: string) => this.versions.filter((v) => v.tenantId === tenantId && v.modelId === modelId);
  findAliasesOfModel = async (tenantId: string, modelId: string) => this.aliases.filter((a) => a.tenantId === tenantId && a.modelId === modelId);
  findVersion = async (tenantId: string, modelId: string, version: number) =>
    (await this.findVersionsOfModel(tenantId, modelId)).find((v) => v.version === version) ?? null;
  findAliasesPointingAt = async (_tx: unknown, tenantId: string, modelId: string, version: number) =>
    (await this.findAliasesOfModel(tenantId, modelId)).filter((a) => a.version === version);
  isVersionInTrafficRule = jest.fn(async (_tx: unknown, _tenantId: string, _modelId: string, _version: number) => false);
  withModelLocked = async <T>(tenantId: string, name: string, work: (tx: unknown, model: ModelEntity | null) => Promise<T>) => work(TX, await this.findModelByName(tenantId, name));
  listModels = jest.fn(async (_tenantId: string, _filter: ModelListFilter): Promise<ModelListRow[]> => []);
  updateModel = jest.fn(async (_tenantId: string, _modelId: string, _patch: Partial<ModelEntity>) => undefined);
  deleteVersion = jest.fn(async (_tx: unknown, tenantId: string, modelId: string, version: number) => {
    const at = this.versions.findIndex((v) => v.tenantId === tenantId && v.modelId === modelId && v.version === version);
    this.versions.splice(at, 1);
  });
  deleteModel = jest.fn(async (tenantId: string, name: string) => this.models.some((m) => m.tenantId === tenantId && m.name === name));
  upsertAlias = jest.fn(async (_tx: unknown, tenantId: string, modelId: string, alias: string, version: number) => {
    const row = Object.assign(new ModelAliasEntity(), { tenantId, modelId, alias, version, updatedAt: new Date() });
    this.aliases.push(row);
    return row;
  });
  deleteAlias = jest.fn(async (tenantId: string, modelId: string, alias: string) => this.aliases.some((a) => a.tenantId === tenantId && a.modelId === modelId && a.alias === alias));
}

/** A store that keeps staged bytes in memory and records what the service asks of it. */
class RecordingModelStore {
  private staged = 0;
  stage = jest.fn(async (source: Readable): Promise<StagedFile> => {
    let sizeBytes = 0;
    for await (const chunk of source) sizeBytes += (chunk as Buffer).length;
    return { path: `/store/tmp/upload-${++this.staged}.part`, sha256: 'a'.repeat(64), sizeBytes };
  });
  commit = jest.fn(async (_path: string, _sha256: string) => undefined);
  discard = jest.fn(async (_path: string) => undefined);
}

/** Collaborators the registry logic does not depend on (quotas, audit, change events): accept every call. */
function acceptingStub(): unknown {
  return new Proxy({} as Record<string | symbol, unknown>, {
    get: (target, prop) => (prop === 'then' || typeof prop === 'symbol' ? undefined : (target[prop] ??= jest.fn())),
  });
}

/** The parts of a version upload, as @fastify/multipart iterates them. */
async function* uploadParts(fields: Record<string, string> = {}): AsyncGenerator<Multipart> {
  const file = Object.assign(Readable.from([Buffer.from('onnx bytes')]), { truncated: false });
  yield { type: 'file', fieldname: 'artifact', filename: 'model.onnx', file } as unknown as Multipart;
  for (const [fieldname, value] of Object.entries(fields)) yield { type: 'field', fieldname, value, valueTruncated: false } as unknown as Multipart;
}

const registryError = (code: RegistryErrorCode, details?: Record<string, unknown>) =>
  expect.objectContaining({ code, ...(details ? { details: expect.objectContaining(details) } : {}) });

describe('RegistryService', () => {
  let service: RegistryService;
  let repo: InMemoryModelsRepository;
  let store: RecordingModelStore;
  let inspect: jest.Mock<Promise<InspectedArtifact>, [StagedFile]>;

  beforeEach(async () => {
    repo = new InMemoryModelsRepository();
    store = new RecordingModelStore();
    inspect = jest.fn(async (upload: StagedFile) => ({ format: 'onnx' as const, onnxPath: upload.path, onnxSha256: upload.sha256, onnxSizeBytes: upload.sizeBytes, signature: TABULAR_SIGNATURE, mlflow: null }));
    const moduleRef = await Test.createTestingModule({
      providers: [
        RegistryService,
        { provide: ModelsRepository, useValue: repo },
        { provide: ModelStore, useValue: store },
        { provide: ArtifactInspector, useValue: { inspect } },
        { provide: AppConfig, useValue: loadConfig({ MMS_MAX_ARTIFACT_BYTES: '1024' }) },
      ],
    })
      .useMocker(acceptingStub)
      .compile();
    service = moduleRef.get(RegistryService);
  });

  /** A model with versions 1..count, registered directly in the fake. */
  const givenModel = async (name: string, count = 1) => {
    for (let i = 0; i < count; i++) await repo.appendVersion(ctx.tenantId, name, { tags: {} } as NewVersion);
    repo.appendVersion.mockClear();
  };
  const stagedUpload = () => store.stage.mock.results[0].value as Promise<StagedFile>;

  describe('registerVersion', () => {
    it('commits the inspected model file, then records the version with what the upload said', async () => {
      const view = await service.registerVersion(ctx, 'demand-0042', uploadParts({ segment: '{"store":"0042"}', tags: '{"algo":"gbr"}', description: 'store 42' }));
      const upload = await stagedUpload();
      expect(store.commit).toHaveBeenCalledWith(upload.path, upload.sha256);
      expect(repo.appendVersion).toHaveBeenCalledWith(ctx.tenantId, 'demand-0042', {
        sha256: upload.sha256,
        sizeBytes: 10,
        storedBytes: 10,
        format: 'onnx',
        modelSha256: upload.sha256,
        signature: TABULAR_SIGNATURE,
        mlflow: null,
        tags: { algo: 'gbr' },
        description: 'store 42',
        segment: { store: '0042' },
        createdBy: 'root',
      }, undefined); // no quota to check again in the transaction
      expect(view).toMatchObject({ name: 'demand-0042', version: 1, format: 'onnx', segment: { store: '0042' }, tags: { algo: 'gbr' } });
      expect(store.commit.mock.invocationCallOrder[0]).toBeLessThan(repo.appendVersion.mock.invocationCallOrder[0]);
    });

    it('keeps the extracted model file of an MLflow archive and discards the archive', async () => {
      const inspected = { format: 'mlflow' as const, onnxPath: '/store/tmp/extracted.part', onnxSha256: 'b'.repeat(64), onnxSizeBytes: 4096, signature: TABULAR_SIGNATURE, mlflow: { runId: 'r1' } };
      inspect.mockResolvedValueOnce(inspected);
      const view = await service.registerVersion(ctx, 'mlflow-model', uploadParts());
      const upload = await stagedUpload();
      expect(store.commit).toHaveBeenCalledWith(inspected.onnxPath, inspected.onnxSha256);
      expect(repo.appendVersion).toHaveBeenCalledWith(ctx.tenantId, 'mlflow-model', expect.objectContaining({ sha256: upload.sha256, storedBytes: 4096, modelSha256: inspected.onnxSha256, format: 'mlflow', mlflow: { runId: 'r1' } }), undefined);
      expect(store.discard).toHaveBeenCalledWith(upload.path);
      expect(view.mlflow).toEqual({ runId: 'r1' });
    });

    it('discards the staged upload and records nothing when the artifact does not load', async () => {
      inspect.mockRejectedValueOnce(new RegistryError(RegistryErrorCode.ArtifactInvalid, 'does not load'));
      await expect(service.registerVersion(ctx, 'broken', uploadParts())).rejects.toThrow(registryError(RegistryErrorCode.ArtifactInvalid));
      expect(store.discard).toHaveBeenCalledWith((await stagedUpload()).path);
      expect(store.commit).not.toHaveBeenCalled();
      expect(repo.appendVersion).not.toHaveBeenCalled();
    });

    it.each([
      ['segment', '{"store": 42}'],
      ['tags', 'not json'],
      ['description', 'x'.repeat(10_001)],
    ])('refuses a bad %s part before inspecting, and discards the staged upload', async (field, value) => {
      await expect(service.registerVersion(ctx, 'bad-fields', uploadParts({ [field]: value }))).rejects.toThrow(registryError(RegistryErrorCode.InvalidRequest, { field }));
      expect(inspect).not.toHaveBeenCalled();
      expect(store.discard).toHaveBeenCalledWith((await stagedUpload()).path);
      expect(repo.appendVersion).not.toHaveBeenCalled();
    });

    it('discards the staged files when recording the version fails', async () => {
      repo.appendVersion.mockRejectedValueOnce(new Error('connection lost'));
      await expect(service.registerVersion(ctx, 'unlucky', uploadParts())).rejects.toThrow('connection lost');
      expect(store.discard).toHaveBeenCalledWith((await stagedUpload()).path);
    });

    it('refuses an invalid model name before reading the upload', async () => {
      await expect(service.registerVersion(ctx, 'Not-Valid', uploadParts())).rejects.toThrow(registryError(RegistryErrorCode.InvalidModelName));
      expect(store.stage).not.toHaveBeenCalled();
    });
  });

  describe('listModels', () => {
    const rows = (...names: string[]) => names.map((name) => ({ model: Object.assign(new ModelEntity(), { name, createdAt: new Date(), updatedAt: new Date() }), latest: null }));

    it('asks for one row more than the page to know whether another page follows', async () => {
      repo.listModels.mockResolvedValueOnce(rows('a', 'b', 'c'));
      const page = await service.listModels(ctx, { limit: '2', 'segment.region': 'north' });
      expect(repo.listModels).toHaveBeenCalledWith(ctx.tenantId, expect.objectContaining({ limit: 3, segment: { region: 'north' } }));
      expect(page.items.map((m) => m.name)).toEqual(['a', 'b']);
      expect(page.nextCursor).toBe(encodeCursor('b'));
    });

    it('ends the listing with a null cursor', async () => {
      repo.listModels.mockResolvedValueOnce(rows('a', 'b'));
      expect((await service.listModels(ctx, { limit: '2' })).nextCursor).toBeNull();
    });

    it('refuses a bad query before asking the repository', async () => {
      await expect(service.listModels(ctx, { limt: '2' })).rejects.toThrow(registryError(RegistryErrorCode.InvalidRequest, { parameter: 'limt' }));
      expect(repo.listModels).not.toHaveBeenCalled();
    });
  });

  describe('getModel and getVersion', () => {
    it('answer MODEL_NOT_FOUND and VERSION_NOT_FOUND', async () => {
      await givenModel('known');
      await expect(service.getModel(ctx, 'unknown')).rejects.toThrow(registryError(RegistryErrorCode.ModelNotFound, { name: 'unknown' }));
      await expect(service.getVersion(ctx, 'known', '2')).rejects.toThrow(registryError(RegistryErrorCode.VersionNotFound, { name: 'known', version: 2 }));
      expect(await service.getVersion(ctx, 'known', '1')).toMatchObject({ name: 'known', version: 1 });
    });
  });

  describe('deleteVersion', () => {
    it('answers VERSION_IN_USE naming the aliases, and keeps the version', async () => {
      await givenModel('aliased', 2);
      await service.setAlias(ctx, 'aliased', 'production', 2);
      await service.setAlias(ctx, 'aliased', 'canary', 2);
      await expect(service.deleteVersion(ctx, 'aliased', '2')).rejects.toThrow(registryError(RegistryErrorCode.VersionInUse, { model: 'aliased', version: 2, aliases: ['production', 'canary'] }));
      expect(repo.deleteVersion).not.toHaveBeenCalled();
    });

    it('answers VERSION_IN_USE while the traffic rule routes to the version', async () => {
      await givenModel('routed', 2);
      repo.isVersionInTrafficRule.mockResolvedValueOnce(true);
      await expect(service.deleteVersion(ctx, 'routed', '2')).rejects.toThrow(registryError(RegistryErrorCode.VersionInUse, { model: 'routed', version: 2, traffic: true }));
      expect(repo.isVersionInTrafficRule).toHaveBeenCalledWith(TX, ctx.tenantId, 'model-routed', 2);
      expect(repo.deleteVersion).not.toHaveBeenCalled();
    });

    it('deletes a version no alias points at', async () => {
      await givenModel('free', 2);
      await service.deleteVersion(ctx, 'free', '1');
      expect(repo.deleteVersion).toHaveBeenCalledWith(TX, ctx.tenantId, 'model-free', 1);
    });

    it.each([
      ['a missing model', 'nobody', '1', RegistryErrorCode.ModelNotFound],
      ['a missing version', 'free', '9', RegistryErrorCode.VersionNotFound],
      ['a version that is not a number', 'free', 'latest', RegistryErrorCode.InvalidRequest],
    ])('answers %s', async (_what, name, version, code) => {
      await givenModel('free');
      await expect(service.deleteVersion(ctx, name, version)).rejects.toThrow(registryError(code));
      expect(repo.deleteVersion).not.toHaveBeenCalled();
    });
  });

  describe('setAlias and deleteAlias', () => {
    beforeEach(() => givenModel('target', 2));

    it('points an alias at an existing version', async () => {
      expect(await service.setAlias(ctx, 'target', 'production', 2)).toMatchObject({ name: 'target', alias: 'production', version: 2 });
      expect(repo.upsertAlias).toHaveBeenCalledWith(TX, ctx.tenantId, 'model-target', 'production', 2);
    });

    it.each([
      ['a missing version', 'production', 3, RegistryErrorCode.VersionNotFound],
      ['an alias that reads as a version', '3', 1, RegistryErrorCode.InvalidAliasName],
      ['a version that is not positive', 'production', 0, RegistryErrorCode.InvalidRequest],
    ])('refuses %s without writing', async (_what, alias, version, code) => {
      await expect(service.setAlias(ctx, 'target', alias, version)).rejects.toThrow(registryError(code));
      expect(repo.upsertAlias).not.toHaveBeenCalled();
    });

    it('answers MODEL_NOT_FOUND for an alias on a missing model', async () => {
      await expect(service.setAlias(ctx, 'nobody', 'production', 1)).rejects.toThrow(registryError(RegistryErrorCode.ModelNotFound));
    });

    it('answers ALIAS_NOT_FOUND when deleting an alias that is not there', async () => {
      await expect(service.deleteAlias(ctx, 'target', 'staging')).rejects.toThrow(registryError(RegistryErrorCode.AliasNotFound, { name: 'target', alias: 'staging' }));
    });
  });

  describe('updateModel', () => {
    const current = async (name: string, labels: { tags?: Labels; segment?: Labels }) => {
      await givenModel(name);
      Object.assign((await repo.findModelByName(ctx.tenantId, name))!, labels);
    };

    it('merge-patches tags and segment and replaces the description, writing only what changed', async () => {
      await current('patched', { tags: { algo: 'gbr', stale: 'yes' }, segment: { region: 'north' } });
      await service.updateModel(ctx, 'patched', { tags: { stale: null, owner: 'forecasting' }, segment: { store: '0042' }, description: 'north 42' });
      expect(repo.updateModel).toHaveBeenCalledWith(ctx.tenantId, 'model-patched', {
        tags: { algo: 'gbr', owner: 'forecasting' },
        segment: { region: 'north', store: '0042' },
        description: 'north 42',
      }, expect.anything()); // written in the transaction that holds the model's lock
    });

    it('writes nothing for an empty patch', async () => {
      await current('untouched', {});
      await service.updateModel(ctx, 'untouched', {});
      expect(repo.updateModel).not.toHaveBeenCalled();
    });

    it('refuses a tag value that is not a string or null', async () => {
      await current('strict', {});
      await expect(service.updateModel(ctx, 'strict', { tags: { n: 5 as unknown as string } })).rejects.toThrow(registryError(RegistryErrorCode.InvalidRequest, { field: 'tags' }));
      expect(repo.updateModel).not.toHaveBeenCalled();
    });
  });

  it('answers MODEL_NOT_FOUND when deleting a missing model', async () => {
    await expect(service.deleteModel(ctx, 'nobody')).rejects.toThrow(registryError(RegistryErrorCode.ModelNotFound));
  });
});
