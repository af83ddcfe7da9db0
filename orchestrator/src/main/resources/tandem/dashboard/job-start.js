// The job page (job.js says how its scripts fit together): its controls, and the start: the
// history, then the live summaries and the overview's refresh. Loaded last.
'use strict';

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
