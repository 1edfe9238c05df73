import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Database } from '../database/database';
import { ModelStore } from '../registry/store/model-store';
import { SessionCache } from '../serving/session-cache';

/** A check that has not answered by then counts as failing (a probe must not hang). */
export const CHECK_TIMEOUT_MS = 2000;

export type ReadinessStatus = 'ready' | 'degraded' | 'not_ready';

export interface Readiness {
  /**
   * ready: every check passes. degraded: the service has started (migrations applied) but the
   * database or the model store fails now; models already loaded keep answering from memory,
   * while the registry and loading new models fail until the dependency is back. not_ready:
   * the schema is not in place yet.
   */
  status: ReadinessStatus;
  checks: { database: boolean; migrations: boolean; modelStore: boolean };
  /** The names of the failing checks. */
  failing: string[];
  /** Model versions loaded in this process (what still answers while degraded). */
  loadedModels: number | null;
}

@Injectable()
export class HealthService {
  private cache: SessionCache | null | undefined;

  constructor(
    private readonly database: Database,
    private readonly store: ModelStore,
    private readonly moduleRef: ModuleRef,
  ) {}

  async readiness(): Promise<Readiness> {
    const [database, modelStore] = await Promise.all([withTimeout(this.database.ping()), withTimeout(this.store.isWritable())]);
    const checks = { database, migrations: this.database.migrationsDone, modelStore };
    const failing = Object.entries(checks)
      .filter(([, ok]) => !ok)
      .map(([name]) => name);
    const status: ReadinessStatus = !checks.migrations ? 'not_ready' : failing.length ? 'degraded' : 'ready';
    return { status, checks, failing, loadedModels: this.loadedModels() };
  }

  /** Serving is optional here (health must answer whatever else is broken). */
  private loadedModels(): number | null {
    if (this.cache === undefined) {
      try {
        this.cache = this.moduleRef.get(SessionCache, { strict: false });
      } catch {
        this.cache = null;
      }
    }
    return this.cache ? this.cache.usage().models : null;
  }
}

async function withTimeout(check: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check.catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
