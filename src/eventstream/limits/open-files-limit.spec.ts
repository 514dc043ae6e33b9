import { execFileSync } from 'node:child_process';
import {
  FALLBACK_OPEN_FILES_LIMIT,
  RESERVED_FILE_DESCRIPTORS,
  defaultMaxStreams,
  parseOpenFilesLimit,
  readOpenFilesLimit,
} from './open-files-limit';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                40000                files
Max locked memory         8388608              8388608              bytes
`;

describe('the open files limit', () => {
  test('is the soft limit of /proc/self/limits', () => {
    expect(parseOpenFilesLimit(LIMITS)).toBe(20_000);
    expect(readOpenFilesLimit(() => LIMITS)).toBe(20_000);
  });

  test('is Infinity when unlimited', () => {
    expect(parseOpenFilesLimit('Max open files   unlimited   unlimited   files\n')).toBe(Infinity);
  });

  test('falls back to a fixed limit where /proc cannot be read or says nothing useful', () => {
    const missing = () => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    };
    expect(readOpenFilesLimit(missing)).toBe(FALLBACK_OPEN_FILES_LIMIT);
    expect(readOpenFilesLimit(() => 'Max cpu time unlimited unlimited seconds\n')).toBe(
      FALLBACK_OPEN_FILES_LIMIT,
    );
    expect(readOpenFilesLimit(() => 'Max open files  -1  -1  files\n')).toBe(
      FALLBACK_OPEN_FILES_LIMIT,
    );
  });

  test('reads this process’s own limit on Linux, as `ulimit -Sn` reports it', () => {
    if (process.platform !== 'linux') return;
    // A child inherits the limit as Node set it.
    const shell = execFileSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).trim();
    expect(readOpenFilesLimit()).toBe(shell === 'unlimited' ? Infinity : Number(shell));
  });
});

describe('the default maxStreams', () => {
  test('leaves the database connections, the LISTEN one and the reserve free', () => {
    expect(defaultMaxStreams(20_000, 10)).toBe(20_000 - 10 - 1 - RESERVED_FILE_DESCRIPTORS);
  });

  test('is at least 1, and a safe integer when the limit is unlimited', () => {
    expect(defaultMaxStreams(100, 10)).toBe(1);
    expect(defaultMaxStreams(Infinity, 10)).toBe(Number.MAX_SAFE_INTEGER);
  });
});
