import type { AuthContext, AuthedRequest } from './auth-context';
import { AuthError } from './auth.error';
import { Authenticator } from './authenticator.service';

const scorer: AuthContext = { tenantId: 't', role: 'scorer', principal: 'key:1', keyId: '1', via: 'key', modelScope: null };

describe('Authenticator.authenticateRequest', () => {
  // The real Authenticator's role check; its credential lookup is what must not run twice.
  const authenticator = new Authenticator({} as never, {} as never);
  const identify = jest.spyOn(authenticator, 'identify').mockResolvedValue(scorer);

  beforeEach(() => identify.mockClear());

  it('reuses the identity found before the body was read: one lookup, one rate-limit token', async () => {
    const request = { headers: {}, auth: scorer } as AuthedRequest;
    await expect(authenticator.authenticateRequest(request, 'scorer')).resolves.toBe(scorer);
    expect(identify).not.toHaveBeenCalled();
  });

  it('still checks the route’s role on that identity', async () => {
    const request = { headers: {}, auth: scorer } as AuthedRequest;
    await expect(authenticator.authenticateRequest(request, 'admin')).rejects.toBeInstanceOf(AuthError);
  });

  it('identifies the caller when nothing did before (a request without a body)', async () => {
    const request = { headers: { authorization: 'Bearer x' } } as AuthedRequest;
    await expect(authenticator.authenticateRequest(request, 'scorer')).resolves.toBe(scorer);
    expect(identify).toHaveBeenCalledTimes(1);
  });
});
