import { ConfigError, loadConfig } from './app-config';

describe('loadConfig: numeric variables are read as decimal numbers only', () => {
  // A blank value used to be Number(' ') = 0: PORT=" " listened on a random port, and
  // MMS_SHUTDOWN_TIMEOUT_MS / MMS_BATCH_RETENTION_DAYS=" " silently meant "no limit" / "keep forever".
  it.each([
    ['PORT', ' '],
    ['MMS_SHUTDOWN_TIMEOUT_MS', '  '],
    ['MMS_BATCH_RETENTION_DAYS', '\t'],
    ['MMS_TENANT_RATE_LIMIT', ' '],
    ['MMS_TENANT_CACHE_SHARE', ' '],
    ['MMS_PREDICTION_LOG_RATE', ' '],
    ['MMS_WORKERS', '0x10'],
    ['MMS_BATCH_CONCURRENCY', '0b11'],
    ['PORT', '0o17'],
  ])('refuses %s=%j, naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`${variable}=`));
  });

  it('still reads plain decimals, blanks around them, and exponents', () => {
    const config = loadConfig({ PORT: ' 9000 ', MMS_CACHE_MAX_BYTES: '1e9', MMS_TENANT_CACHE_SHARE: '.25', MMS_PREDICTION_LOG_RATE: '0.5' });
    expect(config.PORT).toBe(9000);
    expect(config.MMS_CACHE_MAX_BYTES).toBe(1e9);
    expect(config.MMS_TENANT_CACHE_SHARE).toBe(0.25);
    expect(config.MMS_PREDICTION_LOG_RATE).toBe(0.5);
  });
});
