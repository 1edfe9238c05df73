import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';
import { useTempDir } from '../support/temp-dir';

jest.setTimeout(60_000);

/**
 * The embedded PGlite runs in a thread of its own: a statement, however long, never holds up
 * the thread that serves HTTP (on the HTTP thread, PGlite would execute it synchronously).
 */
describe('the embedded database thread', () => {
  const dir = useTempDir('embedded-thread-');

  it('keeps the event loop turning while a slow statement runs, and keeps its data across a restart', async () => {
    let db = await EmbeddedPostgres.start(dir(), 4);
    let client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query('CREATE TABLE kept (n int)');
    await client.query('INSERT INTO kept VALUES (42)');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await client.query('SELECT pg_sleep(0.5)');
    clearInterval(timer);
    // Blocked, the loop would not turn at all during the half second; free, about 100 times.
    expect(ticks).toBeGreaterThan(20);
    await client.end();
    await db.stop();

    db = await EmbeddedPostgres.start(dir(), 4);
    client = new Client({ connectionString: db.url });
    await client.connect();
    expect((await client.query('SELECT n FROM kept')).rows).toEqual([{ n: 42 }]);
    await client.end();
    await db.stop();
  });

  it('fails to start with the reason from its thread, and lets go of the data directory', async () => {
    // `pg` is a file where PGlite wants its directory.
    fs.writeFileSync(path.join(dir(), 'pg'), 'not a directory');
    await expect(EmbeddedPostgres.start(dir(), 4)).rejects.toThrow(/./);
    fs.rmSync(path.join(dir(), 'pg'));
    const again = await EmbeddedPostgres.start(dir(), 4);
    await again.stop();
  });
});
