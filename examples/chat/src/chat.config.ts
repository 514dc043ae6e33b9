/**
 * The app's settings, read from the environment once at start-up and checked
 * there, so that a missing secret stops the app instead of a request.
 */
export class ChatConfig {
  constructor(
    /** The Postgres the chat's tables and the library's events live in. */
    readonly databaseUrl: string,
    /** Signs the session tokens (HS256). */
    readonly jwtSecret: string,
    /** How long a sign-in lasts; streams of a session end when it does. */
    readonly sessionSeconds: number,
    /** Send the session cookie over HTTPS only (`Secure`). */
    readonly secureCookie: boolean,
    /** Pushpin's publish URL with its key; unset, the app streams directly. */
    readonly gripUrl: string | undefined,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ChatConfig {
    const problems: string[] = [];
    const databaseUrl = env.DATABASE_URL ?? '';
    if (!databaseUrl) problems.push('DATABASE_URL must be set');
    const jwtSecret = env.JWT_SECRET ?? '';
    // A short HS256 secret can be brute-forced offline from any token.
    if (jwtSecret.length < 32) {
      problems.push('JWT_SECRET must be at least 32 characters');
    }
    const sessionSeconds = Number(env.SESSION_SECONDS ?? 8 * 60 * 60);
    if (!Number.isInteger(sessionSeconds) || sessionSeconds < 1) {
      problems.push('SESSION_SECONDS must be a positive integer');
    }
    if (problems.length > 0) {
      throw new Error(`Invalid configuration: ${problems.join('; ')}`);
    }
    return new ChatConfig(
      databaseUrl,
      jwtSecret,
      sessionSeconds,
      env.COOKIE_SECURE === 'true',
      env.GRIP_URL || undefined,
    );
  }
}
