// kafidx browser client. Plain JavaScript, no dependencies. Every value from an event is put
// on the page with textContent, never as HTML: an event named <img onerror=…> is just text.
'use strict';

const MAX_ROWS = 500;
const CHART_SECONDS = 300;
const $ = (id) => document.getElementById(id);

const state = {
  socket: undefined,
  retryMs: 500,
  paused: false,
  received: 0,
  shown: 0,
  skipped: 0,
  sampled: 0,
  filter: { types: [], text: '', country: '', device: '' },
  // Events per second per event type, for the chart: second -> Map(type -> count).
  perSecond: new Map(),
  selected: undefined,
};

function setConnection(kind, text) {
  const el = $('connection');
  el.dataset.state = kind;
  el.textContent = text;
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}/ws`);
  state.socket = socket;
  setConnection('connecting', 'connecting…');
  socket.addEventListener('open', () => {
    state.retryMs = 500;
    setConnection('open', 'live');
    send({ t: 'filter', filter: state.filter });
    if (state.paused) send({ t: 'pause' });
  });
  socket.addEventListener('message', (e) => onMessage(JSON.parse(e.data)));
  socket.addEventListener('close', (e) => {
    if (e.code === 1008 || e.code === 4401) {
      location.href = '/login';
      return;
    }
    setConnection('closed', `disconnected; retrying in ${Math.round(state.retryMs / 1000)} s`);
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 15000);
  });
}

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
}

function onMessage(m) {
  switch (m.t) {
    case 'hello':
      $('topic').textContent = `topic ${m.topic} · at most ${m.maxEventsPerSecond} events/s per browser`;
      break;
    case 'events':
      state.skipped = m.skipped;
      state.sampled = m.sampled;
      for (const event of m.events) addEvent(event, m.replay);
      break;
    case 'status':
      state.skipped = m.skipped;
      state.sampled = m.sampled;
      break;
    case 'replay-start':
      notice(`replaying the last ${m.minutes} min…`);
      break;
    case 'replay-done':
      notice(`replay done: ${m.count} events`);
      break;
    case 'error':
      notice(m.detail);
      break;
    default:
      break;
  }
  renderCounters();
}

function notice(text) {
  $('notice').textContent = text;
}

function addEvent(event, replay) {
  state.received += 1;
  const second = Math.floor(Date.now() / 1000);
  const bucket = state.perSecond.get(second) ?? new Map();
  const type = event.type ?? '(undecodable)';
  bucket.set(type, (bucket.get(type) ?? 0) + 1);
  state.perSecond.set(second, bucket);

  const row = document.createElement('tr');
  if (replay) row.className = 'replay';
  if (event.error) row.className = 'broken';
  const meta = event.meta ?? {};
  const cells = event.error
    ? [time(event.kafkaTs), '(undecodable)', '', '', '', event.error]
    : [
        time(meta.ts),
        event.type,
        [meta.country, meta.city].filter(Boolean).join(' / '),
        meta.type,
        [meta.browser, meta.os].filter(Boolean).join(' / '),
        (event.params ?? []).map(([k, v]) => `${k}=${v}`).join(' '),
      ];
  for (const value of cells) {
    const td = document.createElement('td');
    td.textContent = value ?? '';
    row.appendChild(td);
  }
  row.addEventListener('click', () => showDetail(event, row));
  const body = $('events').tBodies[0];
  body.insertBefore(row, body.firstChild);
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  state.shown += 1;
}

function time(ms) {
  if (typeof ms !== 'number') return '';
  const d = new Date(ms);
  return `${d.toLocaleTimeString()}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function fillList(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = String(v);
    dl.append(dt, dd);
  }
}

function showDetail(event, row) {
  if (state.selected) state.selected.classList.remove('selected');
  state.selected = row;
  row.classList.add('selected');
  $('detail').hidden = false;
  fillList($('detail-kafka'), [
    ['event', event.type ?? '(undecodable)'],
    ['partition', event.partition],
    ['offset', event.offset],
    ['kafka time', new Date(event.kafkaTs).toISOString()],
    ...(event.error ? [['error', event.error]] : []),
  ]);
  fillList($('detail-meta'), Object.entries(event.meta ?? {}));
  fillList($('detail-params'), event.params ?? []);
  $('detail-raw').textContent = event.raw;
}

function renderCounters() {
  $('c-received').textContent = String(state.received);
  $('c-shown').textContent = String(state.shown);
  $('c-skipped').textContent = String(state.skipped);
  $('c-sampled').textContent = String(state.sampled);
}

const palette = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777'];

function drawChart() {
  const canvas = $('rate');
  const ctx = canvas.getContext('2d');
  const now = Math.floor(Date.now() / 1000);
  for (const second of state.perSecond.keys()) if (second < now - CHART_SECONDS) state.perSecond.delete(second);
  const totals = new Map();
  for (const bucket of state.perSecond.values())
    for (const [type, n] of bucket) totals.set(type, (totals.get(type) ?? 0) + n);
  const types = [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, palette.length)
    .map(([t]) => t);
  let max = 1;
  for (const bucket of state.perSecond.values()) for (const n of bucket.values()) max = Math.max(max, n);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = '#e5e7eb';
  ctx.strokeRect(0, 0, canvas.width, canvas.height);
  types.forEach((type, i) => {
    ctx.strokeStyle = palette[i];
    ctx.beginPath();
    for (let s = 0; s <= CHART_SECONDS; s += 1) {
      const n = state.perSecond.get(now - CHART_SECONDS + s)?.get(type) ?? 0;
      const x = (s / CHART_SECONDS) * canvas.width;
      const y = canvas.height - 4 - (n / max) * (canvas.height - 12);
      if (s === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  });
  ctx.fillStyle = '#6b7280';
  ctx.fillText(`${max}/s`, 4, 12);
  const legend = $('legend');
  legend.replaceChildren(
    ...types.map((type, i) => {
      const span = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.style.background = palette[i];
      span.append(swatch, document.createTextNode(type));
      return span;
    }),
  );
}

$('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  state.filter = {
    types: $('f-types')
      .value.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    text: $('f-text').value,
    country: $('f-country').value,
    device: $('f-device').value,
  };
  send({ t: 'filter', filter: state.filter });
});

$('pause').addEventListener('click', () => {
  state.paused = !state.paused;
  send({ t: state.paused ? 'pause' : 'resume' });
  $('pause').textContent = state.paused ? 'Resume' : 'Pause';
});

$('clear').addEventListener('click', () => {
  $('events').tBodies[0].replaceChildren();
  state.shown = 0;
  $('detail').hidden = true;
  renderCounters();
});

$('replay').addEventListener('click', () => {
  send({ t: 'replay', minutes: Number($('replay-minutes').value) });
});

$('close-detail').addEventListener('click', () => {
  $('detail').hidden = true;
});

setInterval(drawChart, 1000);
connect();
