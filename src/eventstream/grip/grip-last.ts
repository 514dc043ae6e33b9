/**
 * Parses Pushpin's `Grip-Last: stream-a; last-id=3, link-u; last-id=0`,
 * sent on recovery calls: the last id it delivered on each channel.
 */
export function parseGripLast(header: string | undefined): Map<string, number> {
  const last = new Map<string, number>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.split(';').map((s) => s.trim());
    const id = params.find((p) => p.startsWith('last-id='))?.slice('last-id='.length);
    if (name && id && /^\d+$/.test(id)) last.set(name, Number(id));
  }
  return last;
}
