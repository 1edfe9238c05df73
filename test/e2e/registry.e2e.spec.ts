import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDoublingModel, buildHalfInputModel, buildLinearModel, buildSequenceOutputModel, buildTypedModel, corruptOnnxBytes, defaultFixtures, onnxGraph } from '../fixtures/onnx-builder';
import { mlflowZip, patchEntryName } from '../support/mlflow-zip';
import { artifactForm, filesUnder, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

describe('registry over HTTP', () => {
  let t: TestApp;
  const fixtures = defaultFixtures();

  beforeAll(async () => {
    t = await startTestApp({ MMS_MAX_ARTIFACT_BYTES: String(64 * 1024) });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const upload = (name: string, bytes: Buffer, fields: Parameters<typeof artifactForm>[1] = {}) =>
    t.request('POST', `/v1/models/${name}/versions`, { body: artifactForm(bytes, fields) });

  /** No staged file left and no blob beyond the ones rows reference. */
  const storeTmpFiles = () => filesUnder(path.join(t.storeDir, 'tmp'));

  describe('registration of each fixture kind', () => {
    it.each(['linear', 'tree', 'mlp'] as const)('registers a %s model with its signature', async (kind) => {
      const res = await upload(`demand-${kind}`, fixtures[kind].bytes, {
        segment: { region: 'north', store: `00${kind.length}` },
        tags: { algo: kind, family: 'demand' },
        description: `${kind} fixture`,
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        name: `demand-${kind}`,
        version: 1,
        format: 'onnx',
        sizeBytes: fixtures[kind].bytes.length,
        storedBytes: fixtures[kind].bytes.length,
        segment: { region: 'north' },
        tags: { algo: kind },
        signature: {
          inputs: [{ name: 'float_input', type: 'float32', shape: ['N', 6] }],
          outputs: [{ name: 'variable', type: 'float32', shape: ['N', 1] }],
        },
      });
      expect(res.body.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(new Date(res.body.createdAt).getTime()).toBeGreaterThan(0);
      expect(fs.existsSync(path.join(t.storeDir, 'sha256', res.body.sha256))).toBe(true);
    });

    it('reads every input and output of a multi-input model with several dtypes', async () => {
      const res = await upload('typed-model', buildTypedModel().bytes);
      expect(res.status).toBe(201);
      const types = Object.fromEntries(
        [...res.body.signature.inputs, ...res.body.signature.outputs].map((s: { name: string; type: string }) => [s.name, s.type]),
      );
      expect(types).toEqual({ a: 'float64', b: 'int64', c: 'int32', d: 'bool', sum_a: 'float64', sum_b: 'int64', c_out: 'int32', d_not: 'bool' });
    });

    it('lists the registered models with their latest signature', async () => {
      const res = await t.request('GET', '/v1/models?q=demand');
      expect(res.status).toBe(200);
      expect(res.body.items.map((m: { name: string }) => m.name)).toEqual(['demand-linear', 'demand-mlp', 'demand-tree']);
      for (const item of res.body.items) expect(item.latestVersion.signature.inputs[0].name).toBe('float_input');
      expect(res.body.nextCursor).toBeNull();
    });

    it('stores identical artifacts once', async () => {
      const before = filesUnder(path.join(t.storeDir, 'sha256')).length;
      const res = await upload('demand-linear-copy', fixtures.linear.bytes);
      expect(res.status).toBe(201);
      expect(filesUnder(path.join(t.storeDir, 'sha256')).length).toBe(before);
    });
  });

  describe('MLflow model directories', () => {
    it('registers a zipped MLflow model whose onnx flavor names the file', async () => {
      const zip = await mlflowZip(fixtures.tree.bytes, { folder: 'model' });
      const res = await upload('mlflow-tree', zip, { filename: 'model.zip' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ format: 'mlflow', sizeBytes: zip.length, storedBytes: fixtures.tree.bytes.length, signature: { inputs: [{ name: 'float_input' }] } });
      expect((await t.request('GET', '/v1/models/mlflow-tree/versions/1')).body).toMatchObject({ sizeBytes: zip.length, storedBytes: fixtures.tree.bytes.length });
      expect(res.body.mlflow).toMatchObject({ flavor: { data: 'model.onnx' }, runId: '0123456789abcdef' });
    });

    it('accepts a zip with MLmodel at its root and a nested data path', async () => {
      const zip = await mlflowZip(fixtures.linear.bytes, { dataPath: 'data/model.onnx' });
      expect((await upload('mlflow-root', zip)).status).toBe(201);
    });

    it.each([
      ['a parent-directory entry', async () => patchEntryName(await mlflowZip(fixtures.linear.bytes, { extra: [{ name: 'xx/evil.txt', data: 'x' }] }), 'xx/evil', '../evil')],
      ['an absolute entry', async () => patchEntryName(await mlflowZip(fixtures.linear.bytes, { extra: [{ name: 'xetc/passwd', data: 'x' }] }), 'xetc/passwd', '/etc/passwd')],
      ['a symbolic link', () => mlflowZip(fixtures.linear.bytes, { extra: [{ name: 'link', data: '/etc/passwd', mode: 0o120777 }] })],
      ['a flavor path escaping the folder', () => mlflowZip(fixtures.linear.bytes, { folder: 'model', dataPath: '../model.onnx', onnxEntry: 'model.onnx' })],
    ])('refuses an archive with %s (400) and keeps nothing', async (_what, build) => {
      const res = await upload('zip-slip', await build());
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('ARCHIVE_UNSAFE');
      expect((await t.request('GET', '/v1/models/zip-slip')).status).toBe(404);
      expect(storeTmpFiles()).toEqual([]);
    });

    it('answers 422 for a zip without MLmodel or without an onnx flavor', async () => {
      const noMlmodel = await mlflowZip(fixtures.linear.bytes);
      const res = await upload('no-mlmodel', patchEntryName(noMlmodel, 'MLmodel', 'README1'));
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('MLMODEL_INVALID');
    });
  });

  describe('bad artifacts leave no trace', () => {
    it.each(['garbage', 'truncated'] as const)('answers 422 for a %s file', async (variant) => {
      const blobsBefore = filesUnder(path.join(t.storeDir, 'sha256')).sort();
      const res = await upload('corrupt-model', corruptOnnxBytes(variant));
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'ARTIFACT_INVALID', message: expect.any(String) });
      // The runtime's reason, without the server's paths (its staging file, the store).
      expect(res.body.error.details.reason).toEqual(expect.any(String));
      expect(JSON.stringify(res.body)).not.toMatch(/\.part\b|\/tmp\/|\/sha256\//);
      expect(JSON.stringify(res.body)).not.toContain(t.storeDir);
      expect((await t.request('GET', '/v1/models/corrupt-model')).status).toBe(404);
      expect(filesUnder(path.join(t.storeDir, 'sha256')).sort()).toEqual(blobsBefore);
      expect(storeTmpFiles()).toEqual([]);
    });

    it('answers 422 for a model with an input declared without a shape (onnxruntime would call it a scalar), not for a scalar input', async () => {
      const blobsBefore = filesUnder(path.join(t.storeDir, 'sha256')).sort();
      const res = await upload('unshaped', buildDoublingModel('no shape'));
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'ARTIFACT_INVALID', message: expect.stringContaining("declares input 'x' without a shape"), details: { inputs: ['x'] } });
      expect((await t.request('GET', '/v1/models/unshaped')).status).toBe(404);
      expect(filesUnder(path.join(t.storeDir, 'sha256')).sort()).toEqual(blobsBefore);
      expect(storeTmpFiles()).toEqual([]);
      const scalar = await upload('scalar-input', buildDoublingModel('scalar'));
      expect(scalar.status).toBe(201);
      expect(scalar.body.signature.inputs).toEqual([{ name: 'x', type: 'float32', shape: [] }]);
    });

    it('answers 422 for a model with an input dimension fixed at 0, which no request could ever fill, and stores nothing', async () => {
      const blobsBefore = filesUnder(path.join(t.storeDir, 'sha256')).sort();
      const emptyInput = onnxGraph.encode({
        name: 'empty_input',
        inputs: [{ name: 'x', dtype: 'float32', shape: [0, 2] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [0, 2] }],
        initializers: [],
        nodes: [onnxGraph.node('Identity', ['x'], ['y'])],
      });
      const res = await upload('empty-input', emptyInput);
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'ARTIFACT_INVALID', message: expect.stringContaining("'x' with shape [0, 2]"), details: { inputs: [{ name: 'x', shape: [0, 2] }] } });
      expect((await t.request('GET', '/v1/models/empty-input')).status).toBe(404);
      expect(filesUnder(path.join(t.storeDir, 'sha256')).sort()).toEqual(blobsBefore);
      expect(storeTmpFiles()).toEqual([]);
    });

    it('answers 422 for a model with a float16 input, which neither requests nor batch files can feed, and stores nothing', async () => {
      const blobsBefore = filesUnder(path.join(t.storeDir, 'sha256')).sort();
      const res = await upload('half-input', buildHalfInputModel());
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'ARTIFACT_INVALID', message: expect.stringContaining("input 'h' is float16"), details: { inputs: [{ name: 'h', type: 'float16' }], supported: expect.arrayContaining(['float32', 'int64', 'bool', 'string']) } });
      expect((await t.request('GET', '/v1/models/half-input')).status).toBe(404);
      expect(filesUnder(path.join(t.storeDir, 'sha256')).sort()).toEqual(blobsBefore);
      expect(storeTmpFiles()).toEqual([]);
    });

    it('answers 422 for a model without a tensor output (only a sequence), which could answer nothing', async () => {
      const res = await upload('sequence-only', buildSequenceOutputModel());
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'ARTIFACT_INVALID', message: expect.stringContaining('no tensor output'), details: { outputs: ['s'] } });
      expect((await t.request('GET', '/v1/models/sequence-only')).status).toBe(404);
    });

    it('answers 413 for an artifact over the size limit while streaming', async () => {
      const big = buildLinearModel({ weights: Array.from({ length: 20_000 }, (_, i) => i / 20_000), bias: 1 });
      expect(big.bytes.length).toBeGreaterThan(64 * 1024);
      const res = await upload('too-big', big.bytes);
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('ARTIFACT_TOO_LARGE');
      expect((await t.request('GET', '/v1/models/too-big')).status).toBe(404);
      expect(storeTmpFiles()).toEqual([]);
    });

    it('answers 400 for two artifact parts, or a file part by another name, and keeps neither', async () => {
      const two = artifactForm(fixtures.linear.bytes);
      two.append('artifact', new Blob([fixtures.linear.bytes]), 'second.onnx');
      const res = await t.request('POST', '/v1/models/two-files/versions', { body: two });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'INVALID_REQUEST', message: "A second file part: send exactly one file part, named 'artifact'" });
      const other = new FormData();
      other.append('model', new Blob([fixtures.linear.bytes]), 'model.onnx');
      const named = await t.request('POST', '/v1/models/two-files/versions', { body: other });
      expect(named.status).toBe(400);
      expect(named.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: { part: 'model' } });
      expect((await t.request('GET', '/v1/models/two-files')).status).toBe(404);
      expect(storeTmpFiles()).toEqual([]);
    });

    it('answers 400 without an artifact part, 415 without multipart', async () => {
      const form = new FormData();
      form.append('tags', '{}');
      const missing = await t.request('POST', '/v1/models/empty/versions', { body: form });
      expect(missing.status).toBe(400);
      expect(missing.body.error.code).toBe('ARTIFACT_MISSING');
      const json = await t.request('POST', '/v1/models/empty/versions', { body: { artifact: 'x' } });
      expect(json.status).toBe(415);
      expect(json.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it.each([
      ['segment', 'not json'],
      ['segment', '["a"]'],
      ['segment', '{"store": 42}'],
      ['tags', '{"bad key!": "x"}'],
    ])('answers 400 for a bad %s part %s', async (field, value) => {
      const form = artifactForm(fixtures.linear.bytes);
      form.append(field, value);
      const res = await t.request('POST', '/v1/models/bad-labels/versions', { body: form });
      expect(res.status).toBe(400);
      expect(res.body.error.details.field).toBe(field);
      expect((await t.request('GET', '/v1/models/bad-labels')).status).toBe(404);
      expect(storeTmpFiles()).toEqual([]);
    });
  });

  describe('model names', () => {
    it.each(['Demand', '-demand', '.hidden', 'demand%20north', 'a'.repeat(129), 'd%C3%A9mand'])('refuses %s with 400', async (name) => {
      const res = await upload(name, fixtures.linear.bytes);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_MODEL_NAME');
      expect((await t.request('GET', `/v1/models/${name}`)).status).toBe(400);
    });

    it('accepts the longest legal name', async () => {
      expect((await upload(`a${'b'.repeat(127)}`, fixtures.linear.bytes)).status).toBe(201);
    });
  });

  it('gives 20 concurrent uploads of one model the versions 1..20', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => upload('concurrent', fixtures.mlp.bytes)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(results.map((r) => r.body.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const model = await t.request('GET', '/v1/models/concurrent');
    expect(model.body.versions).toHaveLength(20);
  });

  describe('versions, aliases, patch and delete', () => {
    beforeAll(async () => {
      for (let i = 0; i < 3; i++) expect((await upload('lifecycle', fixtures.linear.bytes, { tags: { run: String(i) } })).status).toBe(201);
    });

    it('gets one version and 404s on a missing one', async () => {
      expect((await t.request('GET', '/v1/models/lifecycle/versions/2')).body).toMatchObject({ name: 'lifecycle', version: 2, tags: { run: '1' } });
      const missing = await t.request('GET', '/v1/models/lifecycle/versions/9');
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({ code: 'VERSION_NOT_FOUND', details: { name: 'lifecycle', version: 9 } });
      const alias = await t.request('PUT', '/v1/models/lifecycle/aliases/staging', { body: { version: 99 } });
      expect([alias.status, alias.body.error.details]).toEqual([404, { name: 'lifecycle', version: 99 }]);
      expect((await t.request('GET', '/v1/models/lifecycle/versions/zero')).status).toBe(400);
    });

    it('points aliases at versions and shows them on the model', async () => {
      const put = await t.request('PUT', '/v1/models/lifecycle/aliases/production', { body: { version: 2 } });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ name: 'lifecycle', alias: 'production', version: 2 });
      await t.request('PUT', '/v1/models/lifecycle/aliases/staging', { body: { version: 3 } });
      const model = await t.request('GET', '/v1/models/lifecycle');
      expect(model.body.aliases).toEqual({ production: 2, staging: 3 });
      expect(model.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2, 3]);
    });

    it('refuses aliases to missing versions and bad alias bodies', async () => {
      expect((await t.request('PUT', '/v1/models/lifecycle/aliases/production', { body: { version: 7 } })).status).toBe(404);
      expect((await t.request('PUT', '/v1/models/lifecycle/aliases/production', { body: { version: 'two' } })).status).toBe(400);
      expect((await t.request('PUT', '/v1/models/lifecycle/aliases/3', { body: { version: 1 } })).body.error.code).toBe('INVALID_ALIAS_NAME');
      expect((await t.request('PUT', '/v1/models/nobody/aliases/production', { body: { version: 1 } })).status).toBe(404);
    });

    it('answers 409 when deleting a version an alias points at, and deletes it once the alias moves', async () => {
      const blocked = await t.request('DELETE', '/v1/models/lifecycle/versions/2');
      expect(blocked.status).toBe(409);
      expect(blocked.body.error).toMatchObject({ code: 'VERSION_IN_USE', details: { aliases: ['production'] } });
      await t.request('PUT', '/v1/models/lifecycle/aliases/production', { body: { version: 1 } });
      // Clients that send a JSON content type on every request, with no body on a DELETE.
      expect((await t.request('DELETE', '/v1/models/lifecycle/versions/2', { headers: { 'content-type': 'application/json' } })).status).toBe(204);
      expect((await t.request('GET', '/v1/models/lifecycle/versions/2')).status).toBe(404);
      expect((await t.request('DELETE', '/v1/models/lifecycle/versions/2')).status).toBe(404);
    });

    it('never reuses a deleted version number', async () => {
      await t.request('DELETE', '/v1/models/lifecycle/aliases/staging');
      expect((await t.request('DELETE', '/v1/models/lifecycle/versions/3')).status).toBe(204);
      expect((await upload('lifecycle', fixtures.linear.bytes)).body.version).toBe(4);
    });

    it('removes an alias, 404 for a missing one', async () => {
      await t.request('PUT', '/v1/models/lifecycle/aliases/canary', { body: { version: 4 } });
      expect((await t.request('DELETE', '/v1/models/lifecycle/aliases/canary')).status).toBe(204);
      const again = await t.request('DELETE', '/v1/models/lifecycle/aliases/canary');
      expect(again.status).toBe(404);
      expect(again.body.error.code).toBe('ALIAS_NOT_FOUND');
    });

    it('patches tags and segment as merge patches and replaces the description', async () => {
      const res = await t.request('PATCH', '/v1/models/lifecycle', {
        body: { tags: { owner: 'forecasting', run: null }, segment: { region: 'south' }, description: 'store model' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ tags: { owner: 'forecasting' }, segment: { region: 'south' }, description: 'store model' });
      expect(res.body.tags.run).toBeUndefined();
      expect((await t.request('PATCH', '/v1/models/lifecycle', { body: { tags: { x: 5 } } })).status).toBe(400);
      expect((await t.request('PATCH', '/v1/models/lifecycle', { body: { owner: 'x' } })).status).toBe(400);
      expect((await t.request('PATCH', '/v1/models/nobody', { body: { description: 'x' } })).status).toBe(404);
    });

    it('deletes a whole model with its versions and aliases', async () => {
      expect((await t.request('DELETE', '/v1/models/lifecycle')).status).toBe(204);
      expect((await t.request('GET', '/v1/models/lifecycle')).body.error.code).toBe('MODEL_NOT_FOUND');
      expect((await t.request('DELETE', '/v1/models/lifecycle')).status).toBe(404);
      expect((await upload('lifecycle', fixtures.linear.bytes)).body.version).toBe(1);
    });
  });

  describe('listing', () => {
    beforeAll(async () => {
      const stores = [
        ['north', '0001', 'gbr'],
        ['north', '0002', 'linear'],
        ['south', '0003', 'gbr'],
      ];
      for (const [region, store, algo] of stores) {
        await upload(`shop-${region}-${store}`, fixtures.tree.bytes, { segment: { region, store }, tags: { algo, family: 'shop' } });
      }
    });

    const names = (res: { body: { items: Array<{ name: string }> } }) => res.body.items.map((m) => m.name);

    it('filters by segment keys, tags and name together', async () => {
      expect(names(await t.request('GET', '/v1/models?segment.region=north&tag.family=shop'))).toEqual(['shop-north-0001', 'shop-north-0002']);
      expect(names(await t.request('GET', '/v1/models?tag.algo=gbr&tag.family=shop'))).toEqual(['shop-north-0001', 'shop-south-0003']);
      expect(names(await t.request('GET', '/v1/models?segment.region=north&tag.algo=gbr&q=shop'))).toEqual(['shop-north-0001']);
      expect(names(await t.request('GET', '/v1/models?segment.store=9999'))).toEqual([]);
    });

    it('treats q as a literal substring (LIKE wildcards are escaped)', async () => {
      expect(names(await t.request('GET', '/v1/models?q=north-000'))).toEqual(['shop-north-0001', 'shop-north-0002']);
      expect(names(await t.request('GET', '/v1/models?q=%25'))).toEqual([]);
      expect(names(await t.request('GET', '/v1/models?q=shop_north'))).toEqual([]);
      expect(names(await t.request('GET', '/v1/models?q=SHOP-SOUTH'))).toEqual(['shop-south-0003']);
    });

    it('pages with a cursor until every model is seen once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: { items: Array<{ name: string }>; nextCursor: string | null } } = await t.request(
          'GET',
          `/v1/models?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...names(res));
        cursor = res.body.nextCursor;
      } while (cursor);
      const all = names(await t.request('GET', '/v1/models?limit=1000'));
      expect(seen).toEqual(all);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it.each(['limit=0', 'limit=1001', 'limit=ten', 'cursor=garbage', 'segments.region=north', 'segment.bad%20key=x'])('answers 400 for %s', async (query) => {
      const res = await t.request('GET', `/v1/models?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toEqual(expect.any(String));
    });
  });

  describe('authentication', () => {
    it.each([undefined, 'Bearer wrong-token-0123456789', 'Basic abc', 'Bearer'])('answers 401 for %s', async (header) => {
      const res = await t.request('GET', '/v1/models', { headers: header === undefined ? { authorization: '' } : { authorization: header } });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('leaves health and docs open', async () => {
      expect((await t.request('GET', '/health/live', { headers: { authorization: '' } })).status).toBe(200);
      expect((await t.request('GET', '/health/ready', { headers: { authorization: '' } })).body).toMatchObject({ status: 'ready' });
      const docs = await t.request('GET', '/docs/json', { headers: { authorization: '' } });
      expect(docs.status).toBe(200);
      expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/v1/models', '/v1/models/{name}/versions', '/v1/models/{name}/aliases/{alias}']));
    });
  });

  it('answers unknown routes with the error body', async () => {
    const res = await t.request('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });

  it('answers 404 to a body sent to an unknown route, whatever the body (the path is what is wrong)', async () => {
    const post = (body: string, type: string) =>
      fetch(`${t.baseUrl}/v1/modles/demand/versions`, { method: 'POST', headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}`, 'content-type': type }, body });
    for (const [body, type] of [
      ['{"tags": ', 'application/json'],
      ['{"__proto__": {"x": 1}}', 'application/json'],
      ['a,b\n1,2', 'text/csv'],
      ['{}', 'application/json'],
    ]) {
      const res = await post(body, type);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect([body, res.status, error.code, error.message]).toEqual([body, 404, 'NOT_FOUND', 'Cannot POST /v1/modles/demand/versions']);
    }
    // Without a credential it is still 401 first, as on every route with a body.
    const anonymous = await fetch(`${t.baseUrl}/v1/modles/demand/versions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"tags": ' });
    expect(anonymous.status).toBe(401);
  });

  it('answers 405 with Allow for a method a path does not take, 404 for a path that does not exist', async () => {
    const ask = (method: string, path: string, body?: string) =>
      fetch(`${t.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
    for (const [method, path, allow] of [
      ['GET', '/v1/predict', 'POST'],
      ['DELETE', '/v1/predict?x=1', 'POST'],
      ['PUT', '/v2/models/anything/infer', 'POST'],
      ['POST', '/v1/models/concurrent', 'GET, HEAD, PATCH, DELETE'],
    ]) {
      const res = await ask(method, path, method === 'GET' ? undefined : '{"tags": ');
      const { error } = (await res.json()) as { error: { code: string; message: string; details: { allowed: string[] } } };
      expect([method, path, res.status, error.code, res.headers.get('allow')]).toEqual([method, path, 405, 'METHOD_NOT_ALLOWED', allow]);
      expect(error.message).toBe(`${method} is not allowed on ${path.split('?')[0]}: use ${allow}`);
    }
    expect((await ask('GET', '/v1/nothing-here')).status).toBe(404);
    // A body still needs a credential first, also where the method is wrong.
    const anonymous = await fetch(`${t.baseUrl}/v1/predict`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
  });

  it('refuses a body nested more than 64 levels deep with a 400 on every route but the prediction routes, never a 500', async () => {
    const send = async (method: string, path: string, body: string) => {
      const res = await fetch(`${t.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body });
      return { status: res.status, error: ((await res.json()) as { error?: { code: string; details?: { maxNesting?: number } } }).error };
    };
    /** `{"<field>": [[…1…]]}`, `levels` deep in all (the object is one level). */
    const nested = (field: string, levels: number) => `{"${field}": ${'['.repeat(levels - 1)}1${']'.repeat(levels - 1)}}`;
    const routes: Array<[method: string, path: string, field: string]> = [
      ['POST', '/v1/feedback', 'actual'],
      ['PATCH', '/v1/models/deep', 'tags'],
      ['PUT', '/v1/models/deep/aliases/x', 'version'],
      ['PUT', '/v1/models/deep/traffic', 'split'],
      ['POST', '/v1/tenants', 'name'],
      ['PATCH', '/v1/tenants/00000000-0000-0000-0000-000000000000', 'limits'],
      ['POST', '/v1/batch-jobs', 'input'],
    ];
    for (const [method, path, field] of routes) {
      for (const levels of [65, 3_000]) {
        const res = await send(method, path, nested(field, levels));
        expect([path, levels, res.status, res.error?.code, res.error?.details?.maxNesting]).toEqual([path, levels, 400, 'INVALID_REQUEST', 64]);
      }
      // At the limit the route reads the body and answers for itself (a validation error, a 404…).
      const atLimit = await send(method, path, nested(field, 64));
      expect([path, atLimit.status < 500, atLimit.error?.details?.maxNesting]).toEqual([path, true, undefined]);
    }
  });

  it('answers malformed JSON with 400, and reads an empty JSON body as no body', async () => {
    // Empty is not malformed: no body, as without the content type — for PATCH, a change of nothing, like {}.
    const before = (await t.request('GET', '/v1/models/concurrent')).body;
    const empty = await t.request('PATCH', '/v1/models/concurrent', { body: undefined, headers: { 'content-type': 'application/json' } });
    const bare = await t.request('PATCH', '/v1/models/concurrent', { body: undefined });
    const braces = await t.request('PATCH', '/v1/models/concurrent', { body: {} });
    expect([empty.status, bare.status, braces.status]).toEqual([braces.status, braces.status, 200]);
    expect(empty.body).toMatchObject({ name: 'concurrent', tags: before.tags, segment: before.segment, description: before.description });
    const broken = await fetch(`${t.baseUrl}/v1/models/concurrent`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${t.env.MMS_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"tags": ',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: string } }).error.code).toBeDefined();
  });
});
