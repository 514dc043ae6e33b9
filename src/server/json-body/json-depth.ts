/**
 * Whether `value` nests arrays and objects more than `limit` levels deep,
 * found without recursion: a body of a few hundred kilobytes can nest tens
 * of thousands of levels, deeper than any recursive walk (class-transformer,
 * class-validator) has stack for.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}
