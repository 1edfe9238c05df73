import secureJsonParse = require('secure-json-parse');
import { CommonError, CommonErrorCode } from '../common/domain-error';

/**
 * JSON request bodies as the HTTP layer reads them: Fastify's parser is secure-json-parse with
 * the instance's prototype-poisoning settings. Plain functions, so that the JSON codec thread
 * parses big bodies exactly as the HTTP thread parses small ones and refuses the same bodies
 * with the same errors.
 */

export interface JsonPoisoningRules {
  /** What a `__proto__` key does (Fastify's onProtoPoisoning). */
  protoAction: 'error' | 'remove' | 'ignore';
  /** What a `constructor.prototype` key does (Fastify's onConstructorPoisoning). */
  constructorAction: 'error' | 'remove' | 'ignore';
}

/** Fastify's defaults, which the application keeps. */
export const DEFAULT_POISONING_RULES: JsonPoisoningRules = { protoAction: 'error', constructorAction: 'error' };

/** Parses as Fastify's JSON parser does; a refused body throws the error `explainRefusedJson` gives. */
export function parseJsonBody(bytes: Buffer, rules: JsonPoisoningRules): unknown {
  try {
    return secureJsonParse(bytes, rules);
  } catch {
    throw explainRefusedJson(bytes);
  }
}

/**
 * Why the JSON parser refused a body: where its syntax broke ("Body is not valid JSON:
 * Unexpected end of JSON input"), or, for valid JSON, that it has a `__proto__` or
 * `constructor.prototype` key (prototype poisoning). Fastify's own answer says neither.
 */
export function explainRefusedJson(bytes: Buffer): CommonError {
  try {
    JSON.parse(bytes.toString('utf8'));
  } catch (syntax) {
    return new CommonError(CommonErrorCode.InvalidRequest, `Body is not valid JSON: ${(syntax as Error).message}`);
  }
  return new CommonError(CommonErrorCode.InvalidRequest, "The body has a '__proto__' or 'constructor.prototype' key, which is refused (it could alter objects' prototypes)");
}
