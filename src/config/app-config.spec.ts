import * as os from 'node:os';
import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.MMS_DATA_DIR).toBe('./data');
    expect(config.MMS_MODEL_STORE).toBe('./model-store');
    expect(config.MMS_MAX_ARTIFACT_BYTES).toBe(256 * 1024 * 1024);
    expect(config.usesEmbeddedDatabase).toBe(true);
    expect(config.MMS_CACHE_MAX_BYTES).toBe(1024 * 1024 * 1024);
    expect(config.MMS_CACHE_MAX_MODELS).toBe(2000);
    expect(config.MMS_WORKERS).toBeGreaterThanOrEqual(1);
    expect(config.MMS_WORKER_NICE).toBe(os.availableParallelism() > 1 ? 10 : 0);
    expect(config.MMS_BATCH_WINDOW_MS).toBe(0);
    expect(config.MMS_BATCH_MAX_ROWS).toBe(1024);
    expect(config.MMS_BATCH_RETENTION_DAYS).toBe(30);
  });

  it('keeps batch jobs forever with MMS_BATCH_RETENTION_DAYS=0', () => {
    expect(loadConfig({ MMS_BATCH_RETENTION_DAYS: '0' }).MMS_BATCH_RETENTION_DAYS).toBe(0);
  });

  it('reads numbers and URLs from strings', () => {
    const config = loadConfig({ PORT: '9000', DATABASE_URL: 'postgres://u@127.0.0.1/db', MMS_MAX_ARTIFACT_BYTES: '1024' });
    expect(config.PORT).toBe(9000);
    expect(config.MMS_MAX_ARTIFACT_BYTES).toBe(1024);
    expect(config.usesEmbeddedDatabase).toBe(false);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['MMS_MAX_ARTIFACT_BYTES', '-5'],
    ['MMS_ADMIN_TOKEN', 'short'],
    ['LOG_LEVEL', 'chatty'],
    ['MMS_CACHE_MAX_BYTES', '1000'],
    ['MMS_CACHE_MAX_MODELS', '0'],
    ['MMS_WORKERS', '0'],
    ['MMS_WORKER_NICE', '20'],
    ['MMS_WORKER_NICE', '-1'],
    ['MMS_BATCH_WINDOW_MS', '-1'],
    ['MMS_BATCH_MAX_ROWS', 'many'],
    ['MMS_BATCH_RETENTION_DAYS', '-1'],
    ['MMS_BATCH_RETENTION_DAYS', '1.5'],
  ])('rejects a bad %s and names it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});
