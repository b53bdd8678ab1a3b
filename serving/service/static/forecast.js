let SERIES = [];
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
  const query = '?' + new URLSearchParams({item_id: s.item_id, location_id: s.location_id});
  const body = await (await fetch('/v1/workspace/plan' + query, {headers: headers()})).json();
  let html = '<table id="plan-row">';
  for (const [k, v] of Object.entries(body.plan)) html += '<tr><th>' + escapeHtml(k) + '</th><td>' + escapeHtml(v) + '</td></tr>';
  document.getElementById('plan').innerHTML = html + '</table>';
  await authorizedImage(document.getElementById('chart'), '/v1/workspace/chart.png' + query);
}
load();
