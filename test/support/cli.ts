import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DIST } from './processes';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the compiled CLI (`node dist/src/cli/main.js`, what `npx mms` runs) to its end, with
 * its own HOME so no test touches the developer's ~/.config/mms. `env` adds to (or, with
 * undefined, removes from) the environment.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { timeoutMs?: number; cwd?: string } = {}): Promise<CliRun> {
  const merged: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: undefined, MMS_URL: undefined, MMS_TOKEN: undefined, MMS_TENANT: undefined, NO_COLOR: '1', ...env };
  const child = spawn(process.execPath, [path.join(DIST, 'src/cli/main.js'), ...args], { env: merged, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mms ${args.join(' ')} still running after ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A throwaway HOME for the CLI's settings file. */
export function tempHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mms-home-'));
}
