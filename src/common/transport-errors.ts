import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CommonError, CommonErrorCode } from './domain-error';
import { errorBody } from './error-body';

/**
 * What the HTTP layer refuses before a route runs, answered with API.md's error body like every
 * other error: Fastify and Node otherwise write their own (`{"statusCode":400,"code":"FST_ERR_BAD_URL",…}`),
 * which clients coded against the contract cannot read.
 */

/** Fastify's `frameworkErrors`: a path whose percent-encoding is malformed, or a path segment beyond `maxParamLength`. */
export function answerFrameworkError(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  // The path only: a query string may hold what should not be echoed (a token).
  const path = request.url.split('?')[0];
  const shown = path.length > 200 ? `${path.slice(0, 200)}…` : path;
  const refusal =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new CommonError(CommonErrorCode.InvalidRequest, `A segment of the path ${shown} is too long`)
      : new CommonError(CommonErrorCode.InvalidRequest, `The path ${shown} is not valid: a '%' must start a percent-encoded UTF-8 byte (%XX)`);
  void reply.code(400).header('x-request-id', request.id).header('content-type', 'application/json; charset=utf-8').send(errorBody(refusal.code, refusal.message, refusal.details));
}

/** Node's HTTP parser refused the request itself (malformed request line or headers, headers too large, too slow). */
const CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: CommonErrorCode.RequestTimeout, message: 'The request was not received in time' },
  HPE_HEADER_OVERFLOW: { status: 431, code: CommonErrorCode.HeadersTooLarge, message: 'The request headers are larger than the server takes (16 KiB)' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, code: CommonErrorCode.PayloadTooLarge, message: 'The chunk extensions of the request body are larger than the server takes' },
};

/**
 * Fastify's `clientErrorHandler`: answers on the socket (there is no request object), then closes
 * it, as Node and Fastify do.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean; writableFinished?: boolean } })._httpMessage;
  // Bytes after a request that said `Connection: close` (a Content-Length smaller than its body):
  // that request is running and its answer is on the way; a 400 in its place, with the socket
  // destroyed under it, would tell the client it was refused while it takes effect.
  if (error.code === 'HPE_CLOSED_CONNECTION' && inFlight && !inFlight.writableFinished) return;
  const known = (error.code && CLIENT_ERRORS[error.code]) || { status: 400, code: CommonErrorCode.InvalidRequest, message: 'The request is not valid HTTP/1.1' };
  const body = JSON.stringify(errorBody(known.code, known.message, error.code ? { reason: error.code } : {}));
  // As Node does: not into an answer already being written on this connection (a pipelined request's).
  if (socket.writable && !inFlight?.headersSent) {
    socket.write(`HTTP/1.1 ${known.status} ${STATUS_TEXT[known.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

/**
 * Refusals Node makes itself, with no body at all: an HTTP/1.1 request without a Host header
 * (a bare 400), CONNECT (the socket dropped without an answer) and an `Expect` other than
 * `100-continue` (a bare 417). Answered in API.md's body; the server is created with
 * `requireHostHeader: false` so that the first reaches `refuseHostless`.
 */
export function answerNodeRefusals(server: Server): void {
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    // A 405 names what is allowed (RFC 9110): for CONNECT's host:port target, the methods this server takes at all.
    const allowed = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
    const body = JSON.stringify(errorBody(CommonErrorCode.MethodNotAllowed, 'CONNECT is not allowed: this is not a proxy', { allowed }));
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\nAllow: ${allowed.join(', ')}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  // Listening replaces Node's bare 417; the request is not handled (its body is never read).
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const message = `Expect: ${String(req.headers.expect).slice(0, 100)} cannot be met: the only expectation this server knows is 100-continue`;
    const body = JSON.stringify(errorBody(CommonErrorCode.InvalidRequest, message, { header: 'expect' }));
    res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  });
}

/** True (and answered 400) for an HTTP/1.1 request without a Host header, which HTTP/1.1 requires. */
export function refuseHostless(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.httpVersion !== '1.1' || req.headers.host !== undefined) return false;
  const body = JSON.stringify(errorBody(CommonErrorCode.InvalidRequest, 'The request is not valid HTTP/1.1: it has no Host header', {}));
  res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  return true;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' };

/**
 * Bodies are read as they come: a compressed body (Content-Encoding) would be parsed as its
 * compressed bytes, and JSON in another charset than UTF-8 as UTF-8. Both are refused (415) before
 * they are read, saying what to send.
 */
export function refuseUnreadableBodies(fastify: FastifyInstance): void {
  fastify.addHook('preParsing', async (request) => {
    if (request.method === 'GET' || request.method === 'HEAD') return; // their bodies are never read
    const refusal = unreadableBody(request.headers) ?? typeOutsideItsRoute(request.headers['content-type'], request.routeOptions.url) ?? mergePatchOutsidePatch(request.headers['content-type'], request.method);
    if (refusal) throw refusal;
  });
}

/**
 * Body types one route reads: multipart/form-data a model upload, text/csv MLflow's invocations.
 * Their parsers serve every route, so elsewhere such a body would reach the route as something
 * it cannot read ("must be a JSON object"): refused as any other type the route does not take (415).
 */
const ROUTE_ONLY_TYPES: ReadonlyArray<{ type: RegExp; route: string; purpose: string }> = [
  { type: /^multipart\//i, route: '/v1/models/:name/versions', purpose: 'multipart/form-data is for model uploads only' },
  { type: /^text\/csv\b/i, route: '/v1/models/:name/invocations', purpose: 'text/csv is for MLflow invocations only' },
];

function typeOutsideItsRoute(type: string | undefined, route: string | undefined): CommonError | undefined {
  const only = type === undefined ? undefined : ROUTE_ONLY_TYPES.find((t) => t.type.test(type.trim()));
  if (!only || route === only.route) return undefined;
  return new CommonError(CommonErrorCode.UnsupportedMediaType, `Unsupported Media Type: ${type!.split(';')[0].trim().slice(0, 60)} — send JSON (content-type: application/json); ${only.purpose}`);
}

/** RFC 7396's media type: JSON, read as such by PATCH, whose tags and segment are merge patches. */
export const MERGE_PATCH_TYPE = 'application/merge-patch+json';

/** Its parser serves every route (large-json-body.ts), so another method refuses it here, as any type it does not take. */
function mergePatchOutsidePatch(type: string | undefined, method: string): CommonError | undefined {
  if (method === 'PATCH' || type?.split(';')[0].trim().toLowerCase() !== MERGE_PATCH_TYPE) return undefined;
  return new CommonError(CommonErrorCode.UnsupportedMediaType, `Unsupported Media Type: ${MERGE_PATCH_TYPE} — send JSON (content-type: application/json); ${MERGE_PATCH_TYPE} is for PATCH only`);
}

/**
 * While the server closes (SIGTERM), requests that reach it are refused in API.md's body, not
 * Fastify's own `{"error":"Service Unavailable",…}` (its `return503OnClosing`, turned off for
 * this): 503 SERVICE_UNAVAILABLE with `Connection: close`, so a client retries elsewhere.
 */
export function refuseWhileClosing(fastify: FastifyInstance): void {
  let closing = false;
  fastify.addHook('preClose', async () => {
    closing = true;
  });
  fastify.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    const refusal = new CommonError(CommonErrorCode.ServiceUnavailable, 'The service is shutting down; send the request again (to another replica)');
    return reply.code(503).header('connection', 'close').header('x-request-id', request.id).send(errorBody(refusal.code, refusal.message, refusal.details));
  });
}

/** Charsets JSON may be sent in and read as UTF-8 (ASCII is a subset of it). */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'csutf8', 'us-ascii', 'ascii']);

/** Why a body with these headers cannot be read as sent; undefined when it can (or there is no body). */
export function unreadableBody(headers: IncomingHttpHeaders): CommonError | undefined {
  const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
  if (!hasBody) return undefined;
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding.split(',').some((coding) => coding.trim() !== 'identity' && coding.trim() !== '')) {
    return new CommonError(CommonErrorCode.UnsupportedMediaType, `Content-Encoding '${encoding.slice(0, 40)}' is not supported: send the body uncompressed`, { contentEncoding: encoding.slice(0, 40) });
  }
  const type = headers['content-type'];
  const charset = type && /^(application\/json|text\/csv)\b/i.test(type) ? parameterOf(type, 'charset')?.toLowerCase() : undefined;
  if (charset && !UTF8_CHARSETS.has(charset)) {
    return new CommonError(CommonErrorCode.UnsupportedMediaType, `${/csv/i.test(type ?? '') ? 'CSV' : 'JSON'} in charset '${charset.slice(0, 40)}' is not supported: send it in UTF-8`, { charset: charset.slice(0, 40) });
  }
  return undefined;
}

/** A parameter of a media type (`; name=value`, the value possibly quoted), parsed so that a quoted value cannot pass for another parameter. */
function parameterOf(mediaType: string, name: string): string | undefined {
  for (const [, key, value] of mediaType.matchAll(/;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g)) {
    if (key.toLowerCase() === name) return value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value.trim();
  }
  return undefined;
}
