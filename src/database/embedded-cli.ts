import * as path from 'node:path';
import { EmbeddedPostgres } from './embedded-postgres';

/**
 * `node dist/src/database/embedded-cli.js [dataDir]`: serves the embedded database alone on
 * a loopback port and prints its URL, for tools (psql, the test suite) that want to talk to
 * PGlite without the service. Stops on SIGINT/SIGTERM.
 */
async function main(): Promise<void> {
  const dataDir = path.resolve(process.argv[2] ?? process.env.MMS_DATA_DIR ?? './data');
  const db = await EmbeddedPostgres.start(dataDir, 50);
  process.stdout.write(`DATABASE_URL=${db.url}\n`);
  const stop = () => void db.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
