import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AuthedRequest, Role } from './auth-context';
import { IS_PUBLIC, REQUIRED_ROLE } from './auth.decorator';
import { Authenticator } from './authenticator.service';

/**
 * The one gate every Nest route passes: the Authenticator's decision for the route's role
 * (root unless the route says otherwise), attached to the request as its AuthContext. A request
 * with a body was identified before its body was read (CredentialFirst); its role is checked here.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & AuthedRequest>();
    const needed = this.reflector.getAllAndOverride<Role>(REQUIRED_ROLE, targets) ?? 'root';
    request.auth = await this.authenticator.authenticateRequest(request, needed);
    return true;
  }
}
