/**
 * Base of every module's error class. A module defines its own codes (an enum) and its class
 * (`class XxxError extends DomainError<XxxErrorCode> {}`), and throws
 * `new XxxError(code, message, details)`; the global filter maps the code to an HTTP status
 * and to the error body of API.md, so controllers and services never pick status codes.
 */
export class DomainError<Code extends string = string> extends Error {
  /** Response headers that belong to the error (e.g. Retry-After on 429). */
  headers: Record<string, string> = {};

  constructor(
    readonly code: Code,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  withHeader(name: string, value: string): this {
    this.headers[name] = value;
    return this;
  }
}

/** Codes shared by all modules (transport-level mistakes and the catch-all). */
export enum CommonErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  InvalidRequest = 'INVALID_REQUEST',
  NotFound = 'NOT_FOUND',
  MethodNotAllowed = 'METHOD_NOT_ALLOWED',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  /** Node's HTTP parser gave up waiting for the request (answered on the socket, transport-errors.ts). */
  RequestTimeout = 'REQUEST_TIMEOUT',
  /** The request's headers are beyond Node's limit (answered on the socket, transport-errors.ts). */
  HeadersTooLarge = 'HEADERS_TOO_LARGE',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  /** The disk (model store, data directory or database) is full: nothing was stored. */
  StorageFull = 'STORAGE_FULL',
  /** The storage cannot be written (read-only). */
  StorageReadOnly = 'STORAGE_READ_ONLY',
  Internal = 'INTERNAL',
}

export class CommonError extends DomainError<CommonErrorCode> {}

/** The one place that says which HTTP status a code maps to. */
const STATUS_BY_CODE: Record<string, number> = {
  VALIDATION_FAILED: 400,
  INVALID_TRAFFIC_RULE: 400,
  TRAFFIC_RULE_NOT_FOUND: 404,
  ROLLOUT_NOT_FOUND: 404,
  ROLLOUT_ROLLED_BACK: 409,
  ROLLBACK_VERSION_GONE: 409,
  ROLLOUT_CONFLICT: 409,
  NOTHING_SELECTED: 404,
  INVALID_REQUEST: 400,
  INVALID_MODEL_NAME: 400,
  INVALID_ALIAS_NAME: 400,
  ARTIFACT_MISSING: 400,
  ARCHIVE_UNSAFE: 400,
  INVALID_CURSOR: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  QUOTA_EXCEEDED: 403,
  TENANT_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  TENANT_EXISTS: 409,
  RATE_LIMITED: 429,
  NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  ALIAS_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  VERSION_IN_USE: 409,
  PAYLOAD_TOO_LARGE: 413,
  ARTIFACT_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  ARTIFACT_INVALID: 422,
  MLMODEL_INVALID: 422,
  // serving (src/serving/serving.error.ts)
  INVALID_INPUT: 400,
  NO_MODEL_FOR_SEGMENT: 404,
  PIN_LIMIT_EXCEEDED: 409,
  INFERENCE_FAILED: 422,
  MODEL_LOAD_FAILED: 503,
  MODEL_TOO_LARGE: 503,
  WORKER_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
  STORAGE_FULL: 507,
  STORAGE_READ_ONLY: 503,
  // batch (src/batch/batch.error.ts)
  INVALID_BATCH_JOB: 400, INVALID_INPUT_URI: 400, INPUT_NOT_FOUND: 400, INVALID_CRON: 400, JOB_NOT_FOUND: 404, SCHEDULE_NOT_FOUND: 404, OUTPUT_NOT_READY: 409, JOB_STATE_CONFLICT: 409,
  // observability (src/observability/observability.error.ts)
  PREDICTION_NOT_FOUND: 404, INVALID_FEEDBACK: 400,
  INTERNAL: 500,
};

export function httpStatusOf(code: string): number {
  return STATUS_BY_CODE[code] ?? 400;
}
