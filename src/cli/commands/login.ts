import { Command } from 'commander';
import * as readline from 'node:readline';
import { ApiClient } from '../api-client';
import { CommandContext, contextOf } from '../context';
import { CliError } from '../errors';
import { json } from '../output';
import { normalizeUrl, readSettings, removeSettings, settingsPath, StoredSettings, writeSettings, DEFAULT_URL } from '../settings';

export function loginCommands(program: Command): void {
  program
    .command('login')
    .description('check a credential against the service and keep it (with the URL) in ~/.config/mms/config.json, mode 600')
    .addHelpText(
      'after',
      `
The credential is the root token, or an API key (mmsk_…) or token of a tenant. Without --token
it is read from standard input (typed hidden on a terminal). MMS_URL, MMS_TOKEN and MMS_TENANT,
and the --url/--token/--tenant flags of any command, override what is kept.

Examples:
  mms login --url http://127.0.0.1:8080 --token mms_root_… --tenant demo
  echo "$KEY" | mms login --url https://mms.example.com`,
    )
    .action(async (_options: unknown, command: Command) => {
      const ctx = contextOf(command);
      const flags = ctx.options;
      const stored = readSettings();
      const url = normalizeUrl(flags.url || process.env.MMS_URL || stored.url || DEFAULT_URL);
      const token = flags.token || process.env.MMS_TOKEN || (await readSecret(`Credential for ${url}: `));
      if (!token) throw new CliError('No credential given (use --token, MMS_TOKEN or standard input)', 2);
      const tenant = flags.tenant || process.env.MMS_TENANT;
      const settings: StoredSettings = { url, token, ...(tenant ? { tenant } : {}) };
      await verify(new ApiClient({ url, token, tenant }));
      writeSettings(settings);
      report(ctx, { url, tenant: tenant ?? null, settings: settingsPath() }, `Logged in to ${url}${tenant ? ` (tenant ${tenant})` : ''}; saved to ${settingsPath()}\n`);
    });

  program
    .command('logout')
    .description('forget the kept URL and credential')
    .action((_options: unknown, command: Command) => {
      const ctx = contextOf(command);
      const removed = removeSettings();
      report(ctx, { removed, settings: settingsPath() }, removed ? `Removed ${settingsPath()}\n` : 'Nothing to forget: not logged in\n');
    });
}

/** Any read that every role may do proves the credential (and the tenant, for root). */
async function verify(api: ApiClient): Promise<void> {
  await api.request('GET', '/v1/models', { query: { limit: 1 } });
}

function report(ctx: CommandContext, value: unknown, text: string): void {
  ctx.io.out(ctx.json ? json(value) : text);
}

async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    return text.trim();
  }
  // Hidden typing: echo nothing but the prompt.
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const output = rl as unknown as { _writeToOutput: (s: string) => void };
  let prompted = false;
  output._writeToOutput = (s: string) => {
    if (!prompted) {
      process.stderr.write(s);
      prompted = true;
    }
  };
  try {
    return await new Promise<string>((resolve) => rl.question(prompt, (answer) => resolve(answer.trim())));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
