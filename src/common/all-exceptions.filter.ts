import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CommonError, CommonErrorCode, DomainError, httpStatusOf } from './domain-error';
import { errorBody, ErrorBody } from './error-body';
import { storageRefusalOf } from './storage-refusal';
import { isUnstorableTextError, UNSTORABLE_TEXT } from './storable-text';

/** Fastify's own error codes for malformed transport, mapped to ours. */
const FASTIFY_CODES: Record<string, { status: number; code: CommonErrorCode }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: CommonErrorCode.UnsupportedMediaType },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: CommonErrorCode.PayloadTooLarge },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: CommonErrorCode.InvalidRequest },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: CommonErrorCode.InvalidRequest },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, code: CommonErrorCode.UnsupportedMediaType },
  FST_PARTS_LIMIT: { status: 413, code: CommonErrorCode.PayloadTooLarge },
  FST_FILES_LIMIT: { status: 413, code: CommonErrorCode.PayloadTooLarge },
  FST_FIELDS_LIMIT: { status: 413, code: CommonErrorCode.PayloadTooLarge },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: CommonErrorCode.PayloadTooLarge },
};

/** 5xx domain errors logged where they arise (SessionCache warns per load attempt) or not the server's fault (a model bigger than the cache). */
const LOGGED_WHERE_DECIDED = new Set<string>(['MODEL_LOAD_FAILED', 'MODEL_TOO_LARGE']);

const HTTP_STATUS_CODES: Record<number, CommonErrorCode> = {
  400: CommonErrorCode.InvalidRequest,
  401: CommonErrorCode.Unauthenticated,
  403: CommonErrorCode.Forbidden,
  404: CommonErrorCode.NotFound,
  405: CommonErrorCode.MethodNotAllowed,
  413: CommonErrorCode.PayloadTooLarge,
  415: CommonErrorCode.UnsupportedMediaType,
};

/**
 * One filter for every error: domain errors carry their code, Nest/Fastify errors are
 * translated, and anything unexpected becomes a 500 without a stack trace in the body.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const { status, body, headers } = this.answerFor(exception, contentTypeOf(http.getRequest?.()));
    void reply.headers(headers).status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  /**
   * The whole answer to an error: status, body and the error's own headers (Retry-After…); a 5xx
   * is logged with its stack. For routes answered outside Nest too (the /v1/predict fast lane).
   */
  answerFor(exception: unknown, contentType?: string): { status: number; body: ErrorBody; headers: Record<string, string> } {
    const { status, body } = this.toResponse(exception, contentType);
    if (status >= 500) this.log5xx(exception);
    return { status, body, headers: exception instanceof DomainError ? exception.headers : {} };
  }

  /**
   * An unexpected failure's stack is for the operator. A domain error's 5xx is a deliberate
   * answer: one line, or nothing for those logged once where they are decided (a load failure's
   * stack on every request would flood the log while the model waits for its next attempt).
   */
  private log5xx(exception: unknown): void {
    if (!(exception instanceof DomainError)) this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    else if (!LOGGED_WHERE_DECIDED.has(exception.code)) this.logger.warn(`${exception.code}: ${exception.message}`);
  }

  /** `contentType`: the request's, named in a 415 (the HTTP layer's own text names no type). */
  toResponse(exception: unknown, contentType?: string): { status: number; body: ErrorBody } {
    const response = this.translate(exception);
    // The HTTP layer's own text ("Unsupported Media Type") does not say what to send instead.
    if (response.status === 415 && !(exception instanceof DomainError)) {
      const refused = contentType && response.body.error.message === 'Unsupported Media Type' ? `Unsupported Media Type: ${contentType.slice(0, 100)}` : response.body.error.message;
      return this.translate(unsupportedMediaType(refused));
    }
    return response;
  }

  private translate(exception: unknown): { status: number; body: ErrorBody } {
    if (exception instanceof DomainError) {
      return { status: httpStatusOf(exception.code), body: errorBody(exception.code, exception.message, exception.details) };
    }
    if (exception instanceof HttpException) return this.fromHttpException(exception);
    const fastifyCode = (exception as { code?: string } | null)?.code;
    if (fastifyCode && FASTIFY_CODES[fastifyCode]) {
      const { status, code } = FASTIFY_CODES[fastifyCode];
      return { status, body: errorBody(code, (exception as Error).message) };
    }
    const statusCode = (exception as { statusCode?: number } | null)?.statusCode;
    if (statusCode && statusCode >= 400 && statusCode < 500) {
      const code = HTTP_STATUS_CODES[statusCode] ?? CommonErrorCode.InvalidRequest;
      return { status: statusCode, body: errorBody(code, (exception as Error).message) };
    }
    // Backstop for strings no route checked: the client sent text the database cannot hold.
    if (isUnstorableTextError(exception)) {
      return { status: 400, body: errorBody(CommonErrorCode.InvalidRequest, `The request holds text the database cannot store: ${UNSTORABLE_TEXT}`) };
    }
    // The client went away while its body was read: nobody reads this answer, and it is no server fault.
    if (isClientAbort(exception)) return { status: 400, body: errorBody(CommonErrorCode.InvalidRequest, 'The client closed the connection before its request was received') };
    const storage = storageRefusalOf(exception);
    if (storage) return { status: httpStatusOf(storage.code), body: errorBody(storage.code, storage.message) };
    if (isDatabaseUnavailable(exception)) {
      return { status: 503, body: errorBody(CommonErrorCode.ServiceUnavailable, 'The database is unavailable right now; try again shortly') };
    }
    return { status: 500, body: errorBody(CommonErrorCode.Internal, 'Internal server error') };
  }

  private fromHttpException(exception: HttpException): { status: number; body: ErrorBody } {
    const status = exception.getStatus();
    const response = exception.getResponse() as string | { message?: string | string[] };
    const raw = typeof response === 'string' ? response : response.message;
    // ValidationPipe reports a list of messages: keep them all as details.
    if (Array.isArray(raw)) {
      return {
        status,
        body: errorBody(CommonErrorCode.ValidationFailed, raw.join('; '), { problems: raw }),
      };
    }
    const code = status >= 500 ? CommonErrorCode.Internal : (HTTP_STATUS_CODES[status] ?? CommonErrorCode.InvalidRequest);
    const message = status >= 500 ? 'Internal server error' : (raw ?? exception.message);
    return { status, body: errorBody(code, message) };
  }
}

function contentTypeOf(request: { headers?: Record<string, unknown> } | undefined): string | undefined {
  const type = request?.headers?.['content-type'];
  return typeof type === 'string' ? type : undefined;
}

/** A 415 that says what the API takes instead (`what`: which type was refused). */
export function unsupportedMediaType(what: string): CommonError {
  return new CommonError(CommonErrorCode.UnsupportedMediaType, `${what} — send JSON (content-type: application/json), or multipart/form-data to upload a model`);
}

/** Connection-level database failures (an outage, not a bug): the caller may retry, so 503. */
const DB_UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', '3D000']);
const DB_UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|terminating connection|not currently accepting connections|Client has encountered a connection error/i;

/** Node's error for a request body cut off by the client ("aborted", ECONNRESET). */
function isClientAbort(error: unknown): boolean {
  return error instanceof Error && error.message === 'aborted' && (error as Error & { code?: unknown }).code === 'ECONNRESET';
}

export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; driverError?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && DB_UNAVAILABLE_CODES.has(e.code)) return true;
  if (typeof e.message === 'string' && DB_UNAVAILABLE_MESSAGES.test(e.message)) return true;
  return e.driverError !== undefined && e.driverError !== error && isDatabaseUnavailable(e.driverError);
}
