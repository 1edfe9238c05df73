import type { IncomingHttpHeaders } from 'node:http';

export type KeyRole = 'admin' | 'publisher' | 'scorer';
export type Role = 'root' | KeyRole;

/** Each role can do everything the roles below it can. */
export const ROLE_RANK: Record<Role, number> = { scorer: 1, publisher: 2, admin: 3, root: 4 };
export const KEY_ROLES: readonly KeyRole[] = ['admin', 'publisher', 'scorer'];

/**
 * Who is calling, resolved once by the auth guard. Every service method that touches
 * tenant data takes it first and scopes every query to `tenantId`.
 */
export interface AuthContext {
  readonly tenantId: string;
  readonly role: Role;
  /** A non-secret name for audit fields: `root`, or `key:<id>`. */
  readonly principal: string;
  /** The API key behind the call (directly or through a token); null for root. */
  readonly keyId: string | null;
  /** How the caller authenticated. */
  readonly via: 'root' | 'key' | 'token';
  /** Model-name globs this caller is limited to; null = all of the tenant's models. */
  readonly modelScope: readonly string[] | null;
  /** When the API key behind the call expires (epoch ms); absent or null when it does not. */
  readonly keyExpiresAt?: number | null;
}

/** A request as the auth layer leaves it: its caller attached once known. */
export type AuthedRequest = { headers: IncomingHttpHeaders; auth?: AuthContext };

/** The tenant the root credential acts in unless a request names another (`x-tenant`). */
export const DEFAULT_TENANT_ID = '00000000-0000-0000-0000-000000000001';

export function hasRole(ctx: AuthContext, needed: Role): boolean {
  return ROLE_RANK[ctx.role] >= ROLE_RANK[needed];
}
