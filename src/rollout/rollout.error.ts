import { DomainError } from '../common/domain-error';

export enum RolloutErrorCode {
  InvalidRule = 'INVALID_TRAFFIC_RULE',
  RuleNotFound = 'TRAFFIC_RULE_NOT_FOUND',
  RolloutNotFound = 'ROLLOUT_NOT_FOUND',
  RolloutAlreadyRolledBack = 'ROLLOUT_ROLLED_BACK',
  NothingSelected = 'NOTHING_SELECTED',
}

export class RolloutError extends DomainError<RolloutErrorCode> {}
