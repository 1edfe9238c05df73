import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitForJob } from '../support/batch-data';
import { startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * A CSV saved by Excel in a locale with a decimal comma (Dutch, German) is ';'-separated: its
 * header reads as one column 'model;a;b', and the job answered only "The input has no column
 * 'model', 'a', 'b'" — columns that are plainly in the file. The answer now says which columns
 * the input has, and asks about the separator.
 */
describe('a batch input that lacks the named columns says which columns it has', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
    fs.mkdirSync(path.join(t.dataDir, 'in'), { recursive: true });
    fs.writeFileSync(path.join(t.dataDir, 'in', 'excel-nl.csv'), 'model;a;b\r\nm;1,5;2\r\n');
    fs.writeFileSync(path.join(t.dataDir, 'in', 'other.csv'), 'Model,A,B\nm,1,2\n');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const job = (uri: string) => ({ input: { uri }, route: { by: 'model', column: 'model' }, features: ['a', 'b'] });

  it('at submit: the header it read, and the separator it looks like', async () => {
    const res = await t.request('POST', '/v1/batch-jobs', { body: job('in/excel-nl.csv') });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_BATCH_JOB');
    expect(res.body.error.message).toBe(
      "The input has no column 'model', 'a', 'b'; its columns are 'model;a;b' — separated by ';'? CSV input is read comma-separated (RFC 4180)",
    );
    const other = await t.request('POST', '/v1/batch-jobs', { body: job('in/other.csv') });
    expect(other.body.error.message).toBe("The input has no column 'model', 'a', 'b'; its columns are 'Model', 'A', 'B'");
  });

  it('for a scheduled job, which is checked when it fires', async () => {
    const schedule = await t.request('POST', '/v1/batch-schedules', { body: { cron: '0 2 * * *', job: job('in/excel-nl.csv') } });
    expect(schedule.status).toBe(201);
    const fired = await t.request('POST', `/v1/batch-schedules/${schedule.body.id}/run`);
    expect(fired.status).toBe(202);
    const done = await waitForJob(t, fired.body.id);
    expect(done.status).toBe('failed');
    expect(done.error).toContain("its columns are 'model;a;b' — separated by ';'?");
  });
});
