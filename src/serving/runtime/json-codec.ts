import { Logger } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import { DomainError } from '../../common/domain-error';
import type { TensorSpec } from '../../registry/artifact/artifact.types';
import { servingHookMetrics } from '../../observability/metrics/hook-metrics';
import { answerBody, AnswerParts, isBigAnswer, withOwnBuffers } from '../answer-body';
import { ServingError, ServingErrorCode } from '../serving.error';
import { DEFAULT_POISONING_RULES, JsonPoisoningRules } from '../json-body';
import type { CodecError, CodecReply, CodecRequest, CodecRoute, CodecWorkerData, Decoded, DecodeMessage, HeldToken, ParsedHead } from './json-codec-protocol';
import { workerEntry } from '../../common/worker-entry';

type Reply<K extends string> = K extends string ? Extract<CodecReply, Record<K, unknown>> : never;

/**
 * The HTTP thread's side of the JSON codec thread (json-codec-worker.ts): big bodies of the
 * prediction routes are parsed and decoded there, and big answers encoded there, so that parsing 2 MB of
 * JSON never holds up the small requests beside it. One thread, started on first use and
 * restarted if it dies; it is separate from the inference workers, so a long parse never
 * delays another model's inference either.
 */
export class JsonCodec {
  private readonly logger = new Logger('JsonCodec');
  private worker: Worker | null = null;
  private readonly pending = new Map<number, (reply: CodecReply | null) => void>();
  private nextId = 1;
  private closing = false;
  private rules: JsonPoisoningRules = DEFAULT_POISONING_RULES;

  /** The HTTP layer's JSON parser settings, for the thread to refuse the bodies it refuses (set before the first request). */
  usePoisoningRules(rules: JsonPoisoningRules): void {
    this.rules = rules;
  }

  /**
   * Parses a big body of one of the prediction routes (its bytes move to the codec thread) as
   * the HTTP layer's parser would (JSON; or, for MLflow's invocations, CSV), and reads the route's envelope; a refused body or envelope
   * rejects with the error the HTTP thread would have answered.
   */
  async parse<R extends CodecRoute>(route: R, bytes: Buffer, routingKey?: string, format?: 'csv'): Promise<Extract<ParsedHead, { route: R }>> {
    servingHookMetrics.bodyOffloaded(route);
    const reply = await this.call<'parsed'>((id) => ({ type: 'parse', id, route, bytes: transferable(bytes), routingKey, format }), true);
    return reply.parsed as Extract<ParsedHead, { route: R }>;
  }

  /**
   * The inputs parsed under `token`, decoded against the resolved version (the same checks and
   * messages as on the HTTP thread); OIP bodies also need the output names, MLflow bodies the
   * version's MLflow column names.
   */
  async decode<R extends CodecRoute>(route: R, token: HeldToken, specs: readonly TensorSpec[], more: Pick<DecodeMessage, 'outputNames' | 'mapOutputs' | 'columnNames'> = {}): Promise<Extract<Decoded, { route: R }>> {
    // The thread checks that the token holds a body of `route` (else the request is refused), so the reply is of that route.
    return (await this.call<'decoded'>((id) => ({ type: 'decode', id, route, token, specs, ...more }))).decoded as Extract<Decoded, { route: R }>;
  }

  /** The request failed before its inputs were decoded. */
  release(token: HeldToken): void {
    this.worker?.postMessage({ type: 'release', token } satisfies CodecRequest);
  }

  /** `step`'s result; if it fails (say, the model does not resolve), the inputs held under `token` are released. */
  async releasingOnError<T>(token: HeldToken, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      this.release(token);
      throw error;
    }
  }

  /** An OIP or MLflow answer as the controller returns it: the object when small, else its JSON encoded here. */
  async answer(parts: Extract<AnswerParts, { route: 'oip' | 'mlflow' }>): Promise<{ body: object } | { payload: Buffer }> {
    return isBigAnswer(parts.outputs) ? { payload: await this.encode(parts) } : { body: answerBody(parts) };
  }

  /** The answer's JSON, byte for byte what the HTTP layer would have sent. */
  async encode(answer: AnswerParts): Promise<Buffer> {
    servingHookMetrics.answerOffloaded(answer.route);
    const reply = await this.call<'json'>((id) => ({ type: 'encode', id, answer: withOwnBuffers(answer) }));
    return Buffer.from(reply.json.buffer, reply.json.byteOffset, reply.json.byteLength);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker?.terminate();
  }

  private call<K extends string>(message: (id: number) => CodecRequest, transferBytes = false): Promise<Reply<K>> {
    const worker = this.ensureWorker();
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, (reply) => {
        if (reply === null) reject(new ServingError(ServingErrorCode.WorkerUnavailable, 'The JSON codec thread restarted; retry the request', {}));
        else if ('error' in reply) reject(toError(reply.error));
        else resolve(reply as Reply<K>);
      });
      const msg = message(id);
      worker.postMessage(msg, transferBytes && msg.type === 'parse' ? [msg.bytes.buffer as ArrayBuffer] : []);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const [file, options] = workerEntry(__dirname, 'json-codec-worker');
    const worker = new Worker(file, { ...options, workerData: { rules: this.rules } satisfies CodecWorkerData });
    worker.on('message', (reply: CodecReply) => {
      const done = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      done?.(reply);
    });
    worker.on('error', (error) => this.logger.error(`JSON codec thread failed: ${error.message}`));
    // A reply that cannot be read back names no request: rather than leave its request waiting
    // for good, restart the thread (its requests in flight answer 503 WORKER_UNAVAILABLE).
    worker.on('messageerror', (error) => {
      this.logger.error(`JSON codec thread sent a reply that could not be read (${error.message}); restarting it`);
      void worker.terminate();
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      if (!this.closing) this.logger.error(`JSON codec thread exited (code ${code}); it starts again with the next big request`);
      const pending = [...this.pending.values()];
      this.pending.clear();
      for (const done of pending) done(null);
    });
    // Shutdown terminates it; it must not keep a finished process alive.
    worker.unref();
    this.worker = worker;
    return worker;
  }
}

/** The body's bytes in an ArrayBuffer of their own, so they can be moved rather than copied (a pooled buffer is copied). */
function transferable(bytes: Buffer): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  return new Uint8Array(bytes);
}

/** A CodecError as the error it stands for: a DomainError, or a plain Error for an unexpected failure (answered 500). */
export function toError(error: CodecError): Error {
  return error.code === 'INTERNAL' ? new Error(error.message) : new DomainError(error.code, error.message, error.details);
}
