/**
 * The demo page: plain HTML, CSS and a module script that imports the client
 * the module serves at /events/client/index.js. Everything a user types is
 * shown with textContent, never as HTML.
 */
export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nestjs-eventstream live demo</title>
<style>
  :root { --ink: #1d2733; --muted: #5b6b7c; --line: #d8dee6; --accent: #2563eb; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--ink); background: #f4f6f9; }
  header { background: #16202c; color: #fff; padding: 14px 20px; }
  header h1 { margin: 0; font-size: 18px; }
  header p { margin: 4px 0 0; color: #b8c4d2; font-size: 13px; }
  main { max-width: 760px; margin: 0 auto; padding: 16px 20px; }
  .status { display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: center; padding: 10px 14px;
    background: #fff; border: 1px solid var(--line); border-radius: 8px; }
  .status b { font-weight: 600; }
  code { font: 13px ui-monospace, monospace; background: #eef2f7; padding: 1px 5px; border-radius: 4px; }
  #state { padding: 2px 10px; border-radius: 999px; color: #fff; background: #8a96a3; font-weight: 600; }
  #state[data-state="open"] { background: #15803d; }
  #state[data-state="connecting"], #state[data-state="reconnecting"] { background: #b45309; }
  #state[data-state="closed"], #state[data-state="disconnected"] { background: #b91c1c; }
  form { display: flex; gap: 8px; margin: 14px 0; }
  input { padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
  #user { width: 140px; }
  #text { flex: 1; }
  button { padding: 8px 14px; border: 0; border-radius: 6px; background: var(--accent); color: #fff;
    font: inherit; cursor: pointer; }
  button:disabled { opacity: .55; cursor: default; }
  #disconnect { background: #475569; }
  #presence { color: var(--muted); }
  #notice { min-height: 22px; color: var(--muted); margin: 6px 0; }
  #notice.error { color: #b91c1c; }
  #feed { list-style: none; margin: 0; padding: 0; background: #fff; border: 1px solid var(--line);
    border-radius: 8px; min-height: 120px; }
  #feed li { display: grid; grid-template-columns: 110px 1fr auto; gap: 10px; padding: 8px 14px;
    border-bottom: 1px solid var(--line); }
  #feed li:last-child { border-bottom: 0; }
  #feed li.replayed { background: #fff7e6; }
  #feed .user { font-weight: 600; overflow: hidden; text-overflow: ellipsis; }
  #feed .text { overflow-wrap: anywhere; }
  #feed .id { color: var(--muted); font: 12px ui-monospace, monospace; }
  #feed .empty { display: block; color: var(--muted); }
  .legend { color: var(--muted); font-size: 13px; }
</style>
</head>
<body>
<header>
  <h1>nestjs-eventstream live demo</h1>
  <p>Open this page in several tabs: a message sent in one appears in all of them. Each is an
  event stored in Postgres and streamed as SSE; the tabs of a browser share one stream.
  Disconnect a tab to see it catch up.</p>
</header>
<main>
  <div class="status">
    <span>Channel <code id="channel"></code></span>
    <span id="state" data-state="connecting">connecting</span>
    <span>Last event id <code id="position">none</code></span>
    <span id="presence" hidden></span>
    <button id="disconnect" type="button">Disconnect for 5 s</button>
  </div>
  <form id="send-form" autocomplete="off">
    <input id="user" maxlength="40" required aria-label="Your name">
    <input id="text" maxlength="500" required placeholder="Say something" aria-label="Message">
    <button id="send" type="submit">Send</button>
  </form>
  <div id="notice" role="status"></div>
  <ul id="feed"><li class="empty">No messages yet.</li></ul>
  <p class="legend">Newest first. Highlighted: replayed from the database after a disconnect.
  Add <code>?room=NAME</code> to the address for a room of your own.</p>
</main>
<script type="module">
  import { createEventStream } from '/events/client/index.js';

  const PAUSE_SECONDS = 5;
  const PRESENCE_SECONDS = 15;
  // Any text becomes a valid room name (the server accepts a-z, 0-9 and -).
  const room = (new URLSearchParams(location.search).get('room') || '')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 32);
  const channel = room ? 'demo-' + room : 'demo';
  const $ = (id) => document.getElementById(id);
  const feed = $('feed');
  let stream;
  let catchingUp = null;

  $('channel').textContent = channel;
  $('user').value = localStorage.getItem('demo-user') || 'guest-' + Math.floor(Math.random() * 9000 + 1000);

  function notice(text, isError = false) {
    $('notice').textContent = text;
    $('notice').className = isError ? 'error' : '';
  }

  function showState(state) {
    $('state').textContent = state;
    $('state').dataset.state = state;
  }

  function show(message, id, replayed) {
    feed.querySelector('.empty')?.remove();
    const item = document.createElement('li');
    item.className = replayed ? 'message replayed' : 'message';
    item.dataset.id = id;
    for (const [name, value] of [['user', message.user], ['text', message.text], ['id', id]]) {
      const cell = document.createElement('span');
      cell.className = name;
      cell.textContent = value;
      item.append(cell);
    }
    item.title = 'sent ' + new Date(message.sentAt).toLocaleTimeString();
    feed.prepend(item);
  }

  // "N here": the streams open on the channel (one per browser, since tabs
  // share one). A server without presence answers 404: the line stays hidden.
  let presenceTimer;
  async function showPresence() {
    try {
      const response = await fetch('/events/presence?channel=' + encodeURIComponent(channel));
      if (response.status === 404) clearInterval(presenceTimer);
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const { streams } = await response.json();
      $('presence').textContent = streams + ' here';
      $('presence').hidden = false;
    } catch {
      $('presence').hidden = true;
    }
  }
  presenceTimer = setInterval(showPresence, PRESENCE_SECONDS * 1000);

  function connect(lastEventId) {
    stream = createEventStream('/events', {
      channels: [channel],
      lastEventId,
      onStateChange: (state) => {
        showState(state);
        if (state === 'reconnecting') notice('Connection lost: reconnecting, missing nothing…');
        if (state === 'open') {
          notice(catchingUp ? 'Reconnected from ' + (stream.lastEventId || 'now') + '.' : '');
          void showPresence();
        }
      },
      onReset: () => notice('Some messages were too old to replay (stream-reset).'),
      onError: (error) => {
        if (error.terminal) notice('Stopped: ' + error.message, true);
      },
    });
    stream.on('message', (message, event) => {
      $('position').textContent = event.id;
      // Sent while this tab was away: it arrives now, replayed from the database.
      const replayed = catchingUp !== null && Date.parse(message.sentAt) < catchingUp.since;
      if (replayed) {
        catchingUp.count++;
        notice('Caught up ' + catchingUp.count + ' message(s) sent while disconnected.');
      }
      show(message, event.id, replayed);
    });
    // Joins and leaves, where the server announces them on this channel.
    stream.on('presence', () => void showPresence());
  }

  $('disconnect').addEventListener('click', () => {
    const position = stream.lastEventId;
    stream.close();
    showState('disconnected');
    $('disconnect').disabled = true;
    let left = PAUSE_SECONDS;
    const tick = () => {
      if (left === 0) {
        clearInterval(timer);
        $('disconnect').textContent = 'Disconnect for 5 s';
        $('disconnect').disabled = false;
        catchingUp = { since: Date.now(), count: 0 };
        notice('Reconnecting from ' + (position || 'now') + '…');
        connect(position);
        return;
      }
      $('disconnect').textContent = 'Back in ' + left + ' s';
      notice('Disconnected. Send messages from another tab: they will be replayed.');
      left--;
    };
    const timer = setInterval(tick, 1000);
    tick();
  });

  $('send-form').addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const user = $('user').value.trim();
    const text = $('text').value.trim();
    if (!user || !text) return;
    localStorage.setItem('demo-user', user);
    $('send').disabled = true;
    try {
      const response = await fetch('/demo/messages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel, user, text }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error([].concat(body.message).join('; '));
      $('text').value = '';
    } catch (error) {
      notice('Not sent: ' + error.message, true);
    } finally {
      $('send').disabled = false;
      $('text').focus();
    }
  });

  // The last messages first, then the stream from where they end: nothing
  // sent in between is missed, and nothing shows twice.
  const history = await fetch('/events/history?limit=20&channel=' + encodeURIComponent(channel));
  let start;
  if (history.ok) {
    const page = await history.json();
    for (const event of page.events) show(event.data, event.id, false);
    if (page.events.length > 0) $('position').textContent = page.lastEventId;
    start = page.lastEventId;
  }
  connect(start);
</script>
</body>
</html>
`;
