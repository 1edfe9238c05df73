import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLinearModel } from '../fixtures/onnx-builder';
import { waitForJob, writeInput } from '../support/batch-data';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * A partition failed for good by a model that does not load said "…; it is tried again in N s",
 * serving's hint to online clients, though nothing would try it again: its retries were spent.
 */
describe('a batch partition failed by a load failure does not promise another attempt', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('says what failed to load and why, without the online retry hint', async () => {
    const res = await t.request('POST', '/v1/models/damaged/versions', { body: artifactForm(buildLinearModel({ weights: [3, 3], bias: 1 }).bytes) });
    expect(res.status).toBe(201);
    fs.writeFileSync(path.join(t.storeDir, 'sha256', res.body.sha256), 'not an onnx model any more');
    writeInput(t, 'in/damaged.csv', 'csv', [{ model: 'damaged', a: 1, b: 2 }], ['model', 'a', 'b']);

    const job = await t.request('POST', '/v1/batch-jobs', {
      body: { input: { uri: 'in/damaged.csv' }, route: { by: 'model', column: 'model' }, features: ['a', 'b'], maxRetries: 0 },
    });
    expect(job.status).toBe(202);
    const done = await waitForJob(t, job.body.id);
    expect(done.errors).toHaveLength(1);
    const [error] = done.errors;
    expect(error).toMatchObject({ status: 'failed', attempts: 1, rowsFailed: 1 });
    expect(error.error).toContain("Model 'damaged' version 1 could not be loaded (");
    expect(error.error).not.toMatch(/tried again/);
  });
});
