import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Pool } from 'pg';
import {
  EventStreamConfigError,
  EventStreamModule,
  EventStreamService,
  type EventStreamModuleOptions,
} from '../../src/eventstream';
import { createTestDatabase, type TestDatabase } from '../harness/postgres';

@Injectable()
class DatabaseSettings {
  url = '';
}

@Module({ providers: [DatabaseSettings], exports: [DatabaseSettings] })
class SettingsModule {}

@Injectable()
class OptionsFactory {
  constructor(private readonly settings: DatabaseSettings) {}
  createEventStreamOptions(): EventStreamModuleOptions {
    return { databaseUrl: this.settings.url, migrate: true, retention: false };
  }
}

@Injectable()
class Publisher {
  constructor(readonly events: EventStreamService) {}
}

describe('EventStreamModule options', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  const sendThrough = async (imports: NonNullable<Parameters<typeof Module>[0]>['imports']) => {
    const app = await Test.createTestingModule({ imports, providers: [Publisher] })
      .overrideProvider(DatabaseSettings)
      .useValue({ url: db.url })
      .compile();
    await app.init();
    try {
      return (await app.get(Publisher).events.sendEvent('opts', 't', 1)).seq;
    } finally {
      await app.close();
    }
  };

  it('accepts forRootAsync with useFactory, inject and imports', async () => {
    const seq = await sendThrough([
      EventStreamModule.forRootAsync({
        imports: [SettingsModule],
        inject: [DatabaseSettings],
        useFactory: (settings: DatabaseSettings) => ({
          databaseUrl: settings.url,
          migrate: true,
          retention: false,
        }),
      }),
    ]);
    expect(seq).toBeGreaterThan(0);
  });

  it('accepts forRootAsync with useClass', async () => {
    const seq = await sendThrough([
      EventStreamModule.forRootAsync({ imports: [SettingsModule], useClass: OptionsFactory }),
    ]);
    expect(seq).toBeGreaterThan(0);
  });

  it('accepts forRootAsync with useExisting', async () => {
    @Module({
      imports: [SettingsModule],
      providers: [OptionsFactory],
      exports: [OptionsFactory],
    })
    class FactoryModule {}
    const seq = await sendThrough([
      EventStreamModule.forRootAsync({ imports: [FactoryModule], useExisting: OptionsFactory }),
    ]);
    expect(seq).toBeGreaterThan(0);
  });

  it('makes the service injectable everywhere with isGlobal', async () => {
    @Module({ providers: [Publisher], exports: [Publisher] })
    class FeatureModule {}
    const app = await Test.createTestingModule({
      imports: [
        EventStreamModule.forRoot({ databaseUrl: db.url, migrate: true, isGlobal: true }),
        FeatureModule,
      ],
    }).compile();
    await app.init();
    try {
      expect(app.get(Publisher).events).toBeInstanceOf(EventStreamService);
    } finally {
      await app.close();
    }
  });

  it('uses a pool the application gives, and leaves it open', async () => {
    const pool = new Pool({ connectionString: db.url, max: 2 });
    const app = await Test.createTestingModule({
      imports: [EventStreamModule.forRoot({ pool, migrate: true })],
    }).compile();
    await app.init();
    await app.get(EventStreamService).sendEvent('pooled', 't', 1);
    await app.close();
    expect(pool.ended).toBe(false);
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM eventstream.events WHERE channel = 'pooled'`,
    );
    expect(rows).toEqual([{ n: 1 }]);
    await pool.end();
  });

  it('fails at start-up with every mistake in the options listed', async () => {
    const compiling = Test.createTestingModule({
      imports: [
        EventStreamModule.forRoot({
          databaseUrl: 'mysql://nope',
          schema: 'public',
          retention: { maxAgeMs: -5 },
          databaseURL: 'typo',
        } as EventStreamModuleOptions),
      ],
    }).compile();
    await expect(compiling).rejects.toThrow(EventStreamConfigError);
    const error = (await compiling.catch((e: unknown) => e)) as EventStreamConfigError;
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('databaseUrl must be a postgres://'),
        expect.stringContaining('schema cannot be "public"'),
        expect.stringContaining('retention.maxAgeMs must be at least 1'),
        expect.stringContaining('databaseURL should not exist'),
      ]),
    );
  });
});
