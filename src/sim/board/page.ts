/**
 * The board's page: one HTML document with its script and styles inline (no CDN, works offline).
 * It listens to `/room/events` and redraws the table from each `board` event: a row per learner,
 * a column per step (✓ holds, · not yet, ✗ blocked or error — the check's words in the cell's
 * title and, for ✗, under the mark), the runs with their outcome and cause, and the last error.
 * Cells carry `data-learner`, `data-step` and `data-status` so tests and scripts can read them.
 */
export const BOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>acr-trust room</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 13px/1.35 system-ui, sans-serif; margin: 12px; color: #1b1f24; }
  h1 { font-size: 16px; margin: 0 0 6px; }
  #status { color: #57606a; margin-bottom: 8px; }
  table { border-collapse: collapse; }
  th, td { border: 1px solid #d0d7de; padding: 3px 6px; vertical-align: top; }
  th { background: #f6f8fa; font-weight: 600; position: sticky; top: 0; }
  th.step { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; max-height: 150px; }
  td.cell { text-align: center; min-width: 22px; }
  td[data-status=done] { background: #dafbe1; }
  td[data-status=reversed] { background: #eef6ff; }
  td[data-status=pending] { background: #fff; color: #8c959f; }
  td[data-status=blocked], td[data-status=error] { background: #ffebe9; }
  td.cell small { display: block; max-width: 140px; font-size: 10px; color: #82071e; text-align: left; }
  td.runs, td.error { font-size: 12px; max-width: 340px; }
  .Succeeded { color: #1a7f37; } .Failed { color: #cf222e; } .Running, .Queued { color: #9a6700; }
</style>
</head>
<body>
<h1>acr-trust room</h1>
<div id="status">connecting…</div>
<table id="board"><thead><tr id="head"><th>learner</th></tr></thead><tbody id="rows"></tbody></table>
<script>
(() => {
  const MARK = { done: '✓', reversed: '✓', pending: '·', blocked: '✗', error: '✗' };
  const status = document.getElementById('status');
  const head = document.getElementById('head');
  const rows = document.getElementById('rows');
  const text = (tag, value, cls) => { const e = document.createElement(tag); e.textContent = value; if (cls) e.className = cls; return e; };
  function row(r) {
      const tr = document.createElement('tr');
      tr.dataset.learner = r.learner;
      const who = text('td', r.learner); who.title = r.resourceGroup + ' / ' + r.registry + ' / task ' + r.task; tr.append(who);
      for (const c of r.cells) {
        const td = text('td', MARK[c.status] || '?', 'cell');
        td.dataset.learner = r.learner; td.dataset.step = c.step; td.dataset.status = c.status; td.title = c.text;
        if (c.status === 'blocked' || c.status === 'error') td.append(text('small', c.text));
        tr.append(td);
      }
      const runs = document.createElement('td'); runs.className = 'runs'; runs.dataset.learner = r.learner; runs.dataset.column = 'runs';
      for (const run of r.runs) {
        const line = document.createElement('div'); line.dataset.run = run.id; line.dataset.runStatus = run.status;
        line.append(text('b', run.id + ' '), text('span', run.status, run.status));
        if (run.cause) line.append(text('span', ' — ' + run.cause));
        runs.append(line);
      }
      tr.append(runs);
      const err = text('td', r.lastError ? r.lastError.status + ' ' + r.lastError.error + ' (' + r.lastError.method + ' ' + r.lastError.path + ')' : '', 'error');
      err.dataset.learner = r.learner; err.dataset.column = 'last-error';
      tr.append(err);
      return tr;
  }
  function stamp(at) {
    document.body.dataset.updated = String(at);
    status.textContent = rows.children.length + ' learners · updated ' + new Date(at).toLocaleTimeString();
  }
  // The whole room (on connecting), then only the rows that changed.
  function draw(s) {
    head.replaceChildren(text('th', 'learner'));
    for (const st of s.steps) { const th = text('th', st.id, 'step'); th.title = st.title; head.append(th); }
    head.append(text('th', 'runs'), text('th', 'last error'));
    rows.replaceChildren(...s.rows.map(row));
    stamp(s.at);
  }
  function update(u) {
    for (const r of u.rows) {
      const old = rows.querySelector('tr[data-learner="' + CSS.escape(r.learner) + '"]');
      if (old) old.replaceWith(row(r)); else rows.append(row(r));
    }
    stamp(u.at);
  }
  const events = new EventSource('/room/events');
  events.addEventListener('board', (e) => draw(JSON.parse(e.data)));
  events.addEventListener('rows', (e) => update(JSON.parse(e.data)));
  events.onerror = () => { status.textContent = 'reconnecting…'; };
})();
</script>
</body>
</html>
`;
