import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.MMS_DATA_DIR).toBe('./data');
    expect(config.MMS_MODEL_STORE).toBe('./model-store');
    expect(config.MMS_MAX_ARTIFACT_BYTES).toBe(256 * 1024 * 1024);
    expect(config.usesEmbeddedDatabase).toBe(true);
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
  ])('rejects a bad %s and names it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});
