import { onnx } from 'onnx-proto';
import { ExternalDataError, inlineExternalData } from './onnx-external-data';

const external = (name: string, location: string, offset: number, length?: number): onnx.ITensorProto => ({
  name,
  dims: [2],
  dataType: onnx.TensorProto.DataType.FLOAT,
  dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
  externalData: [
    { key: 'location', value: location },
    { key: 'offset', value: String(offset) },
    ...(length === undefined ? [] : [{ key: 'length', value: String(length) }]),
  ],
});

/** A model with an external initializer in its graph and one in an If node's subgraph, beside one kept inline. */
function modelOf(tensors: { top: onnx.ITensorProto; nested: onnx.ITensorProto }): Uint8Array {
  const inline: onnx.ITensorProto = { name: 'inline', dims: [1], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [7] };
  const branch: onnx.IGraphProto = { name: 'then', initializer: [tensors.nested], output: [{ name: 'nested' }] };
  return onnx.ModelProto.encode({
    irVersion: 8,
    graph: {
      name: 'g',
      initializer: [tensors.top, inline],
      node: [{ opType: 'If', input: ['cond'], output: ['out'], attribute: [{ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch }] }],
    },
  }).finish();
}

const bytesOf = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

describe('ONNX external data made part of the model', () => {
  const file = Buffer.concat([bytesOf([1, 2]), bytesOf([3, 4])]);
  const read = async (location: string) => {
    if (location !== 'weights') throw new Error(`unexpected ${location}`);
    return file;
  };

  it("writes each external tensor's bytes into it, in every graph, and leaves inline tensors as they are", async () => {
    const whole = await inlineExternalData(modelOf({ top: external('top', 'weights', 8, 8), nested: external('nested', 'weights', 0) }), read);
    const model = onnx.ModelProto.decode(whole!);
    const [top, inline] = model.graph!.initializer!;
    expect([top.name, top.dataLocation, top.externalData, Buffer.from(top.rawData!)]).toEqual(['top', onnx.TensorProto.DataLocation.DEFAULT, [], bytesOf([3, 4])]);
    expect([inline.name, inline.floatData]).toEqual(['inline', [7]]);
    const nested = model.graph!.node![0].attribute![0].g!.initializer![0];
    expect([nested.name, nested.externalData, Buffer.from(nested.rawData!)]).toEqual(['nested', [], file]);
  });

  it('answers undefined for a model without external data', async () => {
    const inline = { name: 'w', dims: [1], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [1] };
    expect(await inlineExternalData(modelOf({ top: inline, nested: inline }), read)).toBeUndefined();
  });

  it('refuses a tensor beyond its file or with a location that is not one', async () => {
    await expect(inlineExternalData(modelOf({ top: external('top', 'weights', 12, 8), nested: external('nested', 'weights', 0) }), read)).rejects.toThrow(
      new ExternalDataError("The ONNX model's tensor 'top' lies beyond the end of its external data file 'weights' (bytes 12 to 20 of 16)", {}),
    );
    const offsetless = { ...external('top', 'weights', 0), externalData: [{ key: 'location', value: 'weights' }, { key: 'offset', value: '-4' }] };
    await expect(inlineExternalData(modelOf({ top: offsetless, nested: external('nested', 'weights', 0) }), read)).rejects.toThrow(/offset that is not a number: '-4'/);
  });
});
