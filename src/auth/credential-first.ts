import { Injectable, NotFoundException } from '@nestjs/common';
import { CommonError, CommonErrorCode } from '../common/domain-error';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthedRequest } from './auth-context';
import { Authenticator } from './authenticator.service';

/** Methods whose requests may carry a body that Fastify reads and parses before any route guard runs. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Methods an Allow header may list. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

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
 * And, for every method: a path that exists, asked with a method it does not take (GET
 * /v1/predict), is a 405 with an Allow header rather than a 404 that says the path is not there.
 */
@Injectable()
export class CredentialFirst {
  constructor(private readonly authenticator: Authenticator) {}

  install(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', async (request: FastifyRequest & AuthedRequest) => {
      const hasBody = BODY_METHODS.has(request.method);
      if (hasBody) request.auth ??= await this.authenticator.identify(request.headers);
      if (!request.is404) return;
      const allowed = allowedMethods(fastify, request.url);
      if (allowed.length) {
        throw new CommonError(CommonErrorCode.MethodNotAllowed, `${request.method} is not allowed on ${pathOf(request.url)}: use ${allowed.join(', ')}`, { allowed }).withHeader(
          'allow',
          allowed.join(', '),
        );
      }
      if (hasBody) throw new NotFoundException(`Cannot ${request.method} ${request.url}`);
    });
  }
}

/** The methods some route takes at this path (none: the path does not exist). */
function allowedMethods(fastify: FastifyInstance, url: string): string[] {
  const path = pathOf(url);
  return METHODS.filter((method) => fastify.findRoute({ method, url: path }) !== null);
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
