import { DomainError } from '../common/domain-error';

export enum TenancyErrorCode {
  TenantNotFound = 'TENANT_NOT_FOUND',
  TenantExists = 'TENANT_EXISTS',
  KeyNotFound = 'KEY_NOT_FOUND',
  QuotaExceeded = 'QUOTA_EXCEEDED',
  InvalidRequest = 'INVALID_REQUEST',
}

export class TenancyError extends DomainError<TenancyErrorCode> {}

/**
 * The tenant and key listings are whole (a tenant has few keys, a service few tenants) and take
 * no query parameters: a `limit` or a filter that was silently ignored would look honoured.
 */
export function refuseQueryParameters(query: Record<string, unknown>, listing: string): void {
  const [first] = Object.keys(query);
  if (first !== undefined) throw new TenancyError(TenancyErrorCode.InvalidRequest, `${listing} takes no query parameters (it answers the whole list): '${first}'`, { parameter: first });
}
