/**
 * The bodies API.md names, as schemas for /docs: the decorators describe requests, and these the
 * answers a client generated from the document reads (the e2e suite checks real answers against
 * them, so they cannot drift). Fields beyond the required ones may be added; none is removed.
 */
type Schema = Record<string, unknown>;

const str = { type: 'string' };
const int = { type: 'integer' };
const time = { type: 'string', format: 'date-time' };
const nullable = (schema: Schema): Schema => ({ ...schema, nullable: true });
const labels = { type: 'object', additionalProperties: { type: 'string' }, example: { region: 'north', store: '0042' } };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const object = (required: string[], properties: Record<string, Schema>): Schema => ({ type: 'object', required, properties });

const tensorSpec = object(['name', 'type', 'shape'], {
  name: str,
  type: { type: 'string', example: 'float32' },
  shape: { type: 'array', items: { oneOf: [int, str] }, description: 'a free dimension is its name (or "N")', example: ['N', 6] },
});

export const RESPONSE_SCHEMAS: Record<string, Schema> = {
  Tenant: object(['id', 'name', 'createdAt'], { id: { type: 'string', format: 'uuid' }, name: str, createdAt: time, limits: { type: 'object' } }),
  CreatedKey: object(['id', 'key', 'role', 'tenantId', 'prefix', 'createdAt'], {
    id: { type: 'string', format: 'uuid' },
    key: { type: 'string', description: 'mmsk_<prefix>_<secret>: shown this once' },
    role: { type: 'string', enum: ['admin', 'publisher', 'scorer'] },
    tenantId: str,
    models: nullable({ type: 'array', items: str }),
    description: nullable(str),
    prefix: str,
    expiresAt: nullable(time),
    revokedAt: nullable(time),
    createdAt: time,
  }),
  Token: object(['token', 'expiresAt'], { token: { type: 'string', description: 'HS256 JWT' }, expiresAt: time }),
  ModelVersion: object(['name', 'version', 'sha256', 'sizeBytes', 'format', 'signature', 'segment', 'tags', 'createdAt'], {
    name: str,
    version: int,
    sha256: str,
    sizeBytes: int,
    storedBytes: nullable(int),
    format: { type: 'string', enum: ['onnx', 'mlflow'] },
    signature: object(['inputs', 'outputs'], { inputs: { type: 'array', items: tensorSpec }, outputs: { type: 'array', items: tensorSpec } }),
    segment: labels,
    tags: labels,
    description: nullable(str),
    createdAt: time,
  }),
  Model: object(['name', 'segment', 'tags', 'aliases', 'versions', 'createdAt'], {
    name: str,
    description: nullable(str),
    segment: labels,
    tags: labels,
    aliases: { type: 'object', additionalProperties: int, description: 'alias → version', example: { production: 3 } },
    versions: { type: 'array', items: ref('ModelVersion') },
    createdAt: time,
    updatedAt: time,
  }),
  ModelList: object(['items', 'nextCursor'], {
    items: {
      type: 'array',
      items: object(['name', 'segment', 'tags'], { name: str, description: nullable(str), segment: labels, tags: labels, latestVersion: { nullable: true, allOf: [ref('ModelVersion')], description: 'null while the model has no version' }, createdAt: time, updatedAt: time }),
    },
    nextCursor: nullable({ type: 'string', description: 'pass back as ?cursor= for the next page' }),
  }),
  Alias: object(['name', 'alias', 'version'], { name: str, alias: str, version: int, updatedAt: time }),
  Prediction: object(['model', 'version', 'outputs', 'predictionId'], {
    model: str,
    version: int,
    outputs: { type: 'object', additionalProperties: { type: 'array', items: {} }, example: { variable: [[142.5]] } },
    predictionId: str,
  }),
  Fanout: object(['results'], { results: { type: 'array', items: { oneOf: [ref('Prediction'), ref('Error')] }, description: 'in request order' } }),
  OipInferResponse: object(['model_name', 'model_version', 'outputs'], {
    model_name: str,
    model_version: str,
    id: str,
    outputs: { type: 'array', items: object(['name', 'shape', 'datatype', 'data'], { name: str, shape: { type: 'array', items: int }, datatype: str, data: { type: 'array', items: {} } }) },
  }),
  QueuedJob: object(['id', 'status'], { id: { type: 'string', format: 'uuid' }, status: { type: 'string', enum: ['queued'] } }),
  TrafficRule: object(['model', 'split', 'mirror', 'comparison'], {
    model: str,
    split: nullable({ type: 'object', additionalProperties: { type: 'number' }, example: { 3: 90, 4: 10 } }),
    mirror: nullable(object(['version', 'percent'], { version: int, percent: { type: 'number' } })),
    updatedAt: time,
    updatedBy: str,
    comparison: { type: 'array', items: { type: 'object' } },
  }),
  Quality: object(['model', 'window', 'versions', 'mirrored'], {
    model: str,
    window: str,
    from: time,
    to: time,
    versions: { type: 'array', items: versionQuality() },
    // Shadow versions' figures, from the actuals of the requests they shadowed (README, Prediction log, feedback and quality).
    mirrored: { type: 'array', items: versionQuality() },
  }),
};

/** Which operation answers which of them: `METHOD path` → [status, schema name]. */
export const OPERATION_RESPONSES: Record<string, [string, string]> = {
  'post /v1/tenants': ['201', 'Tenant'],
  'post /v1/tenants/{tenant}/keys': ['201', 'CreatedKey'],
  'post /v1/auth/token': ['200', 'Token'],
  'post /v1/models/{name}/versions': ['201', 'ModelVersion'],
  'get /v1/models': ['200', 'ModelList'],
  'get /v1/models/{name}': ['200', 'Model'],
  'patch /v1/models/{name}': ['200', 'Model'],
  'get /v1/models/{name}/versions/{version}': ['200', 'ModelVersion'],
  'put /v1/models/{name}/aliases/{alias}': ['200', 'Alias'],
  'post /v1/predict': ['200', 'Prediction'],
  'post /v1/predict/fanout': ['200', 'Fanout'],
  'post /v2/models/{name}/infer': ['200', 'OipInferResponse'],
  'post /v2/models/{name}/versions/{version}/infer': ['200', 'OipInferResponse'],
  'post /v1/batch-jobs': ['202', 'QueuedJob'],
  'put /v1/models/{name}/traffic': ['200', 'TrafficRule'],
  'get /v1/models/{name}/traffic': ['200', 'TrafficRule'],
  'get /v1/models/{name}/quality': ['200', 'Quality'],
};

function versionQuality() {
  return object(['version', 'count', 'mae', 'mape', 'bias'], { version: int, count: int, mae: nullable({ type: 'number' }), mape: nullable({ type: 'number' }), bias: nullable({ type: 'number' }) });
}
