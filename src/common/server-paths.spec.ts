import { withoutServerPaths } from './server-paths';

describe('withoutServerPaths', () => {
  it("replaces the server's file paths", () => {
    expect(withoutServerPaths('Load model from /srv/mms/store/tmp/1f.part failed:Protobuf parsing failed.')).toBe('Load model from <artifact> failed:Protobuf parsing failed.');
    expect(withoutServerPaths("ENOENT: no such file or directory, open '/srv/store/sha256/ab'")).toBe("ENOENT: no such file or directory, open '<artifact>'");
  });

  it("leaves out onnxruntime's source locations and keeps what went wrong", () => {
    const reshape =
      "Non-zero status code returned while running Reshape node. Name:'r' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/tensor/reshape_helper.h:91 onnxruntime::ReshapeHelper::ReshapeHelper(const onnxruntime::TensorShape&, onnxruntime::TensorShapeVector&, bool) input_shape_size == requested_shape_size was false. The input tensor cannot be reshaped to the requested shape. Input shape:{2,3}, requested shape:{2,2}";
    expect(withoutServerPaths(reshape)).toBe(
      "Non-zero status code returned while running Reshape node. Name:'r' Status Message: input_shape_size == requested_shape_size was false. The input tensor cannot be reshaped to the requested shape. Input shape:{2,3}, requested shape:{2,2}",
    );
    expect(withoutServerPaths('[ONNXRuntimeError] : 1 : FAIL : tensor.cc:57 CalculateTensorStorageSize Tensor shape.Size() must be >= 0')).toBe(
      '[ONNXRuntimeError] : 1 : FAIL : Tensor shape.Size() must be >= 0',
    );
    expect(withoutServerPaths('/onnxruntime_src/onnxruntime/core/framework/op_kernel.cc:83 virtual OrtValue* onnxruntime::OpKernelContext::OutputMLValue(int, const onnxruntime::TensorShape&) const status.IsOK() was false.')).toBe('status.IsOK() was false.');
  });
});
