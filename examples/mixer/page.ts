// The mixer's web page: a volume slider and the program list, kept live by Server-Sent Events
// from /events; moving the slider POSTs /volume. No framework; program names are put in the page
// with textContent, so a name is shown as text and never read as HTML. Imports nothing.

/** The whole page, served as it is by web.ts. */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mixer</title>
<style>
  body { font: 16px system-ui, sans-serif; margin: 2rem; max-width: 30rem; }
  input[type=range] { width: 100%; }
  #volume-text { font-variant-numeric: tabular-nums; }
  #status { color: #777; font-size: 0.9em; }
  li { font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<h1>mixer</h1>
<label for="volume">volume <output id="volume-text">–</output></label>
<input id="volume" type="range" min="0" max="1" step="0.01" value="0" disabled>
<h2>programs</h2>
<ul id="programs"></ul>
<p id="status">connecting…</p>
<script>
'use strict';
const slider = document.getElementById('volume');
const text = document.getElementById('volume-text');
const list = document.getElementById('programs');
const status = document.getElementById('status');
let latest = null; // the last state the server sent
let dragging = false; // a pointer holds the slider: do not move it under the user
let sending = false;
let pending = null; // the newest value not yet sent

const percent = (v) => Math.round(Number(v) * 100) + '%';

function render() {
  if (latest === null) return;
  if (!dragging && !sending) {
    slider.value = String(latest.volume);
    text.textContent = percent(latest.volume);
  }
  list.replaceChildren(...latest.programs.map((name) => {
    const li = document.createElement('li');
    li.textContent = name;
    return li;
  }));
  document.body.dataset.revision = String(latest.revision);
}

// One POST at a time; while one is out, only the newest value waits.
async function send(value) {
  pending = value;
  if (sending) return;
  sending = true;
  while (pending !== null) {
    const body = pending;
    pending = null;
    try {
      const r = await fetch('/volume', { method: 'POST', body });
      if (!r.ok) status.textContent = 'not saved: ' + (await r.text());
    } catch (err) {
      status.textContent = 'not saved: ' + err.message;
    }
  }
  sending = false;
  render();
}

slider.addEventListener('input', () => {
  text.textContent = percent(slider.value);
  send(slider.value);
});
slider.addEventListener('pointerdown', () => { dragging = true; });
window.addEventListener('pointerup', () => { dragging = false; render(); });

const events = new EventSource('/events');
events.addEventListener('state', (e) => {
  latest = JSON.parse(e.data);
  slider.disabled = false;
  status.textContent = 'live';
  render();
});
events.addEventListener('error', () => { status.textContent = 'reconnecting…'; });
</script>
</body>
</html>
`;
