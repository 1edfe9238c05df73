export type Role = 'root' | 'admin' | 'publisher' | 'scorer';

/**
 * Who is calling, resolved once by the auth guard. Every service method that touches
 * tenant data takes it first and scopes every query to `tenantId`.
 */
export interface AuthContext {
  readonly tenantId: string;
  readonly role: Role;
  /** A non-secret name for audit fields: `root`, or a key id. */
  readonly principal: string;
}

/** The tenant the root credential acts in until per-tenant keys exist (created by the first migration). */
export const DEFAULT_TENANT_ID = '00000000-0000-0000-0000-000000000001';
