async function load() {
  const response = await fetch('/v1/workspace/series', {headers: headers()});
  const select = document.getElementById('series');
  if (!response.ok) { document.getElementById('plan').textContent = 'no workspace (' + response.status + ')'; return; }
  for (const s of await response.json()) {
    const option = document.createElement('option');
    option.value = s.item_id + '|' + s.location_id; option.textContent = s.item_id + ' @ ' + s.location_id;
    select.appendChild(option);
  }
  select.onchange = show; show();
}
async function show() {
  const [item, location] = document.getElementById('series').value.split('|');
  const base = '/v1/workspace/series/' + encodeURIComponent(item) + '/' + encodeURIComponent(location);
  const body = await (await fetch(base, {headers: headers()})).json();
  let html = '<table id="plan-row">';
  for (const [k, v] of Object.entries(body.plan)) html += '<tr><th>' + escapeHtml(k) + '</th><td>' + escapeHtml(v) + '</td></tr>';
  document.getElementById('plan').innerHTML = html + '</table>';
  await authorizedImage(document.getElementById('chart'), base + '/chart.png');
}
load();
