import { buildLinearModel } from '../fixtures/onnx-builder';
import { artifactForm, startTestApp, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

type Response = { description: string; content?: Record<string, { schema: { $ref?: string } }>; headers?: Record<string, unknown> };
type Doc = { paths: Record<string, Record<string, { responses: Record<string, Response> }>>; components: { schemas: Record<string, { properties: Record<string, { required: string[] }> }> } };

/**
 * A client generated from /docs must know what API.md says of every route: errors come back as
 * {"error": {"code", "message", "details"}}, and the prediction routes answer x-model-version.
 */
describe('OpenAPI: the error body and x-model-version (h29b)', () => {
  let t: TestApp;
  let doc: Doc;
  beforeAll(async () => {
    t = await startTestApp();
    doc = (await t.request('GET', '/docs/json')).body as Doc;
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const operations = () => Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
  const isErrorRef = (r: Response | undefined) => r?.content?.['application/json']?.schema?.$ref === '#/components/schemas/Error';

  it('describes the error body as a schema, with the fields a real error has', async () => {
    const real = await t.request('GET', '/v1/models/nowhere');
    expect(real.status).toBe(404);
    const schema = doc.components.schemas.Error;
    expect(Object.keys(schema.properties)).toEqual(Object.keys(real.body));
    expect(schema.properties.error.required).toEqual(Object.keys(real.body.error));
  });

  it('gives every operation but the health probes an error response, and its documented 4xx statuses the error body', () => {
    const listed = (op: { responses: Record<string, Response> }) => Object.entries(op.responses).some(([status, r]) => Number(status) >= 400 && isErrorRef(r));
    const missing = operations()
      .filter(({ path, op }) => !path.includes('/health/') && !isErrorRef(op.responses.default) && !listed(op))
      .map(({ path, method }) => `${method} ${path}`);
    expect(missing).toEqual([]);
    expect(operations().filter(({ op }) => isErrorRef(op.responses.default)).length).toBeGreaterThan(40);
    const bare = operations().flatMap(({ path, method, op }) =>
      Object.entries(op.responses)
        .filter(([status, r]) => status.startsWith('4') && !isErrorRef(r))
        .map(([status]) => `${method} ${path} ${status}`),
    );
    expect(bare).toEqual([]);
  });

  it('keeps the health body of /health/ready 503', () => {
    expect(isErrorRef(doc.paths['/health/ready'].get.responses['503'])).toBe(false);
  });

  it('declares x-model-version on the prediction routes that answer it', async () => {
    for (const [path, method] of [
      ['/v1/predict', 'post'],
      ['/v2/models/{name}/infer', 'post'],
      ['/v2/models/{name}/versions/{version}/infer', 'post'],
      ['/v1/models/{name}/invocations', 'post'],
    ]) {
      expect([path, Object.keys(doc.paths[path][method].responses['200'].headers ?? {})]).toEqual([path, ['x-model-version']]);
    }
    expect((await t.request('POST', '/v1/models/hdr/versions', { body: artifactForm(buildLinearModel({ weights: [1, 2], bias: 0 }).bytes) })).status).toBe(201);
    const oip = await t.request('POST', '/v2/models/hdr/infer', { body: { inputs: [{ name: 'float_input', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] } });
    expect([oip.status, oip.headers.get('x-model-version')]).toEqual([200, '1']);
  });

  it('types whole-number fields as integers, as the server checks them', () => {
    const schemas = doc.components.schemas as unknown as Record<string, { properties: Record<string, { type: string; minimum?: number; maximum?: number }> }>;
    expect(schemas.SetAliasDto.properties.version).toMatchObject({ type: 'integer', minimum: 1, maximum: 2147483647 });
    const limits = schemas.UpdateTenantDto.properties;
    for (const field of ['maxModels', 'maxArtifactBytes', 'rateLimitPerSecond', 'maxRunningBatchJobs']) expect([field, limits[field].type, limits[field].minimum]).toEqual([field, 'integer', 0]);
    expect(limits.cacheShare.type).toBe('number');
  });

  it('marks what a bulk rollout requires, as the server refuses a body without it', async () => {
    const body = (doc.paths['/v1/rollouts'].post as unknown as { requestBody: { content: Record<string, { schema: { required?: string[] } }> } }).requestBody;
    expect(body.content['application/json'].schema.required).toEqual(['kind', 'selector']);
    expect((await t.request('POST', '/v1/rollouts', { body: { selector: { q: 'x' } } })).body.error.details).toEqual({ field: 'kind' });
    expect((await t.request('POST', '/v1/rollouts', { body: { kind: 'alias', alias: 'production' } })).body.error.details).toEqual({ field: 'selector' });
  });
});
