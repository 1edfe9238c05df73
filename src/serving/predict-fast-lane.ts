import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthContext } from '../auth/auth-context';
import { Authenticator } from '../auth/authenticator.service';
import { AllExceptionsFilter } from '../common/all-exceptions.filter';
import { CLIENT_CLOSED_REQUEST, modelOfBody, RequestObserver, requestIdOf } from '../observability/http/request-observer';
import { fastifyJsonParser, LARGE_BODY_BYTES } from './large-json-body';
import { answerJson, JSON_TYPE, PREDICT_PATH } from './predict.route';
import { ServingService } from './serving.service';
import { MODEL_VERSION_HEADER } from './model-version-header';

/** `application/json`, alone or in UTF-8; any other parameter (another charset) is Fastify's to judge. */
const JSON_CONTENT = /^application\/json\s*(;\s*charset\s*=\s*"?utf-?8"?\s*)?$/i;

type JsonParser = (bytes: Buffer) => unknown;

/**
 * POST /v1/predict's common case, answered straight from Node's HTTP server, before Fastify:
 * a small JSON body with a Content-Length. Fastify's per-request machinery (request and reply
 * objects, hook chains, content-type dispatch, reply serialisation) costs the HTTP thread about
 * as much as everything else a small prediction needs, and the HTTP thread is what limits
 * requests per second. Everything a request sees is the same as on the Fastify route
 * (predict.route.ts), which still takes every other case (big or chunked bodies, other content
 * types, query strings): the same authentication decision, JSON parser (prototype-poisoning
 * checks and error included), serving call, answer bytes and headers, error bodies (the
 * global filter's translation), request metrics, request log line and prediction log.
 */
@Injectable()
export class PredictFastLane implements BeforeApplicationShutdown {
  private readonly errors = new AllExceptionsFilter();
  private parseJson?: JsonParser;
  /** From shutdown on, requests go to Fastify, which answers 503 while the server closes. */
  private closing = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: Authenticator,
    private readonly serving: ServingService,
    private readonly observer: RequestObserver,
  ) {}

  beforeApplicationShutdown(): void {
    this.closing = true;
  }

  /** Answers the request and says true, or says false and leaves it untouched for Fastify. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.closing || req.method !== 'POST' || req.url !== PREDICT_PATH) return false;
    const headers = req.headers;
    const type = headers['content-type'];
    if (type === undefined || (type !== 'application/json' && !JSON_CONTENT.test(type))) return false;
    const length = Number(headers['content-length']);
    if (!(length > 0 && length < LARGE_BODY_BYTES) || headers['transfer-encoding'] !== undefined || headers['content-encoding'] !== undefined) return false;
    const parse = this.parseJson ?? this.jsonParser();
    if (!parse) return false;
    void this.serve(req, res, parse);
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, parse: JsonParser): Promise<void> {
    const startedAt = process.hrtime.bigint();
    const requestId = requestIdOf(req);
    let auth: AuthContext | undefined;
    let body: unknown;
    let status = 200;
    let model: string | undefined;
    let version: string | undefined;
    let predictionId: string | undefined;
    try {
      auth = await this.authenticator.authenticate(req.headers, 'scorer');
      body = parse(await readBody(req));
      const header = req.headers['x-routing-key'];
      const routingKey = typeof header === 'string' ? header : undefined;
      const result = await this.serving.predict(auth, body, routingKey);
      model = result.model;
      version = String(result.version);
      predictionId = result.predictionId;
      // A big answer comes encoded by the codec thread.
      const answer = 'payload' in result ? result.payload : answerJson(result);
      // A client that left gets no answer, but its request is counted and logged (499).
      if (res.destroyed) status = CLIENT_CLOSED_REQUEST;
      else {
        res.writeHead(200, { 'x-request-id': requestId, [MODEL_VERSION_HEADER]: version, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
      }
    } catch (error) {
      status = error instanceof ClientGone || res.destroyed ? CLIENT_CLOSED_REQUEST : this.answerError(res, requestId, error);
      model = modelOfBody(body);
    }
    this.observer.finishDirect({ requestId, method: 'POST', route: PREDICT_PATH, url: PREDICT_PATH, status, startedAt, auth, model, version, predictionId });
  }

  /** As the global exception filter answers (same status, body and headers). */
  private answerError(res: ServerResponse, requestId: string, error: unknown): number {
    let { status, body, headers } = this.errors.answerFor(error);
    if (res.headersSent || res.destroyed) return status;
    let text: string;
    try {
      text = JSON.stringify(body);
    } catch (unwritable) {
      // An error whose details cannot be written (nested too deep): a 500, never a crashed process.
      ({ status, body, headers } = this.errors.answerFor(unwritable));
      text = JSON.stringify(body);
    }
    res.writeHead(status, { 'x-request-id': requestId, ...headers, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return status;
  }

  /** Fastify's JSON parser, as the Fastify route uses it (see LargeJsonBodyParser). */
  private jsonParser(): JsonParser | undefined {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (!fastify || typeof fastify.getDefaultJsonParser !== 'function') return undefined;
    this.parseJson = fastifyJsonParser(fastify).parseNow;
    return this.parseJson;
  }
}

/** The client closed the connection before its request was read: there is no one to answer. */
class ClientGone extends Error {}

/** The whole body (Node's parser stops at the Content-Length); rejects when the client goes away first. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new ClientGone('the client closed the connection before sending the whole body'));
    });
  });
}
