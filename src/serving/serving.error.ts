import { DomainError } from '../common/domain-error';

/** Codes of the online serving module; their HTTP statuses live in common/domain-error.ts. */
export enum ServingErrorCode {
  InvalidRequest = 'INVALID_REQUEST',
  InvalidInput = 'INVALID_INPUT',
  InvalidModelName = 'INVALID_MODEL_NAME',
  ModelNotFound = 'MODEL_NOT_FOUND',
  VersionNotFound = 'VERSION_NOT_FOUND',
  AliasNotFound = 'ALIAS_NOT_FOUND',
  NoModelForSegment = 'NO_MODEL_FOR_SEGMENT',
  PinLimitExceeded = 'PIN_LIMIT_EXCEEDED',
  /** The runtime refused inputs that passed the signature check (e.g. a value-dependent op). */
  InferenceFailed = 'INFERENCE_FAILED',
  /** The artifact did not load; retried on a later request after a backoff. */
  ModelLoadFailed = 'MODEL_LOAD_FAILED',
  /** The model alone is estimated larger than the whole session cache. */
  ModelTooLarge = 'MODEL_TOO_LARGE',
  /** The worker thread holding the model died mid-request; it is restarted. */
  WorkerUnavailable = 'WORKER_UNAVAILABLE',
}

export class ServingError extends DomainError<ServingErrorCode> {}

export function invalidInput(message: string, details: Record<string, unknown>): ServingError {
  return new ServingError(ServingErrorCode.InvalidInput, message, details);
}

export function invalidRequest(message: string, details: Record<string, unknown> = {}): ServingError {
  return new ServingError(ServingErrorCode.InvalidRequest, message, details);
}

/** 422: the runtime could not compute the model on inputs that passed the signature check (`reason` fit for a client). */
export function inferenceFailed(target: { model: string; version: number }, reason: string): ServingError {
  return new ServingError(ServingErrorCode.InferenceFailed, `The runtime could not compute model '${target.model}' version ${target.version} on these inputs: ${reason}`, {
    model: target.model,
    version: target.version,
    reason,
  });
}
