// The jobs list: polls /api/jobs every two seconds.
'use strict';

function timeText(ms) {
  return ms ? new Date(ms).toLocaleTimeString() : '';
}

function progressCell(job) {
  const fraction = job.maxSteps > 0 ? Math.min(1, job.stepsDone / job.maxSteps) : 0;
  const cell = document.createElement('td');
  cell.innerHTML = '<div class="bar"><div></div></div><span class="small"></span>';
  cell.querySelector('.bar div').style.width = (fraction * 100).toFixed(1) + '%';
  cell.querySelector('span').textContent = job.stepsDone + ' / ' + job.maxSteps;
  return cell;
}

function row(job) {
  const tr = document.createElement('tr');
  tr.dataset.job = job.id;
  const link = document.createElement('a');
  link.href = '/job?id=' + encodeURIComponent(job.id);
  link.textContent = job.id;
  const cells = [link, job.name, job.state, null, job.tasks,
    job.examplesPerSecond.toFixed(0), timeText(job.startedAt), timeText(job.finishedAt)];
  cells.forEach((value, i) => {
    if (i === 3) {
      tr.appendChild(progressCell(job));
      return;
    }
    const td = document.createElement('td');
    if (value instanceof Node) td.appendChild(value); else td.textContent = value;
    if (i === 2) td.className = 'state ' + job.state;
    if (i === 2 && job.error) td.title = job.error;
    tr.appendChild(td);
  });
  return tr;
}

async function refresh() {
  try {
    const jobs = await (await fetch('/api/jobs')).json();
    const body = document.querySelector('#jobs tbody');
    body.replaceChildren(...jobs.map(row));
    document.getElementById('empty').hidden = jobs.length > 0;
  } catch (e) {
    // The server restarted or is gone; the next poll tries again.
  }
}

refresh();
setInterval(refresh, 2000);
