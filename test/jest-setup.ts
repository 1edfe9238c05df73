import { adoptHostTypedArrays } from './fixtures/onnx-builder';

// onnxruntime-node's native code creates typed arrays of the host realm; Jest's sandbox has
// its own, and onnxruntime-common's instanceof checks would reject the outputs.
adoptHostTypedArrays();
