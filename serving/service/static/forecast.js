let SERIES = [];
let SHOWN = 0;  // the pick shown last: answers to an earlier pick that arrive later are dropped
async function load() {
  const response = await fetch('/v1/workspace/series', {headers: headers()});
  const select = document.getElementById('series');
  if (!response.ok) { document.getElementById('plan').textContent = 'no workspace (' + response.status + ')'; return; }
  // the option's value is the series' position: ids may hold any character ("|", "/"...)
  SERIES = await response.json();
  SERIES.forEach((s, i) => {
    const option = document.createElement('option');
    option.value = String(i); option.textContent = s.item_id + ' @ ' + s.location_id;
    select.appendChild(option);
  });
  select.onchange = show; show();
}
async function show() {
  const s = SERIES[Number(document.getElementById('series').value)];
  if (!s) return;
  const ticket = ++SHOWN;
  const current = () => ticket === SHOWN;
  const plan = document.getElementById('plan');
  const chart = document.getElementById('chart');
  // nothing of the series shown before stays on the page while this one loads, or if it fails
  plan.textContent = 'loading...';
  clearImage(chart);
  const query = '?' + new URLSearchParams({item_id: s.item_id, location_id: s.location_id});
  const response = await fetch('/v1/workspace/plan' + query, {headers: headers()});
  const body = await response.json().catch(() => ({}));
  if (!current()) return;
  if (!response.ok || !body.plan) {
    const detail = body.detail ? ': ' + JSON.stringify(body.detail) : '';
    plan.textContent = 'no plan for this series (' + response.status + detail + ')';
    return;
  }
  let html = '<table id="plan-row">';
  for (const [k, v] of Object.entries(body.plan)) html += '<tr><th>' + escapeHtml(k) + '</th><td>' + escapeHtml(v) + '</td></tr>';
  plan.innerHTML = html + '</table>';
  await authorizedImage(chart, '/v1/workspace/chart.png' + query, current);
}
load();
