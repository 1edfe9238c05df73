import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { explainRefusedJson, invalidUtf8, jsonNestsDeeperThan, JsonPoisoningRules, MAX_BODY_NESTING, pythonJsonAsJson, tooDeeplyNested } from './json-body';
import { MERGE_PATCH_TYPE } from '../common/transport-errors';
import { CsvBody } from './mlflow-csv';
import { JsonCodec } from './runtime/json-codec';

/**
 * A JSON body from this size up is not parsed on the HTTP thread for the routes below: parsing
 * (and, later, encoding the answer) takes about 0.4 ms per 1,000 rows of 6 features, so a
 * 100,000-row request would hold every other request up for ~40 ms. 128 KiB is about 6,000 such
 * rows (~2 ms of parsing); below it the round trips to the codec thread would cost more than
 * they save.
 */
export const LARGE_BODY_BYTES = 128 * 1024;

const MLFLOW_INVOCATIONS = '/v1/models/:name/invocations';

/** The prediction routes, whose big bodies go to the JSON codec thread (the answer is unchanged, byte for byte). */
const OFFLOADED_ROUTES = new Set(['/v1/predict', '/v1/predict/fanout', '/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer', MLFLOW_INVOCATIONS]);

/** The unparsed body of a big request, as the controller receives it instead of the parsed JSON. */
export class LargeJsonBody {
  /**
   * What the request log and metrics read from a parsed body, set once the codec thread has read
   * it: `/v1/predict`'s model (the one asked for, then the one that answered).
   */
  model?: string;

  constructor(readonly bytes: Buffer) {}
}

type DoneCallback = (error: Error | null, value?: unknown) => void;

/**
 * Fastify answers every refused JSON body "Body is not valid JSON but content-type is set to
 * 'application/json'", also valid JSON refused for a `__proto__` or `constructor.prototype` key
 * (prototype poisoning). On that error path only, say which it was, and where the syntax broke;
 * not for big bodies of other routes, which a second parse would hold the HTTP thread up for
 * (the prediction routes' big bodies are parsed, and explained, in the JSON codec thread).
 */
function explainInvalidJson(error: Error, bytes: Buffer): Error {
  if ((error as { code?: string }).code !== 'FST_ERR_CTP_INVALID_JSON_BODY' || bytes.length >= LARGE_BODY_BYTES) return error;
  return explainRefusedJson(bytes);
}

/**
 * Fastify's own JSON parser with the instance's prototype-poisoning settings, in the forms the
 * prediction routes need: as a content-type parser (`parse`), synchronously (`parseNow`,
 * throwing the same errors: the /v1/predict fast lane) and as the rules the JSON codec thread
 * parses big bodies by.
 */
export function fastifyJsonParser(fastify: FastifyInstance): { parse: (request: unknown, bytes: Buffer, done: DoneCallback) => void; parseNow: (bytes: Buffer) => unknown; rules: JsonPoisoningRules } {
  const { onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig;
  const rules: JsonPoisoningRules = { protoAction: onProtoPoisoning ?? 'error', constructorAction: onConstructorPoisoning ?? 'error' };
  const json = fastify.getDefaultJsonParser(rules.protoAction, rules.constructorAction);
  // Fastify's parser takes a Buffer as well as a string (Nest's parser hands it one too).
  const parse = (request: unknown, bytes: Buffer, done: DoneCallback) => {
    const notUtf8 = invalidUtf8(bytes);
    if (notUtf8) done(notUtf8);
    else json(request as FastifyRequest, bytes as unknown as string, (error, value) => done(error && explainInvalidJson(error, bytes), value));
  };
  const parseNow = (bytes: Buffer): unknown => {
    let result: { error: Error | null; value?: unknown } | undefined;
    parse(null, bytes, (error, value) => (result = { error, value }));
    if (!result) throw new Error('the JSON parser did not answer synchronously');
    if (result.error) throw result.error;
    return result.value;
  };
  return { parse, parseNow, rules };
}

/**
 * Replaces the application/json body parser by one that leaves big bodies of the offloaded
 * routes unparsed (a LargeJsonBody) and parses everything else exactly as before (Fastify's
 * default parser, with its prototype-poisoning checks).
 */
@Injectable()
export class LargeJsonBodyParser implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly codec: JsonCodec,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (!fastify || typeof fastify.addContentTypeParser !== 'function') return;
    const { bodyLimit } = fastify.initialConfig;
    const { parse, rules } = fastifyJsonParser(fastify);
    this.codec.usePoisoningRules(rules);
    // Nest registered its own application/json parser during init; this one takes its place.
    fastify.removeContentTypeParser('application/json');
    const readJson = (request: FastifyRequest, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void => {
      const bytes = body as Buffer;
      // An empty body is no body, as without a content type: clients that send a JSON content
      // type on every request (DELETE, cancel, load…) get the route's answer, not Fastify's
      // "Body cannot be empty"; routes that need a body say so themselves.
      if (!bytes.length) {
        done(null, undefined);
        return;
      }
      const prediction = OFFLOADED_ROUTES.has(request.routeOptions.url ?? '');
      if (bytes.length >= LARGE_BODY_BYTES && prediction) {
        done(null, new LargeJsonBody(bytes));
        return;
      }
      // The prediction routes read any depth and name what is wrong with it; the others take small documents.
      if (!prediction && jsonNestsDeeperThan(bytes, MAX_BODY_NESTING)) {
        done(tooDeeplyNested());
        return;
      }
      if (request.routeOptions.url !== MLFLOW_INVOCATIONS) {
        parse(request, bytes, done);
        return;
      }
      // MLflow's scoring server reads Python's JSON, with NaN and ±Infinity (json-body.ts): tried once plain JSON fails,
      // so that a body refused even so is refused for what is wrong besides them.
      parse(request, bytes, (error, value) => {
        const json = error && pythonJsonAsJson(bytes);
        if (!json) done(error, value);
        else parse(request, json, done);
      });
    };
    fastify.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, readJson);
    // JSON merge patch (RFC 7396), what merge-patch clients send to PATCH; refused on other methods (transport-errors.ts).
    fastify.addContentTypeParser(MERGE_PATCH_TYPE, { parseAs: 'buffer', bodyLimit }, readJson);
    // MLflow's scoring protocol also takes CSV; other routes refuse it before reading it (transport-errors.ts).
    fastify.addContentTypeParser('text/csv', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, new CsvBody(body as Buffer)));
  }
}
