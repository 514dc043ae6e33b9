/** An event as stored, ready to deliver. */
export interface CommittedEvent {
  readonly channel: string;
  readonly seq: number;
  readonly type: string;
  /** The JSON text of its data. */
  readonly json: string;
}

/** What a send reports about its append: where its events landed, or that it failed. */
export interface AppendTicket {
  committed(events: readonly CommittedEvent[]): void;
  failed(): void;
}
