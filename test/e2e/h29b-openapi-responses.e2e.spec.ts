import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp, TestResponse } from '../support/test-app';

jest.setTimeout(120_000);

type Schema = { $ref?: string; allOf?: Schema[]; type?: string; nullable?: boolean; required?: string[]; properties?: Record<string, Schema>; items?: Schema; additionalProperties?: Schema | boolean; enum?: unknown[]; oneOf?: Schema[] };
type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>>; components: { schemas: Record<string, Schema> } };

/** What of `value` does not fit `schema` (empty: it fits). Enough of JSON Schema for the documented bodies. */
function misfits(doc: Doc, schema: Schema, value: unknown, at = '$'): string[] {
  if (schema.$ref) return misfits(doc, doc.components.schemas[schema.$ref.split('/').pop()!], value, at);
  if (value === null) return schema.nullable ? [] : [`${at} is null`];
  if (schema.allOf) return schema.allOf.flatMap((s) => misfits(doc, s, value, at));
  if (schema.oneOf) return schema.oneOf.some((s) => misfits(doc, s, value, at).length === 0) ? [] : [`${at} fits none of oneOf`];
  if (schema.enum && !schema.enum.includes(value)) return [`${at} = ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`];
  const kind = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (schema.type && !(schema.type === kind || (schema.type === 'number' && kind === 'integer'))) return [`${at} is ${kind}, documented ${schema.type}`];
  if (kind === 'array' && schema.items) return (value as unknown[]).flatMap((v, i) => misfits(doc, schema.items!, v, `${at}[${i}]`));
  if (kind !== 'object') return [];
  const obj = value as Record<string, unknown>;
  const missing = (schema.required ?? []).filter((k) => !(k in obj)).map((k) => `${at}.${k} missing`);
  const props = Object.entries(obj).flatMap(([k, v]) => {
    const s = schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    return s ? misfits(doc, s, v, `${at}.${k}`) : [];
  });
  return [...missing, ...props];
}

/** Every body API.md names is documented in /docs with a schema its real answer fits. */
describe('OpenAPI response schemas match the real answers (h29b)', () => {
  let t: TestApp;
  let doc: Doc;
  const seen = new Set<string>();
  beforeAll(async () => {
    t = await startTestApp();
    doc = (await t.request('GET', '/docs/json')).body as Doc;
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const check = (method: string, path: string, res: TestResponse) => {
    const op = doc.paths[path][method];
    const documented = op.responses[String(res.status)]?.content?.['application/json']?.schema;
    expect([method, path, res.status, documented ? 'documented' : 'no schema']).toEqual([method, path, res.status, 'documented']);
    expect([method, path, misfits(doc, documented!, res.body)]).toEqual([method, path, []]);
    seen.add(`${method} ${path}`);
  };

  it('fits tenants, keys and tokens', async () => {
    const tenant = await t.request('POST', '/v1/tenants', { body: { name: 'shapes' } });
    check('post', '/v1/tenants', tenant);
    const key = await t.request('POST', `/v1/tenants/${tenant.body.id}/keys`, { body: { role: 'scorer', models: ['s-*'] } });
    check('post', '/v1/tenants/{tenant}/keys', key);
    check('post', '/v1/auth/token', await t.request('POST', '/v1/auth/token', { headers: { authorization: `Bearer ${key.body.key}` } }));
  });

  it('fits the registry, prediction, traffic, quality and batch answers', async () => {
    const bytes = buildLinearModel({ weights: [1, 2], bias: 0 }).bytes;
    check('post', '/v1/models/{name}/versions', await t.request('POST', '/v1/models/shape-a/versions', { body: artifactForm(bytes, { segment: { region: 'north' }, tags: { algo: 'lin' } }) }));
    await t.request('POST', '/v1/models/shape-a/versions', { body: artifactForm(buildLinearModel({ weights: [2, 2], bias: 0 }).bytes) });
    check('put', '/v1/models/{name}/aliases/{alias}', await t.request('PUT', '/v1/models/shape-a/aliases/production', { body: { version: 1 } }));
    check('get', '/v1/models', await t.request('GET', '/v1/models?limit=1'));
    check('get', '/v1/models/{name}', await t.request('GET', '/v1/models/shape-a'));
    check('patch', '/v1/models/{name}', await t.request('PATCH', '/v1/models/shape-a', { body: { description: null } }));
    check('get', '/v1/models/{name}/versions/{version}', await t.request('GET', '/v1/models/shape-a/versions/2'));
    const inputs = { float_input: [[1, 2]] };
    const predicted = await t.request('POST', '/v1/predict', { body: { model: 'shape-a', inputs } });
    check('post', '/v1/predict', predicted);
    check('post', '/v1/predict/fanout', await t.request('POST', '/v1/predict/fanout', { body: { requests: [{ model: 'shape-a', inputs }, { model: 'nowhere', inputs }] } }));
    const oip = { inputs: [{ name: 'float_input', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] };
    check('post', '/v2/models/{name}/infer', await t.request('POST', '/v2/models/shape-a/infer', { body: { id: 'r1', ...oip } }));
    check('post', '/v2/models/{name}/versions/{version}/infer', await t.request('POST', '/v2/models/shape-a/versions/2/infer', { body: oip }));
    check('get', '/v1/models/{name}/traffic', await t.request('GET', '/v1/models/shape-a/traffic'));
    check('put', '/v1/models/{name}/traffic', await t.request('PUT', '/v1/models/shape-a/traffic', { body: { split: { 1: 50, 2: 50 }, mirror: null } }));
    check('get', '/v1/models/{name}/traffic', await t.request('GET', '/v1/models/shape-a/traffic'));
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // the prediction log writes once a second
    expect((await t.request('POST', '/v1/feedback', { body: { predictionId: predicted.body.predictionId, actual: 4 } })).status).toBe(200);
    const quality = await t.request('GET', '/v1/models/shape-a/quality');
    expect(quality.body.versions).toHaveLength(1);
    check('get', '/v1/models/{name}/quality', quality);
    const job = await t.request('POST', '/v1/batch-jobs', {
      body: { input: { uri: 'in.csv' }, route: { by: 'model', column: 'model' }, features: ['a', 'b'] },
    });
    expect(job.status).toBe(400); // no such file: the 202 needs one
    require('node:fs').writeFileSync(`${t.dataDir}/in.csv`, 'model,a,b\nshape-a,1,2\n');
    check('post', '/v1/batch-jobs', await t.request('POST', '/v1/batch-jobs', { body: { input: { uri: 'in.csv' }, route: { by: 'model', column: 'model' }, features: ['a', 'b'] } }));
  });

  it('covered every operation that has a documented answer schema', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => Object.entries(op.responses).some(([status, r]) => status.startsWith('2') && r.content?.['application/json']?.schema?.$ref))
        .map(([method]) => `${method} ${path}`),
    );
    expect(documented.filter((op) => !seen.has(op))).toEqual([]);
    expect(documented.length).toBeGreaterThanOrEqual(17);
  });
});
