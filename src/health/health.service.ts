import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { ModelStore } from '../registry/store/model-store';

export interface Readiness {
  status: 'ready' | 'not_ready';
  checks: { database: boolean; migrations: boolean; modelStore: boolean };
}

@Injectable()
export class HealthService {
  constructor(
    private readonly database: Database,
    private readonly store: ModelStore,
  ) {}

  async readiness(): Promise<Readiness> {
    const [database, modelStore] = await Promise.all([this.database.ping(), this.store.isWritable()]);
    const checks = { database, migrations: this.database.migrationsDone, modelStore };
    return { status: database && modelStore && checks.migrations ? 'ready' : 'not_ready', checks };
  }
}
