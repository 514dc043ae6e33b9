import { AppendStatement } from './append-statement';

const events = [
  { channel: 'a', type: 't', json: '1' },
  { channel: 'b', type: 't', json: '2' },
];

describe('AppendStatement parameters', () => {
  const statement = new AppendStatement('eventstream');
  const marker = (values: unknown[]) => values[4];
  const notifies = (values: unknown[]) => values[5];

  it('NOTIFYs nothing, not even a marker, for an append of its own', () => {
    // A marker of `false` would be sent as the text 'false' and NOTIFYed.
    expect(marker(statement.values(events, false))).toBeNull();
    expect(notifies(statement.values(events, false))).toBe(false);
  });

  it('NOTIFYs the heads, and the marker when there is one, in an app’s transaction', () => {
    expect(marker(statement.values(events, {}))).toBeNull();
    expect(notifies(statement.values(events, {}))).toBe(true);
    expect(marker(statement.values(events, { commitMarker: 'm1' }))).toBe('m1');
    expect(notifies(statement.values(events, { commitMarker: 'm1' }))).toBe(true);
  });
});
