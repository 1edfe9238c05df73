import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthedRequest } from './auth-context';
import { Authenticator } from './authenticator.service';

/** Methods whose requests may carry a body that Fastify reads and parses before any route guard runs. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Identifies the caller of a request that may carry a body before the body is read: Nest's
 * guard runs only after Fastify has read and parsed it, so without this a caller with no valid
 * credential could make the service read and parse up to 32 MB of JSON (an infer or invocations
 * body) and would be answered 400 or 415 instead of 401. The role check stays with the route
 * (AuthGuard, PredictRoute), which reuses the identity found here (one credential lookup, one
 * rate-limit token per request). No route that takes a body is public; one marked @Public()
 * would answer 401 without a credential, failing closed.
 */
@Injectable()
export class CredentialFirst {
  constructor(private readonly authenticator: Authenticator) {}

  install(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', async (request: FastifyRequest & AuthedRequest) => {
      if (BODY_METHODS.has(request.method) && !request.auth) request.auth = await this.authenticator.identify(request.headers);
    });
  }
}
