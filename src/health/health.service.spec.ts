import type { ModuleRef } from '@nestjs/core';
import type { Database } from '../database/database';
import type { ModelStore } from '../registry/store/model-store';
import { CHECK_TIMEOUT_MS, HealthService } from './health.service';

describe('HealthService', () => {
  const make = (opts: { ping: () => Promise<boolean>; writable?: boolean; migrated?: boolean; loaded?: number | null }) => {
    const database = { ping: opts.ping, migrationsDone: opts.migrated ?? true } as unknown as Database;
    const store = { isWritable: async () => opts.writable ?? true } as unknown as ModelStore;
    const moduleRef = {
      get: () => {
        if (opts.loaded === null) throw new Error('no serving module');
        return { usage: () => ({ models: opts.loaded ?? 3 }) };
      },
    } as unknown as ModuleRef;
    return new HealthService(database, store, moduleRef);
  };

  it('is ready when every check passes, and tells how many models are loaded', async () => {
    expect(await make({ ping: async () => true }).readiness()).toEqual({
      status: 'ready',
      checks: { database: true, migrations: true, modelStore: true },
      failing: [],
      loadedModels: 3,
    });
  });

  it('is degraded, naming the failing check, when the database goes away after start', async () => {
    expect(await make({ ping: async () => false }).readiness()).toMatchObject({ status: 'degraded', failing: ['database'], checks: { database: false } });
    expect(await make({ ping: async () => true, writable: false }).readiness()).toMatchObject({ status: 'degraded', failing: ['modelStore'] });
  });

  it('is not ready before the schema is in place', async () => {
    expect(await make({ ping: async () => true, migrated: false }).readiness()).toMatchObject({ status: 'not_ready', failing: ['migrations'] });
  });

  it('counts a hanging or throwing check as failing, within the timeout', async () => {
    jest.useFakeTimers();
    try {
      const pending = make({ ping: () => new Promise(() => undefined), loaded: null }).readiness();
      await jest.advanceTimersByTimeAsync(CHECK_TIMEOUT_MS);
      expect(await pending).toMatchObject({ status: 'degraded', failing: ['database'], loadedModels: null });
    } finally {
      jest.useRealTimers();
    }
    expect(await make({ ping: () => Promise.reject(new Error('x')) }).readiness()).toMatchObject({ status: 'degraded' });
  });
});
