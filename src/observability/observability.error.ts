import { DomainError } from '../common/domain-error';

/** Codes of the observability module; their HTTP statuses live in common/domain-error.ts. */
export enum ObservabilityErrorCode {
  InvalidRequest = 'INVALID_REQUEST',
  /** The actual cannot be paired with the prediction (wrong output name or number of values). */
  InvalidFeedback = 'INVALID_FEEDBACK',
  /** No logged prediction with that id (or model and key) in the caller's tenant. */
  PredictionNotFound = 'PREDICTION_NOT_FOUND',
  ModelNotFound = 'MODEL_NOT_FOUND',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
}

export class ObservabilityError extends DomainError<ObservabilityErrorCode> {}
