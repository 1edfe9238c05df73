/**
 * The JSON codec thread: parses big /v1/predict bodies, decodes their inputs into typed arrays
 * and encodes big answers, with the same functions the HTTP thread uses for small ones, so the
 * answers and error messages are identical. Work arrives one message at a time; a big body
 * keeps this thread busy (about 40 ms per 100,000 rows), never the HTTP thread.
 */
import { parentPort } from 'node:worker_threads';
import { DomainError } from '../../common/domain-error';
import { lowerThisThreadPriority } from '../../common/thread-priority';
import { parsePredictRequest } from '../predict-request';
import { decodeInputs, HostTensor, toNested } from '../tensor-codec';
import type { CodecError, CodecReply, CodecRequest } from './json-codec-protocol';

/** Parsed inputs waiting for their version's signature, by token; dropped if never decoded. */
const held = new Map<number, { inputs: Record<string, unknown>; at: number }>();
const HOLD_MS = 60_000;
const port = parentPort!;

// Big requests yield to small ones when the cores are busy: 10 nice levels leave a busy HTTP
// thread about ten times this thread's share (CFS weights 1024 : 110).
lowerThisThreadPriority(10);
const decoder = new TextDecoder();
const encoder = new TextEncoder();
/**
 * What the HTTP layer's JSON parser looks at for prototype poisoning (the keys, also written
 * with \u escapes): a body with any of it is parsed there instead, so it is answered the same.
 */
const POISON = /__proto__|constructor|\\u/;

port.on('message', (message: CodecRequest) => {
  switch (message.type) {
    case 'parse':
      parse(message.id, message.bytes, message.routingKey);
      break;
    case 'decode':
      decode(message.id, message.token, message);
      break;
    case 'release':
      held.delete(message.token);
      break;
    case 'encode':
      encode(message.id, message.answer, message.outputs);
      break;
  }
});

function parse(id: number, bytes: Uint8Array, routingKey: string | undefined): void {
  const text = decoder.decode(bytes);
  let body: unknown;
  try {
    if (POISON.test(text)) throw new Error('checked by the HTTP layer');
    body = JSON.parse(text);
  } catch {
    send({ id, parseHere: bytes }, [bytes.buffer as ArrayBuffer]);
    return;
  }
  try {
    const request = parsePredictRequest(body, routingKey);
    held.set(id, { inputs: request.inputs, at: Date.now() });
    send({ id, parsed: { selector: request.selector, token: id } });
  } catch (error) {
    send({ id, error: toCodecError(error) });
  }
  sweep();
}

function decode(id: number, token: number, message: { specs: Parameters<typeof decodeInputs>[0] }): void {
  const entry = held.get(token);
  held.delete(token);
  if (!entry) {
    send({ id, error: { code: 'INTERNAL', message: 'the parsed request is gone', details: {} } });
    return;
  }
  try {
    const tensors = decodeInputs(message.specs, entry.inputs);
    send({ id, tensors }, tensors.flatMap((t) => (Array.isArray(t.data) ? [] : [t.data.buffer as ArrayBuffer])));
  } catch (error) {
    send({ id, error: toCodecError(error) });
  }
}

function encode(id: number, answer: { model: string; version: number; predictionId: string }, outputs: HostTensor[]): void {
  try {
    const byName: Record<string, unknown> = {};
    for (const t of outputs) byName[t.name] = toNested(t);
    // The same object, in the same key order, that the HTTP layer would have serialised.
    const json = encoder.encode(JSON.stringify({ model: answer.model, version: answer.version, outputs: byName, predictionId: answer.predictionId }));
    send({ id, json }, [json.buffer as ArrayBuffer]);
  } catch (error) {
    send({ id, error: toCodecError(error) });
  }
}

function send(reply: CodecReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(reply, transfer);
}

function toCodecError(error: unknown): CodecError {
  if (error instanceof DomainError) return { code: error.code, message: error.message, details: error.details };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error), details: {} };
}

/** Inputs whose request never came back for decoding (it failed, or its client left). */
function sweep(): void {
  const cutoff = Date.now() - HOLD_MS;
  for (const [token, entry] of held) {
    if (entry.at >= cutoff) break;
    held.delete(token);
  }
}
