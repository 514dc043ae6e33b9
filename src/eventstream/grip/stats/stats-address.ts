/**
 * A ZeroMQ address the app can connect to: `tcp://host:port` (a name, an
 * IPv4 address or a bracketed IPv6 one; no `*`, which only binds) or
 * `ipc://path`.
 */
export function isStatsAddress(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (/^ipc:\/\/\S+$/.test(value)) return true;
  const tcp = /^tcp:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  return tcp !== null && Number(tcp[1]) >= 1 && Number(tcp[1]) <= 65535;
}

/** What is wrong with `grip.stats`, worded after the option's name; undefined if nothing. */
export function statsProblem(value: unknown): string | undefined {
  const expected =
    'must be a ZeroMQ address of a Pushpin stats socket (tcp://host:port or ipc://path) or a non-empty array of them';
  if (Array.isArray(value)) {
    if (value.length === 0) return `${expected}, got an empty array`;
    const index = value.findIndex((address) => !isStatsAddress(address));
    return index < 0 ? undefined : `${expected}; item ${index} is ${JSON.stringify(value[index])}`;
  }
  return isStatsAddress(value) ? undefined : `${expected}, got ${JSON.stringify(value)}`;
}

/** `grip.stats` as a list, empty when not given. */
export function statsAddresses(option: string | readonly string[] | undefined): readonly string[] {
  if (option === undefined) return [];
  return typeof option === 'string' ? [option] : option;
}
