import type { TensorSpec } from '../registry/artifact/artifact.types';
import { mlflowInputs, parseMlflowPayload } from './mlflow-payload';
import { ServingError } from './serving.error';
import { decodeInputs } from './tensor-codec';

/** The ServingError a call throws (fails the test when it throws none). */
function errorOf(call: () => unknown): ServingError {
  try {
    call();
  } catch (error) {
    if (error instanceof ServingError) return error;
    throw error;
  }
  throw new Error('expected a ServingError');
}

const columns = Array.from({ length: 20_000 }, (_, i) => `feature_${i}`);
const wide: TensorSpec[] = [{ name: 'x', type: 'float32', shape: ['N', columns.length] }];
const perColumn: TensorSpec[] = columns.slice(0, 500).map((name) => ({ name, type: 'float32', shape: [null, 1] }));

describe('errors about wide models stay small: the first names and the count, not every name', () => {
  it('a data frame missing a column of a 20,000-column MLflow signature', () => {
    const error = errorOf(() => mlflowInputs(parseMlflowPayload({ dataframe_records: [{ a: 1 }] }), wide, columns));
    expect(error.message).toBe(`Missing column 'feature_0': the model's signature has columns ${columns.slice(0, 20).join(', ')}, … (20000 in all)`);
    expect(error.details).toEqual({ input: 'x', column: 'feature_0', expected: columns.slice(0, 100), expectedCount: 20_000 });
    expect(JSON.stringify(error.details).length).toBeLessThan(3_000);
  });

  it('a frame of 20,000 columns sent to a model that takes 6', () => {
    const six: TensorSpec[] = [{ name: 'float_input', type: 'float32', shape: ['N', 6] }];
    const error = errorOf(() => mlflowInputs(parseMlflowPayload({ dataframe_split: { columns, data: [columns.map(() => 1)] } }), six, null));
    expect(error.message).toMatch(/takes 6 columns in order, the data frame has 20000 \(feature_0, .*feature_19, … \(20000 in all\)\)$/);
    expect(error.message.length).toBeLessThan(500);
  });

  it("an unknown input of a model with one input per column (skl2onnx's [?, 1] inputs)", () => {
    const error = errorOf(() => decodeInputs(perColumn, { nope: [[1]] }));
    expect(error.message).toMatch(/^Unknown input 'nope': the model's inputs are 'feature_0', .*'feature_19', … \(500 in all\)$/);
    expect(error.details).toMatchObject({ input: 'nope', expectedCount: 500 });
    expect((error.details.expected as string[]).length).toBe(100);
    const frame = errorOf(() => mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: ['nope'], data: [[1]] } }), perColumn, null));
    expect(frame.message.length).toBeLessThan(1_000);
    expect(frame.details).toMatchObject({ expectedCount: 500, missingCount: 500, unknown: ['nope'] });
  });

  it('keeps short lists whole, as before', () => {
    const two: TensorSpec[] = [{ name: 'a', type: 'float32', shape: ['N', 1] }, { name: 'b', type: 'float32', shape: ['N', 1] }];
    const error = errorOf(() => decodeInputs(two, { c: [[1]] }));
    expect(error.message).toBe("Unknown input 'c': the model's inputs are 'a', 'b'");
    expect(error.details).toEqual({ input: 'c', expected: ['a', 'b'] });
  });
});

describe('a model that takes no inputs (a constant) says so', () => {
  it('on /v1/predict and MLflow tensors', () => {
    expect(errorOf(() => decodeInputs([], { x: [1] })).message).toBe('Unknown input \'x\': the model takes no inputs: send "inputs": {}');
    expect(errorOf(() => mlflowInputs(parseMlflowPayload({ instances: [1] }), [], null)).message).toBe('This model takes no inputs: send {"inputs": {}}');
  });
});

describe('names the client sent are repeated cut to 64 characters, as values are', () => {
  const long = 'n'.repeat(100_000);
  const cut = `${'n'.repeat(64)}…`;
  const two: TensorSpec[] = [{ name: 'a', type: 'float32', shape: ['N', 1] }, { name: 'b', type: 'float32', shape: ['N', 1] }];

  it('an unknown input of /v1/predict', () => {
    const error = errorOf(() => decodeInputs(two, { [long]: [[1]] }));
    expect(error.message).toBe(`Unknown input '${cut}': the model's inputs are 'a', 'b'`);
    expect(error.details.input).toBe(cut);
  });

  it('unknown and repeated data frame columns', () => {
    const unknown = errorOf(() => mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: ['a', long], data: [[1, 2]] } }), two, null));
    expect(unknown.message).toBe(`This model takes one column per input, named a, b (or unnamed, in that order): missing 'b', unknown '${cut}'`);
    expect(unknown.details.unknown).toEqual([cut]);
    const repeated = errorOf(() => mlflowInputs(parseMlflowPayload({ dataframe_split: { columns: [long, long], data: [[1, 2]] } }), two, null));
    expect(repeated.message).toBe(`Column '${cut}' appears more than once: each column name must be unique`);
    expect(repeated.details.column).toBe(cut);
  });
});
