// The job page (job.js says how its scripts fit together): the overview, its heat map and the
// order of the task cards.
'use strict';

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
