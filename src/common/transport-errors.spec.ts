import Fastify from 'fastify';
import * as net from 'node:net';
import { PassThrough } from 'node:stream';
import { answerClientError, refuseWhileClosing, unreadableBody } from './transport-errors';

describe('unreadableBody', () => {
  const withBody = { 'content-length': '12' };
  it('refuses a compressed body and JSON in another charset than UTF-8', () => {
    expect(unreadableBody({ ...withBody, 'content-encoding': 'gzip' })).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', details: { contentEncoding: 'gzip' } });
    expect(unreadableBody({ 'transfer-encoding': 'chunked', 'content-encoding': 'BR ' })).toMatchObject({ details: { contentEncoding: 'br' } });
    expect(unreadableBody({ ...withBody, 'content-type': 'application/json; charset=utf-16' })).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', details: { charset: 'utf-16' } });
    expect(unreadableBody({ ...withBody, 'content-type': 'application/json; v=1; charset="ISO-8859-1"' })).toMatchObject({ details: { charset: 'iso-8859-1' } });
    expect(unreadableBody({ ...withBody, 'content-encoding': 'identity, gzip' })).toMatchObject({ details: { contentEncoding: 'identity, gzip' } });
    expect(unreadableBody({ ...withBody, 'content-type': 'text/csv; charset=latin1' })).toMatchObject({ message: "CSV in charset 'latin1' is not supported: send it in UTF-8", details: { charset: 'latin1' } });
  });

  it('takes identity, UTF-8 in any spelling, other types and bodiless requests', () => {
    for (const headers of [
      { ...withBody, 'content-encoding': 'identity' },
      { ...withBody, 'content-type': 'application/json; charset=UTF-8' },
      { ...withBody, 'content-type': 'application/json;charset="utf8"' },
      { ...withBody, 'content-type': 'application/json' },
      { ...withBody, 'content-type': 'multipart/form-data; boundary=x' },
      { ...withBody, 'content-type': 'application/json; charset=us-ascii' },
      { ...withBody, 'content-type': 'application/json; charset=csUTF8' },
      { ...withBody, 'content-type': 'text/csv; charset=utf-8' },
      { ...withBody, 'content-type': 'application/json; foo="x;charset=latin1"' }, // a quoted value, not a charset
      { ...withBody, 'content-encoding': 'identity, identity' },
      { 'content-encoding': 'gzip' }, // no body to read
      { 'content-length': '0', 'content-encoding': 'gzip' },
    ]) {
      expect(unreadableBody(headers)).toBeUndefined();
    }
  });
});

describe('answerClientError', () => {
  const answered = (error: Error & { code?: string }) => {
    const socket = new PassThrough();
    let written = '';
    socket.on('data', (chunk: Buffer) => (written += chunk.toString()));
    socket.on('error', () => undefined); // destroyed with the parser's error, as Node's server socket is
    answerClientError(error, socket);
    return { written, destroyed: socket.destroyed };
  };

  it("answers in API.md's error body and closes the connection", () => {
    const { written, destroyed } = answered(Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_CONTENT_LENGTH' }));
    const [head, body] = written.split('\r\n\r\n');
    expect(head.split('\r\n')).toEqual(['HTTP/1.1 400 Bad Request', 'Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close']);
    expect(JSON.parse(body)).toEqual({ error: { code: 'INVALID_REQUEST', message: 'The request is not valid HTTP/1.1', details: { reason: 'HPE_INVALID_CONTENT_LENGTH' } } });
    expect(destroyed).toBe(true);
    expect(JSON.parse(answered(Object.assign(new Error('x'), { code: 'HPE_HEADER_OVERFLOW' })).written.split('\r\n\r\n')[1]).error.code).toBe('HEADERS_TOO_LARGE');
    expect(answered(Object.assign(new Error('x'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' })).written).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(answered(Object.assign(new Error('x'), { code: 'HPE_CHUNK_EXTENSIONS_OVERFLOW' })).written).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
  });

  it('writes nothing to a connection the client reset, nor into an answer already being written on it', () => {
    expect(answered(Object.assign(new Error('reset'), { code: 'ECONNRESET' })).written).toBe('');
    const socket = Object.assign(new PassThrough(), { _httpMessage: { headersSent: true } });
    let written = '';
    socket.on('data', (chunk: Buffer) => (written += chunk.toString()));
    socket.on('error', () => undefined);
    answerClientError(Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_METHOD' }), socket);
    expect(written).toBe('');
    expect(socket.destroyed).toBe(true);
  });
});

describe('refuseWhileClosing', () => {
  it("answers a request that reaches a closing server 503 in API.md's body, with Connection: close", async () => {
    const fastify = Fastify({ return503OnClosing: false });
    refuseWhileClosing(fastify);
    const gate = () => {
      let open = () => {};
      return { passed: new Promise<void>((resolve) => (open = resolve)), open: () => open() };
    };
    const [holdsClose, answersFirst] = [gate(), gate()];
    fastify.get('/held', async () => {
      await holdsClose.passed;
      return { ok: true };
    });
    fastify.get('/first', async () => {
      await answersFirst.passed;
      return { ok: true };
    });
    fastify.get('/next', async () => ({ ok: true }));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const port = (fastify.server.address() as net.AddressInfo).port;
    const connect = () => new Promise<net.Socket>((resolve) => { const socket = net.connect(port, '127.0.0.1', () => resolve(socket)); });
    const [held, keptAlive] = [await connect(), await connect()];
    // A keep-alive connection busy when the close begins, whose next request comes after it.
    let answer = '';
    let sentNext = false;
    keptAlive.on('data', (chunk: Buffer) => {
      answer += chunk.toString('utf8');
      if (sentNext || !answer.endsWith('{"ok":true}')) return;
      sentNext = true;
      answer += '/next';
      keptAlive.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    held.write('GET /held HTTP/1.1\r\nHost: x\r\n\r\n');
    keptAlive.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = fastify.close(); // waits for /held
    await new Promise((resolve) => setTimeout(resolve, 50));
    answersFirst.open();
    for (let waited = 0; !answer.endsWith('}}') && waited < 3000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    holdsClose.open();
    await new Promise((resolve) => held.once('data', resolve));
    held.destroy(); // idle now: the close waits for it otherwise
    keptAlive.destroy();
    await closed;
    const refusal = answer.slice(answer.indexOf('/next') + '/next'.length);
    expect(refusal).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(refusal.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(refusal.slice(refusal.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.stringContaining('shutting down'), details: {} } });
  });
});
