import { Command, CommanderError } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { batchCommands } from './commands/batch';
import { keyCommands } from './commands/keys';
import { loginCommands } from './commands/login';
import { modelCommands } from './commands/models';
import { predictCommand } from './commands/predict';
import { trafficCommands } from './commands/traffic';
import { ApiError, CliError } from './errors';

export function buildProgram(version = packageVersion()): Command {
  const program = new Command('mms')
    .description('Many-models serving from the terminal: register, list, predict, batch, traffic and keys, over the HTTP API.')
    // Only -V is the program's own flag: commander reads a program's options anywhere on the
    // line, so a program-wide --version took `mms predict --version 3` for itself. runCli reads
    // --version as -V when it comes first.
    .version(version, '-V', 'output the version number (also --version, before any command)')
    .option('--url <url>', 'service URL (env MMS_URL; default: what mms login kept, else http://127.0.0.1:8080)')
    .option('--token <credential>', 'root token, API key or token (env MMS_TOKEN; default: what mms login kept)')
    .option('--tenant <id-or-name>', 'tenant: the one the root credential acts in, and the one keys commands manage (env MMS_TENANT)')
    .option('--json', 'print the API\'s JSON instead of tables (for scripts)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  loginCommands(program);
  modelCommands(program);
  predictCommand(program);
  batchCommands(program);
  trafficCommands(program);
  keyCommands(program);
  return program;
}

/**
 * Runs the CLI and returns its exit code: 0 done, 1 failed (the API's message is printed),
 * 2 used wrongly, 3 a batch job that succeeded with failed rows. Never throws, never prints a stack trace.
 */
export async function runCli(argv: string[], err: (text: string) => void = (t) => void process.stderr.write(t)): Promise<number> {
  const program = buildProgram();
  exitOverrideEverywhere(program);
  try {
    await program.parseAsync(argv[0] === '--version' ? ['-V', ...argv.slice(1)] : argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version "fail" with code 0; usage mistakes were printed by commander.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof ApiError) {
      err(`Error: ${error.describe()}\n`);
      return error.exitCode;
    }
    if (error instanceof CliError) {
      err(`${error.label}: ${error.message}\n`);
      return error.exitCode;
    }
    err(`Error: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  }
}

/** The package's version, read at run time (dist/src/cli → the package root). */
function packageVersion(): string {
  for (const up of ['../../..', '../..']) {
    try {
      return (JSON.parse(fs.readFileSync(path.join(__dirname, up, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      // not there: try the next
    }
  }
  return 'unknown';
}

function exitOverrideEverywhere(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) exitOverrideEverywhere(sub);
}
