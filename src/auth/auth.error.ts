import { DomainError } from '../common/domain-error';

export enum AuthErrorCode {
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  RateLimited = 'RATE_LIMITED',
  InvalidRequest = 'INVALID_REQUEST',
}

export class AuthError extends DomainError {
  constructor(code: AuthErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}
