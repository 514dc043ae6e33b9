// The page's whole client: plain ES module, no bundler. The stream client is
// the library's own, served by its module next to the /events route.
import { createEventStream } from '/events/client/index.js';

const ROOM = 'lobby';
const $ = (selector) => document.querySelector(selector);
let stream;

async function api(path, body) {
  // The session cookie goes along by itself (same origin); no token in JS.
  const response = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.status === 204 ? undefined : response.json();
}

function addLine(list, text) {
  const item = document.createElement('li');
  item.textContent = text; // never innerHTML: messages are other users' text
  list.append(item);
  item.scrollIntoView({ block: 'nearest' });
}

/**
 * One stream for the room and the user's own channel, from the start of what
 * the server keeps (`channel:0`): the history comes in the stream itself.
 * Reconnects resume by themselves from the last id received.
 */
function openStream(user, withRoom) {
  stream?.close();
  const channels = withRoom
    ? [`room-${ROOM}`, `user-${user}`]
    : [`user-${user}`];
  $('#messages').replaceChildren();
  $('#notices').replaceChildren();
  stream = createEventStream('/events', {
    channels,
    lastEventId: channels.map((channel) => `${channel}:0`).join(','),
    onStateChange: (state) => ($('#state').textContent = `(${state})`),
    onError: (error) => {
      // Terminal: access revoked (forbidden) or the session ended (unauthorized).
      if (error.terminal)
        $('#state').textContent = `(ended: ${error.condition})`;
    },
  });
  stream.on('message', (m) =>
    addLine($('#messages'), `${m.author}: ${m.text}`),
  );
  stream.on('joined', ({ user }) =>
    addLine($('#messages'), `— ${user} joined`),
  );
  stream.on('left', ({ user }) => addLine($('#messages'), `— ${user} left`));
  stream.on('notice', ({ text }) => addLine($('#notices'), text));
}

async function enter(user) {
  $('#login').hidden = true;
  $('#chat').hidden = false;
  $('#me').textContent = user;
  await api(`/rooms/${ROOM}/join`, {});
  openStream(user, true);
}

$('#login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const { user } = await api('/login', {
    name: new FormData(event.target).get('name'),
  });
  await enter(user.id);
});

$('#post').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = event.target.elements.text;
  await api(`/rooms/${ROOM}/messages`, { text: input.value });
  input.value = ''; // the message shows up when its event arrives
});

$('#leave').addEventListener('click', async () => {
  // The server revokes the room for this user's open streams before it
  // answers: this stream ends with `forbidden`. Read the user channel alone.
  await api(`/rooms/${ROOM}/leave`, {});
  $('#leave').hidden = true;
  $('#join').hidden = false;
  openStream($('#me').textContent, false);
});

$('#join').addEventListener('click', async () => {
  $('#leave').hidden = false;
  $('#join').hidden = true;
  await enter($('#me').textContent);
});

$('#logout').addEventListener('click', async () => {
  stream?.close();
  await api('/logout', {});
  location.reload();
});

// Already signed in (the httpOnly cookie is there): go straight in.
api('/me').then(
  ({ id }) => enter(id),
  () => undefined,
);
