import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLinearModel } from '../fixtures/onnx-builder';
import { readOutput, waitForJob } from '../support/batch-data';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * A JSONL route column holding an array was read through String(): `["m-a"]` became the name
 * `m-a` and its row was scored by that model (/v1/predict refuses an array for a name or a
 * segment value), `["north"]` matched the segment region=north, and an object became the route
 * `[object Object]`. Such rows now name no model and fail, showing what the column held.
 */
describe('batch routing: a JSONL array or object in a route column names no model', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
    const upload = (name: string, segment?: object) =>
      t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(buildLinearModel({ weights: [1, 2], bias: 0.5 }).bytes, segment ? { segment } : {}) });
    expect((await upload('m-a')).status).toBe(201);
    expect((await upload('m-north', { region: 'north' })).status).toBe(201);
    fs.mkdirSync(path.join(t.dataDir, 'in'), { recursive: true });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const run = async (name: string, lines: object[], route: object) => {
    fs.writeFileSync(path.join(t.dataDir, 'in', name), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const res = await t.request('POST', '/v1/batch-jobs', { body: { input: { uri: `in/${name}` }, route, features: ['a', 'b'], passthrough: ['id'], output: { format: 'jsonl' } } });
    expect(res.status).toBe(202);
    const done = await waitForJob(t, res.body.id);
    expect(done.status).toBe('succeeded');
    return { done, rows: (await readOutput(t, res.body.id, 'jsonl')).rows };
  };

  it('by model column', async () => {
    const { done, rows } = await run(
      'by-model.jsonl',
      [
        { id: 'plain', model: 'm-a', a: 1, b: 1 },
        { id: 'array', model: ['m-a'], a: 1, b: 1 },
        { id: 'object', model: { name: 'm-a' }, a: 1, b: 1 },
      ],
      { by: 'model', column: 'model' },
    );
    expect(rows.map((r) => r.id)).toEqual(['plain']);
    expect(done.errors.map((e: { route: string; error: string }) => [e.route, e.error])).toEqual([
      ['["m-a"]', `MODEL_NOT_FOUND: Model '["m-a"]' not found`],
      ['{"name":"m-a"}', `MODEL_NOT_FOUND: Model '{"name":"m-a"}' not found`],
    ]);
  });

  it('by segment columns', async () => {
    const { done, rows } = await run(
      'by-segment.jsonl',
      [
        { id: 'plain', region: 'north', a: 1, b: 1 },
        { id: 'array', region: ['north'], a: 1, b: 1 },
      ],
      { by: 'segment', columns: ['region'] },
    );
    expect(rows.map((r) => r.id)).toEqual(['plain']);
    expect(done.errors.map((e: { route: string }) => e.route)).toEqual(['region=["north"]']);
  });
});
