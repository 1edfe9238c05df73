/** A database session: a TypeORM QueryRunner or a pg PoolClient. */
export interface SqlSession {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * Runs `work` while `session` holds PostgreSQL's session-level advisory lock `key`, so that
 * replicas doing the same set-up at the same moment take turns. The lock is the session's:
 * `work` may use other connections, which wait for it like any other session.
 */
export async function holdingAdvisoryLock<T>(session: SqlSession, key: number, work: () => Promise<T>): Promise<T> {
  await session.query('SELECT pg_advisory_lock($1)', [key]);
  try {
    return await work();
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
  }
}
