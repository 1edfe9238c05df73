import { ArgumentsHost, BadRequestException, HttpException, Logger, NotFoundException, PayloadTooLargeException, ValidationPipe } from '@nestjs/common';
import { errorCodes } from 'fastify';
import { SetAliasDto } from '../registry/dto/set-alias.dto';
import { RegistryError, RegistryErrorCode } from '../registry/registry.error';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { ServingError, ServingErrorCode } from '../serving/serving.error';
import { CommonError, CommonErrorCode, DomainError } from './domain-error';

describe('AllExceptionsFilter', () => {
  const filter = new AllExceptionsFilter();
  const respond = (exception: unknown) => filter.toResponse(exception);
  /** An error as Fastify or @fastify/multipart raise them: a code, a status, a message. */
  const transportError = (code: string, statusCode: number) => Object.assign(new Error(`${code} happened`), { code, statusCode });

  describe('domain errors', () => {
    it('answer with the status of their code and keep message and details', () => {
      const error = new RegistryError(RegistryErrorCode.VersionInUse, 'Version 2 is the target of production', { aliases: ['production'] });
      expect(respond(error)).toEqual({
        status: 409,
        body: { error: { code: 'VERSION_IN_USE', message: 'Version 2 is the target of production', details: { aliases: ['production'] } } },
      });
    });

    it.each([
      [RegistryErrorCode.ModelNotFound, 404],
      [RegistryErrorCode.ArtifactTooLarge, 413],
      [RegistryErrorCode.ArtifactInvalid, 422],
      [RegistryErrorCode.ArchiveUnsafe, 400],
      [RegistryErrorCode.InvalidCursor, 400],
    ])('map %s to %d', (code, status) => {
      expect(respond(new RegistryError(code, 'x'))).toMatchObject({ status, body: { error: { code } } });
    });

    it('default to empty details, and to 400 for a code without a status', () => {
      expect(respond(new CommonError(CommonErrorCode.Unauthenticated, 'no'))).toEqual({ status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'no', details: {} } } });
      expect(respond(new DomainError('SOMETHING_NEW', 'x')).status).toBe(400);
    });
  });

  describe('Nest HTTP exceptions', () => {
    it('turn the message list of the ValidationPipe into VALIDATION_FAILED with every problem', async () => {
      const pipe = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });
      const thrown = await pipe.transform({ version: 'two', extra: 1 }, { type: 'body', metatype: SetAliasDto }).catch((e: unknown) => e);
      const { status, body } = respond(thrown);
      expect(status).toBe(400);
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.details.problems).toEqual(expect.arrayContaining(['property extra should not exist', expect.stringMatching(/^version must be/)]));
      expect(body.error.message).toBe((body.error.details.problems as string[]).join('; '));
    });

    it.each([
      ['an unknown route', new NotFoundException('Cannot GET /v1/nothing'), 404, 'NOT_FOUND', 'Cannot GET /v1/nothing'],
      ['a bad request', new BadRequestException('bad thing'), 400, 'INVALID_REQUEST', 'bad thing'],
      ['a payload too large', new PayloadTooLargeException(), 413, 'PAYLOAD_TOO_LARGE', 'Payload Too Large'],
      ['a status without a code of ours', new HttpException('I am a teapot', 418), 418, 'INVALID_REQUEST', 'I am a teapot'],
      ['a response object without message', new HttpException({ reason: 'none' }, 405), 405, 'METHOD_NOT_ALLOWED', 'Http Exception'],
    ])('translate %s to %d %s', (_what, exception, status, code, message) => {
      expect(respond(exception)).toEqual({ status, body: { error: { code, message, details: {} } } });
    });

    it('hide the message of a 5xx one', () => {
      expect(respond(new HttpException('pool exhausted at 10.0.0.7', 503))).toEqual({
        status: 503,
        body: { error: { code: 'INTERNAL', message: 'Internal server error', details: {} } },
      });
    });
  });

  describe('Fastify transport errors', () => {
    it.each([
      [new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), 413, 'PAYLOAD_TOO_LARGE'],
      [new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), 400, 'INVALID_REQUEST'],
      [new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), 400, 'INVALID_REQUEST'],
    ])('map %s to %d %s', (exception, status, code) => {
      expect(respond(exception)).toEqual({ status, body: { error: { code, message: exception.message, details: {} } } });
    });

    it('map an unsupported content type to 415, saying what to send instead', () => {
      const exception = new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('text/csv');
      expect(respond(exception)).toEqual({
        status: 415,
        body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: `${exception.message} — send JSON (content-type: application/json), or multipart/form-data to upload a model`, details: {} } },
      });
    });

    it("name the refused content type in a 415 when the HTTP layer's message does not", () => {
      const exception = new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE();
      expect(filter.toResponse(exception, 'application/octet-stream').body.error.message).toBe(
        'Unsupported Media Type: application/octet-stream — send JSON (content-type: application/json), or multipart/form-data to upload a model',
      );
    });

    it.each([
      ['FST_INVALID_MULTIPART_CONTENT_TYPE', 406, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['FST_REQ_FILE_TOO_LARGE', 413, 413, 'PAYLOAD_TOO_LARGE'],
      ['FST_PARTS_LIMIT', 413, 413, 'PAYLOAD_TOO_LARGE'],
      ['FST_FILES_LIMIT', 413, 413, 'PAYLOAD_TOO_LARGE'],
      ['FST_FIELDS_LIMIT', 413, 413, 'PAYLOAD_TOO_LARGE'],
    ])('map the multipart error %s (status %d) to %d %s', (fastifyCode, fastifyStatus, status, code) => {
      expect(respond(transportError(fastifyCode, fastifyStatus))).toMatchObject({ status, body: { error: { code } } });
    });

    it('keep the status of any other 4xx error and pick the code from it', () => {
      expect(respond(transportError('FST_SOMETHING_ELSE', 405))).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED' } } });
      expect(respond(transportError('FST_SOMETHING_ELSE', 429))).toMatchObject({ status: 429, body: { error: { code: 'INVALID_REQUEST' } } });
    });
  });

  describe('anything else', () => {
    it.each([
      ['an Error', new Error('connect ECONNREFUSED 10.0.0.7:5432 as postgres')],
      ['an error claiming a 5xx status', transportError('FST_ERR_INTERNAL', 500)],
      ['a string', 'oops'],
      ['null', null],
      ['undefined', undefined],
    ])('answers 500 INTERNAL for %s, with nothing of it in the body', (_what, exception) => {
      const { status, body } = respond(exception);
      expect({ status, body }).toEqual({ status: 500, body: { error: { code: 'INTERNAL', message: 'Internal server error', details: {} } } });
    });
  });

  describe('catch', () => {
    const reply = { status: jest.fn(), header: jest.fn(), headers: jest.fn(), send: jest.fn() };
    const host = { switchToHttp: () => ({ getResponse: () => reply }) } as unknown as ArgumentsHost;
    let logged: jest.SpyInstance;

    beforeEach(() => {
      for (const fn of Object.values(reply)) fn.mockReset().mockReturnValue(reply);
      logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    });
    afterEach(() => logged.mockRestore());

    it('sends the JSON error body with its status', () => {
      filter.catch(new RegistryError(RegistryErrorCode.ModelNotFound, "Model 'x' not found", { name: 'x' }), host);
      expect(reply.status).toHaveBeenCalledWith(404);
      expect(reply.header).toHaveBeenCalledWith('content-type', 'application/json; charset=utf-8');
      expect(reply.send).toHaveBeenCalledWith({ error: { code: 'MODEL_NOT_FOUND', message: "Model 'x' not found", details: { name: 'x' } } });
      expect(logged).not.toHaveBeenCalled();
    });

    it('sends the headers a domain error carries', () => {
      filter.catch(new CommonError(CommonErrorCode.ServiceUnavailable, 'busy').withHeader('retry-after', '3'), host);
      expect(reply.headers).toHaveBeenCalledWith({ 'retry-after': '3' });
      expect(reply.status).toHaveBeenCalledWith(503);
    });

    it("logs a deliberate 503 in one line, or not at all when it was logged where it was decided", () => {
      const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      try {
        filter.catch(new CommonError(CommonErrorCode.ServiceUnavailable, 'the database is unavailable'), host);
        expect(reply.status).toHaveBeenCalledWith(503);
        expect(warned).toHaveBeenCalledWith('SERVICE_UNAVAILABLE: the database is unavailable');
        warned.mockClear();
        filter.catch(new ServingError(ServingErrorCode.ModelLoadFailed, 'tried again in 2 s'), host);
        expect(reply.status).toHaveBeenLastCalledWith(503);
        expect(warned).not.toHaveBeenCalled();
        expect(logged).not.toHaveBeenCalled(); // no stack for either
      } finally {
        warned.mockRestore();
      }
    });

    it('logs the stack of an unexpected error for the operator, not for the client', () => {
      const error = new Error('relation "models" does not exist');
      filter.catch(error, host);
      expect(reply.status).toHaveBeenCalledWith(500);
      expect(logged).toHaveBeenCalledWith(error.stack);
      expect(JSON.stringify(reply.send.mock.calls[0][0])).not.toContain('relation');
    });
  });
});

describe('database outages', () => {
  const filter = new AllExceptionsFilter();

  it.each([
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    new Error('timeout exceeded when trying to connect'),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('query failed'), { driverError: Object.assign(new Error('x'), { code: '57P03' }) }),
  ])('answers 503, not 500, for %s', (error) => {
    const { status, body } = filter.toResponse(error);
    expect(status).toBe(503);
    expect(body.error.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('still answers 500 for a bug', () => {
    expect(filter.toResponse(new TypeError('x is undefined')).status).toBe(500);
  });
});

describe('storage failures', () => {
  const filter = new AllExceptionsFilter();

  it.each([
    [Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), 507, 'STORAGE_FULL'],
    [Object.assign(new Error('EDQUOT: disk quota exceeded'), { code: 'EDQUOT' }), 507, 'STORAGE_FULL'],
    [Object.assign(new Error('query failed'), { driverError: Object.assign(new Error('could not extend file: No space left on device'), { code: '53100' }) }), 507, 'STORAGE_FULL'],
    [Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' }), 503, 'STORAGE_READ_ONLY'],
  ])('answers %s with what happened, not a bare 500', (error, status, code) => {
    const answer = filter.toResponse(error);
    expect([answer.status, answer.body.error.code]).toEqual([status, code]);
    expect(answer.body.error.message).toContain('nothing was stored');
  });
});

describe('a client that goes away', () => {
  it('is answered (to nobody) 400, and not logged as a server error with its stack', () => {
    const filter = new AllExceptionsFilter();
    const answer = filter.answerFor(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    expect([answer.status, answer.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
  });
});
