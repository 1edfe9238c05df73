import type { AppConfig } from '../config/app-config';
import type { AuditService } from '../audit/audit.service';
import type { CredentialResolver } from '../auth/credential-resolver.service';
import type { ApiKeysRepository } from './api-keys.repository';
import { TenancyService } from './tenancy.service';
import type { TenantsRepository } from './tenants.repository';

describe('TenancyService.resolveTenantRef (x-tenant)', () => {
  /** A registry of tenants that another replica may add to at any time. */
  const rows = new Map<string, { id: string; name: string }>();
  const tenants = {
    findTenantByName: jest.fn(async (name: string) => rows.get(name) ?? null),
    findTenantById: jest.fn(async (id: string) => [...rows.values()].find((t) => t.id === id) ?? null),
  };
  const service = new TenancyService(tenants as unknown as TenantsRepository, {} as ApiKeysRepository, {} as CredentialResolver, {} as AuditService, {} as AppConfig);

  it('finds a tenant another replica created just after this one was asked for it and did not have it', async () => {
    await expect(service.resolveTenantRef('late-tenant')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    rows.set('late-tenant', { id: '5b0f6c56-2d4f-4a7e-9a59-1c2e3f4a5b6c', name: 'late-tenant' });
    await expect(service.resolveTenantRef('late-tenant')).resolves.toBe('5b0f6c56-2d4f-4a7e-9a59-1c2e3f4a5b6c');
  });

  it('keeps a tenant it found, by name and by id, without asking the database again', async () => {
    rows.set('kept', { id: '0e8b3f0a-1111-4a7e-9a59-1c2e3f4a5b6c', name: 'kept' });
    await service.resolveTenantRef('kept');
    await service.resolveTenantRef('0e8b3f0a-1111-4a7e-9a59-1c2e3f4a5b6c');
    const calls = tenants.findTenantByName.mock.calls.length + tenants.findTenantById.mock.calls.length;
    await expect(service.resolveTenantRef('kept')).resolves.toBe('0e8b3f0a-1111-4a7e-9a59-1c2e3f4a5b6c');
    await expect(service.resolveTenantRef('0e8b3f0a-1111-4a7e-9a59-1c2e3f4a5b6c')).resolves.toBe('0e8b3f0a-1111-4a7e-9a59-1c2e3f4a5b6c');
    expect(tenants.findTenantByName.mock.calls.length + tenants.findTenantById.mock.calls.length).toBe(calls);
  });
});
