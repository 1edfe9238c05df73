import { DomainError } from '../common/domain-error';

export enum AuthErrorCode {
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  RateLimited = 'RATE_LIMITED',
  InvalidRequest = 'INVALID_REQUEST',
}

export class AuthError extends DomainError<AuthErrorCode> {}
