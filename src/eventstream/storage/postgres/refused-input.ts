import { DatabaseError } from 'pg';

/**
 * Whether Postgres refused the statement for its data (an ERROR of class
 * 22 data exception, 23 integrity, or 54 limit exceeded), which rolls it
 * back and may be one caller's fault. Anything else fails a group as it
 * is: a lost connection or a FATAL error leaves the commit unknown, and
 * writing again could store events twice; a timeout, lock or deadlock error
 * would only be waited for twice.
 */
export function refusedInput(error: unknown): boolean {
  return (
    error instanceof DatabaseError &&
    error.severity === 'ERROR' &&
    /^(22|23|54)/.test(error.code ?? '')
  );
}
