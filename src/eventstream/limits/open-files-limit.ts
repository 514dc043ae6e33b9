import { readFileSync } from 'node:fs';

/**
 * The soft limit on open files assumed where it cannot be read (not Linux):
 * the usual default soft limit, so the derived stream cap errs low.
 */
export const FALLBACK_OPEN_FILES_LIMIT = 1024;

/**
 * File descriptors kept free of streams beyond the database's: the health
 * and publish requests that must still be answered when streams are full,
 * the app's own files and outgoing connections, and Node's own descriptors.
 */
export const RESERVED_FILE_DESCRIPTORS = 256;

/**
 * The process's soft limit on open files (`ulimit -n`). Node has no
 * `getrlimit`; on Linux the kernel reports it in /proc/self/limits (after
 * Node raised it to the hard limit at start-up, as it does on POSIX).
 */
export function readOpenFilesLimit(readLimits = () => readFileSync('/proc/self/limits', 'utf8')) {
  let text: string;
  try {
    text = readLimits();
  } catch {
    return FALLBACK_OPEN_FILES_LIMIT;
  }
  return parseOpenFilesLimit(text) ?? FALLBACK_OPEN_FILES_LIMIT;
}

/** The soft limit in the `Max open files` line of /proc/self/limits; Infinity for `unlimited`. */
export function parseOpenFilesLimit(limits: string): number | undefined {
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  if (soft === 'unlimited') return Infinity;
  const value = Number(soft);
  return soft !== undefined && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/**
 * The default `maxStreams`: one descriptor per stream, out of what the open
 * files limit leaves after the database connections (the pool and the
 * LISTEN connection) and {@link RESERVED_FILE_DESCRIPTORS}. At least 1.
 */
export function defaultMaxStreams(openFilesLimit: number, databaseConnections: number): number {
  const free = openFilesLimit - databaseConnections - 1 - RESERVED_FILE_DESCRIPTORS;
  return Math.max(1, Math.min(Number.MAX_SAFE_INTEGER, free));
}
