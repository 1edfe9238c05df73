import { createHash } from 'node:crypto';
import { loadConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import type { ApiKeysRepository } from '../tenancy/api-keys.repository';
import type { ApiKeyEntity } from '../tenancy/entities/api-key.entity';
import { generateApiKey } from './api-key-format';
import { AUTH_CACHE_TTL_MS, CredentialResolver } from './credential-resolver.service';
import { RootCredential } from './root-credential';
import { TokenService } from './token.service';

/** The key table, which can be made unreachable like a database in an outage. */
class FakeKeys {
  rows = new Map<string, ApiKeyEntity>();
  down = false;
  async findKeyByPrefix(prefix: string): Promise<ApiKeyEntity | null> {
    if (this.down) throw new Error('database "mms" is not currently accepting connections');
    return this.rows.get(prefix) ?? null;
  }
  async findKeyById(): Promise<ApiKeyEntity | null> {
    if (this.down) throw new Error('database unavailable');
    return null;
  }
}

describe('CredentialResolver while the database is away', () => {
  const config = loadConfig({ MMS_ADMIN_TOKEN: 'root-token-0123456789', MMS_TOKEN_SECRET: 's'.repeat(40), DATABASE_URL: 'postgres://x@127.0.0.1/db' });
  let keys: FakeKeys;
  let resolver: CredentialResolver;
  const addKey = (expiresAt: Date | null = null) => {
    const k = generateApiKey();
    keys.rows.set(k.prefix, { id: `id-${k.prefix}`, tenantId: 't1', prefix: k.prefix, secretSha256: createHash('sha256').update(k.secret).digest('hex'), role: 'scorer', models: null, expiresAt, revokedAt: null } as ApiKeyEntity);
    return k.key;
  };

  // Real time: lru-cache keeps its own clock. Past the one-second decision cache, the database is asked again.
  const afterDecisionCache = () => new Promise((resolve) => setTimeout(resolve, AUTH_CACHE_TTL_MS + 100));

  beforeEach(() => {
    keys = new FakeKeys();
    resolver = new CredentialResolver(RootCredential.resolve(config), keys as unknown as ApiKeysRepository, new TokenService(config));
  });

  it('keeps accepting a key it accepted recently, so loaded models keep answering its caller', async () => {
    const key = addKey();
    expect((await resolver.resolve(key)).tenantId).toBe('t1');
    keys.down = true;
    await afterDecisionCache();
    expect((await resolver.resolve(key)).tenantId).toBe('t1');
  });

  it('answers 503 (not 500) for a key it has not seen, and never lets an expired key in', async () => {
    const fresh = addKey();
    const expiring = addKey(new Date(Date.now() + AUTH_CACHE_TTL_MS + 50));
    await resolver.resolve(expiring);
    keys.down = true;
    await expect(resolver.resolve(fresh)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await afterDecisionCache();
    await expect(resolver.resolve(expiring)).rejects.toBeInstanceOf(DomainError);
  });

  it('forgets what it accepted once keys are revoked on this replica', async () => {
    const key = addKey();
    await resolver.resolve(key);
    resolver.forgetAll();
    keys.down = true;
    await expect(resolver.resolve(key)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('still refuses a bad credential', async () => {
    await expect(resolver.resolve('mmsk_aaaaaaaaaaaaaaaa_' + 'b'.repeat(43))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});

describe('CredentialResolver under load', () => {
  const config = loadConfig({ MMS_ADMIN_TOKEN: 'root-token-0123456789', MMS_TOKEN_SECRET: 's'.repeat(40), DATABASE_URL: 'postgres://x@127.0.0.1/db' });

  it('asks the database once for a credential that many requests present at the same moment', async () => {
    const keys = new FakeKeys();
    let lookups = 0;
    const findKeyByPrefix = keys.findKeyByPrefix.bind(keys);
    keys.findKeyByPrefix = async (prefix: string) => {
      lookups++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return findKeyByPrefix(prefix);
    };
    const resolver = new CredentialResolver(RootCredential.resolve(config), keys as unknown as ApiKeysRepository, new TokenService(config));
    const k = generateApiKey();
    keys.rows.set(k.prefix, { id: 'id-1', tenantId: 't1', prefix: k.prefix, secretSha256: createHash('sha256').update(k.secret).digest('hex'), role: 'scorer', models: null, expiresAt: null, revokedAt: null } as ApiKeyEntity);
    const contexts = await Promise.all(Array.from({ length: 32 }, () => resolver.resolve(k.key)));
    expect(contexts.every((c) => c.tenantId === 't1')).toBe(true);
    expect(lookups).toBe(1);
    // A wrong secret for the same prefix is its own credential: its own lookup, refused.
    const wrong = `${k.key.slice(0, -1)}${k.key.endsWith('x') ? 'y' : 'x'}`;
    await expect(resolver.resolve(wrong)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(lookups).toBe(2);
  });
});
