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

describe('CredentialResolver after a key is revoked on another replica', () => {
  const config = loadConfig({ MMS_ADMIN_TOKEN: 'root-token-0123456789', MMS_TOKEN_SECRET: 's'.repeat(40), DATABASE_URL: 'postgres://x@127.0.0.1/db' });
  const KEY_ID = '0190a6f0-0000-7000-8000-000000000001';
  let keys: ApiKeyEntity;
  let lookups: number;
  let resolver: CredentialResolver;
  let tokens: TokenService;
  // A hand-driven clock for lru-cache (which reads performance.now()). Before the clock moves,
  // background refreshes finish; the real wait after it lets lru-cache drop its cached "now".
  let now: number;
  const at = async (ms: number) => {
    await Promise.all([...(resolver as unknown as { inFlight: Map<string, Promise<unknown>> }).inFlight.values()].map((p) => p.catch(() => undefined)));
    now = 10_000 + ms; // lru-cache reads a start time of 0 as "no TTL"
    await new Promise((resolve) => setTimeout(resolve, 5));
  };
  const token = async (models: string[] | null = null) => (await tokens.issue({ keyId: KEY_ID, tenantId: 't1', role: 'scorer', models })).token;

  beforeEach(async () => {
    jest.spyOn(performance, 'now').mockImplementation(() => now);
    keys = { id: KEY_ID, tenantId: 't1', prefix: 'p', secretSha256: '0'.repeat(64), role: 'scorer', models: null, expiresAt: null, revokedAt: null } as ApiKeyEntity;
    lookups = 0;
    // The revocation is another replica's: only the row changes, forgetAll is never called here.
    const repo = {
      findKeyById: async (tenantId: string, id: string) => {
        lookups++;
        return tenantId === keys.tenantId && id === keys.id ? { ...keys } : null;
      },
    };
    tokens = new TokenService(config);
    resolver = new CredentialResolver(RootCredential.resolve(config), repo as unknown as ApiKeysRepository, tokens);
    await at(0);
  });

  afterEach(() => jest.restoreAllMocks());

  it('refuses a token in use within a second, though its decision was refreshed meanwhile', async () => {
    const t = await token();
    await resolver.resolve(t);
    await at(100);
    keys.revokedAt = new Date();
    // Used shortly before its decision expires: refreshed in the background.
    await at(800);
    await resolver.resolve(t);
    await at(100 + AUTH_CACHE_TTL_MS);
    await expect(resolver.resolve(t)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'The key has been revoked' });
  });

  it('dates a decision by its key row, when the row was read for another token of the same key', async () => {
    const first = await token();
    const second = await token(['*']); // another token of the same key
    await resolver.resolve(first);
    await at(100);
    keys.revokedAt = new Date();
    // The row read at 0 is still reused (one query per key, not per token): accepted for now.
    await at(200);
    await expect(resolver.resolve(second)).resolves.toMatchObject({ via: 'token' });
    expect(lookups).toBe(1);
    // Its decision rests on a read at 0, so it must not outlive 0 + one second.
    await at(100 + AUTH_CACHE_TTL_MS);
    await expect(resolver.resolve(second)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
