import type { PerChannel } from 'nestjs-eventstream';

/** A message as rooms' streams carry it. */
export interface MessageEvent {
  readonly id: number;
  readonly room: string;
  readonly author: string;
  readonly text: string;
  readonly createdAt: string;
}

/** Which events each kind of channel carries: the compiler checks every send. */
export type ChatEvents = PerChannel<{
  [room: `room-${string}`]: {
    message: MessageEvent;
    joined: { user: string };
    left: { user: string };
  };
  [user: `user-${string}`]: {
    notice: { text: string; room: string };
  };
}>;
