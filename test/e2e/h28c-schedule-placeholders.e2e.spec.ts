import { startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * A schedule's input.uri fills in {date} and {yesterday} only: any other `{name}` stayed in the
 * path as written, so a typo was accepted (201) and then failed every nightly firing.
 */
describe('POST /v1/batch-schedules refuses an input.uri placeholder it would not fill in', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const schedule = (uri: string) =>
    t.request('POST', '/v1/batch-schedules', {
      body: { cron: '0 2 * * *', job: { input: { uri, format: 'csv' }, route: { by: 'model', column: 'model' }, features: ['x'] } },
    });

  it.each(['in/sales-{today}.csv', 'in/sales-{ds}.csv', 'in/{date}/{Date}.csv', 'in/sales-{}.csv'])('%s answers 400 naming the field', async (uri) => {
    const res = await schedule(uri);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_BATCH_JOB', details: { field: 'job.input.uri' } });
    expect(res.body.error.message).toContain('{date} and {yesterday}');
    expect((await t.request('GET', '/v1/batch-schedules')).body.items).toEqual([]);
  });

  it('takes {date} and {yesterday}, and a lone brace', async () => {
    for (const uri of ['in/sales-{date}.csv', 'in/{yesterday}/sales-{date}.csv', 'in/odd{name.csv']) {
      const res = await schedule(uri);
      expect(res.status).toBe(201);
      expect((await t.request('DELETE', `/v1/batch-schedules/${res.body.id}`)).status).toBe(204);
    }
  });
});
