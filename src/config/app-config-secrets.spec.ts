import { loadConfig } from './app-config';

/** A refused setting is printed at start-up (to the console, so to the logs): never a credential in it. */
describe('loadConfig refusals', () => {
  const refusal = (env: NodeJS.ProcessEnv): string => {
    try {
      loadConfig(env);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('the configuration was accepted');
  };

  it.each([
    ['MMS_ADMIN_TOKEN', 'too-short-root'],
    ['MMS_TOKEN_SECRET', 'a-signing-secret-too-short'],
    ['MMS_METRICS_TOKEN', 'scrape-token'],
  ])('names %s and its length, not its value', (variable, value) => {
    const message = refusal({ [variable]: value });
    expect(message).toContain(variable);
    expect(message).toContain(`<${value.length} characters, not shown>`);
    expect(message).not.toContain(value);
  });

  it("masks a database URL's password and keeps the rest", () => {
    const message = refusal({ DATABASE_URL: 'postgress://mms:hunter2-secret@db.internal:5432/mms' });
    expect(message).toContain('postgress://mms:***@db.internal:5432/mms');
    expect(message).not.toContain('hunter2-secret');
  });

  it('still shows other refused values as they were given', () => {
    expect(refusal({ PORT: 'eighty' })).toContain('PORT="eighty"');
  });
});
