import { Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { TenancyService } from '../tenancy/tenancy.service';
import { AuthContext, AuthedRequest, hasRole, Role } from './auth-context';
import { AuthError, AuthErrorCode } from './auth.error';
import { CredentialResolver } from './credential-resolver.service';
import { RateLimiter } from './rate-limiter';

/** Header with which the root credential acts in a tenant other than `default` (id or name). */
export const TENANT_HEADER = 'x-tenant';

/**
 * The one authentication decision every route makes, whether it is a Nest route (through the
 * global AuthGuard) or the lean /v1/predict route on Fastify: resolve the bearer credential,
 * apply `x-tenant` for root, check the role, apply the tenant's rate limit.
 */
@Injectable()
export class Authenticator {
  private readonly limiter = new RateLimiter();

  constructor(
    private readonly credentials: CredentialResolver,
    private readonly tenancy: TenancyService,
  ) {}

  async authenticate(headers: IncomingHttpHeaders, needed: Role): Promise<AuthContext> {
    return this.authorize(await this.identify(headers), needed);
  }

  /** The caller of `request` with at least the `needed` role: identified already (CredentialFirst), else now. */
  async authenticateRequest(request: AuthedRequest, needed: Role): Promise<AuthContext> {
    return request.auth ? this.authorize(request.auth, needed) : this.authenticate(request.headers, needed);
  }

  /**
   * Who is calling (the credential, `x-tenant` for root) and the tenant's rate limit, without a
   * role check: what can be decided before the route's body is read (see CredentialFirst).
   */
  async identify(headers: IncomingHttpHeaders): Promise<AuthContext> {
    const credential = bearerOf(headers.authorization);
    if (!credential) throw new AuthError(AuthErrorCode.Unauthenticated, 'Send a credential as Authorization: Bearer <key or token>');
    let ctx = await this.credentials.resolve(credential);
    const tenantRef = headers[TENANT_HEADER];
    if (ctx.role === 'root' && typeof tenantRef === 'string' && tenantRef) {
      ctx = { ...ctx, tenantId: await this.tenancy.resolveTenantRef(tenantRef) };
    }
    if (ctx.role !== 'root') this.applyRateLimit(ctx.tenantId);
    return ctx;
  }

  /** The caller, if its role is at least `needed`; 403 otherwise. */
  authorize(ctx: AuthContext, needed: Role): AuthContext {
    if (!hasRole(ctx, needed)) {
      throw new AuthError(AuthErrorCode.Forbidden, `This needs the ${needed} role; the credential has ${ctx.role}`, { needed, role: ctx.role });
    }
    return ctx;
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
