import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { AuthContext } from '../auth/auth-context';
import { CommonError, CommonErrorCode } from '../common/domain-error';
import { AuditEntryEntity } from './audit-entry.entity';
import { isUuid } from '../common/uuid';
import { TenancyError, TenancyErrorCode } from '../tenancy/tenancy.error';

const KNOWN_PARAMS = new Set(['limit', 'before', 'action', 'tenant']);

export interface AuditQuery {
  /** Entries with an id below this (pagination, newest first). */
  before?: string;
  limit: number;
  action?: string;
}

/** Who changed what, when: every change to the registry, aliases, traffic, tenants and keys. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Records one change. Pass the transaction's manager when the change runs in one, so the
   * entry commits (or rolls back) with it.
   */
  async record(ctx: AuthContext, action: string, target: string, details: Record<string, unknown> = {}, tx?: EntityManager): Promise<void> {
    const entry = { tenantId: ctx.tenantId, principal: ctx.principal, action, target, details };
    await this.write(entry, tx);
  }

  /** Service-wide actions (creating a tenant) belong to the tenant they create, or to none. */
  async recordForTenant(principal: string, tenantId: string | null, action: string, target: string, details: Record<string, unknown> = {}): Promise<void> {
    await this.write({ tenantId, principal, action, target, details });
  }

  /** GET /v1/audit: an admin sees its tenant; root every tenant, or the one in `?tenant=`. */
  async listForCaller(ctx: AuthContext, params: Record<string, string>) {
    const query = parseAuditQuery(params);
    const tenantId = ctx.role === 'root' ? (params.tenant ?? null) : ctx.tenantId;
    if (tenantId !== null && !isUuid(tenantId)) throw invalid('tenant must be a tenant id');
    // An admin naming another tenant gets what a missing tenant gets, not its own log as if it were that one's.
    if (ctx.role !== 'root' && params.tenant !== undefined && params.tenant !== ctx.tenantId) {
      throw new TenancyError(TenancyErrorCode.TenantNotFound, `Tenant '${params.tenant}' not found`, { tenant: params.tenant });
    }
    const rows = await this.list(tenantId, { ...query, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    return {
      items: page.map((a) => ({ id: a.id, tenantId: a.tenantId, at: a.at.toISOString(), principal: a.principal, action: a.action, target: a.target, details: a.details })),
      nextBefore: rows.length > query.limit ? page[page.length - 1].id : null,
    };
  }

  async list(tenantId: string | null, query: AuditQuery): Promise<AuditEntryEntity[]> {
    const qb = this.dataSource.manager.createQueryBuilder(AuditEntryEntity, 'a').orderBy('a.id', 'DESC').limit(query.limit);
    // null = the root credential asking about every tenant
    if (tenantId !== null) qb.andWhere('a.tenant_id = :tenantId', { tenantId });
    if (query.before) qb.andWhere('a.id < :before', { before: query.before });
    if (query.action) qb.andWhere('a.action = :action', { action: query.action });
    return qb.getMany();
  }

  private async write(entry: Partial<AuditEntryEntity>, tx?: EntityManager): Promise<void> {
    try {
      await (tx ?? this.dataSource.manager).save(AuditEntryEntity, entry);
    } catch (error) {
      if (tx) throw error;
      // Outside a transaction the change has happened already: log loudly rather than fail it.
      this.logger.error(`could not record ${entry.action} on ${entry.target}: ${(error as Error).message}`);
    }
  }
}

function parseAuditQuery(params: Record<string, string>): AuditQuery {
  for (const [key, value] of Object.entries(params)) {
    if (!KNOWN_PARAMS.has(key)) throw invalid(`Unknown query parameter '${key}'`);
    // Given twice it arrives as an array, which matched no entry (?action=a&action=b answered an empty log).
    if (Array.isArray(value)) throw invalid(`Query parameter '${key}' is given more than once`);
  }
  const limit = params.limit === undefined ? 100 : Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('limit must be an integer from 1 to 1000');
  if (params.before !== undefined && !/^[0-9]{1,18}$/.test(params.before)) throw invalid('before must be an entry id');
  return { limit, before: params.before, action: params.action };
}

function invalid(message: string): CommonError {
  return new CommonError(CommonErrorCode.InvalidRequest, message);
}
