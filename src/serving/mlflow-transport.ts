import type { FastifyInstance } from 'fastify';
import { CommonError, CommonErrorCode } from '../common/domain-error';

/** MLflow's invocations route (mlflow-invocations.controller.ts). */
const INVOCATIONS_ROUTE = '/v1/models/:name/invocations';

/** MLflow 1.x's `format` media-type parameter (`application/json; format=pandas-split`), its value unquoted. */
const FORMAT_PARAMETER = /;\s*format\s*=\s*("[^"]*"|[^;]*)/i;

/**
 * MLflow 1.x clients name the body's orient in the media type (`format=pandas-split`) and send the
 * bare frame (`{"columns", "data"}`), which MLflow 2.0 dropped for a body naming its format
 * (`{"dataframe_split": …}`). `mlflow models serve` refuses such a request with 415 saying how the
 * protocol changed; so does this route, rather than a 400 about an unknown field `columns`.
 */
export function refuseMlflowOneFormats(fastify: FastifyInstance): void {
  fastify.addHook('preParsing', async (request) => {
    if (request.routeOptions.url !== INVOCATIONS_ROUTE) return;
    const match = FORMAT_PARAMETER.exec(request.headers['content-type'] ?? '');
    if (!match) return;
    const format = match[1].trim().replace(/^"|"$/g, '').slice(0, 40);
    const wrapper = /records/i.test(format) ? '{"dataframe_records": [...]}' : '{"dataframe_split": {"columns": [...], "data": [...]}}';
    throw new CommonError(
      CommonErrorCode.UnsupportedMediaType,
      `Content-Type parameter format=${format} is MLflow 1.x's scoring protocol, which MLflow 2.0 replaced (mlflow models serve refuses it too): send Content-Type: application/json without it, and name the format in the body: ${wrapper}`,
      { parameter: 'format', value: format, accepted: ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] },
    );
  });
}
