import type { FastifyInstance } from 'fastify';
import { CommonError, CommonErrorCode } from '../common/domain-error';

/** The Open Inference Protocol's infer routes (oip.controller.ts). */
const OIP_INFER_ROUTES = new Set(['/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer']);

/** Triton's binary tensor data extension: the JSON header's length, binary tensors after it. */
const BINARY_HEADER_LENGTH = 'inference-header-content-length';

/**
 * How OIP clients send an infer body. tritonclient's HTTP client and KServe's InferenceRESTClient
 * post their JSON with no Content-Type at all (Triton and KServe read the body as JSON whatever
 * its type): such a body is read as JSON here too, where every other route answers 415. A body
 * in Triton's binary tensor data extension (which /v2 does not list) is refused saying what to
 * send instead, rather than with a JSON syntax error about the bytes after the header.
 */
export function readOipBodiesAsJson(fastify: FastifyInstance): void {
  fastify.addHook('preParsing', async (request) => {
    if (!OIP_INFER_ROUTES.has(request.routeOptions.url ?? '')) return;
    // A JSON header as long as the whole body announces no binary part: plain JSON.
    const headerLength = request.headers[BINARY_HEADER_LENGTH];
    if (headerLength !== undefined && Number(headerLength) !== Number(request.headers['content-length'] ?? NaN)) {
      throw new CommonError(
        CommonErrorCode.UnsupportedMediaType,
        'Binary tensor data (Inference-Header-Content-Length) is not supported: send every input as JSON data (tritonclient: set_data_from_numpy(..., binary_data=False)); outputs always come back as JSON',
        { extension: 'binary_tensor_data' },
      );
    }
    // Fastify adds what is assigned to request.headers to the request's own headers (it replaces none).
    if (request.headers['content-type'] === undefined) request.headers = { 'content-type': 'application/json' };
  });
}
