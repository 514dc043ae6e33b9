import { NO_ANNOUNCING_CHANNELS, announcingChannels } from './announcing-channels';

describe('announcingChannels', () => {
  it('announces on the channels named and on those a pattern matches, and no others', () => {
    const announces = announcingChannels(['lobby', /^room-/]);
    expect(['lobby', 'room-1', 'room-'].map(announces)).toEqual([true, true, true]);
    expect(['lobby2', 'a-room-1', 'Lobby', ''].map(announces)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('gives the same answer every time for a global pattern', () => {
    const announces = announcingChannels([/^room-/g]);
    expect([1, 2, 3].map(() => announces('room-1'))).toEqual([true, true, true]);
  });

  it('is the shared "none" for an empty list', () => {
    expect(announcingChannels([])).toBe(NO_ANNOUNCING_CHANNELS);
    expect(NO_ANNOUNCING_CHANNELS('lobby')).toBe(false);
  });
});
