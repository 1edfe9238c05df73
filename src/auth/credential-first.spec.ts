import { NotFoundException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { AuthContext, AuthedRequest } from './auth-context';
import { AuthError, AuthErrorCode } from './auth.error';
import { Authenticator } from './authenticator.service';
import { CredentialFirst } from './credential-first';

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

describe('CredentialFirst', () => {
  type Hook = (request: AuthedRequest & { method: string; url: string; is404: boolean }) => Promise<void>;
  const authenticator = new Authenticator({} as never, {} as never);
  const identify = jest.spyOn(authenticator, 'identify');
  let hook: Hook;
  // The routes: POST /v1/predict only.
  const findRoute = ({ method, url }: { method: string; url: string }) => (method === 'POST' && url === '/v1/predict' ? {} : null);
  new CredentialFirst(authenticator).install({ addHook: (_name: string, fn: Hook) => (hook = fn), findRoute } as unknown as FastifyInstance);
  const request = (is404: boolean, authorization?: string) => ({ method: 'POST', url: '/v1/modles/x/versions', is404, headers: authorization ? { authorization } : {} });

  it('answers a body sent to a route that does not exist as the unknown route it is, before reading it', async () => {
    identify.mockResolvedValue(scorer);
    const unknown = request(true, 'Bearer key');
    const answer = hook(unknown);
    await expect(answer).rejects.toBeInstanceOf(NotFoundException);
    await expect(answer).rejects.toThrow('Cannot POST /v1/modles/x/versions');
    expect((unknown as AuthedRequest).auth).toBe(scorer);
  });

  it('answers 405 with Allow for a path that exists, asked with a method it does not take', async () => {
    identify.mockResolvedValue(scorer);
    for (const method of ['GET', 'DELETE']) {
      const answer = hook({ method, url: '/v1/predict?x=1', is404: true, headers: { authorization: 'Bearer key' } });
      await expect(answer).rejects.toMatchObject({ code: 'METHOD_NOT_ALLOWED', message: `${method} is not allowed on /v1/predict: use POST`, headers: { allow: 'POST' } });
    }
  });

  it('leaves an unknown path without a body to the not-found handler', async () => {
    await expect(hook({ method: 'GET', url: '/v1/nothing', is404: true, headers: {} })).resolves.toBeUndefined();
  });

  it('checks the credential first, also on a route that does not exist', async () => {
    identify.mockRejectedValue(new AuthError(AuthErrorCode.Unauthenticated, 'no credential'));
    await expect(hook(request(true))).rejects.toBeInstanceOf(AuthError);
  });

  it('lets a body to a route that exists through to be read, with its caller attached', async () => {
    identify.mockResolvedValue(scorer);
    const known = request(false, 'Bearer key');
    await expect(hook(known)).resolves.toBeUndefined();
    expect((known as AuthedRequest).auth).toBe(scorer);
  });
});
