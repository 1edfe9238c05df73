import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthContext, AuthedRequest, Role } from './auth-context';

export const IS_PUBLIC = 'mms:public';
export const REQUIRED_ROLE = 'mms:required-role';

/** Marks a route that needs no credential (health probes, API docs). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * The least role a route needs (scorer < publisher < admin < root). A route without it
 * needs root: forgetting the decorator fails closed.
 */
export const RequireRole = (role: Role) => SetMetadata(REQUIRED_ROLE, role);

/** The caller's AuthContext, as resolved by the global AuthGuard. */
export const Auth = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthContext => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest & AuthedRequest>();
  if (!request.auth) throw new Error('AuthContext missing: is the route marked @Public() by mistake?');
  return request.auth;
});
