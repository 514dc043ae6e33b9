/** Quotes a Postgres identifier, doubling any embedded quote. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
