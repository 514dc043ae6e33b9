/** An event as stored, ready to publish to the proxies. */
export interface CommittedEvent {
  readonly channel: string;
  readonly seq: number;
  readonly type: string;
  /** The JSON text of its data. */
  readonly json: string;
}
