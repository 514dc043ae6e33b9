/** The user of a request in the suites: the one its `x-user` header names. */
export interface TestUser {
  readonly id: string;
}

/**
 * The suites' `resolveUser`: the user the `x-user` header names, none without
 * one. Express' and Fastify's requests both carry Node's headers.
 */
export function userFromHeader(request: object): TestUser | undefined {
  const id = (request as { headers?: Record<string, unknown> }).headers?.['x-user'];
  return typeof id === 'string' && id !== '' ? { id } : undefined;
}
