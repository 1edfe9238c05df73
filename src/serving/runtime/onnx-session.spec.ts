import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { buildMlpModel, buildTypedModel } from '../../../test/fixtures/onnx-builder';
import { openSession } from './onnx-session';

/** The worker's session on real onnxruntime and a real ONNX file, against onnxruntime-node's public API. */
describe('openSession', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-session-'));
    file = path.join(dir, 'typed.onnx');
    fs.writeFileSync(file, buildTypedModel().bytes);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const feeds = () => ({
    a: new Tensor('float64', new Float64Array([0.5, 0.25, -1, 3]), [2, 2]),
    b: new Tensor('int64', new BigInt64Array([7n, 2n, -5n, 2n]), [2, 2]),
    c: new Tensor('int32', new Int32Array([1, -2, 2147483647, 0]), [2, 2]),
    d: new Tensor('bool', new Uint8Array([1, 0]), [2, 1]),
  });
  const plain = (outputs: Record<string, Tensor>, names: readonly string[]) => names.map((n) => ({ name: n, type: outputs[n].type, dims: [...outputs[n].dims], data: outputs[n].data }));

  it('runs straight through the native binding, with the answers of InferenceSession.run', async () => {
    const session = await openSession(file);
    // Fails when an onnxruntime-node upgrade moves the binding: the fallback is slower, look at onnx-session.ts.
    expect(session.direct).toBe(true);
    expect(session.fetches).toEqual(['sum_a', 'sum_b', 'c_out', 'd_not']);
    const answer = session.run(feeds());
    expect(answer).not.toBeInstanceOf(Promise); // no event-loop turn per call

    const reference = await InferenceSession.create(file);
    const expected = await reference.run(feeds());
    expect(plain(answer as Record<string, Tensor>, session.fetches)).toEqual(plain(expected, session.fetches));
    expect(plain(answer as Record<string, Tensor>, ['sum_b'])[0].data).toEqual(new BigInt64Array([9n, -3n]));
    await reference.release();
    await session.release();
  });

  it('answers a bad input with an error, as InferenceSession does', async () => {
    const session = await openSession(file);
    const wrong = { ...feeds(), a: new Tensor('float32', new Float32Array([1, 2, 3, 4]), [2, 2]) };
    expect(() => session.run(wrong)).toThrow(/type|float/i);
    const { d: _left, ...missing } = feeds();
    expect(() => session.run(missing)).toThrow("input 'd' is missing in 'feeds'.");
    await session.release();
  });

  it('keeps answering after later loads reuse the buffer its file was read into', async () => {
    // The thread reads files into one buffer it reuses: onnxruntime must have copied what it keeps.
    const write = (name: string, bytes: Buffer) => (fs.writeFileSync(path.join(dir, name), bytes), path.join(dir, name));
    const wide = buildMlpModel({ nFeatures: 6, hidden: 4096, seed: 3 });
    const wideSession = await openSession(write('wide.onnx', wide.bytes)); // grows the buffer first
    const typed = await openSession(file);
    const other = buildMlpModel({ nFeatures: 6, hidden: 64, seed: 4 });
    expect(other.bytes.length).toBeGreaterThan(fs.statSync(file).size); // overwrites every byte the typed model was read from
    const otherSession = await openSession(write('other.onnx', other.bytes));

    const reference = await InferenceSession.create(file);
    expect(plain(typed.run(feeds()) as Record<string, Tensor>, typed.fetches)).toEqual(plain(await reference.run(feeds()), typed.fetches));
    const row = [1, 0, 3.49, 55, 51, 22];
    const x = { float_input: new Tensor('float32', Float32Array.from(row), [1, 6]) };
    expect((wideSession.run(x) as Record<string, Tensor>).variable.data[0]).toBeCloseTo(wide.expected([row])[0][0], 3);
    expect((otherSession.run(x) as Record<string, Tensor>).variable.data[0]).toBeCloseTo(other.expected([row])[0][0], 4);
    await Promise.all([reference.release(), typed.release(), wideSession.release(), otherSession.release()]);
  });

  it('rejects a file that is not there or not a model', async () => {
    await expect(openSession(path.join(dir, 'missing.onnx'))).rejects.toThrow();
    const junk = path.join(dir, 'junk.onnx');
    fs.writeFileSync(junk, 'not a model');
    await expect(openSession(junk)).rejects.toThrow();
  });
});
