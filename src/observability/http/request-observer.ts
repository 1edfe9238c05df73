import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthContext } from '../../auth/auth-context';
import { RequestLog, scrubRequestText } from '../logging/app-logger';
import { ServiceMetrics } from '../metrics/service-metrics';
import { MODEL_NAME } from '../../registry/names';
import { MODEL_VERSION_HEADER } from '../../serving/model-version-header';

const OBSERVED = Symbol('mms.observed');
const PREDICT = '/v1/predict';
/** Probes and scrapes: logged at debug level only. */
const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/v2/health/live', '/v2/health/ready', '/metrics']);

/**
 * The status a request is counted and logged with when its client closed the connection before
 * the answer (nginx's convention; no answer is sent): client timeouts show in the metrics and
 * the request log instead of vanishing from both.
 */
export const CLIENT_CLOSED_REQUEST = 499;

interface Observed {
  startedAt: bigint;
  /** Recorded already (a client that left is recorded when it leaves, never again after). */
  recorded?: boolean;
  model?: string;
  version?: string;
  predictionId?: string;
}

/** What the metrics and the request log line are made of. */
export interface DirectRequest {
  requestId: string;
  method: string;
  route: string;
  url: string;
  status: number;
  /** process.hrtime.bigint() when the request arrived. */
  startedAt: bigint;
  auth?: AuthContext;
  model?: string;
  version?: string;
  predictionId?: string;
}

type ObservedRequest = FastifyRequest & { auth?: AuthContext; [OBSERVED]?: Observed };

/**
 * Request ids: the caller's `x-request-id` when it is a sane token, else a new UUID. Given to
 * Fastify as genReqId; the id is echoed in the `x-request-id` response header.
 */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * Watches every HTTP request from outside the modules that answer it, through three Fastify
 * hooks: it times the request, notes the model and version a prediction answered (from the
 * answer before serialisation), and at the end records the request metrics and the request log
 * line (serving hands predictions to the prediction log itself). Nothing here can fail a request.
 */
@Injectable()
export class RequestObserver {
  private log?: RequestLog;

  constructor(private readonly metrics: ServiceMetrics) {}

  install(fastify: FastifyInstance, log: RequestLog): void {
    this.log = log;
    fastify.addHook('onRequest', (request, reply, done) => {
      (request as ObservedRequest)[OBSERVED] = { startedAt: process.hrtime.bigint() };
      void reply.header('x-request-id', request.id);
      done();
    });
    fastify.addHook('preSerialization', (request, reply, payload, done) => {
      try {
        this.noteAnswer(request as ObservedRequest, reply, payload);
      } catch {
        // observing must never break an answer
      }
      done(null, payload);
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      try {
        this.finish(request as ObservedRequest, reply, reply.statusCode, log);
      } catch {
        // nor the end of one
      }
      done();
    });
    fastify.addHook('onRequestAbort', (request, done) => {
      try {
        this.finish(request as ObservedRequest, undefined, CLIENT_CLOSED_REQUEST, log);
      } catch {
        // nor a client leaving
      }
      done();
    });
  }

  private noteAnswer(request: ObservedRequest, reply: FastifyReply, payload: unknown): void {
    const observed = request[OBSERVED];
    if (!observed || reply.statusCode >= 300 || payload === null || typeof payload !== 'object') return;
    // Open Inference Protocol answers name their model and version.
    const oip = payload as { model_name?: unknown; model_version?: unknown };
    if (typeof oip.model_name === 'string') observed.model = oip.model_name;
    if (typeof oip.model_version === 'string' || typeof oip.model_version === 'number') observed.version = String(oip.model_version);
  }

  /**
   * The model, version and id a /v1/predict answer came from, for the metrics and the request
   * log (the route sends its answer already encoded, so no preSerialization hook sees it). Never throws.
   */
  noteAnswered(request: FastifyRequest, answer: { model: string; version: number; predictionId: string }): void {
    const observed = (request as ObservedRequest)[OBSERVED];
    if (!observed) return;
    observed.model = answer.model;
    observed.version = String(answer.version);
    observed.predictionId = answer.predictionId;
  }

  /** Records the request with `status` (the reply's, or CLIENT_CLOSED_REQUEST without one), once. */
  private finish(request: ObservedRequest, reply: FastifyReply | undefined, status: number, log: RequestLog): void {
    const observed = request[OBSERVED];
    if (!observed || observed.recorded) return;
    observed.recorded = true;
    const route = request.routeOptions.url ?? 'unmatched';
    const auth = request.auth;
    // Only an authenticated caller's model names count: strangers cannot push names into the top N.
    const model = auth ? (observed.model ?? requestedModel(request, route)) : undefined;
    let version = observed.version;
    if (model && version === undefined) {
      const header = reply?.getHeader(MODEL_VERSION_HEADER);
      const param = (request.params as Record<string, unknown> | undefined)?.version;
      version = header !== undefined ? String(header) : typeof param === 'string' ? param : undefined;
    }
    this.record(log, { requestId: request.id, method: request.method, route, url: request.url, status, startedAt: observed.startedAt, auth, model, version, predictionId: observed.predictionId });
  }

  /**
   * The end of a request answered outside Fastify (the /v1/predict fast lane, predict-fast-lane.ts):
   * the same metrics and request log line as any other request. Never throws.
   */
  finishDirect(request: DirectRequest): void {
    if (!this.log) return;
    try {
      this.record(this.log, request);
    } catch {
      // observing must never break an answer
    }
  }

  private record(log: RequestLog, r: DirectRequest): void {
    const seconds = Number(process.hrtime.bigint() - r.startedAt) / 1e9;
    const model = r.auth ? r.model : undefined;
    this.metrics.observeRequest({ tenantId: r.auth?.tenantId ?? null, method: r.method, route: r.route, status: r.status, model: labelledModel(model, r.status), version: r.version, seconds });
    // A literal (undefined fields are left out of the line): spreading would cost microseconds per request.
    log.request(
      {
        // What the caller wrote (id, URL, model name) may quote a credential by mistake: masked.
        reqId: scrubRequestText(r.requestId),
        method: r.method,
        route: r.route,
        url: scrubRequestText(r.url.length > 512 ? `${r.url.slice(0, 512)}…` : r.url),
        status: r.status,
        latencyMs: Math.round(seconds * 1e6) / 1e3,
        tenant: r.auth?.tenantId ?? null,
        principal: r.auth?.principal ?? null,
        model: model === undefined ? undefined : scrubRequestText(model),
        version: model ? r.version : undefined,
        predictionId: r.predictionId,
      },
      QUIET_ROUTES.has(r.route),
    );
  }
}

/** The model a request is about, when no answer named it: the `:name` in the route, or a predict body's `model`. */
function requestedModel(request: FastifyRequest, route: string): string | undefined {
  const name = (request.params as Record<string, unknown> | undefined)?.name;
  if (typeof name === 'string' && name.length <= 128) return name;
  return route === PREDICT ? modelOfBody(request.body) : undefined;
}

/**
 * The model a request's metrics are labelled with: the one it names, when it was answered (2xx,
 * 3xx) or failed on the server's side (5xx: a model that would not load), and the name is a valid
 * model name. A refused request (4xx) names no model for the metrics: many refusals come before
 * the model is looked up, so any caller could otherwise take labels of the top N, which is shared
 * by all tenants, with names that are no model (real models then go to `other`). The request log
 * still shows the name asked for.
 */
function labelledModel(model: string | undefined, status: number): string | undefined {
  return model !== undefined && (status < 400 || status >= 500) && MODEL_NAME.test(model) ? model : undefined;
}

/** A predict body's `model`, when it is a plausible name (for metrics and the request log). */
export function modelOfBody(body: unknown): string | undefined {
  const model = body !== null && typeof body === 'object' ? (body as { model?: unknown }).model : undefined;
  return typeof model === 'string' && model.length <= 128 ? model : undefined;
}
