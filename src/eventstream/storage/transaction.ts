/**
 * A Prisma interactive-transaction client: the `tx` that
 * `prisma.$transaction(async (tx) => …)` hands to its callback.
 */
export interface PrismaTransactionClient {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
}

/** A `pg` client (`Client` or `PoolClient`) inside a transaction the app began. */
export interface PgTransactionClient {
  query(text: string, values?: unknown[]): PromiseLike<{ rows: unknown[] }>;
}

/**
 * A transaction of the app's, on the database the module uses, to write
 * events in: they commit, and reach clients, only if it commits.
 */
export type EventStreamTransaction = PrismaTransactionClient | PgTransactionClient;

/** Runs one parameterised statement and gives its rows. */
export type SqlRunner = <T>(sql: string, values: readonly unknown[]) => Promise<T[]>;

/** Runs statements in the app's transaction, whichever client it is. */
export function transactionRunner(transaction: EventStreamTransaction): SqlRunner {
  const given: unknown = transaction;
  if (typeof given === 'object' && given !== null) {
    // A client that commits each statement by itself would write the events
    // at once, whatever becomes of the app's transaction.
    // The root client has $connect; the one inside $transaction does not.
    if ('$connect' in given && typeof given.$connect === 'function') {
      throw new TypeError(
        'transaction must be the client that prisma.$transaction(async (tx) => …) hands to its callback, not the PrismaClient itself',
      );
    }
    if ('totalCount' in given && 'idleCount' in given) {
      throw new TypeError(
        'transaction must be a pg client after BEGIN (pool.connect()), not the pool itself',
      );
    }
    if ('$queryRawUnsafe' in given && typeof given.$queryRawUnsafe === 'function') {
      const prisma = transaction as PrismaTransactionClient;
      return async <T>(sql: string, values: readonly unknown[]) =>
        prisma.$queryRawUnsafe<T[]>(sql, ...values);
    }
    if ('query' in given && typeof given.query === 'function') {
      const pg = transaction as PgTransactionClient;
      return async <T>(sql: string, values: readonly unknown[]) =>
        (await pg.query(sql, [...values])).rows as T[];
    }
  }
  throw new TypeError('transaction must be a Prisma interactive-transaction client or a pg client');
}
