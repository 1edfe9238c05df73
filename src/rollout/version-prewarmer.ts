import type { AuthContext } from '../auth/auth-context';

/**
 * Loads versions into the session cache before a rule or alias starts sending them traffic,
 * so a switch causes no cold-start spike. Serving provides the implementation; best effort:
 * a version that cannot be loaded does not block the change (it will answer 503 and retry).
 */
export abstract class VersionPrewarmer {
  abstract prewarm(ctx: AuthContext, model: string, versions: number[]): Promise<void>;
  /** Whether this process serves the model now: a version of it is loaded. */
  abstract serves(tenantId: string, model: string): boolean;
}

