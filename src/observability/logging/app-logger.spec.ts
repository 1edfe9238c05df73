import { Writable } from 'node:stream';
import { createAppLogger, JsonLogger, PrettyLogger, scrubSecrets } from './app-logger';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('JsonLogger', () => {
  it('writes one JSON object per line with level, time, context and message', () => {
    const out = capture();
    const logger = new JsonLogger('log', out.stream);
    logger.log('listening on http://127.0.0.1:8080 (API docs at http://127.0.0.1:8080/docs)', 'Bootstrap');
    logger.warn('careful', 'Cache');
    logger.error('boom', 'Error: boom\n    at x', 'Errors');
    logger.debug('hidden at log level', 'X');
    const [info, warn, error, ...rest] = out.lines();
    expect(info).toMatchObject({ level: 'info', context: 'Bootstrap', msg: 'listening on http://127.0.0.1:8080 (API docs at http://127.0.0.1:8080/docs)' });
    expect(typeof info.time).toBe('string');
    expect(warn).toMatchObject({ level: 'warn', context: 'Cache', msg: 'careful' });
    expect(error).toMatchObject({ level: 'error', context: 'Errors', msg: 'boom', stack: 'Error: boom\n    at x' });
    expect(rest).toEqual([]);
  });

  it('logs requests with id, tenant, model, version and latency, probes only at debug', () => {
    const out = capture();
    const logger = new JsonLogger('log', out.stream);
    const fields = { reqId: 'r1', method: 'POST', route: '/v1/predict', url: '/v1/predict', status: 200, latencyMs: 1.5, tenant: 't', principal: 'key:k', model: 'm', version: '2' };
    logger.request(fields, false);
    logger.request({ ...fields, route: '/health/ready' }, true);
    logger.request({ ...fields, route: '/health/ready', status: 503 }, true);
    logger.request({ ...fields, status: 500 }, false);
    const lines = out.lines();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: 'info', context: 'Http', msg: 'request completed', reqId: 'r1', tenant: 't', model: 'm', version: '2', latencyMs: 1.5, status: 200 });
    expect(lines[1]).toMatchObject({ level: 'warn', status: 503 }); // a degraded probe warns
    expect(lines[2]).toMatchObject({ level: 'error', status: 500 });
  });

  it('never writes credentials: structured fields are redacted, keys and tokens in text masked', () => {
    const out = capture();
    const logger = new JsonLogger('log', out.stream);
    const key = 'mmsk_abcdefghijklmnop_' + 'x'.repeat(43);
    logger.log({ msg: 'object message', headers: { authorization: 'Bearer secret-value' }, token: 'jwt', nested: { apiKey: 'k' } });
    logger.log(`bad key ${key} and Bearer abc.def and mms_root_SeCrEt and eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl`, 'Auth');
    const text = out.lines().map((l) => JSON.stringify(l)).join('\n');
    for (const secret of ['secret-value', 'x'.repeat(43), 'abc.def', 'SeCrEt', 'c2lnbmF0dXJl', '"jwt"']) expect(text).not.toContain(secret);
    expect(text).toContain('[REDACTED]');
    expect(text).toContain('mmsk_abcdefghijklmnop_[REDACTED]');
  });

  it('leaves boot failures to main.ts (one line, no stack)', () => {
    const out = capture();
    new JsonLogger('log', out.stream).error('Invalid configuration', 'stack', 'ExceptionHandler');
    expect(out.lines()).toEqual([]);
  });
});

describe('createAppLogger', () => {
  it('follows LOG_FORMAT', () => {
    expect(createAppLogger({ LOG_FORMAT: 'json', LOG_LEVEL: 'log' }, capture().stream)).toBeInstanceOf(JsonLogger);
    expect(createAppLogger({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'log' })).toBeInstanceOf(PrettyLogger);
  });

  it('masks secrets in plain text', () => {
    expect(scrubSecrets('Authorization: Bearer abc123')).toBe('Authorization: Bearer [REDACTED]');
  });
});
