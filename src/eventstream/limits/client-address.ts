/** The default client key of `maxStreamsPerClient`: the socket's remote address. */
export function clientAddress(request: object): string {
  const { socket } = request as { socket?: { remoteAddress?: string } };
  return socket?.remoteAddress ?? 'unknown';
}
