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
 * One stream for the room and the user's own channel. Its position is kept
 * per user, so a reload resumes where the page was instead of replaying.
 */
function openStream(user, withRoom) {
  stream?.close();
  const channels = withRoom
    ? [`room-${ROOM}`, `user-${user}`]
    : [`user-${user}`];
  const key = `chat-position:${user}:${channels.join(',')}`;
  $('#messages').replaceChildren();
  $('#notices').replaceChildren();
  stream = createEventStream('/events', {
    channels,
    // Without a kept position, from the start of what the server keeps
    // (`channel:0`): the room's history comes in the stream itself.
    lastEventId:
      sessionStorage.getItem(key) ?? channels.map((c) => `${c}:0`).join(','),
    onStateChange: (state) => ($('#state').textContent = `(${state})`),
    onError: (error) => {
      // Terminal: left the room (forbidden) or the session ended (unauthorized).
      if (error.terminal)
        addLine($('#notices'), `Stream ended: ${error.condition}`);
    },
  });
  const keep = (event) => event.id && sessionStorage.setItem(key, event.id);
  stream.on('message', (m, event) => {
    addLine($('#messages'), `${m.author}: ${m.text}`);
    keep(event);
  });
  stream.on('joined', (data, event) => {
    addLine($('#messages'), `— ${data.user} joined`);
    keep(event);
  });
  stream.on('left', (data, event) => {
    addLine($('#messages'), `— ${data.user} left`);
    keep(event);
  });
  stream.on('notice', (data, event) => {
    addLine($('#notices'), data.text);
    keep(event);
  });
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
  // The server revokes the room for this user's open streams: the stream
  // ends with `forbidden`; the user channel is read on without the room.
  await api(`/rooms/${ROOM}/leave`, {});
  $('#leave').hidden = true;
  $('#join').hidden = false;
  setTimeout(() => openStream($('#me').textContent, false), 200);
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
