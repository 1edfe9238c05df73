import { Injectable } from '@nestjs/common';
import { DataSource, IsNull } from 'typeorm';
import { ApiKeyEntity } from './entities/api-key.entity';

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  async createKey(key: Omit<ApiKeyEntity, 'id' | 'createdAt' | 'revokedAt'>): Promise<ApiKeyEntity> {
    const entity = this.dataSource.manager.create(ApiKeyEntity, { ...key, revokedAt: null });
    return this.dataSource.manager.save(entity);
  }

  /** Authentication lookup by the key's non-secret prefix (any tenant: the key names its tenant). */
  findKeyByPrefix(prefix: string): Promise<ApiKeyEntity | null> {
    return this.dataSource.manager.findOneBy(ApiKeyEntity, { prefix });
  }

  /** Authentication lookup for tokens, which carry the key id and tenant. */
  findKeyById(tenantId: string, id: string): Promise<ApiKeyEntity | null> {
    return this.dataSource.manager.findOneBy(ApiKeyEntity, { tenantId, id });
  }

  listKeysOfTenant(tenantId: string): Promise<ApiKeyEntity[]> {
    return this.dataSource.manager.find(ApiKeyEntity, { where: { tenantId }, order: { createdAt: 'ASC' } });
  }

  /** Marks the key revoked; false when the tenant has no such live key. */
  async revokeKey(tenantId: string, id: string): Promise<boolean> {
    const result = await this.dataSource.manager.update(ApiKeyEntity, { tenantId, id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    return (result.affected ?? 0) > 0;
  }
}
