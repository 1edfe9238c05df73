import multipart from '@fastify/multipart';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { CredentialFirst } from './auth/credential-first';
import { AllExceptionsFilter, unsupportedMediaType } from './common/all-exceptions.filter';
import { answerClientError, answerFrameworkError, answerNodeRefusals, refuseHostless, refuseUnreadableBodies, refuseWhileClosing } from './common/transport-errors';
import * as http from 'node:http';
import * as https from 'node:https';
import { loadConfig } from './config/app-config';
import { readTlsCredentials } from './config/tls-credentials';
import { RequestObserver, requestIdOf } from './observability/http/request-observer';
import { createAppLogger } from './observability/logging/app-logger';
import { INVOCATIONS_CSV_OPENAPI, INVOCATIONS_PATH } from './serving/mlflow-invocations.controller';
import { PREDICT_OPENAPI_PATH, PREDICT_PATH } from './serving/predict.route';
import { PredictFastLane } from './serving/predict-fast-lane';
import { readOipBodiesAsJson } from './serving/oip-transport';
import { refuseMlflowOneFormats } from './serving/mlflow-transport';
import { ObjectBodyValidationPipe } from './common/object-body-validation.pipe';
import { documentCommonResponses } from './common/openapi-conventions';

/** JSON bodies beyond this are refused (413); artifacts go through multipart with their own limit. */
const JSON_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * Builds the HTTP application (used by main.ts and by the e2e tests, so both run exactly
 * the same stack). Configuration comes from `env`.
 */
export async function createApp(env: NodeJS.ProcessEnv = process.env): Promise<NestFastifyApplication> {
  const config = loadConfig(env);
  const tls = readTlsCredentials(config);
  // Set once the application exists; until then every request goes to Fastify.
  const front: { lane?: PredictFastLane } = {};
  const adapter = new FastifyAdapter({
    bodyLimit: JSON_BODY_LIMIT,
    return503OnClosing: false, // refuseWhileClosing answers in API.md's body instead
    trustProxy: true,
    routerOptions: { maxParamLength: 1024 },
    genReqId: requestIdOf,
    // Refusals before any route runs, in API.md's error body (transport-errors.ts).
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // Fastify's own server, with the /v1/predict fast lane in front of its handler (see PredictFastLane).
    serverFactory: (handler: http.RequestListener, options: { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number }) => {
      const listener: http.RequestListener = (req, res) => {
        if (!refuseHostless(req, res) && !front.lane?.take(req, res)) handler(req, res);
      };
      // Node checks the request timeout every connectionsCheckingInterval: often enough for a short one.
      // A request without Host is refused by refuseHostless, in the error body, not by Node bare.
      const timing = { requestTimeout: config.MMS_REQUEST_TIMEOUT_MS, connectionsCheckingInterval: Math.min(30_000, Math.max(250, config.MMS_REQUEST_TIMEOUT_MS / 4)), requireHostHeader: false };
      const server = tls ? https.createServer({ ...tls, ...timing }, listener) : http.createServer(timing, listener);
      server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
      server.setTimeout(options.connectionTimeout ?? 0);
      answerNodeRefusals(server);
      return server;
    },
  });
  refuseNonJsonBodies(adapter);
  // JSON lines (pino) or Nest's console format, as LOG_FORMAT says (both leave boot failures to main.ts).
  const logger = createAppLogger(config);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forConfig(config), adapter, {
    logger,
    abortOnError: false, // let the caller report boot errors (main prints them without a stack)
  });
  // Before routes are registered (app.init), so the hooks see every request.
  app.get(RequestObserver).install(adapter.getInstance(), logger);
  refuseWhileClosing(adapter.getInstance());
  app.get(CredentialFirst).install(adapter.getInstance());
  refuseUnreadableBodies(adapter.getInstance());
  readOipBodiesAsJson(adapter.getInstance());
  refuseMlflowOneFormats(adapter.getInstance());
  await app.register(multipart, {
    // Text parts come byte for byte (latin1 maps each byte to one character), so the upload can
    // refuse ones that are not UTF-8 instead of reading them with U+FFFD (artifact-upload.ts).
    defCharset: 'latin1',
    limits: { fileSize: config.MMS_MAX_ARTIFACT_BYTES, files: 1, fields: 8, parts: 10, fieldSize: 1024 * 1024 },
  });
  app.useGlobalFilters(new AllExceptionsFilter());
  front.lane = app.get(PredictFastLane);
  app.useGlobalPipes(new ObjectBodyValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Many-models serving platform')
      .setDescription('Registry, online and batch inference for thousands of small ONNX models. Contract: API.md.')
      .addBearerAuth()
      .build(),
  );
  // POST /v1/predict is a plain Fastify route (serving/predict.route.ts), which Nest's scan does not see.
  document.paths[PREDICT_PATH] = { ...document.paths[PREDICT_PATH], ...PREDICT_OPENAPI_PATH };
  const invocationsBody = document.paths[INVOCATIONS_PATH]?.post?.requestBody;
  if (invocationsBody && 'content' in invocationsBody) invocationsBody.content['text/csv'] = INVOCATIONS_CSV_OPENAPI;
  documentCommonResponses(document);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  return app;
}

/**
 * The API takes JSON (and multipart uploads): a form or plain-text body — `curl -d` without a
 * content type sends a form — is refused like any other unsupported type (415 saying what to
 * send), instead of being read as a form whose one field is the JSON text (a puzzling "Unknown
 * field '{...}'"). Registered before Nest adds its own form parser, which then stands aside.
 */
function refuseNonJsonBodies(adapter: FastifyAdapter): void {
  for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
    adapter.useBodyParser(type, false, undefined, () => {
      throw unsupportedMediaType(`Unsupported Media Type: ${type}`);
    });
  }
}
