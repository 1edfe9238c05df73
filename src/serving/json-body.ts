import { isUtf8 } from 'node:buffer';
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
  const notUtf8 = invalidUtf8(bytes);
  if (notUtf8) throw notUtf8;
  try {
    return secureJsonParse(bytes, rules);
  } catch {
    throw explainRefusedJson(bytes);
  }
}

/**
 * Bodies are read as UTF-8, which puts U+FFFD in place of bytes that are not: a store code sent
 * in Latin-1 ("caf\xe9") would be scored as another category, not refused. Such a body is
 * refused (400), saying at which byte.
 */
export function invalidUtf8(bytes: Buffer): CommonError | undefined {
  if (isUtf8(bytes)) return undefined;
  const decoded = Buffer.from(bytes.toString('utf8'), 'utf8');
  const differs = decoded.findIndex((b, i) => b !== bytes[i]);
  // U+FFFD is written EF BF BD: a sequence cut short after EF or EF BF matches it up to the cut, and starts there.
  const at = [differs - 2, differs - 1].find((s) => s >= 0 && decoded[s] === 0xef && decoded[s + 1] === 0xbf && decoded[s + 2] === 0xbd) ?? differs;
  return new CommonError(CommonErrorCode.InvalidRequest, `The body is not valid UTF-8 (from byte ${at}): send it encoded in UTF-8`, { byte: at });
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

/**
 * How deep the body of a route other than the prediction routes may nest arrays and objects.
 * Those routes take small documents (registry fields, feedback actuals, job specs, rules); a
 * body nested thousands deep would overflow the stack of the code that validates it (a 500,
 * never a client's answer). The prediction routes read any depth and name what is wrong.
 */
export const MAX_BODY_NESTING = 64;

/**
 * Whether the JSON text nests arrays and objects more than `limit` levels deep (`{}` and `[]`
 * are one level each): read off the bytes before parsing, brackets inside strings skipped, so
 * a hostile body is refused before it is parsed, at no allocation. (No byte of a multi-byte
 * UTF-8 character is a quote, a backslash or a bracket.)
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === BACKSLASH) i++; // the escaped character is part of the string
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}

const [QUOTE, BACKSLASH, OPEN_ARRAY, CLOSE_ARRAY, OPEN_OBJECT, CLOSE_OBJECT] = [0x22, 0x5c, 0x5b, 0x5d, 0x7b, 0x7d];

/** The answer to a body nested deeper than MAX_BODY_NESTING. */
export function tooDeeplyNested(): CommonError {
  return new CommonError(CommonErrorCode.InvalidRequest, `The body nests arrays and objects more than ${MAX_BODY_NESTING} levels deep, which this route does not take`, { maxNesting: MAX_BODY_NESTING });
}

/**
 * MLflow's scoring server reads bodies with Python's json module, which also takes the tokens
 * `NaN`, `Infinity` and `-Infinity`: `json.dumps` writes them for float NaN and infinities, so
 * MLflow's own clients (`dataframe_split` from `DataFrame.to_dict(orient="split")`) send a data
 * frame's missing values as `NaN`. This is the text with those tokens (outside strings) written
 * as JSON: `NaN` as `null` (a data frame's missing value), `±Infinity` as `±1e999` (a number
 * beyond any float's range, which the input checks refuse by name). Null when the text has none
 * of them.
 */
export function pythonJsonAsJson(bytes: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let from = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) {
      inString = true;
      continue;
    }
    const token = PYTHON_CONSTANTS.find(([text]) => c === text.charCodeAt(0) && bytes.toString('latin1', i, i + text.length) === text);
    if (!token) continue;
    parts.push(bytes.subarray(from, i), token[1]);
    from = i + token[0].length;
    i = from - 1;
  }
  if (!parts.length) return null;
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

const PYTHON_CONSTANTS: ReadonlyArray<readonly [string, Buffer]> = [
  ['NaN', Buffer.from('null')],
  ['Infinity', Buffer.from('1e999')],
  ['-Infinity', Buffer.from('-1e999')],
];

/**
 * parseJsonBody, also taking Python's NaN and ±Infinity (pythonJsonAsJson): MLflow invocations'
 * bodies. A body that is refused even so is refused for what is wrong besides those tokens.
 */
export function parseMlflowJsonBody(bytes: Buffer, rules: JsonPoisoningRules): unknown {
  try {
    return parseJsonBody(bytes, rules);
  } catch (error) {
    const json = pythonJsonAsJson(bytes);
    if (!json) throw error;
    return parseJsonBody(json, rules);
  }
}
