import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const linear = (bias: number) => buildLinearModel({ weights: [1, 1, 1], bias }).bytes;

/**
 * A traffic rule changed through one replica is applied by the other as soon as the change's
 * notification arrives (LISTEN/NOTIFY, as alias changes are), not at its next poll of the rules
 * table: b polls every 10 minutes here, so without the notification it would not switch during
 * the test at all. Only with DATABASE_URL: the embedded database serves one process by construction.
 */
(process.env.DATABASE_URL ? describe : describe.skip)('traffic rule changes across replicas (Postgres LISTEN/NOTIFY)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ DATABASE_URL: a.env.DATABASE_URL, MMS_MODEL_STORE: a.storeDir, MMS_TRAFFIC_RULES_POLL_MS: '600000' });
  });
  afterAll(async () => {
    await b?.dispose();
    await a?.dispose();
  });

  const biasOn = async (app: TestApp) => {
    const res = await app.request('POST', '/v1/predict', { body: { model: 'switched', inputs: { float_input: [[0, 0, 0]] } } });
    return res.status === 200 ? Math.round(res.body.outputs.variable[0][0]) : res.body.error.code;
  };
  /** Whether b answers `want` within 10 s of the change (a generous bound for a busy machine; its poll is 10 minutes away). */
  const switches = async (want: number) => {
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      if ((await biasOn(b)) === want) return true;
      await new Promise((r) => setTimeout(r, 5));
    }
    return false;
  };

  it('switches on the other replica at once, round after round', async () => {
    for (const bias of [10, 20, 30]) expect((await a.request('POST', '/v1/models/switched/versions', { body: artifactForm(linear(bias)) })).status).toBe(201);
    // b serves every version already, so no warm-up stands between the notification and the switch.
    for (const version of [1, 2, 3]) {
      expect((await b.request('POST', '/v1/predict', { body: { model: 'switched', version, inputs: { float_input: [[0, 0, 0]] } } })).status).toBe(200);
    }
    for (let round = 0; round < 4; round++) {
      const version = (round % 2) + 1;
      expect((await a.request('PUT', '/v1/models/switched/traffic', { body: { split: { [version]: 100 } } })).status).toBe(200);
      expect([round, await switches(version * 10)]).toEqual([round, true]);
    }
    expect((await a.request('DELETE', '/v1/models/switched/traffic')).status).toBe(204);
    expect(await switches(30)).toBe(true); // no rule: the latest version
  });
});
