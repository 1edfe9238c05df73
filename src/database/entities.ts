import { ModelAliasEntity } from '../registry/entities/model-alias.entity';
import { ModelVersionEntity } from '../registry/entities/model-version.entity';
import { ModelEntity } from '../registry/entities/model.entity';
import { AuditEntryEntity } from '../audit/audit-entry.entity';
import { ApiKeyEntity } from '../tenancy/entities/api-key.entity';
import { TenantEntity } from '../tenancy/entities/tenant.entity';

export const ENTITIES = [TenantEntity, ApiKeyEntity, AuditEntryEntity, ModelEntity, ModelVersionEntity, ModelAliasEntity];
