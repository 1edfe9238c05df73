import type { TensorSpec } from '../../registry/artifact/artifact.types';
import type { AnswerParts } from '../answer-body';
import type { JsonPoisoningRules } from '../json-body';
import type { ModelSelector } from '../predict-request';
import type { HostTensor } from '../tensor-codec';

/**
 * Messages between the HTTP thread and the JSON codec thread, which parses big request bodies
 * of the prediction routes and encodes big answers so that the HTTP thread never spends tens of
 * milliseconds on one.
 */

/** The prediction routes whose big bodies the codec thread reads (LargeJsonBody). */
export type CodecRoute = 'predict' | 'fanout' | 'oip' | 'mlflow';

/** Parse a body; what the version's signature is needed for stays in the codec thread under a token until `decode`. */
export interface ParseMessage {
  type: 'parse';
  id: number;
  route: CodecRoute;
  bytes: Uint8Array;
  routingKey?: string;
  /** MLflow invocations only: the body is CSV (text/csv), not JSON. */
  format?: 'csv';
}

/**
 * What a parsed body is held under in the codec thread until it is decoded: made of the parse
 * message's id, which the HTTP side never reuses, so that after a restart of the thread no
 * request can be given another's inputs (the new thread holds none of the old tokens).
 */
export type HeldToken = string;

/** A /v1/predict body (or fanout item) read: which model it asks for, and the token its inputs are held under. */
export interface ParsedPredict {
  selector: ModelSelector;
  token: HeldToken;
}

/** A fanout item: read, or the error its slot answers. */
export type FanoutItemHead = ParsedPredict | { error: CodecError };

/** What the HTTP thread needs to resolve the version, by route. */
export type ParsedHead =
  | ({ route: 'predict' } & ParsedPredict)
  | { route: 'fanout'; items: FanoutItemHead[] }
  | { route: 'oip'; token: HeldToken; requestId?: string }
  | { route: 'mlflow'; token: HeldToken };

/** Decode the inputs kept under `token` against the resolved version's signature. */
export interface DecodeMessage {
  type: 'decode';
  id: number;
  route: CodecRoute;
  token: HeldToken;
  specs: readonly TensorSpec[];
  /** Open Inference Protocol: the version's output names, to check the outputs asked for. */
  outputNames?: readonly string[];
  /** Open Inference Protocol: the version's map or sequence outputs (not answered), to say so when one is asked for. */
  mapOutputs?: readonly string[];
  /** MLflow: the column names of the version's MLflow signature, if it has one. */
  columnNames?: readonly string[] | null;
}

/** The inputs as tensors, and what else the route's answer needs. */
export type Decoded =
  | { route: 'predict'; tensors: HostTensor[] }
  /** The outputs asked for (null = all). */
  | { route: 'oip'; tensors: HostTensor[]; wanted: string[] | null }
  /** The data frame's row count, or null when the payload was tensors. */
  | { route: 'mlflow'; tensors: HostTensor[]; frameRows: number | null };

/** Forget the inputs kept under `token` (the request failed before decoding). */
export interface ReleaseMessage {
  type: 'release';
  token: HeldToken;
}

/** Encode an answer as JSON (exactly as the HTTP layer would). */
export interface EncodeMessage {
  type: 'encode';
  id: number;
  answer: AnswerParts;
}

export type CodecRequest = ParseMessage | DecodeMessage | ReleaseMessage | EncodeMessage;

/** What the codec thread is started with. */
export interface CodecWorkerData {
  /** The HTTP layer's JSON parser settings, so that both refuse the same bodies. */
  rules: JsonPoisoningRules;
}

/** A DomainError as it crosses the thread boundary. */
export interface CodecError {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export type CodecReply =
  | { id: number; parsed: ParsedHead }
  | { id: number; decoded: Decoded }
  | { id: number; json: Uint8Array }
  | { id: number; error: CodecError };
