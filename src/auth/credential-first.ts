import { Injectable, NotFoundException } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthedRequest } from './auth-context';
import { Authenticator } from './authenticator.service';

/** Methods whose requests may carry a body that Fastify reads and parses before any route guard runs. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Decides what can be decided about a request that may carry a body before the body is read
 * (Fastify reads and parses it before Nest's guard, and before its own 404 handler):
 * - who is calling: without a valid credential, 401, instead of reading and parsing up to 32 MB
 *   of JSON (an infer or invocations body) and answering 400 or 415. The role check stays with
 *   the route (AuthGuard, PredictRoute), which reuses the identity found here (one credential
 *   lookup, one rate-limit token per request). No route that takes a body is public; one marked
 *   @Public() would answer 401 without a credential, failing closed.
 * - whether any route takes it: a mistyped path is answered 404 at once, whatever the body,
 *   rather than after parsing it (malformed JSON would have said 400, pointing at the body).
 */
@Injectable()
export class CredentialFirst {
  constructor(private readonly authenticator: Authenticator) {}

  install(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', async (request: FastifyRequest & AuthedRequest) => {
      if (!BODY_METHODS.has(request.method)) return;
      request.auth ??= await this.authenticator.identify(request.headers);
      if (request.is404) throw new NotFoundException(`Cannot ${request.method} ${request.url}`);
    });
  }
}
