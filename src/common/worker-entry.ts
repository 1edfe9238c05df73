import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * How to start the worker thread whose source is `<dir>/<name>.ts`: the compiled `.js` next to
 * the caller when there is one (the built service), else the `.ts` itself through
 * @swc-node/register (tests and scripts that run the sources).
 */
export function workerEntry(dir: string, name: string): [string, { execArgv?: string[] }] {
  const js = path.join(dir, `${name}.js`);
  if (fs.existsSync(js)) return [js, {}];
  return [path.join(dir, `${name}.ts`), { execArgv: ['-r', '@swc-node/register'] }];
}
