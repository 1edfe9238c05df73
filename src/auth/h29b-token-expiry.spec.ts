import { decodeJwt } from 'jose';
import { loadConfig } from '../config/app-config';
import { TokenService } from './token.service';

/**
 * `POST /v1/auth/token` answers `expiresAt`: a client refreshing at that instant must not find
 * its token already refused. The JWT's `exp` counts whole seconds, so the answer is that second.
 */
describe('TokenService expiresAt', () => {
  const config = loadConfig({ MMS_ADMIN_TOKEN: 'root-token-0123456789', MMS_TOKEN_SECRET: 's'.repeat(40), DATABASE_URL: 'postgres://x@127.0.0.1/db' });
  const tokens = new TokenService(config);

  it('is the instant the token stops being accepted (the exp claim), not a later millisecond', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-28T17:27:26.562Z'), doNotFake: ['nextTick', 'setImmediate'] });
    try {
      const { token, expiresAt } = await tokens.issue({ keyId: 'k', tenantId: 't', role: 'scorer', models: null });
      const exp = decodeJwt(token).exp!;
      expect(expiresAt).toBe(new Date(exp * 1000).toISOString());
      expect(expiresAt).toBe('2026-11-28T17:42:26.000Z');
    } finally {
      jest.useRealTimers();
    }
  });

  it('stays within a key that expires mid-second', async () => {
    const keyExpiresAt = Date.now() + 60_000 + 750;
    const { token, expiresAt } = await tokens.issue({ keyId: 'k', tenantId: 't', role: 'scorer', models: null }, keyExpiresAt);
    expect(Date.parse(expiresAt)).toBe(decodeJwt(token).exp! * 1000);
    expect(Date.parse(expiresAt)).toBeLessThanOrEqual(keyExpiresAt);
  });
});
