import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { CommonError, CommonErrorCode } from '../common/domain-error';
import { AuthContext, DEFAULT_TENANT_ID } from './auth-context';
import { IS_PUBLIC } from './auth.decorator';
import { RootCredential } from './root-credential';

/**
 * The one gate every route passes. Resolves the bearer credential to an AuthContext and
 * attaches it to the request. Until per-tenant keys exist only the root credential is
 * accepted, and it acts in the default tenant.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly root: RootCredential,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { auth?: AuthContext }>();
    const credential = bearerOf(request.headers.authorization);
    if (!credential) throw new CommonError(CommonErrorCode.Unauthenticated, 'Send a credential as Authorization: Bearer <token>');
    if (!this.root.matches(credential)) throw new CommonError(CommonErrorCode.Unauthenticated, 'The credential is not valid');
    request.auth = { tenantId: DEFAULT_TENANT_ID, role: 'root', principal: 'root' };
    return true;
  }
}

function bearerOf(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1] : null;
}
