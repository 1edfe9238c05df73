import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { TenancyService } from '../tenancy/tenancy.service';
import { AuthContext, hasRole, Role } from './auth-context';
import { IS_PUBLIC, REQUIRED_ROLE } from './auth.decorator';
import { AuthError, AuthErrorCode } from './auth.error';
import { CredentialResolver } from './credential-resolver.service';
import { RateLimiter } from './rate-limiter';

/** Header with which the root credential acts in a tenant other than `default` (id or name). */
export const TENANT_HEADER = 'x-tenant';

/**
 * The one gate every route passes: resolves the bearer credential to an AuthContext,
 * checks the route's role, applies the tenant's rate limit, and attaches the context.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly limiter = new RateLimiter();

  constructor(
    private readonly reflector: Reflector,
    private readonly credentials: CredentialResolver,
    private readonly tenancy: TenancyService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { auth?: AuthContext }>();
    const credential = bearerOf(request.headers.authorization);
    if (!credential) throw new AuthError(AuthErrorCode.Unauthenticated, 'Send a credential as Authorization: Bearer <key or token>');
    let ctx = await this.credentials.resolve(credential);
    const tenantRef = request.headers[TENANT_HEADER];
    if (ctx.role === 'root' && typeof tenantRef === 'string' && tenantRef) {
      ctx = { ...ctx, tenantId: await this.tenancy.resolveTenantRef(tenantRef) };
    }
    const needed = this.reflector.getAllAndOverride<Role>(REQUIRED_ROLE, targets) ?? 'root';
    if (!hasRole(ctx, needed)) {
      throw new AuthError(AuthErrorCode.Forbidden, `This needs the ${needed} role; the credential has ${ctx.role}`, { needed, role: ctx.role });
    }
    if (ctx.role !== 'root') this.applyRateLimit(ctx.tenantId);
    request.auth = ctx;
    return true;
  }

  private applyRateLimit(tenantId: string): void {
    const wait = this.limiter.take(tenantId, this.tenancy.cachedLimitsOf(tenantId).rateLimitPerSecond);
    if (wait > 0) {
      throw new AuthError(AuthErrorCode.RateLimited, 'Too many requests for this tenant', { retryAfterSeconds: wait }).withHeader('retry-after', String(wait));
    }
  }
}

function bearerOf(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1] : null;
}
