import { parseChannel, roomChannel, userChannel } from './chat-user.js';

describe('parseChannel', () => {
  it('reads the channels the app makes', () => {
    expect(parseChannel(userChannel('alice'))).toEqual({
      kind: 'user',
      userId: 'alice',
    });
    expect(parseChannel(roomChannel('lobby'))).toEqual({
      kind: 'room',
      room: 'lobby',
    });
  });

  it('refuses any other channel, so the authorizer refuses it too', () => {
    for (const channel of [
      'news',
      'user-',
      'room-',
      'user-Alice',
      'room-a/b',
      'users-alice',
    ]) {
      expect(parseChannel(channel)).toBeUndefined();
    }
  });
});
