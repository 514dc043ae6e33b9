import {
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { ChatConfig } from '../chat.config.js';
import { type Prisma, PrismaClient } from '../generated/prisma/client.js';
import { applyMigrations } from './migrate.js';

/**
 * The app's Prisma client, through the `pg` driver adapter: the library takes
 * this client's interactive transactions (`{ transaction: tx }`) to write
 * events in them.
 */
@Injectable()
export class PrismaService
  extends PrismaClient
  implements OnModuleInit, OnModuleDestroy
{
  private readonly logger = new Logger(PrismaService.name);

  constructor(private readonly config: ChatConfig) {
    super({ adapter: new PrismaPg({ connectionString: config.databaseUrl }) });
  }

  async onModuleInit(): Promise<void> {
    const applied = await applyMigrations(this.config.databaseUrl);
    if (applied.length > 0)
      this.logger.log(`Applied migrations: ${applied.join(', ')}`);
    await this.$connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}

/** The client a `prisma.$transaction(async (tx) => …)` callback gets. */
export type PrismaTx = Prisma.TransactionClient;
