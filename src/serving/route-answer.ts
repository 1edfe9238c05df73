import type { FastifyReply } from 'fastify';
import { sendModelVersion } from './model-version-header';
import { JSON_TYPE } from './predict.route';

/**
 * What a prediction route's service hands its controller: the version that served (for
 * x-model-version), and the answer, as an object for the HTTP layer to write or, when it is
 * big, as JSON the codec thread already encoded.
 */
export type RouteAnswer = { version?: number } & ({ body: object } | { payload: Buffer });

/** Sets the answer's headers and returns what the controller returns. */
export function sendAnswer(reply: FastifyReply, answer: RouteAnswer): object | Buffer {
  if (answer.version !== undefined) sendModelVersion(reply, answer.version);
  if ('body' in answer) return answer.body;
  // Written as it is (Fastify serialises only objects): the same content type as an object gets.
  void reply.type(JSON_TYPE);
  return answer.payload;
}
