// A job, live. The page reads the job's history once (/series, /overview), then follows the
// server's live summaries of its events (/live: Server-Sent Events from the same log as gRPC
// StreamEvents, a few a second whatever the step rate; LiveWindow.java says what one holds). A
// task's chart exists only while its card is on screen; the heat map shows every task. Exposed
// as window.tandem for tests.
//
// The page's scripts, loaded in this order, share its global scope: this one (the page's state,
// status and live summaries), job-overview.js (heat map), job-charts.js (task cards and
// curves), job-async.js (staleness and worker timeline), and job-start.js (controls, start).
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
