import { ExpressAdapter } from '@nestjs/platform-express';

/** The app's HTTP platform, in one place for main.ts and the e2e test. */
export const createHttpAdapter = () => new ExpressAdapter();
