import { generateKeyPairSync } from 'node:crypto';
import { Registry, register as globalRegistry } from 'prom-client';
import { Pool } from 'pg';
import { AllowAllAuthorizer } from '../auth/channel-authorizer.interface';
import { NoInitialEvents } from '../connect/stream-connect-hook.interface';
import { EventStreamConfigError } from '../errors/eventstream.errors';
import {
  defaultUserIdentifier,
  defaultUserLoader,
  defaultUserResolver,
} from '../auth/user-identity';
import { DEFAULT_EVENT_LIMITS } from '../events/event-limits';
import { RESERVED_FILE_DESCRIPTORS, readOpenFilesLimit } from '../limits/open-files-limit';
import { clientAddress } from '../limits/client-address';
import type { EventStreamModuleOptions } from './eventstream-options';
import { resolveOptions } from './resolve-options';

const URL = 'postgres://user:secret@localhost:5432/app';
const DAY_MS = 24 * 60 * 60 * 1000;
/** A shared secret strong enough to sign with. */
const STRONG = 'k3y-0123456789abcdefghijklmnopqrstuv';

/** The error resolveOptions throws for `options`, given as they might come from untyped code. */
function configError(options: unknown): EventStreamConfigError {
  try {
    resolveOptions(options as EventStreamModuleOptions);
  } catch (error) {
    if (error instanceof EventStreamConfigError) return error;
    throw error;
  }
  throw new Error('expected resolveOptions to throw, but it returned');
}

function problemsOf(options: unknown): readonly string[] {
  return configError(options).problems;
}

describe('resolveOptions', () => {
  describe('defaults', () => {
    test('fills in every default for a database URL', () => {
      expect(resolveOptions({ databaseUrl: URL })).toEqual({
        connection: {
          kind: 'url',
          databaseUrl: URL,
          poolSize: 10,
          connectTimeoutMs: 5000,
          queryTimeoutMs: 15000,
        },
        replicas: [],
        schema: 'eventstream',
        migrate: false,
        retention: { maxEventsPerChannel: 100_000, maxAgeMs: DAY_MS, intervalMs: 60_000 },
        idempotencyWindowMs: DAY_MS,
        limits: { maxChannelLength: 128, maxEventTypeLength: 128, maxDataBytes: 65_536 },
        maxChannelsPerStream: 10,
        keepAliveMs: 20_000,
        replayPageSize: 1000,
        slowClientTimeoutMs: 30_000,
        // The pool's 10 connections and the LISTEN one.
        maxStreams: readOpenFilesLimit() - 11 - RESERVED_FILE_DESCRIPTORS,
        maxStreamsPerClient: null,
        eventPayloads: new Map(),
        authorizer: expect.any(AllowAllAuthorizer) as unknown,
        onConnect: expect.any(NoInitialEvents) as unknown,
        resolveUser: defaultUserResolver,
        identifyUser: defaultUserIdentifier,
        cors: null,
        presence: { announce: [] },
        grip: null,
        loadUser: defaultUserLoader,
        metrics: null,
      });
    });

    test('leaves no option without a value but those that declare no default', () => {
      const config = resolveOptions({
        databaseUrl: URL,
        maxStreamsPerClient: { max: 1 },
        cors: { origins: '*' },
        grip: { url: `http://127.0.0.1:5561/?key=${STRONG}` },
        metrics: true,
      });
      const unset = (Object.entries(config) as [string, unknown][]).flatMap(([option, value]) => [
        ...(value === undefined ? [option] : []),
        ...Object.entries(value instanceof Object ? value : {})
          .filter(([, inner]) => inner === undefined)
          .map(([inner]) => `${option}.${inner}`),
      ]);
      expect(unset).toEqual(['grip.publicPath']);
    });

    test('keeps the stream settings, authorizer, connect hook, user hooks and CORS given', () => {
      const authorizer = { canReadChannel: () => true };
      const onConnect = { onConnect: () => [] };
      const resolveUser = () => 'u';
      const identifyUser = () => 'id';
      const config = resolveOptions({
        databaseUrl: URL,
        maxChannelsPerStream: 3,
        keepAliveMs: 1000,
        replayPageSize: 7,
        slowClientTimeoutMs: 2000,
        authorizer,
        onConnect,
        resolveUser,
        identifyUser,
        cors: { origins: ['https://a.example'], credentials: true },
      });
      expect(config).toMatchObject({
        maxChannelsPerStream: 3,
        keepAliveMs: 1000,
        replayPageSize: 7,
        slowClientTimeoutMs: 2000,
      });
      expect(config.authorizer).toBe(authorizer);
      expect(config.onConnect).toBe(onConnect);
      expect(config.resolveUser).toBe(resolveUser);
      expect(config.identifyUser).toBe(identifyUser);
      expect(config.cors).toEqual({
        origins: ['https://a.example'],
        credentials: true,
        maxAgeSeconds: 600,
      });
    });

    test('refuses an authorizer without canReadChannel, a connect hook without onConnect, non-function hooks and bad CORS', () => {
      expect(
        problemsOf({
          databaseUrl: URL,
          authorizer: { canRead: () => true },
          onConnect: () => [],
          resolveUser: 'user',
          cors: { origins: 'https://a.example' },
        }),
      ).toEqual([
        'authorizer must be an object with a canReadChannel method',
        'onConnect must be an object with an onConnect method',
        'resolveUser must be a function',
        "cors.origins must be '*' or an array of origins",
      ]);
    });

    test('keeps the announcing channels given, and refuses what is neither a channel nor a pattern', () => {
      const announce = ['lobby', /^room-/];
      expect(resolveOptions({ databaseUrl: URL, presence: { announce } }).presence).toEqual({
        announce,
      });
      const refused =
        'presence.announce must hold channel names (letters, digits and any of _ - . : @ / ~) and regular expressions';
      for (const bad of [['a b'], [''], [7], 'lobby']) {
        expect(problemsOf({ databaseUrl: URL, presence: { announce: bad } })).toEqual([
          typeof bad === 'string'
            ? 'presence.announce must be an array of channel names and regular expressions'
            : refused,
        ]);
      }
      expect(problemsOf({ databaseUrl: URL, presence: 'lobby' })).toEqual([
        'presence must be an object { announce }',
      ]);
      expect(problemsOf({ databaseUrl: URL, presence: { announced: ['lobby'] } })).toEqual([
        'presence.announced: property announced should not exist',
      ]);
    });

    test('keeps the payload classes given, and refuses anything but classes', () => {
      class Message {}
      expect(
        resolveOptions({ databaseUrl: URL, eventPayloads: { message: Message } }).eventPayloads,
      ).toEqual(new Map([['message', Message]]));
      expect(
        problemsOf({ databaseUrl: URL, eventPayloads: { message: { text: 'string' } } }),
      ).toEqual(['eventPayloads must be an object of event types and class-validator classes']);
    });

    test('turns metrics on with the global or a given registry, and refuses bad ones', () => {
      const registry = new Registry();
      expect(resolveOptions({ databaseUrl: URL, metrics: true }).metrics).toEqual({
        registry: globalRegistry,
        prefix: 'eventstream_',
      });
      expect(resolveOptions({ databaseUrl: URL, metrics: false }).metrics).toBeNull();
      expect(
        resolveOptions({ databaseUrl: URL, metrics: { registry, prefix: 'app_' } }).metrics,
      ).toEqual({ registry, prefix: 'app_' });
      const message =
        'metrics must be true, false, or { registry?: a prom-client Registry, prefix?: a metric name prefix }';
      for (const metrics of [{ prefix: 'bad prefix' }, { registry: {} }, { port: 9100 }, 'on']) {
        expect(problemsOf({ databaseUrl: URL, metrics })).toEqual([message]);
      }
    });

    test('accepts postgresql:// as well as postgres://', () => {
      const config = resolveOptions({ databaseUrl: 'postgresql://localhost/app' });
      expect(config.connection).toMatchObject({
        kind: 'url',
        databaseUrl: 'postgresql://localhost/app',
      });
    });

    test('keeps the given values', () => {
      const config = resolveOptions({
        databaseUrl: URL,
        schema: 'events_2',
        migrate: true,
        poolSize: 3,
        connectTimeoutMs: 100,
        queryTimeoutMs: 200,
        retention: { maxEventsPerChannel: 50, maxAgeMs: 1000, intervalMs: 500 },
        limits: { maxChannelLength: 64, maxEventTypeLength: 32, maxDataBytes: 1024 },
      });
      expect(config).toMatchObject({
        connection: {
          kind: 'url',
          databaseUrl: URL,
          poolSize: 3,
          connectTimeoutMs: 100,
          queryTimeoutMs: 200,
        },
        schema: 'events_2',
        migrate: true,
        retention: { maxEventsPerChannel: 50, maxAgeMs: 1000, intervalMs: 500 },
        limits: { maxChannelLength: 64, maxEventTypeLength: 32, maxDataBytes: 1024 },
      });
    });

    test('treats options given as undefined as not given', () => {
      const config = resolveOptions({
        databaseUrl: URL,
        pool: undefined,
        schema: undefined,
        migrate: undefined,
        poolSize: undefined,
        retention: { maxEventsPerChannel: undefined, maxAgeMs: undefined, intervalMs: undefined },
      });
      expect(config).toEqual(resolveOptions({ databaseUrl: URL }));
    });

    test('fills in the limits that are not given', () => {
      expect(resolveOptions({ databaseUrl: URL, limits: { maxDataBytes: 100 } }).limits).toEqual({
        ...DEFAULT_EVENT_LIMITS,
        maxDataBytes: 100,
      });
    });

    test('keeps event data within what a GRIP reply can carry, with grip only', () => {
      const grip = { url: `http://127.0.0.1:5561/?key=${STRONG}` };
      expect(() =>
        resolveOptions({ databaseUrl: URL, grip, limits: { maxDataBytes: 65_537 } }),
      ).toThrow(/limits.maxDataBytes: at most 65536 with grip/);
      expect(
        resolveOptions({ databaseUrl: URL, grip, limits: { maxDataBytes: 65_536 } }).limits
          .maxDataBytes,
      ).toBe(65_536);
      expect(
        resolveOptions({ databaseUrl: URL, limits: { maxDataBytes: 1_000_000 } }).limits
          .maxDataBytes,
      ).toBe(1_000_000);
    });

    test('keeps the default for a limit given as undefined', () => {
      const config = resolveOptions({
        databaseUrl: URL,
        limits: { maxChannelLength: undefined, maxDataBytes: undefined },
      });
      expect(config.limits).toEqual(DEFAULT_EVENT_LIMITS);
    });

    test('keeps the retention defaults for the fields not given', () => {
      expect(
        resolveOptions({ databaseUrl: URL, retention: { intervalMs: 1000 } }).retention,
      ).toEqual({ maxEventsPerChannel: 100_000, maxAgeMs: DAY_MS, intervalMs: 1000 });
      expect(resolveOptions({ databaseUrl: URL, retention: {} }).retention).toEqual({
        maxEventsPerChannel: 100_000,
        maxAgeMs: DAY_MS,
        intervalMs: 60_000,
      });
    });

    test('gives no retention for retention: false', () => {
      expect(resolveOptions({ databaseUrl: URL, retention: false }).retention).toBeNull();
    });

    test('reads null retention fields as no limit', () => {
      expect(
        resolveOptions({
          databaseUrl: URL,
          retention: { maxEventsPerChannel: null, maxAgeMs: null },
        }).retention,
      ).toEqual({ maxEventsPerChannel: null, maxAgeMs: null, intervalMs: 60_000 });
      expect(resolveOptions({ databaseUrl: URL, retention: { maxAgeMs: null } }).retention).toEqual(
        { maxEventsPerChannel: 100_000, maxAgeMs: null, intervalMs: 60_000 },
      );
    });

    test('accepts a schema name of exactly 63 characters', () => {
      const schema = `s${'a'.repeat(62)}`;
      expect(resolveOptions({ databaseUrl: URL, schema }).schema).toBe(schema);
    });

    test.each([
      ['poolSize', 1000],
      ['connectTimeoutMs', Number.MAX_SAFE_INTEGER],
    ])('accepts %s at its maximum %p', (key, value) => {
      expect(resolveOptions({ databaseUrl: URL, [key]: value }).connection).toMatchObject({
        [key]: value,
      });
    });

    test('accepts the largest limits and retention interval', () => {
      const config = resolveOptions({
        databaseUrl: URL,
        retention: { intervalMs: DAY_MS },
        limits: {
          maxChannelLength: 1024,
          maxEventTypeLength: 1024,
          maxDataBytes: 16 * 1024 * 1024,
        },
      });
      expect(config.retention?.intervalMs).toBe(DAY_MS);
      expect(config.limits).toEqual({
        maxChannelLength: 1024,
        maxEventTypeLength: 1024,
        maxDataBytes: 16 * 1024 * 1024,
      });
    });
  });

  describe('stream limits', () => {
    test('keeps maxStreams and maxStreamsPerClient given', () => {
      const key = () => 'k';
      const config = resolveOptions({
        databaseUrl: URL,
        maxStreams: 5,
        maxStreamsPerClient: { max: 2, key },
      });
      expect(config.maxStreams).toBe(5);
      expect(config.maxStreamsPerClient).toEqual({ max: 2, key });
    });

    test('keys clients by their address unless told otherwise', () => {
      const config = resolveOptions({ databaseUrl: URL, maxStreamsPerClient: { max: 2 } });
      expect(config.maxStreamsPerClient?.key).toBe(clientAddress);
      expect(clientAddress({ socket: { remoteAddress: '192.0.2.7' } })).toBe('192.0.2.7');
    });

    test('leaves room for a larger pool in the default maxStreams', () => {
      const { maxStreams } = resolveOptions({ databaseUrl: URL, poolSize: 100 });
      expect(maxStreams).toBe(readOpenFilesLimit() - 101 - RESERVED_FILE_DESCRIPTORS);
    });

    test("leaves room for the replicas' pools in the default maxStreams", () => {
      const replicas = ['postgres://r1/app', 'postgres://r2/app'];
      const { maxStreams } = resolveOptions({ databaseUrl: URL, poolSize: 20, replicas });
      expect(maxStreams).toBe(readOpenFilesLimit() - 61 - RESERVED_FILE_DESCRIPTORS);
    });
  });

  describe('pool', () => {
    let pool: Pool;

    beforeEach(() => {
      // Constructing a pool does not connect.
      pool = new Pool();
    });

    afterEach(async () => {
      await pool.end();
    });

    test('uses the given pool itself', () => {
      const config = resolveOptions({ pool });
      expect(config.connection.kind).toBe('pool');
      expect(config.connection).toEqual({ kind: 'pool', pool });
      expect(config.connection.kind === 'pool' && config.connection.pool).toBe(pool);
      expect(config.schema).toBe('eventstream');
    });

    test("leaves room for the given pool's connections in the default maxStreams", async () => {
      const large = new Pool({ max: 50 });
      try {
        expect(resolveOptions({ pool: large }).maxStreams).toBe(
          readOpenFilesLimit() - 51 - RESERVED_FILE_DESCRIPTORS,
        );
      } finally {
        await large.end();
      }
    });

    test('rejects both a pool and a database URL', () => {
      expect(problemsOf({ pool, databaseUrl: URL })).toEqual([
        'give either databaseUrl or pool, not both',
      ]);
    });
  });

  describe('errors', () => {
    test('throws EventStreamConfigError listing every problem in its message', () => {
      const error = configError({ databaseUrl: 'mysql://localhost/app', schema: 'public' });
      expect(error.code).toBe('invalid-config');
      expect(error.problems).toHaveLength(2);
      expect(error.message).toMatch(/^Invalid EventStreamModule options:\n {2}- /);
      for (const problem of error.problems) expect(error.message).toContain(`  - ${problem}`);
    });

    test.each([null, undefined, 'postgres://localhost/app', 42])(
      'rejects options that are not an object: %p',
      (options) => {
        expect(problemsOf(options)).toEqual(['options must be an object']);
      },
    );

    test('requires databaseUrl or pool', () => {
      expect(problemsOf({})).toEqual(['give either databaseUrl or pool']);
      expect(problemsOf({ schema: 'events' })).toEqual(['give either databaseUrl or pool']);
    });

    test('rejects databaseUrl: null', () => {
      expect(() =>
        resolveOptions({ databaseUrl: null } as unknown as EventStreamModuleOptions),
      ).toThrow(EventStreamConfigError);
    });

    test('rejects something that is not a pg Pool as pool', () => {
      expect(problemsOf({ pool: { query: () => undefined } })).toEqual(['pool must be a pg Pool']);
    });

    test.each(['mysql://localhost/app', 'localhost:5432', '', 'POSTGRES://localhost/app', 42])(
      'rejects the databaseUrl %p',
      (databaseUrl) => {
        expect(problemsOf({ databaseUrl })).toEqual([
          'databaseUrl must be a postgres:// or postgresql:// URL',
        ]);
      },
    );

    test('keeps the replica URLs given', () => {
      const replicas = ['postgres://r1/app', 'postgresql://user:pw@r2:5433/app'];
      expect(resolveOptions({ databaseUrl: URL, replicas }).replicas).toEqual(replicas);
      expect(resolveOptions({ pool: new Pool(), replicas }).replicas).toEqual(replicas);
    });

    test('names the replica that is not a Postgres URL, without its text', () => {
      expect(
        problemsOf({
          databaseUrl: URL,
          replicas: ['postgres://r1/app', 'mysql://u:secret@r2/app'],
        }),
      ).toEqual(['replicas.1 must be a postgres:// or postgresql:// URL']);
      expect(problemsOf({ databaseUrl: URL, replicas: [{ url: 'postgres://r1/app' }] })).toEqual([
        'replicas.0 must be a postgres:// or postgresql:// URL',
      ]);
      for (const replicas of ['postgres://r1/app', null, { 0: 'postgres://r1/app' }]) {
        expect(problemsOf({ databaseUrl: URL, replicas })).toEqual([
          'replicas must be an array of postgres:// URLs',
        ]);
      }
    });

    test('rejects the public schema with the reason', () => {
      expect(problemsOf({ databaseUrl: URL, schema: 'public' })).toEqual([
        'schema cannot be "public": the library keeps its tables and migration history apart',
      ]);
    });

    test.each([
      ['upper-case letters', 'Events'],
      ['a leading digit', '1events'],
      ['a hyphen', 'event-stream'],
      ['a quote', 'a"b'],
      ['64 characters', `s${'a'.repeat(63)}`],
      ['nothing', ''],
    ])('rejects a schema with %s', (_, schema) => {
      expect(problemsOf({ databaseUrl: URL, schema })).toEqual([
        `schema must be a lower-case Postgres identifier (a-z, 0-9, _; not starting with pg_), got ${schema}`,
      ]);
    });

    test('rejects a schema that is not a string', () => {
      expect(problemsOf({ databaseUrl: URL, schema: 5 })).toContain('schema must be a string');
    });

    test.each(['true', 1])('rejects migrate: %p', (migrate) => {
      expect(problemsOf({ databaseUrl: URL, migrate })).toEqual(['migrate must be true or false']);
    });

    test('reports an unknown option such as a mis-cased databaseURL', () => {
      const problems = problemsOf({ databaseURL: URL });
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatch(/^databaseURL\b.*should not exist/);
      expect(problems[1]).toBe('give either databaseUrl or pool');
    });

    test('reports an unknown option even when it is given as undefined', () => {
      const problems = problemsOf({
        databaseUrl: URL,
        databaseURL: undefined,
        cors: { origin: undefined, origins: '*' },
      });
      expect(problems).toEqual([
        expect.stringMatching(/^databaseURL\b.*should not exist/),
        expect.stringMatching(/^cors\.origin\b.*should not exist/),
      ]);
    });

    test('reports an unknown option even when the rest is valid', () => {
      const problems = problemsOf({ databaseUrl: URL, retentionPolicy: false });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^retentionPolicy\b.*should not exist/);
    });

    test('reports unknown keys inside retention and limits with their path', () => {
      const problems = problemsOf({
        databaseUrl: URL,
        retention: { maxAge: 1000 },
        limits: { maxBytes: 10 },
      });
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatch(/^retention\.maxAge\b.*should not exist/);
      expect(problems[1]).toMatch(/^limits\.maxBytes\b.*should not exist/);
    });

    const numericOptions: Array<[string, (value: unknown) => object]> = [
      ['poolSize', (value) => ({ poolSize: value })],
      ['connectTimeoutMs', (value) => ({ connectTimeoutMs: value })],
      ['queryTimeoutMs', (value) => ({ queryTimeoutMs: value })],
      ['retention.maxEventsPerChannel', (value) => ({ retention: { maxEventsPerChannel: value } })],
      ['retention.maxAgeMs', (value) => ({ retention: { maxAgeMs: value } })],
      ['retention.intervalMs', (value) => ({ retention: { intervalMs: value } })],
      ['limits.maxChannelLength', (value) => ({ limits: { maxChannelLength: value } })],
      ['limits.maxEventTypeLength', (value) => ({ limits: { maxEventTypeLength: value } })],
      ['limits.maxDataBytes', (value) => ({ limits: { maxDataBytes: value } })],
      ['maxStreams', (value) => ({ maxStreams: value })],
      ['maxStreamsPerClient.max', (value) => ({ maxStreamsPerClient: { max: value } })],
    ];

    describe.each(numericOptions)('%s', (path, option) => {
      const problems = (value: unknown) => problemsOf({ databaseUrl: URL, ...option(value) });

      test('rejects zero', () => {
        expect(problems(0)).toEqual([`${path} must be at least 1, got 0`]);
      });

      test('rejects a negative number', () => {
        expect(problems(-5)).toEqual([`${path} must be at least 1, got -5`]);
      });

      test('rejects a fraction', () => {
        expect(problems(1.5)).toEqual([`${path} must be an integer, got 1.5`]);
      });

      test('rejects NaN and a numeric string', () => {
        expect(problems(NaN)).toContain(`${path} must be an integer, got NaN`);
        expect(problems('10')).toContain(`${path} must be an integer, got 10`);
      });
    });

    test.each([
      ['poolSize', { poolSize: 1001 }, 'poolSize must be at most 1000, got 1001'],
      [
        'retention.intervalMs',
        { retention: { intervalMs: DAY_MS + 1 } },
        `retention.intervalMs must be at most ${DAY_MS}, got ${DAY_MS + 1}`,
      ],
      [
        'limits.maxChannelLength',
        { limits: { maxChannelLength: 1025 } },
        'limits.maxChannelLength must be at most 1024, got 1025',
      ],
      [
        'limits.maxDataBytes',
        { limits: { maxDataBytes: 16 * 1024 * 1024 + 1 } },
        'limits.maxDataBytes must be at most 16777216, got 16777217',
      ],
    ])('rejects %s above its maximum', (_, option, problem) => {
      expect(problemsOf({ databaseUrl: URL, ...option })).toEqual([problem]);
    });

    test.each([
      ['a string', '24h'],
      ['true', true],
      ['null', null],
    ])('rejects retention given as %s', (_, retention) => {
      const problems = problemsOf({ databaseUrl: URL, retention });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^retention\b/);
    });

    test.each([
      ['a number', 5],
      ['null', null],
      ['true', true],
    ])('rejects maxStreamsPerClient given as %s', (_, maxStreamsPerClient) => {
      expect(problemsOf({ databaseUrl: URL, maxStreamsPerClient })).toEqual([
        'maxStreamsPerClient must be an object { max, key? }',
      ]);
    });

    test('rejects maxStreamsPerClient without max, with a key that is not a function, or an unknown key', () => {
      expect(problemsOf({ databaseUrl: URL, maxStreamsPerClient: {} })).toEqual([
        'maxStreamsPerClient.max must be an integer, got undefined',
      ]);
      expect(
        problemsOf({ databaseUrl: URL, maxStreamsPerClient: { max: 2, key: 'x-forwarded-for' } }),
      ).toEqual(['maxStreamsPerClient.key must be a function of the request returning a string']);
      const unknown = problemsOf({ databaseUrl: URL, maxStreamsPerClient: { max: 2, per: 'ip' } });
      expect(unknown).toEqual([
        expect.stringMatching(/^maxStreamsPerClient\.per\b.*should not exist/),
      ]);
    });

    test('rejects a limit given as null', () => {
      expect(problemsOf({ databaseUrl: URL, limits: { maxChannelLength: null } })).toEqual([
        expect.stringMatching(/^limits\.maxChannelLength\b/),
      ]);
    });

    test('reports all the mistakes at once, each with its option path', () => {
      const problems = problemsOf({
        databaseUrl: 'mysql://localhost/app',
        schema: 'Events',
        poolSize: 0,
        migrate: 'yes',
        retention: { maxAgeMs: -1, keepFor: 10 },
        limits: { maxDataBytes: 2.5 },
      });
      expect(problems.length).toBeGreaterThanOrEqual(3);
      for (const path of [
        'databaseUrl',
        'schema',
        'poolSize',
        'migrate',
        'retention.maxAgeMs',
        'retention.keepFor',
        'limits.maxDataBytes',
      ]) {
        expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${path}\\b`)));
      }
    });
  });

  describe('grip', () => {
    const PUSHPIN = `http://127.0.0.1:5561/?iss=pushpin&key=${STRONG}`;
    const withGrip = (grip: object, rest: object = {}) =>
      ({ databaseUrl: URL, grip, ...rest }) as EventStreamModuleOptions;

    test('refuses every option of the wrong type, range or value, naming it', () => {
      expect(
        problemsOf(
          withGrip({
            url: PUSHPIN,
            unsignedRequests: 'refuze',
            publishTimeoutMs: -1,
            linkSecret: 12345,
            publicPath: 42,
            connectionSubscriptionMax: 2,
            typo: 1,
          }),
        ),
      ).toEqual(
        expect.arrayContaining([
          "grip.unsignedRequests must be 'direct' or 'refuse', got refuze",
          'grip.publishTimeoutMs must be at least 1, got -1',
          'grip.linkSecret must be a string',
          'grip.publicPath must be a string',
          'grip.connectionSubscriptionMax must be at least 3, got 2',
          'grip.typo: property typo should not exist',
        ]),
      );
    });

    test.each([
      [{ unsignedRequests: 'REFUSE' }, /grip.unsignedRequests must be 'direct' or 'refuse'/],
      [{ unsignedRequests: true }, /grip.unsignedRequests must be 'direct' or 'refuse'/],
      [{ publishTimeoutMs: Number.NaN }, /grip.publishTimeoutMs must be an integer/],
      [{ publishTimeoutMs: 1e12 }, /grip.publishTimeoutMs must be at most 600000/],
      [{ publicPath: 'events' }, /grip.publicPath must be a path starting with \//],
      [{ url: [] }, /grip.url must be a GRIP URL string or a non-empty array/],
      [{ url: 42 }, /grip.url must be a GRIP URL string or a non-empty array/],
      [{ url: 'pushpin:5561' }, /grip.url: must be an http:\/\/ or https:\/\/ URL/],
      [{ stats: 'pushpin:5564' }, /grip.stats must be a ZeroMQ address .*, got "pushpin:5564"/],
      [{ stats: 'tcp://*:5564' }, /grip.stats must be a ZeroMQ address .*, got "tcp:\/\/\*:5564"/],
      [{ stats: 'tcp://pushpin:70000' }, /grip.stats must be a ZeroMQ address/],
      [{ stats: 'ipc://' }, /grip.stats must be a ZeroMQ address/],
      [{ stats: [] }, /grip.stats must be .* non-empty array of them, got an empty array/],
      [{ stats: ['tcp://a:1', 42] }, /grip.stats must be a ZeroMQ address .*; item 1 is 42/],
    ])('refuses %j', (given, message) => {
      expect(problemsOf(withGrip({ url: PUSHPIN, ...given })).join('\n')).toMatch(message);
    });

    test('refuses weak keys and secrets, naming where they are', () => {
      expect(problemsOf(withGrip({ url: 'http://127.0.0.1:5561/?key=a' }))).toEqual([
        expect.stringMatching(/^grip.url: its key is 1 bytes long; use at least 32/),
      ]);
      expect(
        problemsOf(withGrip({ url: [PUSHPIN, 'http://127.0.0.1:5562/?key=changeme'] })),
      ).toEqual([expect.stringMatching(/^grip.url.1: its key is 8 bytes long/)]);
      expect(problemsOf(withGrip({ url: PUSHPIN, linkSecret: 'a' }))).toEqual([
        expect.stringMatching(/^grip.linkSecret is 1 bytes long/),
      ]);
      expect(problemsOf(withGrip({ url: PUSHPIN, linkSecret: 'ab'.repeat(20) }))).toEqual([
        expect.stringMatching(/^grip.linkSecret repeats too few characters/),
      ]);
      expect(problemsOf(withGrip({ url: 'http://127.0.0.1:5561/' }))).toEqual([
        expect.stringMatching(/^grip.url: give the key that verifies the proxy's Grip-Sig/),
      ]);
    });

    test('never signs next links with a verify key: a public one needs a linkSecret', () => {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = JSON.stringify(publicKey.export({ format: 'jwk' }));
      const fanout = `https://api.fastly.com/service/s1?key=api-token&verify-iss=fastly:s1&verify-key=${encodeURIComponent(jwk)}`;
      expect(problemsOf(withGrip({ url: fanout }))).toEqual([
        expect.stringMatching(
          /^grip.linkSecret is required when the first grip.url has a verify-key/,
        ),
      ]);
      const config = resolveOptions(withGrip({ url: fanout, linkSecret: STRONG }));
      expect(Buffer.from(config.grip?.linkSecret ?? []).toString()).toBe(STRONG);
      expect(config.grip?.verifiers).toEqual([
        expect.objectContaining({ algorithms: ['ES256'], issuer: 'fastly:s1' }),
      ]);
    });

    test('reads the stats sockets as a list, none when not given', () => {
      expect(resolveOptions(withGrip({ url: PUSHPIN })).grip?.stats).toEqual([]);
      expect(
        resolveOptions(withGrip({ url: PUSHPIN, stats: 'tcp://pushpin:5564' })).grip?.stats,
      ).toEqual(['tcp://pushpin:5564']);
      const both = ['tcp://[::1]:5564', 'ipc:///run/pushpin/pushpin-stats'];
      expect(resolveOptions(withGrip({ url: PUSHPIN, stats: both })).grip?.stats).toEqual(both);
    });

    test("derives the link secret from Pushpin's key, never equal to it", () => {
      const secret = resolveOptions(withGrip({ url: PUSHPIN })).grip?.linkSecret;
      expect(secret).toHaveLength(32);
      expect(Buffer.from(secret ?? []).toString()).not.toContain(STRONG);
    });

    test("keeps maxChannelsPerStream within Pushpin's subscriptions per connection", () => {
      expect(problemsOf(withGrip({ url: PUSHPIN }, { maxChannelsPerStream: 19 }))).toEqual([
        expect.stringMatching(
          /^maxChannelsPerStream: at most 18 with grip, .*connection_subscription_max is 20.*grip.connectionSubscriptionMax/,
        ),
      ]);
      expect(
        resolveOptions(withGrip({ url: PUSHPIN }, { maxChannelsPerStream: 18 }))
          .maxChannelsPerStream,
      ).toBe(18);
      // Its default too: 10 channels do not fit in 5 subscriptions.
      expect(problemsOf(withGrip({ url: PUSHPIN, connectionSubscriptionMax: 5 }))).toEqual([
        expect.stringMatching(/^maxChannelsPerStream: at most 3 with grip/),
      ]);
      const raised = withGrip({ url: PUSHPIN, connectionSubscriptionMax: 40 });
      expect(resolveOptions({ ...raised, maxChannelsPerStream: 30 }).maxChannelsPerStream).toBe(30);
      // Direct mode holds streams itself: the proxy's limit does not apply.
      expect(
        resolveOptions({ databaseUrl: URL, maxChannelsPerStream: 100 }).maxChannelsPerStream,
      ).toBe(100);
    });
  });
});
