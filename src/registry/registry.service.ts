import { Injectable } from '@nestjs/common';
import type { Multipart } from '@fastify/multipart';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AuthContext } from '../auth/auth-context';
import { canAccessModel, globToLikePattern } from '../auth/model-scope';
import { AppConfig } from '../config/app-config';
import { TenancyService } from '../tenancy/tenancy.service';
import { ArtifactInspector } from './artifact/artifact-inspector.service';
import { readArtifactUpload } from './artifact/artifact-upload';
import { InspectedArtifact } from './artifact/artifact.types';
import { UpdateModelDto } from './dto/update-model.dto';
import { ModelEntity } from './entities/model.entity';
import { assertMergedLabelCount, mergeLabels, parseLabels, parseLabelsField } from './labels';
import { encodeCursor, parseModelListQuery } from './model-list-query';
import { RegistryEvents } from './registry-events';
import { ModelsRepository } from './models.repository';
import { assertAliasName, assertModelName, parseVersionNumber } from './names';
import { RegistryError, RegistryErrorCode } from './registry.error';
import { aliasView, AliasView, modelSummaryView, ModelSummaryView, modelView, ModelView, versionView, VersionView } from './registry.views';
import { ModelStore } from './store/model-store';

const MAX_DESCRIPTION = 10_000;

@Injectable()
export class RegistryService {
  constructor(
    private readonly models: ModelsRepository,
    private readonly store: ModelStore,
    private readonly inspector: ArtifactInspector,
    private readonly config: AppConfig,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    private readonly events: RegistryEvents,
  ) {}

  /**
   * Registers a new version from a multipart upload. Order matters for atomicity: stage,
   * prove it loads, move the blob to its content address, then insert the rows in one
   * transaction. A failure at any step leaves no row, and no file but an unreferenced
   * blob that the store's sweep removes.
   */
  async registerVersion(ctx: AuthContext, name: string, parts: AsyncIterable<Multipart>): Promise<VersionView> {
    assertModelName(name);
    const upload = await readArtifactUpload(parts, this.store, this.config.MMS_MAX_ARTIFACT_BYTES);
    let inspected: InspectedArtifact | undefined;
    try {
      const segment = parseLabelsField('segment', upload.fields.segment);
      const tags = parseLabelsField('tags', upload.fields.tags) ?? {};
      const description = parseDescription(upload.fields.description);
      const addsModel = !(await this.models.modelExists(ctx.tenantId, name));
      await this.tenancy.assertWithinQuota(ctx, addsModel, upload.artifact.sizeBytes);
      inspected = await this.inspector.inspect(upload.artifact);
      // An MLflow zip's model may be far bigger than the zip (deflate, external data named many times): the quota counts what is stored.
      const storedBytes = inspected.onnxSizeBytes;
      if (storedBytes > upload.artifact.sizeBytes) await this.tenancy.assertWithinQuota(ctx, addsModel, storedBytes);
      await this.store.commit(inspected.onnxPath, inspected.onnxSha256);
      // Checked again where the rows are inserted: concurrent uploads all passed the check above.
      const recheckQuota = await this.tenancy.quotaCheckForInsert(ctx);
      const countedBytes = Math.max(upload.artifact.sizeBytes, storedBytes);
      const quotaCheck = recheckQuota && ((tx: EntityManager) => recheckQuota(tx, async () => !(await this.models.findModelByName(ctx.tenantId, name, tx)), countedBytes));
      const { model, version } = await this.models.appendVersion(ctx.tenantId, name, {
        sha256: upload.artifact.sha256,
        sizeBytes: upload.artifact.sizeBytes,
        storedBytes,
        format: inspected.format,
        modelSha256: inspected.onnxSha256,
        signature: inspected.signature,
        mlflow: inspected.mlflow,
        tags,
        description,
        segment,
        createdBy: ctx.principal,
      }, quotaCheck);
      await this.audit.record(ctx, 'model.version.create', versionTarget(name, version.version), { sha256: version.sha256, format: version.format });
      this.events.publish({ tenantId: ctx.tenantId, model: name, kind: 'version-added', version: version.version });
      return versionView(model, version);
    } finally {
      // The uploaded zip is never kept; a bare .onnx upload was moved by commit (or failed).
      await this.store.discard(upload.artifact.path);
      if (inspected && inspected.onnxPath !== upload.artifact.path) await this.store.discard(inspected.onnxPath);
    }
  }

  async listModels(ctx: AuthContext, query: Record<string, unknown>): Promise<{ items: ModelSummaryView[]; nextCursor: string | null }> {
    const filter = parseModelListQuery(query);
    if (ctx.modelScope) filter.nameLike = ctx.modelScope.map(globToLikePattern);
    // One row more than asked tells whether there is a next page without a count query.
    const rows = await this.models.listModels(ctx.tenantId, { ...filter, limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit);
    const nextCursor = rows.length > filter.limit ? encodeCursor(page[page.length - 1].model.name) : null;
    return { items: page.map((r) => modelSummaryView(r.model, r.latest)), nextCursor };
  }

  async getModel(ctx: AuthContext, name: string): Promise<ModelView> {
    const model = await this.requireModel(ctx, name);
    const [versions, aliases] = await Promise.all([
      this.models.findVersionsOfModel(ctx.tenantId, model.id),
      this.models.findAliasesOfModel(ctx.tenantId, model.id),
    ]);
    return modelView(model, versions, aliases);
  }

  async getVersion(ctx: AuthContext, name: string, rawVersion: string): Promise<VersionView> {
    const model = await this.requireModel(ctx, name);
    const number = parseVersionNumber(rawVersion);
    const version = await this.models.findVersion(ctx.tenantId, model.id, number);
    if (!version) throw versionNotFound(name, number);
    return versionView(model, version);
  }

  /** PATCH: `tags` and `segment` are JSON merge patches (null removes a key); `description` is replaced. */
  async updateModel(ctx: AuthContext, name: string, patch: UpdateModelDto): Promise<ModelView> {
    assertModelName(name);
    const tags = patch.tags !== undefined ? parseLabels('tags', patch.tags, { allowNull: true }) : undefined;
    const segment = patch.segment !== undefined ? parseLabels('segment', patch.segment, { allowNull: true }) : undefined;
    // Merge under the model's row lock: concurrent patches of different keys all survive.
    const changed = await this.models.withModelLocked(ctx.tenantId, name, async (tx, model) => {
      if (!model || !canAccessModel(ctx, name)) throw modelNotFound(name);
      const changes: Partial<Pick<ModelEntity, 'description' | 'segment' | 'tags'>> = {};
      if (tags) changes.tags = mergeLabels(model.tags, tags);
      if (segment) changes.segment = mergeLabels(model.segment, segment);
      if (changes.tags) assertMergedLabelCount('tags', changes.tags);
      if (changes.segment) assertMergedLabelCount('segment', changes.segment);
      if (patch.description !== undefined) changes.description = patch.description;
      if (!Object.keys(changes).length) return false;
      await this.models.updateModel(ctx.tenantId, model.id, changes, tx);
      await this.audit.record(ctx, 'model.update', `models/${name}`, { ...patch }, tx);
      return true;
    });
    if (changed) this.events.publish({ tenantId: ctx.tenantId, model: name, kind: 'model-updated' });
    return this.getModel(ctx, name);
  }

  async deleteVersion(ctx: AuthContext, name: string, rawVersion: string): Promise<void> {
    assertModelName(name);
    const number = parseVersionNumber(rawVersion);
    await this.models.withModelLocked(ctx.tenantId, name, async (tx, model) => {
      if (!model) throw modelNotFound(name);
      if (!(await this.models.findVersion(ctx.tenantId, model.id, number, tx))) throw versionNotFound(name, number);
      const aliases = await this.models.findAliasesPointingAt(tx, ctx.tenantId, model.id, number);
      if (aliases.length) {
        const names = aliases.map((a) => a.alias);
        throw new RegistryError(RegistryErrorCode.VersionInUse, `Version ${number} of '${name}' is still the target of alias ${names.join(', ')}: move or delete the alias first`, {
          model: name,
          version: number,
          aliases: names,
        });
      }
      if (await this.models.isVersionInTrafficRule(tx, ctx.tenantId, model.id, number)) {
        throw new RegistryError(RegistryErrorCode.VersionInUse, `Version ${number} of '${name}' is in the model's traffic rule: change or delete the rule first`, {
          model: name,
          version: number,
          traffic: true,
        });
      }
      await this.models.deleteVersion(tx, ctx.tenantId, model.id, number);
      await this.audit.record(ctx, 'model.version.delete', versionTarget(name, number), {}, tx);
    });
    this.events.publish({ tenantId: ctx.tenantId, model: name, kind: 'version-deleted', version: number });
  }

  async deleteModel(ctx: AuthContext, name: string): Promise<void> {
    assertModelName(name);
    if (!(await this.models.deleteModel(ctx.tenantId, name))) throw modelNotFound(name);
    await this.audit.record(ctx, 'model.delete', `models/${name}`);
    this.events.publish({ tenantId: ctx.tenantId, model: name, kind: 'model-deleted' });
  }

  async setAlias(ctx: AuthContext, name: string, alias: string, rawVersion: number): Promise<AliasView> {
    assertModelName(name);
    assertAliasName(alias);
    const number = parseVersionNumber(rawVersion);
    const view = await this.models.withModelLocked(ctx.tenantId, name, async (tx, model) => {
      if (!model) throw modelNotFound(name);
      if (!(await this.models.findVersion(ctx.tenantId, model.id, number, tx))) throw versionNotFound(name, number);
      const view = aliasView(model, await this.models.upsertAlias(tx, ctx.tenantId, model.id, alias, number));
      await this.audit.record(ctx, 'model.alias.set', `models/${name}/aliases/${alias}`, { version: number }, tx);
      return view;
    });
    this.events.publish({ tenantId: ctx.tenantId, model: name, kind: 'alias-set', alias, version: number });
    return view;
  }

  async deleteAlias(ctx: AuthContext, name: string, alias: string): Promise<void> {
    const model = await this.requireModel(ctx, name);
    assertAliasName(alias);
    if (!(await this.models.deleteAlias(ctx.tenantId, model.id, alias))) {
      throw new RegistryError(RegistryErrorCode.AliasNotFound, `Model '${name}' has no alias '${alias}'`, { name, alias });
    }
    await this.audit.record(ctx, 'model.alias.delete', `models/${name}/aliases/${alias}`);
    this.events.publish({ tenantId: ctx.tenantId, model: name, kind: 'alias-deleted', alias });
  }

  /** The tenant's model by name; outside a scorer's globs it looks missing, like another tenant's. */
  private async requireModel(ctx: AuthContext, name: string): Promise<ModelEntity> {
    assertModelName(name);
    const model = canAccessModel(ctx, name) ? await this.models.findModelByName(ctx.tenantId, name) : null;
    if (!model) throw modelNotFound(name);
    return model;
  }
}

function modelNotFound(name: string): RegistryError {
  return new RegistryError(RegistryErrorCode.ModelNotFound, `Model '${name}' not found`, { name });
}

/** `details.version` is the number, as serving's VERSION_NOT_FOUND gives it. */
function versionNotFound(name: string, version: number): RegistryError {
  return new RegistryError(RegistryErrorCode.VersionNotFound, `Model '${name}' has no version ${version}`, { name, version });
}

function versionTarget(name: string, version: number): string {
  return `models/${name}/versions/${version}`;
}

function parseDescription(text: string | undefined): string | null {
  if (text === undefined || text === '') return null;
  if (text.length > MAX_DESCRIPTION) {
    throw new RegistryError(RegistryErrorCode.InvalidRequest, `description is longer than ${MAX_DESCRIPTION} characters`, { field: 'description' });
  }
  return text;
}
