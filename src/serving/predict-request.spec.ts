import { parseFanoutRequest, parsePredictRequest } from './predict-request';

describe('parsePredictRequest', () => {
  const inputs = { float_input: [[1, 2, 3, 4, 5, 6]] };

  it('reads model, version, alias, key and inputs', () => {
    expect(parsePredictRequest({ model: 'demand-1', version: 3, inputs })).toEqual({ selector: { model: 'demand-1', version: 3 }, inputs });
    expect(parsePredictRequest({ model: 'demand-1', alias: 'staging', key: 'store-7', inputs }).selector).toEqual({ model: 'demand-1', alias: 'staging', routingKey: 'store-7' });
    expect(parsePredictRequest({ segment: { region: 'north' }, inputs }, 'from-header').selector).toEqual({ segment: { region: 'north' }, routingKey: 'from-header' });
  });

  it('limits the x-routing-key header to the 256 characters of the body field, which feedback by key can name', () => {
    expect(parsePredictRequest({ model: 'demand-1', inputs }, 'k'.repeat(256)).selector.routingKey).toHaveLength(256);
    expect(() => parsePredictRequest({ model: 'demand-1', inputs }, 'k'.repeat(257))).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: { header: 'x-routing-key' } }));
  });

  it('takes an empty key as no key, as an empty x-routing-key header is (feedback refuses an empty key)', () => {
    expect(parsePredictRequest({ model: 'demand-1', key: '', inputs }).selector).toEqual({ model: 'demand-1' });
    expect(parsePredictRequest({ model: 'demand-1', key: '', inputs }, 'from-header').selector).toEqual({ model: 'demand-1', routingKey: 'from-header' });
    expect(parsePredictRequest({ model: 'demand-1', inputs }, '').selector).toEqual({ model: 'demand-1' });
  });

  it('takes null for an optional field as not given (clients that serialise unset fields as null)', () => {
    expect(parsePredictRequest({ model: 'demand-1', segment: null, version: null, alias: null, key: null, inputs }, 'from-header').selector).toEqual({ model: 'demand-1', routingKey: 'from-header' });
    expect(parsePredictRequest({ model: null, segment: { region: 'north' }, alias: 'staging', version: null, inputs }).selector).toEqual({ segment: { region: 'north' }, alias: 'staging' });
  });

  it.each([
    ['no target', { inputs }, 'INVALID_REQUEST', /Name the model/],
    ['null targets', { model: null, segment: null, inputs }, 'INVALID_REQUEST', /Name the model/],
    ['null inputs', { model: 'a', inputs: null }, 'INVALID_REQUEST', /inputs must be a JSON object/],
    ['both targets', { model: 'a', segment: { r: 'n' }, inputs }, 'INVALID_REQUEST', /either model or segment/],
    ['version and alias', { model: 'a', version: 1, alias: 'x', inputs }, 'INVALID_REQUEST', /either version or alias/],
    ['a bad version', { model: 'a', version: 0, inputs }, 'INVALID_REQUEST', /version must be a whole number from 1 to 2147483647/],
    ['a version beyond any there can be', { model: 'a', version: 2 ** 31, inputs }, 'INVALID_REQUEST', /version must be a whole number from 1 to 2147483647/],
    ['a huge version', { model: 'a', version: 1e300, inputs }, 'INVALID_REQUEST', /version must be a whole number from 1 to 2147483647/],
    ['a model name that is not a string', { model: 5, inputs }, 'INVALID_MODEL_NAME', /^model must be a string \(a model name matching .*\), got a number$/],
    ['a model name that is an object', { model: { name: 'a' }, inputs }, 'INVALID_MODEL_NAME', /got an object$/],
    ['a bad alias', { model: 'a', alias: '3', inputs }, 'INVALID_REQUEST', /alias must match/],
    ['a bad name', { model: 'Demand', inputs }, 'INVALID_MODEL_NAME', /must match/],
    ['a numeric segment value', { segment: { store: 42 }, inputs }, 'INVALID_REQUEST', /^segment.store must be a string, got a number \(segments match exactly: "0042" is not 42\)$/],
    ['a null segment value', { segment: { region: null }, inputs }, 'INVALID_REQUEST', /^segment.region must be a string, got null$/],
    ['an empty segment', { segment: {}, inputs }, 'INVALID_REQUEST', /at least one key/],
    ['no inputs', { model: 'a' }, 'INVALID_REQUEST', /inputs is required/],
    ['array inputs', { model: 'a', inputs: [1] }, 'INVALID_REQUEST', /inputs must be a JSON object/],
    ['an unknown field', { model: 'a', inputs, output: [] }, 'INVALID_REQUEST', /Unknown field 'output'/],
    ['a non-object body', [1], 'INVALID_REQUEST', /must be a JSON object/],
  ])('refuses %s', (_what, body, code, message) => {
    expect(() => parsePredictRequest(body)).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });

  it('takes every version number a registry can hold, as a number or its digits', () => {
    expect(parsePredictRequest({ model: 'a', version: 2147483647, inputs }).selector.version).toBe(2147483647);
    expect(parsePredictRequest({ model: 'a', version: '2147483647', inputs }).selector.version).toBe(2147483647);
  });

  it('bounds fanout', () => {
    expect(parseFanoutRequest({ requests: [{}, {}] })).toHaveLength(2);
    expect(() => parseFanoutRequest({ requests: [] })).toThrow(/1 to 1000/);
    expect(() => parseFanoutRequest({ requests: new Array(1001).fill({}) })).toThrow(/1 to 1000/);
    expect(() => parseFanoutRequest({ items: [] })).toThrow(/Unknown field 'items'/);
  });
});
