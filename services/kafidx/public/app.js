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
  // Dead letters by place (partition:offset); the server keeps the latest `keep` of them.
  letters: new Map(),
  keep: 200,
  dlqSelected: undefined,
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
    send({ t: 'dead-letters' });
    send({ t: 'health' });
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
    case 'filter-ok':
      // The server applies this filter from now on; the page says so for whoever waits on it.
      $('apply').dataset.applied = JSON.stringify(m.filter);
      break;
    case 'paused':
    case 'resumed':
      $('pause').dataset.server = m.t;
      break;
    case 'dead-letters':
      onDeadLetters(m);
      break;
    case 'health':
      onHealth(m);
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

// Dead letters: what kafkastore and the consumers could not process, newest first. Filters
// apply in the page; every value is put in with textContent.

function onDeadLetters(m) {
  state.keep = m.keep;
  for (const letter of m.letters) state.letters.set(letter.place, letter);
  if (state.letters.size > state.keep) {
    const sorted = [...state.letters.values()].sort((a, b) => a.time - b.time);
    for (const old of sorted.slice(0, sorted.length - state.keep)) state.letters.delete(old.place);
  }
  const status = $('dlq-status');
  status.dataset.state = m.status === 'reading' ? 'reading' : 'error';
  status.textContent =
    m.status === 'reading'
      ? `${m.topic}: the latest ${m.keep} letters, new ones as they arrive` +
        (m.missed > 0 ? ` (${m.missed} missed while this page was slow)` : '')
      : m.status;
  $('dlq-count').textContent = String(state.letters.size);
  $('dlq-count').dataset.count = String(state.letters.size);
  renderLetters();
}

function letterMatches(letter) {
  const reason = $('dlq-reason').value;
  const source = $('dlq-source').value.trim().toLowerCase();
  const text = $('dlq-text').value.trim().toLowerCase();
  if (reason && letter.reason !== reason) return false;
  if (source && !letter.source.toLowerCase().includes(source)) return false;
  if (text) {
    const haystack = [letter.error, letter.id, letter.value, letter.place, letter.key].join('\n').toLowerCase();
    if (!haystack.includes(text)) return false;
  }
  return true;
}

function renderLetters() {
  const body = $('dlq-letters').tBodies[0];
  const letters = [...state.letters.values()].filter(letterMatches).sort((a, b) => b.time - a.time);
  body.replaceChildren(
    ...letters.map((letter) => {
      const row = document.createElement('tr');
      row.dataset.place = letter.place;
      if (state.dlqSelected === letter.place) row.classList.add('selected');
      for (const value of [isoTime(letter.time), letter.place, letter.source, letter.reason, letter.id, letter.error]) {
        const td = document.createElement('td');
        td.textContent = value ?? '';
        row.appendChild(td);
      }
      row.addEventListener('click', () => showLetter(letter));
      return row;
    }),
  );
}

function isoTime(ms) {
  return typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace('Z', '') : '';
}

function showLetter(letter) {
  state.dlqSelected = letter.place;
  $('dlq-detail').hidden = false;
  fillList($('dlq-detail-info'), [
    ['place', letter.place],
    ['time', isoTime(letter.time)],
    ['source', letter.source],
    ['reason', letter.reason],
    ['event id', letter.id || '-'],
    ['meant for', letter.meant],
    ['payload', letter.payload],
    ['key', letter.key || '(none)'],
    ['error', letter.error],
    ...(letter.legacy ? [['note', 'written before the dead-letter contract']] : []),
    ...(letter.whole ? [] : [['note', 'cut short by an older kafkastore']]),
  ]);
  fillList($('dlq-detail-headers'), Object.entries(letter.headers));
  $('dlq-detail-raw').textContent = letter.cut
    ? `${letter.value}\n… (${letter.valueBytes} bytes in all; npm run dlq -- show ${letter.place} prints it whole)`
    : letter.value;
  renderLetters();
}

function showTab(dlq) {
  $('tab-live').setAttribute('aria-selected', String(!dlq));
  $('tab-dlq').setAttribute('aria-selected', String(dlq));
  $('live-panel').hidden = dlq;
  $('dlq-panel').hidden = !dlq;
}

$('tab-live').addEventListener('click', () => showTab(false));
$('tab-dlq').addEventListener('click', () => showTab(true));
for (const id of ['dlq-reason', 'dlq-source', 'dlq-text']) $(id).addEventListener('input', renderLetters);
$('dlq-filters').addEventListener('submit', (e) => e.preventDefault());
$('dlq-close').addEventListener('click', () => {
  $('dlq-detail').hidden = true;
  state.dlqSelected = undefined;
  renderLetters();
});

// Pipeline health: what kafidx read from the services' own /metrics (KAFIDX_HEALTH_TARGETS).
// State is said in words (up, DOWN, stale), not only by colour; every value goes in as text.

const health = { at: 0, intervalMs: 0 };

function rate(n) {
  return n < 10 ? n.toFixed(1) : String(Math.round(n));
}

function ms(n) {
  return n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`;
}

function item(className, text, data = {}) {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = text;
  Object.assign(span.dataset, data);
  return span;
}

function onHealth(m) {
  const section = $('health');
  if (!m.enabled) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  health.at = m.at;
  health.intervalMs = m.intervalMs;
  $('health-klag').textContent =
    m.klag === null ? '' : `klag p99 ${m.klag.p99Ms === null ? 'no events' : ms(m.klag.p99Ms)}`;
  $('health-targets').replaceChildren(...m.targets.map(targetItem));
  renderHealthStatus();
}

function targetItem(target) {
  const li = document.createElement('li');
  li.dataset.target = target.name;
  const state = target.up ? 'up' : target.error === null ? 'pending' : 'down';
  li.dataset.state = state;
  const parts = [item('h-name', target.name)];
  if (state === 'up') parts.push(item('h-state', 'up'));
  else if (state === 'pending') parts.push(item('h-state', 'not read yet'));
  else {
    const seen =
      target.lastUpAt === null ? 'never reached' : `last read ${new Date(target.lastUpAt).toLocaleTimeString()}`;
    parts.push(item('h-state', `DOWN: ${target.error} (${seen})`));
  }
  const stale = state === 'down' ? ' (stale)' : '';
  if (target.queue !== null) {
    parts.push(item('h-queue', `queue ${target.queue.depth}${stale}`, { depth: String(target.queue.depth) }));
  }
  for (const r of target.rates) {
    const label = r.consumer ? `${r.stage} ${r.consumer}` : r.stage;
    parts.push(item('h-rate', `${label} ${rate(r.perSecond)}/s`, { stage: r.stage, consumer: r.consumer }));
  }
  if (state === 'up' && target.rates.length === 0 && target.lastUpAt !== null) {
    parts.push(item('h-rate', 'rates after the next read'));
  }
  for (const l of target.lag) {
    parts.push(
      item('h-lag', `lag ${l.consumer} ${l.messages}${stale}`, { consumer: l.consumer, lag: String(l.messages) }),
    );
  }
  if (target.klag !== null) {
    parts.push(item('h-klag', `klag p99 ${target.klag.p99Ms === null ? 'no events' : ms(target.klag.p99Ms)}`));
  }
  li.append(...parts);
  return li;
}

/** Stale when no update came for three intervals (kafidx stopped, or this socket is down). */
function renderHealthStatus() {
  if ($('health').hidden || health.at === 0) return;
  const status = $('health-status');
  const stale = Date.now() - health.at > 3 * health.intervalMs;
  status.dataset.stale = String(stale);
  const at = new Date(health.at).toLocaleTimeString();
  status.textContent = stale
    ? `stale: no update since ${at}`
    : `read ${at}, every ${Math.round(health.intervalMs / 1000)} s`;
}

setInterval(renderHealthStatus, 1000);
setInterval(drawChart, 1000);
connect();
