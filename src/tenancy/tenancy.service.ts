import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { EntityManager } from 'typeorm';
import { createHash } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { generateApiKey } from '../auth/api-key-format';
import { AuthContext } from '../auth/auth-context';
import { CredentialResolver } from '../auth/credential-resolver.service';
import { AppConfig } from '../config/app-config';
import { ApiKeysRepository } from './api-keys.repository';
import { CreateKeyDto, UpdateTenantDto } from './dto/tenancy.dto';
import { ApiKeyEntity } from './entities/api-key.entity';
import { TenantEntity } from './entities/tenant.entity';
import { TenantsRepository } from './tenants.repository';
import { TenancyError, TenancyErrorCode } from './tenancy.error';
import { isUuid } from '../common/uuid';

export interface TenantLimits {
  /** 0 = unlimited */
  maxModels: number;
  maxArtifactBytes: number;
  rateLimitPerSecond: number;
  /** Fraction of the session cache, 0.01 to 1. */
  cacheShare: number;
  /** Batch jobs running at once; 0 = unlimited. Read by the batch ledger itself, where jobs are claimed. */
  maxRunningBatchJobs: number;
}

const LIMITS_TTL_MS = 5000;

/** Names a tenant cannot take: the data directory's folders of the platform's own (see batch/io/data-path.ts). */
const RESERVED_TENANT_NAMES = new Set(['pg', 'batch']);

/** A quota check run in a transaction: whether the insert adds a model is asked under the lock. */
export type QuotaCheckInTransaction = (tx: EntityManager, addsModel: () => Promise<boolean>, addedBytes: number) => Promise<void>;

@Injectable()
export class TenancyService {
  private readonly limits = new Map<string, { limits: TenantLimits; loadedAt: number }>();
  /** Background refreshes in flight: one query per tenant however many requests see the limits expire. */
  private readonly refreshing = new Set<string>();
  /** Tenants found by `x-tenant`; a miss is not kept, so that a tenant created on another replica is found at once. */
  private readonly tenantRefs = new LRUCache<string, string>({ max: 10_000, ttl: LIMITS_TTL_MS });

  constructor(
    private readonly tenants: TenantsRepository,
    private readonly keys: ApiKeysRepository,
    private readonly credentials: CredentialResolver,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  async createTenant(ctx: AuthContext, name: string) {
    // A tenant's batch inputs live in a data-directory folder named after it; these names are the platform's own folders there.
    if (RESERVED_TENANT_NAMES.has(name)) {
      throw new TenancyError(TenancyErrorCode.InvalidRequest, `The tenant name '${name}' is reserved (the data directory's ${[...RESERVED_TENANT_NAMES].join(', ')} folders are the platform's)`, { name });
    }
    // `x-tenant` reads a UUID as an id: a tenant named like one could never be named there.
    if (isUuid(name)) {
      throw new TenancyError(TenancyErrorCode.InvalidRequest, `The tenant name '${name}' has the form of a tenant id, which x-tenant would read as an id`, { name });
    }
    const tenant = await this.tenants.createTenant(name);
    if (!tenant) throw new TenancyError(TenancyErrorCode.TenantExists, `A tenant named '${name}' exists already`, { name });
    await this.audit.recordForTenant(ctx.principal, tenant.id, 'tenant.create', `tenants/${tenant.id}`, { name });
    return this.tenantView(tenant);
  }

  async listTenants() {
    return { items: (await this.tenants.listTenants()).map((t) => this.tenantView(t)) };
  }

  async getTenant(ctx: AuthContext, tenantId: string) {
    return this.tenantView(await this.requireManagedTenant(ctx, tenantId));
  }

  async updateTenantLimits(ctx: AuthContext, tenantId: string, patch: UpdateTenantDto) {
    await this.requireManagedTenant(ctx, tenantId);
    await this.tenants.updateTenantLimits(tenantId, patch);
    this.limits.delete(tenantId);
    await this.audit.recordForTenant(ctx.principal, tenantId, 'tenant.limits.update', `tenants/${tenantId}`, { ...patch });
    return this.getTenant(ctx, tenantId);
  }

  async createKey(ctx: AuthContext, tenantId: string, dto: CreateKeyDto) {
    await this.requireManagedTenant(ctx, tenantId);
    if (dto.models && dto.role !== 'scorer') {
      throw new TenancyError(TenancyErrorCode.InvalidRequest, 'models restricts scorer keys only', { field: 'models' });
    }
    const expiresAt = dto.expiresAt ? new Date(dto.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new TenancyError(TenancyErrorCode.InvalidRequest, 'expiresAt must be in the future', { field: 'expiresAt' });
    }
    const generated = generateApiKey();
    const key = await this.keys.createKey({
      tenantId,
      prefix: generated.prefix,
      secretSha256: createHash('sha256').update(generated.secret).digest('hex'),
      role: dto.role,
      models: dto.models ?? null,
      description: dto.description ?? null,
      expiresAt,
      createdBy: ctx.principal,
    });
    await this.audit.record({ ...ctx, tenantId }, 'key.create', `keys/${key.id}`, { role: key.role, models: key.models });
    // The only time the secret leaves the service.
    return { ...keyView(key), key: generated.key };
  }

  async listKeys(ctx: AuthContext, tenantId: string) {
    await this.requireManagedTenant(ctx, tenantId);
    return { items: (await this.keys.listKeysOfTenant(tenantId)).map(keyView) };
  }

  async revokeKey(ctx: AuthContext, tenantId: string, keyId: string): Promise<void> {
    await this.requireManagedTenant(ctx, tenantId);
    if (!isUuid(keyId) || !(await this.keys.revokeKey(tenantId, keyId))) {
      throw new TenancyError(TenancyErrorCode.KeyNotFound, `Tenant has no live key ${keyId}`, { id: keyId });
    }
    // At once on this replica; the others' decisions (keys' and their tokens') expire within a second of their read.
    this.credentials.forgetAll();
    await this.audit.record({ ...ctx, tenantId }, 'key.revoke', `keys/${keyId}`);
  }

  /** A tenant id or name (the root credential's `x-tenant` header) → the tenant id. */
  async resolveTenantRef(ref: string): Promise<string> {
    const cached = this.tenantRefs.get(ref);
    if (cached) return cached;
    // Only root sends x-tenant: a miss costs one indexed query, and no flood of names needs a negative cache.
    const tenant = isUuid(ref) ? await this.tenants.findTenantById(ref) : await this.tenants.findTenantByName(ref);
    if (!tenant) throw new TenancyError(TenancyErrorCode.TenantNotFound, `Tenant '${ref}' not found`, { tenant: ref });
    this.tenantRefs.set(ref, tenant.id);
    return tenant.id;
  }

  /**
   * The tenant's limits without waiting on the database (hot path): a cached copy, refreshed
   * in the background every few seconds; the service defaults until the first load.
   */
  cachedLimitsOf(tenantId: string): TenantLimits {
    const entry = this.limits.get(tenantId);
    if ((!entry || Date.now() - entry.loadedAt > LIMITS_TTL_MS) && !this.refreshing.has(tenantId)) {
      this.refreshing.add(tenantId);
      void this.limitsOf(tenantId)
        .catch(() => undefined)
        .finally(() => this.refreshing.delete(tenantId));
    }
    return entry?.limits ?? this.defaultLimits();
  }

  async limitsOf(tenantId: string): Promise<TenantLimits> {
    const limits = this.effectiveLimits(await this.tenants.findTenantById(tenantId));
    this.limits.set(tenantId, { limits, loadedAt: Date.now() });
    return limits;
  }

  /** Refuses a new version that would take the tenant past its model-count or storage quota. */
  async assertWithinQuota(ctx: AuthContext, addsModel: boolean, addedBytes: number): Promise<void> {
    const limits = await this.limitsOf(ctx.tenantId);
    if (!limits.maxModels && !limits.maxArtifactBytes) return;
    this.assertUsageAllows(limits, await this.tenants.usageOf(ctx.tenantId), addsModel, addedBytes);
  }

  /**
   * The same check for inside the transaction that inserts the version, under a lock on the
   * tenant's row: uploads running side by side all pass the early check (each sees the usage
   * before the others commit), so without it a quota of 2 models let 10 concurrent uploads of
   * new names in. The limits are read now, outside the transaction (the embedded database has
   * a single connection, which the transaction holds); undefined when there is no quota.
   */
  async quotaCheckForInsert(ctx: AuthContext): Promise<QuotaCheckInTransaction | undefined> {
    const limits = await this.limitsOf(ctx.tenantId);
    if (!limits.maxModels && !limits.maxArtifactBytes) return undefined;
    return async (tx, addsModel, addedBytes) => {
      await this.tenants.lockTenant(ctx.tenantId, tx);
      this.assertUsageAllows(limits, await this.tenants.usageOf(ctx.tenantId, tx), await addsModel(), addedBytes);
    };
  }

  private assertUsageAllows(limits: TenantLimits, usage: { models: number; artifactBytes: number }, addsModel: boolean, addedBytes: number): void {
    if (addsModel && limits.maxModels && usage.models + 1 > limits.maxModels) {
      throw new TenancyError(TenancyErrorCode.QuotaExceeded, `The tenant's quota of ${limits.maxModels} models is used up`, { quota: 'models', limit: limits.maxModels, used: usage.models });
    }
    if (limits.maxArtifactBytes && usage.artifactBytes + addedBytes > limits.maxArtifactBytes) {
      throw new TenancyError(TenancyErrorCode.QuotaExceeded, `Storing ${addedBytes} more bytes would exceed the tenant's quota of ${limits.maxArtifactBytes} bytes`, {
        quota: 'artifactBytes',
        limit: limits.maxArtifactBytes,
        used: usage.artifactBytes,
      });
    }
  }

  /** Root manages every tenant; an admin key only its own. Anything else looks missing. */
  private async requireManagedTenant(ctx: AuthContext, tenantId: string): Promise<TenantEntity> {
    const visible = ctx.role === 'root' || (ctx.role === 'admin' && ctx.tenantId === tenantId);
    const tenant = visible && isUuid(tenantId) ? await this.tenants.findTenantById(tenantId) : null;
    if (!tenant) throw new TenancyError(TenancyErrorCode.TenantNotFound, `Tenant '${tenantId}' not found`, { tenant: tenantId });
    return tenant;
  }

  /** The tenant's own limits, the service default (env) where it has none. */
  private effectiveLimits(tenant: TenantEntity | null): TenantLimits {
    const defaults = this.defaultLimits();
    return {
      maxModels: tenant?.maxModels ?? defaults.maxModels,
      maxArtifactBytes: tenant?.maxArtifactBytes ?? defaults.maxArtifactBytes,
      rateLimitPerSecond: tenant?.rateLimitPerSecond ?? defaults.rateLimitPerSecond,
      cacheShare: tenant?.cacheShare ?? defaults.cacheShare,
      maxRunningBatchJobs: tenant?.maxRunningBatchJobs ?? defaults.maxRunningBatchJobs,
    };
  }

  private defaultLimits(): TenantLimits {
    return {
      maxModels: this.config.MMS_TENANT_MAX_MODELS,
      maxArtifactBytes: this.config.MMS_TENANT_MAX_ARTIFACT_BYTES,
      rateLimitPerSecond: this.config.MMS_TENANT_RATE_LIMIT,
      cacheShare: this.config.MMS_TENANT_CACHE_SHARE,
      maxRunningBatchJobs: this.config.MMS_TENANT_MAX_RUNNING_BATCH_JOBS,
    };
  }

  private tenantView(t: TenantEntity) {
    return { id: t.id, name: t.name, createdAt: t.createdAt.toISOString(), limits: this.effectiveLimits(t) };
  }
}

function keyView(k: ApiKeyEntity) {
  return {
    id: k.id,
    tenantId: k.tenantId,
    role: k.role,
    models: k.models,
    description: k.description,
    prefix: `mmsk_${k.prefix}`,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    createdAt: k.createdAt.toISOString(),
    createdBy: k.createdBy,
  };
}
