import { IsString, Length, Matches } from 'class-validator';

/** The demo writes only to its own channels: `demo`, or `demo-<room>`. */
export const DEMO_CHANNEL = /^demo(-[a-z0-9-]{1,32})?$/;
const DEMO_CHANNEL_MESSAGE = 'channel must be "demo" or "demo-<room>" (a-z, 0-9, -; at most 32)';

export const MAX_USER_LENGTH = 40;
export const MAX_TEXT_LENGTH = 500;
/**
 * The largest body the demo reads: its longest valid message, every
 * character escaped (`\uXXXX`, 6 bytes), is under 4 KiB; anything far past
 * that is refused (413) before it is read, where `POST /publish` takes 1 MiB.
 */
export const MAX_DEMO_BODY_BYTES = 16 * 1024;

/** `POST /demo/messages`. */
export class DemoMessageDto {
  @IsString()
  @Matches(DEMO_CHANNEL, { message: DEMO_CHANNEL_MESSAGE })
  channel!: string;

  @IsString()
  @Length(1, MAX_USER_LENGTH)
  user!: string;

  @IsString()
  @Length(1, MAX_TEXT_LENGTH)
  text!: string;
}

/** The data of a demo `message` event. */
export interface DemoMessage {
  /** The id of its row in the demo's own table. */
  readonly messageId: number;
  readonly user: string;
  readonly text: string;
  /** When the server stored it, ISO 8601. */
  readonly sentAt: string;
}
