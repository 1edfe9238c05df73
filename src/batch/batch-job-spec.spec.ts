import { expandUri, parseJobSpec } from './batch-job-spec';

const base = { input: { uri: 'in/sales.csv' }, route: { by: 'model', column: 'model' }, features: ['a', 'b'] };

describe('parseJobSpec', () => {
  it('fills defaults and takes the formats from the file name', () => {
    expect(parseJobSpec(base)).toEqual({
      input: { uri: 'in/sales.csv', format: 'csv' },
      route: { by: 'model', column: 'model' },
      features: ['a', 'b'],
      passthrough: [],
      output: { format: 'csv' },
      miniBatchSize: 1000,
      maxConcurrency: 32,
      errorThreshold: -1,
      maxRetries: 3,
    });
    expect(parseJobSpec({ ...base, input: { uri: 'x.parquet' }, route: { by: 'segment', columns: ['region', 'store'] } })).toMatchObject({
      input: { format: 'parquet' },
      route: { by: 'segment', columns: ['region', 'store'] },
      output: { format: 'parquet' },
    });
  });

  it.each([
    [{ ...base, extra: 1 }, 'extra'],
    [{ ...base, route: { by: 'store' } }, 'route.by'],
    [{ ...base, route: { by: 'segment', columns: [] } }, 'route.columns'],
    [{ ...base, features: [] }, 'features'],
    [{ ...base, features: ['a', 'a'] }, 'features'],
    [{ ...base, passthrough: ['model'] }, 'passthrough'],
    [{ ...base, input: { uri: 'x.txt' } }, 'input.format'],
    [{ ...base, output: { format: 'xlsx' } }, 'output.format'],
    [{ ...base, errorThreshold: -2 }, 'errorThreshold'],
    [{ ...base, miniBatchSize: 0 }, 'miniBatchSize'],
    [{ ...base, maxRetries: 1.5 }, 'maxRetries'],
  ])('names the bad field of %j', (body, field) => {
    expect(() => parseJobSpec(body)).toThrow(expect.objectContaining({ code: 'INVALID_BATCH_JOB', details: { field } }));
  });

  it('says the format is needed when the input name does not tell it, naming the file', () => {
    expect(() => parseJobSpec({ ...base, input: { uri: 'retail' } })).toThrow(
      `input.format is needed: 'retail' does not end in .csv, .jsonl, .ndjson or .parquet (give "format": one of csv, jsonl, parquet)`,
    );
    expect(() => parseJobSpec({ ...base, input: { uri: 'in/sales.csv', format: 'xlsx' } })).toThrow('input.format must be one of csv, jsonl, parquet');
  });

  it("names a schedule's missing job as job, and its fields as job.…", () => {
    expect(() => parseJobSpec(undefined, 'job.')).toThrow(expect.objectContaining({ message: 'job must be a JSON object', details: { field: 'job' } }));
    expect(() => parseJobSpec({ ...base, extra: 1 }, 'job.')).toThrow(expect.objectContaining({ details: { field: 'job.extra' } }));
  });
});

describe('expandUri', () => {
  it('puts the firing day into {date} and {yesterday}', () => {
    expect(expandUri('in/sales-{date}-vs-{yesterday}.csv', new Date('2026-11-25T02:00:00Z'))).toBe('in/sales-2026-11-25-vs-2026-11-24.csv');
  });
});
