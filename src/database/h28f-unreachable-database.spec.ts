import * as net from 'node:net';
import { loadConfig } from '../config/app-config';
import { Database } from './database';

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Database.open on an external database that cannot be reached', () => {
  it('says it was the database at DATABASE_URL, with the password masked', async () => {
    const port = await closedPort();
    const config = loadConfig({ DATABASE_URL: `postgres://mms:s3cret-pw@127.0.0.1:${port}/registry`, MMS_ADMIN_TOKEN: 'root-token-0123456789' });
    const opening = Database.open(config, { runMigrations: false });
    await expect(opening).rejects.toThrow(`the database at DATABASE_URL (postgres://mms:***@127.0.0.1:${port}/registry) cannot be opened: `);
    await expect(opening).rejects.toThrow(/ECONNREFUSED/);
    await expect(opening).rejects.not.toThrow(/s3cret-pw/);
  });
});
