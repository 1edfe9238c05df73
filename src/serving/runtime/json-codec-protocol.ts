import type { TensorSpec } from '../../registry/artifact/artifact.types';
import type { ModelSelector } from '../predict-request';
import type { HostTensor } from '../tensor-codec';

/**
 * Messages between the HTTP thread and the JSON codec thread, which parses big request bodies
 * and encodes big answers so that the HTTP thread never spends tens of milliseconds on one.
 */

/** Parse a /v1/predict body; its inputs stay in the codec thread under `id` until `decode`. */
export interface ParseMessage {
  type: 'parse';
  id: number;
  bytes: Uint8Array;
  routingKey?: string;
}

/** Decode the inputs kept under `token` against the resolved version's signature. */
export interface DecodeMessage {
  type: 'decode';
  id: number;
  token: number;
  specs: readonly TensorSpec[];
}

/** Forget the inputs kept under `token` (the request failed before decoding). */
export interface ReleaseMessage {
  type: 'release';
  token: number;
}

/** Encode a /v1/predict answer as JSON (exactly as the HTTP layer would). */
export interface EncodeMessage {
  type: 'encode';
  id: number;
  answer: { model: string; version: number; predictionId: string };
  outputs: HostTensor[];
}

export type CodecRequest = ParseMessage | DecodeMessage | ReleaseMessage | EncodeMessage;

/** A DomainError as it crosses the thread boundary. */
export interface CodecError {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export type CodecReply =
  | { id: number; parsed: { selector: ModelSelector; token: number } }
  /** Not parsed here (invalid JSON, or a key the HTTP layer's parser checks for prototype poisoning): the bytes go back. */
  | { id: number; parseHere: Uint8Array }
  | { id: number; tensors: HostTensor[] }
  | { id: number; json: Uint8Array }
  | { id: number; error: CodecError };
