import type { Command } from 'commander';
import { ApiClient } from './api-client';
import { Io, processIo } from './output';
import { Connection, resolveConnection } from './settings';

/** The global flags every command shares. */
export interface GlobalOptions {
  url?: string;
  token?: string;
  tenant?: string;
  json?: boolean;
}

/** What a command's action works with: where the service is, how to talk, how to print. */
export interface CommandContext {
  options: GlobalOptions;
  connection: Connection;
  api: ApiClient;
  io: Io;
  json: boolean;
}

/**
 * `tenantScoped: false` for commands that do not act in the root credential's tenant: their
 * requests carry no `x-tenant` (the tenant stays in `connection` for commands that put it in the path).
 */
export function contextOf(command: Command, { tenantScoped = true, io = processIo }: { tenantScoped?: boolean; io?: Io } = {}): CommandContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  const connection = resolveConnection(options);
  return { options, connection, api: new ApiClient(connection, { sendTenant: tenantScoped }), io, json: Boolean(options.json) };
}
