import type { OpenAPIObject } from '@nestjs/swagger';
import { MODEL_VERSION_HEADER } from '../serving/model-version-header';
import { OPERATION_RESPONSES, RESPONSE_SCHEMAS } from './openapi-responses';

export const ERROR_SCHEMA_NAME = 'Error';

/** The error body of API.md, `{"error": {"code", "message", "details"}}`, as a schema. */
const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', example: 'MODEL_NOT_FOUND', description: 'stable, machine-readable' },
        message: { type: 'string', example: "Model 'demand-north-0042' not found" },
        details: { type: 'object', additionalProperties: true, example: { name: 'demand-north-0042' } },
      },
    },
  },
} as const;

const ERROR_CONTENT = { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA_NAME}` } } };

/** The operations that answer the serving version in `x-model-version` (route-answer.ts, predict.route.ts). */
const VERSION_HEADER_OPERATIONS: ReadonlyArray<[string, string]> = [
  ['/v1/predict', 'post'],
  ['/v2/models/{name}/infer', 'post'],
  ['/v2/models/{name}/versions/{version}/infer', 'post'],
  ['/v1/models/{name}/invocations', 'post'],
];

type Responses = Record<string, { description?: string; content?: unknown; headers?: Record<string, unknown> }>;

/**
 * What every route shares, which the per-route decorators do not say: the bodies API.md names
 * (openapi-responses.ts), every 4xx and 5xx comes
 * back as the error body (so a client generated from /docs can read one; the health probes'
 * 503 is their own body), and the prediction routes name the version that served in
 * `x-model-version`.
 */
export function documentCommonResponses(document: OpenAPIObject): void {
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, [ERROR_SCHEMA_NAME]: ERROR_SCHEMA as never, ...(RESPONSE_SCHEMAS as Record<string, never>) };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, { responses?: Responses }>)) {
      if (!operation || typeof operation !== 'object' || !('responses' in operation)) continue;
      const responses = (operation.responses ??= {});
      const answer = OPERATION_RESPONSES[`${method} ${path}`];
      if (answer) {
        const [status, schema] = answer;
        responses[status] = { ...responses[status], description: responses[status]?.description || schema, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } } };
      }
      // The probes answer their own bodies, never an error body.
      const probe = path.includes('/health/');
      let listsErrors = false;
      for (const [status, response] of Object.entries(responses)) {
        if (Number(status) < 400 || probe) continue;
        listsErrors = true;
        response.content ??= ERROR_CONTENT;
      }
      // An operation that lists its error statuses keeps that list; the others get one for all.
      if (!listsErrors && !probe) responses.default ??= { description: 'An error: {"error": {"code", "message", "details"}} (API.md)', content: ERROR_CONTENT };
      if (VERSION_HEADER_OPERATIONS.some(([p, m]) => p === path && m === method)) {
        for (const [status, response] of Object.entries(responses)) {
          if (!status.startsWith('2')) continue;
          response.headers = { ...response.headers, [MODEL_VERSION_HEADER]: { description: 'the version that served the request', schema: { type: 'string', example: '3' } } };
        }
      }
    }
  }
}
