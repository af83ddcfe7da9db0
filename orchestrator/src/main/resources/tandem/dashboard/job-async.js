// The job page (job.js says how its scripts fit together): how asynchronous the job runs, as a
// staleness histogram and a timeline of the workers' steps.
'use strict';

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
