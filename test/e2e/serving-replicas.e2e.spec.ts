import { Client } from 'pg';
import { buildLinearModel, RETAIL_SAMPLE_ROWS } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

const ROW = RETAIL_SAMPLE_ROWS[0];
const ROW_SUM = ROW.reduce((a, b) => a + b, 0);
const linear = (bias: number) => buildLinearModel({ weights: [1, 1, 1, 1, 1, 1], bias }).bytes;

/**
 * Two replicas on one Postgres and one model store: a registry change made through one reaches
 * the other's resolution cache through LISTEN/NOTIFY, well before the cache's one-minute
 * refresh. Only with DATABASE_URL: the embedded database serves one process by construction.
 */
(process.env.DATABASE_URL ? describe : describe.skip)('registry changes across replicas (Postgres LISTEN/NOTIFY)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ DATABASE_URL: a.env.DATABASE_URL, MMS_MODEL_STORE: a.storeDir });
  });
  afterAll(async () => {
    await b?.dispose();
    await a?.dispose();
  });

  const biasOn = async (app: TestApp, model: string) => {
    const res = await app.request('POST', '/v1/predict', { body: { model, inputs: { float_input: [ROW] } } });
    return res.status === 200 ? Math.round(res.body.outputs.variable[0][0] - ROW_SUM) : res.body.error.code;
  };
  /**
   * Polls replica b until it answers `want`, for at most 1 s: shorter than both the negative
   * cache (2 s) and the refresh age (60 s), so only a notification can have told b.
   */
  const eventually = async (model: string, want: unknown) => {
    let got: unknown;
    for (const started = Date.now(); Date.now() - started < 1000; await new Promise((r) => setTimeout(r, 50))) {
      got = await biasOn(b, model);
      if (got === want) break;
    }
    return got;
  };

  it('moves an alias on one replica and the other follows', async () => {
    for (const bias of [10, 20]) expect((await a.request('POST', '/v1/models/shared/versions', { body: artifactForm(linear(bias)) })).status).toBe(201);
    await a.request('PUT', '/v1/models/shared/aliases/production', { body: { version: 1 } });
    expect(await eventually('shared', 10)).toBe(10);
    await a.request('PUT', '/v1/models/shared/aliases/production', { body: { version: 2 } });
    expect(await eventually('shared', 20)).toBe(20);
  });

  it('sees a model registered on the other replica after a miss, and its deletion', async () => {
    expect(await biasOn(b, 'born-elsewhere')).toBe('MODEL_NOT_FOUND');
    expect((await a.request('POST', '/v1/models/born-elsewhere/versions', { body: artifactForm(linear(30)) })).status).toBe(201);
    expect(await eventually('born-elsewhere', 30)).toBe(30);
    expect((await a.request('DELETE', '/v1/models/born-elsewhere')).status).toBe(204);
    expect(await eventually('born-elsewhere', 'MODEL_NOT_FOUND')).toBe('MODEL_NOT_FOUND');
  });

  it('applies a traffic rule set on one replica on the other within a second, and its removal', async () => {
    for (const bias of [40, 50]) expect((await a.request('POST', '/v1/models/ruled/versions', { body: artifactForm(linear(bias)) })).status).toBe(201);
    expect(await biasOn(b, 'ruled')).toBe(50); // no rule: the latest version
    expect((await a.request('PUT', '/v1/models/ruled/traffic', { body: { split: { '1': 100 } } })).status).toBe(200);
    expect(await eventually('ruled', 40)).toBe(40);
    expect((await a.request('DELETE', '/v1/models/ruled/traffic')).status).toBe(204);
    expect(await eventually('ruled', 50)).toBe(50);
  });

  it('says in its metrics while its registry notifications are cut, and takes them up again', async () => {
    const notificationsUp = async () => /^mms_registry_notifications_up (\d)$/m.exec((await b.request('GET', '/metrics')).body as string)?.[1];
    const within = async (ms: number, want: string) => {
      let got: string | undefined;
      for (const started = Date.now(); Date.now() - started < ms; await new Promise((r) => setTimeout(r, 50))) if ((got = await notificationsUp()) === want) break;
      return got;
    };
    expect(await notificationsUp()).toBe('1');
    const admin = new Client({ connectionString: a.env.DATABASE_URL });
    await admin.connect();
    try {
      // Both replicas' listening connections (the only ones that ran LISTEN).
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`);
    } finally {
      await admin.end();
    }
    expect(await within(1000, '0')).toBe('0');
    expect(await within(5000, '1')).toBe('1'); // reconnected after a second
    // And a change made meanwhile elsewhere is served (b dropped what it had cached on reconnecting).
    expect((await a.request('POST', '/v1/models/after-outage/versions', { body: artifactForm(linear(90)) })).status).toBe(201);
    expect(await eventually('after-outage', 90)).toBe(90);
  });

  it("loads a rule's versions on the other replica too, before it switches there, where that replica serves the model", async () => {
    for (const name of ['warmed', 'elsewhere']) {
      for (const bias of [60, 70, 80]) expect((await a.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(linear(bias)) })).status).toBe(201);
    }
    const readyOnB = async (name: string) =>
      ((await b.request('GET', '/v1/cache')).body.models as Array<{ model: string; version: number; state: string }>)
        .filter((m) => m.model === name && m.state === 'ready')
        .map((m) => m.version)
        .sort();
    // b serves 'warmed' (its latest, 3, is loaded there) and has never served 'elsewhere'.
    expect((await b.request('POST', '/v1/predict', { body: { model: 'warmed', inputs: { float_input: [[0, 0, 0, 0, 0, 0]] } } })).status).toBe(200);
    expect(await readyOnB('warmed')).toEqual([3]);
    for (const name of ['warmed', 'elsewhere']) expect((await a.request('PUT', `/v1/models/${name}/traffic`, { body: { split: { '1': 50, '2': 50 } } })).status).toBe(200);
    // b is sent no request naming those versions: only the rule change can have loaded them.
    let ready: number[] = [];
    for (const started = Date.now(); Date.now() - started < 3000; await new Promise((r) => setTimeout(r, 100))) {
      ready = await readyOnB('warmed');
      if (ready.length === 3) break;
    }
    expect(ready).toEqual([1, 2, 3]);
    // A model b does not serve is not loaded there for nothing.
    expect(await readyOnB('elsewhere')).toEqual([]);
  });
});
