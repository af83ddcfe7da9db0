// A job, live. The page reads the job's history once (/series, /overview), then follows the
// server's live summaries of its events (/live: Server-Sent Events from the same log as gRPC
// StreamEvents, a few a second whatever the step rate; LiveWindow.java says what one holds). A
// task's chart exists only while its card is on screen; the heat map shows every task. Exposed
// as window.tandem for tests.
'use strict';

const jobId = new URLSearchParams(location.search).get('id');
const api = '/api/jobs/' + encodeURIComponent(jobId);
const REPLAY = 240;        // live summaries kept to bring newly loaded curves up to date (~1 min)
const TIMELINE_MS = 5000;  // what the worker timeline shows
const SLOT_MS = 20;        // its slots, as LiveWindow.SLOT_MILLIS
const REFETCH_POINTS = 4000; // a live curve longer than this is fetched again, downsampled
const OVERVIEW_MS = 4000;  // how often a running job's overview and status are read again

const T = window.tandem = {
  jobId, taskNames: [], state: '', startedAt: 0, halfLife: 0,
  series: new Map(), cards: new Map(), charts: 0, liveTasks: new Set(), refollows: 0,
  lastSeq: 0, eventsReceived: 0, gaps: 0, reconnects: 0, lagMs: null, maxLagMs: null,
  lagSamples: [], windowsReceived: 0,
  windows: [], slots: new Map(), overview: null, overviewRows: [], firstPaintMs: null, overviewUpdateMs: null,
  source: null, evaluations: 0, overviewUpdates: 0,
};

// ---- smoothing: the same formula as StepWeightedEma on the server ----
function ema(previousX, previousValue, x, y, halfLife) {
  if (previousValue === null || previousValue === undefined || Number.isNaN(previousValue)) return y;
  const keep = Math.pow(2, -Math.max(0, x - previousX) / halfLife);
  return keep * previousValue + (1 - keep) * y;
}
T.ema = ema;

// ---- status ----
async function loadStatus() {
  showStatus(await (await fetch(api)).json());
}

/** A job's status: from /api/jobs/ID, or without its tasks' from the overview. */
function showStatus(job) {
  T.status = job;
  T.state = job.state;
  if (job.taskNames) T.taskNames = job.taskNames;
  T.startedAt = job.startedAt || job.submittedAt;
  document.title = 'Tandem: ' + job.name;
  document.getElementById('title').textContent = job.id + ' · ' + job.name;
  const state = document.getElementById('state');
  state.textContent = job.state;
  state.className = 'state ' + job.state;
  document.getElementById('progress').style.width =
      (job.maxSteps ? Math.min(100, 100 * job.stepsDone / job.maxSteps) : 0).toFixed(1) + '%';
  document.getElementById('steps').textContent = job.stepsDone + ' / ' + job.maxSteps + ' steps';
  document.getElementById('rate').textContent = job.examplesPerSecond.toFixed(0) + ' examples/s, '
      + job.stepsPerSecond.toFixed(0) + ' steps/s' + (job.error ? ' · ' + job.error : '');
  document.getElementById('cancel').disabled = job.state !== 'running' && job.state !== 'pending';
  drawStaleness((job.status.stalenessHistogram || []).map(Number));
  if (!T.scheduleShown && job.schedule) {
    T.scheduleShown = true;
    document.getElementById('policy').value = job.schedule.policy || 'round_robin';
    document.getElementById('weights').value = JSON.stringify(job.schedule.weights || {});
  }
}

// ---- overview: heat map and the order of the cards ----
async function loadOverview() {
  const started = performance.now();
  const overview = await (await fetch(api + '/overview?columns=120')).json();
  T.overview = overview;
  if (overview.job) showStatus(overview.job);
  drawHeatmap();
  T.overviewUpdateMs = performance.now() - started;
  T.overviewUpdates++;
  if (T.firstPaintMs === null) {
    T.firstPaintMs = performance.now();
    layoutCards();
  }
}

function filtered() {
  const text = document.getElementById('filter').value.trim();
  let match = () => true;
  if (text.length > 2 && text.startsWith('/') && text.endsWith('/')) {
    try {
      const pattern = new RegExp(text.slice(1, -1));
      match = name => pattern.test(name);
    } catch (e) { match = () => false; }
  } else if (text) {
    match = name => name.toLowerCase().includes(text.toLowerCase());
  }
  const rows = (T.overview ? T.overview.tasks : T.taskNames.map(task => ({task})))
      .filter(row => match(row.task));
  const key = document.getElementById('sort').value;
  const sign = document.getElementById('descending').checked ? -1 : 1;
  if (key === 'name') rows.sort((a, b) => sign * a.task.localeCompare(b.task));
  else if (key !== 'spec') {
    rows.sort((a, b) => sign * ((numberOr(a[key]) - numberOr(b[key])) || a.task.localeCompare(b.task)));
  } else if (sign < 0) rows.reverse();
  return rows;
}

function numberOr(value) {
  const n = Number(value);
  return Number.isFinite(n) ? n : Infinity;
}

const RGB = (() => {
  // viridis, 64 levels
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const out = [];
  for (let i = 0; i < 64; i++) {
    const t = i / 63 * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(t));
    const f = t - k;
    const c = stops[k].map((v, j) => Math.round(v + f * (stops[k + 1][j] - v)));
    out.push(c);
  }
  return out;
})();
const WHITE = [255, 255, 255];
const LEVELS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/';

function drawHeatmap() {
  const canvas = document.getElementById('heatmap');
  const rows = filtered();
  T.overviewRows = rows.map(row => row.task);
  canvas.dataset.rows = rows.length;
  const width = Math.max(600, canvas.parentElement.clientWidth - 26);
  const rowHeight = Math.max(1, Math.min(14, Math.floor(900 / Math.max(1, rows.length))));
  const labels = rowHeight >= 9;
  const labelWidth = labels ? 150 : 0;
  const height = Math.max(20, rows.length * rowHeight);
  // Resizing a canvas reallocates it: only when its size changes.
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  const columns = T.overview ? T.overview.columns : 1;
  // One pixel a cell, drawn as an image and scaled up: thousands of fillRect calls per refresh
  // were most of the page's drawing time with 200 tasks.
  const pixels = new ImageData(Math.max(1, columns), Math.max(1, rows.length));
  rows.forEach((row, r) => {
    const cells = row.cells || '';
    for (let c = 0; c < cells.length && c < columns; c++) {
      const level = LEVELS.indexOf(cells[c]);
      const at = 4 * (r * columns + c);
      const rgb = level < 0 ? WHITE : RGB[level];
      pixels.data[at] = rgb[0];
      pixels.data[at + 1] = rgb[1];
      pixels.data[at + 2] = rgb[2];
      pixels.data[at + 3] = 255;
    }
  });
  T.heatmapImage = T.heatmapImage || document.createElement('canvas');
  T.heatmapImage.width = pixels.width;
  T.heatmapImage.height = pixels.height;
  T.heatmapImage.getContext('2d').putImageData(pixels, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(T.heatmapImage, labelWidth, 0, width - labelWidth, rows.length * rowHeight);
  if (rowHeight > 3) {
    // The gap between rows, as the cells had.
    g.fillStyle = '#fff';
    for (let r = 1; r <= rows.length; r++) g.fillRect(labelWidth, r * rowHeight - 1, width, 1);
  }
  if (labels) {
    g.font = Math.min(12, rowHeight) + 'px system-ui';
    g.textBaseline = 'middle';
    g.fillStyle = '#1d2330';
    rows.forEach((row, r) => g.fillText(row.task, 2, r * rowHeight + rowHeight / 2, labelWidth - 6));
  }
  canvas.onclick = event => {
    const r = Math.floor(event.offsetY / rowHeight);
    const card = T.cards.get(T.overviewRows[r]);
    if (card) card.scrollIntoView({behavior: 'smooth', block: 'center'});
  };
  document.getElementById('taskCount').textContent =
      '(' + rows.length + ' of ' + (T.overview ? T.overview.tasks.length : T.taskNames.length) + ' shown)';
}

// ---- cards: one per task shown; a chart only while on screen ----
const visible = new IntersectionObserver(entries => {
  for (const entry of entries) {
    const task = entry.target.dataset.task;
    if (entry.isIntersecting) want(task); else forget(task);
  }
}, {rootMargin: '200px'});

function layoutCards() {
  const container = document.getElementById('cards');
  const rows = filtered();
  const keep = new Set(rows.map(row => row.task));
  for (const [task, card] of T.cards) {
    if (!keep.has(task)) {
      visible.unobserve(card);
      forget(task);
      card.remove();
      T.cards.delete(task);
    }
  }
  for (const row of rows) {
    let card = T.cards.get(row.task);
    if (!card) {
      card = document.createElement('div');
      card.className = 'card';
      card.dataset.task = row.task;
      card.innerHTML = '<h3><span></span><span class="small"></span></h3><div class="plot"></div>';
      card.querySelector('h3 span').textContent = row.task;
      T.cards.set(row.task, card);
      visible.observe(card);
    }
    container.appendChild(card);
  }
}

let wanted = new Set();
let wantTimer = null;
function want(task) {
  const series = T.series.get(task);
  if (series) { makeChart(task); return; }
  wanted.add(task);
  if (!wantTimer) wantTimer = setTimeout(fetchWanted, 50);
}

async function fetchWanted() {
  wantTimer = null;
  const tasks = [...wanted];
  wanted = new Set();
  // The live summaries carry the points of the tasks on screen only: follow these too from
  // here on, before their history is read, so that the history (read up to the log's end)
  // reaches past every window the stream sent without them.
  const added = tasks.filter(task => !T.liveTasks.has(task));
  added.forEach(task => T.liveTasks.add(task));
  if (added.length) refollow();
  for (let i = 0; i < tasks.length; i += 40) {
    await fetchSeries(tasks.slice(i, i + 40));
  }
}

async function fetchSeries(tasks) {
  const chosen = Number(document.getElementById('halfLife').value);
  const half = chosen > 0 ? chosen : T.halfLife;
  const url = api + '/series?points=300&tasks=' + tasks.map(encodeURIComponent).join(',')
      + (half > 0 ? '&halfLife=' + half : '');
  const body = await (await fetch(url)).json();
  for (const task of tasks) {
    const curve = body.tasks[task];
    if (!curve) continue;
    const series = {
      step: curve.step, time: curve.time, loss: curve.loss, smooth: curve.smooth,
      staleness: curve.staleness, emaStep: curve.emaStep, emaValue: curve.emaValue,
      loadedSeq: body.lastSequence, steps: curve.steps, dirty: true, chart: null,
      halfLife: body.halfLife,
    };
    T.series.set(task, series);
    // Steps that arrived live while the history was being read.
    for (const w of T.windows) {
      if (w.last > series.loadedSeq && w.tasks[task]) addWindow(series, w, w.tasks[task]);
    }
    const card = T.cards.get(task);
    // Off screen by now (scrolled past while its history was read): not followed on.
    if (card && isOnScreen(card)) makeChart(task); else forget(task);
  }
}

function isOnScreen(element) {
  const box = element.getBoundingClientRect();
  return box.bottom > -200 && box.top < innerHeight + 200;
}

/**
 * Adds a task's points of live summary w (entry: [seq, step, ms before w.time, loss, staleness,
 * w] each, with its first step s1 and loss y1) to its series. The server smoothed the window's
 * steps afresh from its first one; with the average v0 at the series' last step s0, the average
 * over every step at step s is w + 2^(-(s - s0) / halfLife) * (v0 - y1), to a float's precision.
 * Where the series' history already holds part of the window, or was smoothed with another
 * half-life, the newer points are smoothed one by one instead (close, not exact).
 */
function addWindow(series, w, entry) {
  const exact = w.first > series.loadedSeq && w.halfLife === series.halfLife;
  const s0 = series.emaStep, v0 = series.emaValue;
  const continues = v0 !== null && v0 !== undefined && !Number.isNaN(v0);
  let added = 0;
  for (const [seq, step, before, loss, staleness, fresh] of entry.points) {
    const time = w.time - before;
    if (seq <= series.loadedSeq) continue;
    const smooth = !exact ? ema(series.emaStep, series.emaValue, step, loss, series.halfLife)
        : continues ? fresh + Math.pow(2, -(step - s0) / series.halfLife) * (v0 - entry.y1)
        : fresh;
    series.emaStep = step;
    series.emaValue = smooth;
    series.step.push(step);
    series.time.push(time);
    series.loss.push(loss);
    series.smooth.push(smooth);
    series.staleness.push(staleness);
    series.loadedSeq = seq;
    added++;
  }
  series.steps += exact ? entry.n : added;
  series.dirty = series.dirty || added > 0;
}

function chartData(series) {
  const byTime = document.getElementById('xaxis').value === 'time';
  const x = byTime ? series.time.map(t => (t - T.startedAt) / 1000) : series.step;
  return [x, series.loss, series.smooth, series.staleness];
}

function makeChart(task) {
  const series = T.series.get(task);
  const card = T.cards.get(task);
  if (!series || !card || series.chart) return;
  const log = document.getElementById('logScale').checked;
  const byTime = document.getElementById('xaxis').value === 'time';
  const plot = card.querySelector('.plot');
  series.chart = new uPlot({
    width: Math.max(300, card.clientWidth - 14), height: 190,
    legend: {show: false},
    scales: {x: {time: false}, y: {distr: log ? 3 : 1}, st: {range: (u, min, max) => [0, Math.max(1, max)]}},
    axes: [{label: byTime ? 'seconds' : 'step', size: 36},
      {size: 50}, {scale: 'st', side: 1, grid: {show: false}, size: 40}],
    series: [{},
      {label: 'loss', stroke: 'rgba(59,125,221,0.35)', width: 1, points: {show: false}},
      {label: 'smoothed', stroke: '#1f4fa0', width: 2, points: {show: false}},
      {label: 'staleness', scale: 'st', stroke: 'rgba(208,120,30,0.6)', width: 1, points: {show: false}}],
  }, chartData(series), plot);
  T.charts++;
  series.dirty = false;
  updateCardTitle(task, series);
}

/**
 * A task off screen: its chart and curve go, and the live summaries leave it out from the next
 * time the page follows them on; it is read again when it comes back.
 */
function forget(task) {
  dropChart(task);
  T.series.delete(task);
  T.liveTasks.delete(task);
}

function dropChart(task) {
  const series = T.series.get(task);
  if (series && series.chart) {
    series.chart.destroy();
    series.chart = null;
    T.charts--;
  }
}

function updateCardTitle(task, series) {
  const card = T.cards.get(task);
  if (!card) return;
  const n = series.loss.length;
  card.querySelector('h3 .small').textContent = n ? 'loss ' + series.loss[n - 1].toFixed(4)
      + ' · smoothed ' + series.smooth[n - 1].toFixed(4) + ' · ' + series.steps + ' steps' : 'no steps yet';
}

function redrawCharts() {
  for (const [task, series] of T.series) {
    if (!series.dirty) continue;
    if (series.step.length > REFETCH_POINTS) {
      // Downsampled again by the server, which keeps every bucket's min and max.
      T.series.delete(task);
      dropChart(task);
      want(task);
      continue;
    }
    if (series.chart) {
      series.chart.setData(chartData(series));
      updateCardTitle(task, series);
      series.dirty = false;
    }
  }
}

function rebuildCharts() {
  for (const task of [...T.series.keys()]) {
    const had = T.series.get(task).chart !== null;
    dropChart(task);
    if (had) makeChart(task);
  }
}

// ---- live summaries ----
function follow(afterSequence) {
  // The points of the tasks on screen only: a 200-task job's windows were otherwise about
  // 50 KB each, and reading them was most of what the open page cost its browser.
  const source = new EventSource(api + '/live?after=' + afterSequence + '&halfLife=' + T.halfLife
      + '&tasks=' + encodeURIComponent([...T.liveTasks].join(',')));
  T.source = source;
  // Each message sums up the events after the previous one's; its id is the last one's number.
  source.onmessage = message => onWindow(JSON.parse(message.data));
  source.onopen = () => { document.getElementById('live').textContent = '● live'; };
  source.onerror = () => {
    document.getElementById('live').textContent = '○ reconnecting';
    // The browser reconnects by itself, sending Last-Event-ID; if it gave up, start over.
    if (source.readyState === EventSource.CLOSED && T.state !== 'succeeded'
        && T.state !== 'failed' && T.state !== 'cancelled') {
      setTimeout(() => T.reconnect(), 1000);
    }
  };
}

/** Follows the live summaries on from the last window, for the tasks on screen now. */
function refollow() {
  if (T.source && T.source.readyState !== EventSource.CLOSED) {
    T.refollows++;
    T.source.close();
    follow(T.lastSeq);
  }
}

/** Drops the connection and opens a new one after the last event received. */
T.reconnect = () => {
  if (T.source) T.source.close();
  T.reconnects++;
  follow(T.lastSeq);
};

function onWindow(w) {
  // A window starts right after the last one, unless it starts by saying events were missed
  // (the page fell behind what the server keeps) or that the log was rewound (a resumed job).
  const opening = w.others.length && w.others[0].seq === w.first ? w.others[0].kind : '';
  if (T.lastSeq && w.first !== T.lastSeq + 1 && opening !== 'eventsMissed'
      && opening !== 'logRewound') T.gaps++;
  T.lastSeq = w.last;
  T.eventsReceived += w.events;
  T.windowsReceived++;
  T.lagMs = Date.now() - w.time;
  // Once the page has loaded (events before may have waited for it): the live lag.
  if (T.firstPaintMs !== null) {
    T.maxLagMs = Math.max(T.maxLagMs || 0, T.lagMs);
    if (T.lagSamples.length < 100000) T.lagSamples.push(T.lagMs);
  }
  T.windows.push(w);
  if (T.windows.length > REPLAY * 1.25) T.windows = T.windows.slice(-REPLAY);
  for (const task in w.tasks) {
    const series = T.series.get(task);
    if (series && w.last > series.loadedSeq) addWindow(series, w, w.tasks[task]);
  }
  addSlots(w.workers);
  w.others.forEach(onEvent);
}

function onEvent(event) {
  switch (event.kind) {
    case 'eventsMissed':
      note('missed events ' + event.body.firstMissed + '–' + event.body.lastMissed
          + ' (the server no longer had them)');
      break;
    case 'jobFinished':
      T.state = (event.body.state || '').replace('JOB_STATE_', '').toLowerCase();
      T.source.close();
      document.getElementById('live').textContent = 'finished';
      note('job finished: ' + T.state + (event.body.message ? ' (' + event.body.message + ')' : ''));
      loadStatus();
      loadOverview();
      break;
    default:
      otherEvent(event);
  }
}

function otherEvent(event) {
  if (event.kind === 'evaluationCompleted') {
    const body = document.querySelector('#evaluations tbody');
    for (const e of event.body.evaluations || []) {
      const tr = document.createElement('tr');
      [event.body.step, e.task, e.output, e.metric, Number(e.value).toFixed(4), e.examples]
          .forEach(v => { const td = document.createElement('td'); td.textContent = v ?? ''; tr.appendChild(td); });
      body.appendChild(tr);
      T.evaluations++;
    }
  } else if (event.kind === 'scheduleUpdated') {
    const li = document.createElement('li');
    li.textContent = new Date(event.time).toLocaleTimeString() + ' after step '
        + event.body.afterStep + ': ' + JSON.stringify(event.body.schedule);
    document.getElementById('schedules').appendChild(li);
  } else if (event.kind === 'checkpointWritten') {
    note('checkpoint at step ' + event.body.step + ' in ' + event.body.path
        + ' (pause ' + event.body.pause + ')', event.time);
  } else if (event.kind === 'jobStarted') {
    note('started: ' + (event.body.workers || 0) + ' workers, ' + (event.body.consistency || '')
        + ', shared: ' + (event.body.sharedModules || []).join(', '), event.time);
  } else {
    note(event.kind + ' ' + JSON.stringify(event.body || {}), event.time);
  }
}

function note(text, time) {
  const li = document.createElement('li');
  li.textContent = new Date(time || Date.now()).toLocaleTimeString() + ' ' + text;
  document.getElementById('otherEvents').appendChild(li);
}

// ---- asynchrony ----
function drawStaleness(histogram) {
  const canvas = document.getElementById('staleness');
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  const max = Math.max(1, ...histogram);
  const w = canvas.width / Math.max(1, histogram.length);
  g.font = '10px system-ui';
  histogram.forEach((count, i) => {
    const h = (canvas.height - 14) * count / max;
    g.fillStyle = '#d0781e';
    g.fillRect(i * w + 2, canvas.height - 14 - h, w - 4, h);
    g.fillStyle = '#5b6478';
    g.fillText(i + (i === histogram.length - 1 ? '+' : ''), i * w + w / 2 - 3, canvas.height - 3);
  });
}

function taskColor(task) {
  let hash = 0;
  for (let i = 0; i < task.length; i++) hash = (hash * 31 + task.charCodeAt(i)) | 0;
  return 'hsl(' + (Math.abs(hash) % 360) + ',60%,50%)';
}

/** Adds a summary's worker slots ({worker: [[start, computeMs, queueMs, task], ...]}). */
function addSlots(workers) {
  let newest = 0;
  for (const worker in workers) {
    let slots = T.slots.get(worker);
    if (!slots) T.slots.set(worker, slots = new Map());
    for (const [start, compute, queue, task] of workers[worker]) {
      const slot = slots.get(start);
      // A slot two windows share: its two parts add up.
      if (slot) {
        if (compute > slot[0] && task) slot[2] = task;
        slot[0] += compute;
        slot[1] += queue;
      } else {
        slots.set(start, [compute, queue, task]);
      }
      newest = Math.max(newest, start);
    }
  }
  if (!newest) return;
  T.timelineEnd = Math.max(T.timelineEnd || 0, newest + SLOT_MS);
  for (const slots of T.slots.values()) {
    for (const start of slots.keys()) {
      if (start < T.timelineEnd - 2 * TIMELINE_MS) slots.delete(start);
    }
  }
  T.timelineDirty = true;
}

/** Each worker's last 5 s, a column a slot: compute (coloured by task) and queue wait. */
function drawTimeline() {
  if (!T.timelineDirty) return;
  T.timelineDirty = false;
  const canvas = document.getElementById('timeline');
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  const workers = [...T.slots.keys()].sort();
  if (!workers.length) return;
  const end = T.timelineEnd;
  const start = end - TIMELINE_MS;
  const labelWidth = 90;
  const scale = (canvas.width - labelWidth) / TIMELINE_MS;
  const rowHeight = Math.min(30, (canvas.height - 14) / workers.length);
  const inner = rowHeight - 4;
  g.font = '11px system-ui';
  workers.forEach((worker, r) => {
    g.fillStyle = '#1d2330';
    g.fillText(worker, 2, r * rowHeight + rowHeight / 2 + 4, labelWidth - 4);
    const bottom = r * rowHeight + 2 + inner;
    for (const [slotStart, [compute, queue, task]] of T.slots.get(worker)) {
      if (slotStart < start) continue;
      const x = labelWidth + (slotStart - start) * scale;
      const width = Math.max(0.5, SLOT_MS * scale - 0.5);
      const computed = Math.min(1, compute / SLOT_MS) * inner;
      const waited = Math.min(1 - computed / inner, queue / SLOT_MS) * inner;
      g.fillStyle = taskColor(task);
      g.fillRect(x, bottom - computed, width, computed);
      g.fillStyle = '#c7ccd6';
      g.fillRect(x, bottom - computed - waited, width, waited);
    }
  });
  g.fillStyle = '#5b6478';
  g.fillText((TIMELINE_MS / 1000).toFixed(1) + ' s', canvas.width - 40, canvas.height - 2);
}

// ---- actions ----
async function post(path, body) {
  const response = await fetch(api + path, {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  document.getElementById('message').textContent = response.ok ? path.slice(1) + ': done'
      : path.slice(1) + ': ' + await response.text();
  loadStatus();
}

document.getElementById('cancel').onclick = () => post('/cancel', {});
document.getElementById('applySchedule').onclick = () => {
  let weights;
  try { weights = JSON.parse(document.getElementById('weights').value || '{}'); }
  catch (e) { document.getElementById('message').textContent = 'weights: not JSON'; return; }
  post('/schedule', {policy: document.getElementById('policy').value, weights});
};
for (const id of ['filter', 'sort', 'descending']) {
  document.getElementById(id).addEventListener('input', () => { drawHeatmap(); layoutCards(); });
}
document.getElementById('xaxis').addEventListener('input', rebuildCharts);
document.getElementById('logScale').addEventListener('input', rebuildCharts);
document.getElementById('halfLife').addEventListener('change', () => {
  // The live summaries smoothed with the new half-life from here on.
  const chosen = Number(document.getElementById('halfLife').value);
  T.halfLife = chosen > 0 ? chosen : T.autoHalfLife;
  if (T.source && T.source.readyState !== EventSource.CLOSED) {
    T.source.close();
    follow(T.lastSeq);
  }
  for (const task of [...T.series.keys()]) {
    const had = T.series.get(task).chart !== null;
    dropChart(task);
    T.series.delete(task);
    if (had) want(task);
  }
});

// ---- start ----
(async () => {
  await loadStatus();
  const history = await (await fetch(api + '/series?points=1&tasks=')).json();
  // Fixed for the page's life, so that every curve it loads is smoothed alike.
  T.halfLife = T.autoHalfLife = history.halfLife;
  document.getElementById('halfLife').placeholder = 'auto: ' + Math.round(T.halfLife);
  history.events.forEach(otherEvent);
  addSlots(history.timeline);
  T.lastSeq = history.lastSequence;
  if (T.state === 'running' || T.state === 'pending') {
    follow(history.lastSequence);
  } else {
    document.getElementById('live').textContent = T.state;
  }
  await loadOverview();
  // Charts and the timeline redraw once a second, and not at all while the page is hidden (a
  // background tab): drawing, not the events, is most of what an open page costs its machine.
  setInterval(() => { if (!document.hidden) { redrawCharts(); drawTimeline(); } }, 1000);
  // The overview (with the job's status) is read from the log on the server: refresh it every
  // 4 s, or less often when reading it takes long (a long log), so that the page costs training
  // little. One request, not two: a request costs the browser's processes tens of milliseconds
  // of CPU whatever it carries (measured on a 2-core machine: the status and overview polls
  // every 2 s were about 40% of the open page's CPU), which on the training machine comes out
  // of training. The curves, not the overview, are what update live.
  const refresh = async () => {
    if (T.state === 'running' || T.state === 'pending') {
      await loadOverview().catch(() => {});
      setTimeout(refresh, Math.max(OVERVIEW_MS, 20 * (T.overviewUpdateMs || 0)));
    }
  };
  setTimeout(refresh, OVERVIEW_MS);
})();
