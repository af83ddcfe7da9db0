// The job page (job.js says how its scripts fit together): the task cards, each with its loss
// curve while on screen.
'use strict';

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
