import { DomainError } from '../common/domain-error';

export enum TenancyErrorCode {
  TenantNotFound = 'TENANT_NOT_FOUND',
  TenantExists = 'TENANT_EXISTS',
  KeyNotFound = 'KEY_NOT_FOUND',
  QuotaExceeded = 'QUOTA_EXCEEDED',
  InvalidRequest = 'INVALID_REQUEST',
}

export class TenancyError extends DomainError<TenancyErrorCode> {}
