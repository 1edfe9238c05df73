import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthedRequest } from '../auth/auth-context';
import { Authenticator } from '../auth/authenticator.service';
import { RequestObserver } from '../observability/http/request-observer';
import { LargeJsonBody } from './large-json-body';
import { PredictResult, ServingService } from './serving.service';
import { sendModelVersion } from './model-version-header';

export const PREDICT_PATH = '/v1/predict';

/** The request body of /v1/predict, for the OpenAPI description (fanout items share it). */
export const PREDICT_BODY = {
  type: 'object',
  required: ['inputs'],
  properties: {
    model: { type: 'string', example: 'demand-north-0042' },
    segment: { type: 'object', additionalProperties: { type: 'string' }, example: { region: 'north', store: '0042' }, description: 'instead of model: the most specific matching model' },
    version: { type: 'integer', minimum: 1 },
    alias: { type: 'string', example: 'staging' },
    key: { type: 'string', description: 'routing key for traffic rules (or header x-routing-key)' },
    inputs: {
      type: 'object',
      description: 'input name → nested array, or {"shape": [...], "data": [...flat]}',
      example: { float_input: [[1, 0, 4.5, 120, 98, 14]] },
    },
  },
};

/**
 * POST /v1/predict in OpenAPI terms. The route is not a Nest controller (see PredictRoute), so
 * the document Nest generates gets this operation added (app.factory.ts).
 */
export const PREDICT_OPENAPI_PATH = {
  post: {
    operationId: 'predict',
    tags: ['online inference'],
    summary: 'Predict with a model named, or matched by segment; answers the version in x-model-version',
    security: [{ bearer: [] }],
    requestBody: { required: true, content: { 'application/json': { schema: PREDICT_BODY } } },
    responses: {
      200: { description: '{"model", "version", "outputs": {"variable": [[142.5]]}, "predictionId"}' },
      400: { description: 'INVALID_INPUT: wrong input name, dtype or shape' },
      401: { description: 'UNAUTHENTICATED' },
      404: { description: 'MODEL_NOT_FOUND, VERSION_NOT_FOUND, ALIAS_NOT_FOUND, NO_MODEL_FOR_SEGMENT' },
      503: { description: 'MODEL_LOAD_FAILED: the artifact did not load (retried after a backoff)' },
    },
  },
};

/** The content type of every /v1/predict answer (and error). */
export const JSON_TYPE = 'application/json; charset=utf-8';

type PredictRequest = FastifyRequest & AuthedRequest;

/**
 * The hot path, POST /v1/predict, as a plain Fastify route rather than a Nest controller: Nest's
 * per-request pipeline (guard and metadata lookups, interceptor and pipe chains, the response
 * controller) cost more than the prediction itself for a small model. What the route does is
 * the same as any Nest route: the Authenticator's decision (scorer and up) in an onRequest hook,
 * before the body is read; errors thrown here reach Nest's global filter (Nest sets Fastify's
 * error handler), so the error bodies are the same; the request observer's hooks time it,
 * meter it and log it like every other request.
 */
@Injectable()
export class PredictRoute implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: Authenticator,
    private readonly serving: ServingService,
    private readonly observer: RequestObserver,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (!fastify || typeof fastify.route !== 'function') return;
    fastify.route({
      method: 'POST',
      url: PREDICT_PATH,
      onRequest: async (request: PredictRequest) => {
        request.auth = await this.authenticator.authenticateRequest(request, 'scorer');
      },
      handler: (request, reply) => this.predict(request, reply),
    });
  }

  private async predict(request: PredictRequest, reply: FastifyReply): Promise<string | Buffer> {
    const ctx = request.auth!;
    const header = request.headers['x-routing-key'];
    const routingKey = typeof header === 'string' ? header : undefined;
    const body = request.body;
    const result = body instanceof LargeJsonBody ? await this.serving.predictLarge(ctx, body, routingKey) : await this.serving.predict(ctx, body, routingKey);
    sendModelVersion(reply, result.version);
    void reply.type(JSON_TYPE);
    this.observer.noteAnswered(request, result);
    // A big answer comes encoded by the codec thread.
    return 'payload' in result ? result.payload : answerJson(result);
  }
}

/** The answer's JSON, by hand: the same bytes JSON.stringify would write, without a serializer pass over the envelope. */
export function answerJson(r: PredictResult): string {
  return `{"model":${JSON.stringify(r.model)},"version":${r.version},"outputs":${JSON.stringify(r.outputs)},"predictionId":"${r.predictionId}"}`;
}
