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

export function contextOf(command: Command, io: Io = processIo): CommandContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  const connection = resolveConnection(options);
  return { options, connection, api: new ApiClient(connection), io, json: Boolean(options.json) };
}
