import { DomainError } from '../common/domain-error';

export enum RolloutErrorCode {
  InvalidRule = 'INVALID_TRAFFIC_RULE',
  RuleNotFound = 'TRAFFIC_RULE_NOT_FOUND',
  RolloutNotFound = 'ROLLOUT_NOT_FOUND',
  RolloutAlreadyRolledBack = 'ROLLOUT_ROLLED_BACK',
  NothingSelected = 'NOTHING_SELECTED',
  /** Rollback would restore a version that was deleted since the rollout. */
  RollbackVersionGone = 'ROLLBACK_VERSION_GONE',
  /** A selected model or version changed under a bulk change (deleted meanwhile): nothing was changed. */
  RolloutConflict = 'ROLLOUT_CONFLICT',
  /** GET /v1/rollouts?cursor= that is no nextCursor of this API. */
  InvalidCursor = 'INVALID_CURSOR',
}

/** Postgres' foreign_key_violation: a row named a model or version deleted meanwhile. */
export function isForeignKeyViolation(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === '23503' || e?.driverError?.code === '23503';
}

export class RolloutError extends DomainError<RolloutErrorCode> {}
