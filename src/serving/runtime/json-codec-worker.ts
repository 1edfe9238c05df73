/**
 * The JSON codec thread: parses big bodies of the prediction routes (/v1/predict, its fanout,
 * Open Inference Protocol infer, MLflow invocations), decodes their inputs into typed arrays
 * and encodes big answers, with the same functions the HTTP thread uses for small ones, so the
 * answers and error messages are identical. Work arrives one message at a time; a big body
 * keeps this thread busy (about 40 ms per 100,000 rows), never the HTTP thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DomainError } from '../../common/domain-error';
import { lowerThisThreadPriority } from '../../common/thread-priority';
import { answerBody } from '../answer-body';
import { DEFAULT_POISONING_RULES, parseJsonBody, parseMlflowJsonBody } from '../json-body';
import { parseMlflowCsv } from '../mlflow-csv';
import { decodeMlflowInputs, MlflowInput, parseMlflowPayload } from '../mlflow-payload';
import { decodeOipRequest, OipEnvelope, parseOipEnvelope } from '../oip-payload';
import { asObject, parseFanoutRequest, parsePredictRequest } from '../predict-request';
import { decodeInputs } from '../tensor-codec';
import type { CodecError, CodecReply, CodecRequest, CodecRoute, CodecWorkerData, Decoded, DecodeMessage, FanoutItemHead, HeldToken, ParsedHead, ParseMessage } from './json-codec-protocol';

/** What a parsed body still needs its version's signature for. */
type Held = { route: 'predict'; inputs: Record<string, unknown> } | { route: 'oip'; envelope: OipEnvelope } | { route: 'mlflow'; payload: MlflowInput };

/** Parsed bodies waiting for their version's signature, by token; dropped if never decoded. */
const held = new Map<HeldToken, { body: Held; at: number }>();
const HOLD_MS = 60_000;
const port = parentPort!;

// Big requests yield to small ones when the cores are busy: 10 nice levels leave a busy HTTP
// thread about ten times this thread's share (CFS weights 1024 : 110).
lowerThisThreadPriority(10);
const encoder = new TextEncoder();
const { rules } = (workerData as CodecWorkerData | undefined) ?? { rules: DEFAULT_POISONING_RULES };

port.on('message', (message: CodecRequest) => {
  switch (message.type) {
    case 'parse':
      parse(message);
      break;
    case 'decode':
      decode(message);
      break;
    case 'release':
      held.delete(message.token);
      break;
    case 'encode':
      encode(message.id, message);
      break;
  }
});

function parse({ id, route, bytes, routingKey, format }: ParseMessage): void {
  try {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // A CSV body is MLflow's data frame as it stands; a JSON body is read as the route's envelope.
    const parsed: ParsedHead = format === 'csv' ? { route: 'mlflow', token: hold(String(id), { route: 'mlflow', payload: parseMlflowCsv(buffer) }) } : head(id, route, (route === 'mlflow' ? parseMlflowJsonBody : parseJsonBody)(buffer, rules), routingKey);
    send({ id, parsed });
  } catch (error) {
    send({ id, error: toCodecError(error) });
  }
  sweep();
}

/** The route's envelope, read as the HTTP thread reads a small body; the rest is held for `decode`. */
function head(id: number, route: CodecRoute, body: unknown, routingKey: string | undefined): ParsedHead {
  const token = String(id);
  switch (route) {
    case 'predict': {
      const request = parsePredictRequest(body, routingKey);
      return { route, selector: request.selector, token: hold(token, { route, inputs: request.inputs }) };
    }
    case 'fanout':
      return { route, items: parseFanoutRequest(body).map((item, i) => fanoutItem(`${token}/${i}`, item, i, routingKey)) };
    case 'oip': {
      const envelope = parseOipEnvelope(body);
      hold(token, { route, envelope });
      return envelope.id === undefined ? { route, token } : { route, token, requestId: envelope.id };
    }
    case 'mlflow':
      return { route, token: hold(token, { route, payload: parseMlflowPayload(body) }) };
  }
}

function fanoutItem(token: HeldToken, item: unknown, index: number, routingKey: string | undefined): FanoutItemHead {
  try {
    const request = parsePredictRequest(asObject(item, `requests[${index}]`), routingKey);
    return { selector: request.selector, token: hold(token, { route: 'predict', inputs: request.inputs }) };
  } catch (error) {
    return { error: toCodecError(error) };
  }
}

function hold(token: HeldToken, body: Held): HeldToken {
  held.set(token, { body, at: Date.now() });
  return token;
}

function decode(message: DecodeMessage): void {
  const { id, token } = message;
  const entry = held.get(token);
  held.delete(token);
  if (!entry || entry.body.route !== message.route) {
    // Parsed by a thread that has since restarted, or held past HOLD_MS: a retry parses it anew.
    send({ id, error: { code: 'WORKER_UNAVAILABLE', message: 'The JSON codec thread no longer holds this request (it restarted); retry the request', details: {} } });
    return;
  }
  try {
    const decoded = decodeHeld(entry.body, message);
    send({ id, decoded }, decoded.tensors.flatMap((t) => (Array.isArray(t.data) ? [] : [t.data.buffer as ArrayBuffer])));
  } catch (error) {
    send({ id, error: toCodecError(error) });
  }
}

function decodeHeld(body: Held, message: DecodeMessage): Decoded {
  switch (body.route) {
    case 'predict':
      return { route: 'predict', tensors: decodeInputs(message.specs, body.inputs) };
    case 'oip':
      return { route: 'oip', ...decodeOipRequest(body.envelope, message.specs, message.outputNames ?? [], message.mapOutputs ?? []) };
    case 'mlflow':
      return { route: 'mlflow', ...decodeMlflowInputs(body.payload, message.specs, message.columnNames ? [...message.columnNames] : null) };
  }
}

function encode(id: number, message: { answer: Parameters<typeof answerBody>[0] }): void {
  try {
    const json = encoder.encode(JSON.stringify(answerBody(message.answer)));
    send({ id, json }, [json.buffer as ArrayBuffer]);
  } catch (error) {
    send({ id, error: toCodecError(error) });
  }
}

function send(reply: CodecReply, transfer: ArrayBuffer[] = []): void {
  try {
    port.postMessage(reply, transfer);
  } catch (error) {
    // Not cloneable (say, nested too deep to copy): the request still gets an answer.
    port.postMessage({ id: reply.id, error: { code: 'INTERNAL', message: `the codec thread could not pass its answer back: ${(error as Error).message}`, details: {} } } satisfies CodecReply);
  }
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
