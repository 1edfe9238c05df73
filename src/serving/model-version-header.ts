import type { FastifyReply } from 'fastify';

/**
 * The response header every prediction protocol answers with: the version that served, which
 * an alias, the latest version or a traffic rule may have picked rather than the caller.
 */
export const MODEL_VERSION_HEADER = 'x-model-version';

export function sendModelVersion(reply: FastifyReply, version: number | string): void {
  void reply.header(MODEL_VERSION_HEADER, String(version));
}
