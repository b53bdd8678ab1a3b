let SENT = 0;  // the item sent last: an earlier item's answer that arrives later is dropped
document.getElementById('form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const ticket = ++SENT;
  const data = new FormData();
  for (const file of document.getElementById('views').files) {
    data.append(file.name.replace(/\.[^.]*$/, ''), file);
  }
  const product = document.getElementById('product').value;
  if (product) data.append('product_id', product);
  const item = fieldValue('item').trim();
  data.append('item_id', item || 'station-item');
  // The unit, for the review queue (the service queues a review and records a reject when the
  // request names item, SKU and location; with one of the two alone it answers 422 naming the
  // other). The page had no such fields, so nothing it inspected ever reached a person.
  const sku = fieldValue('sku').trim(), location = fieldValue('location').trim();
  const result = document.getElementById('result');
  if ((sku || location) && (!item || item === 'station-item')) {
    // every unit would be the one "station-item", and the queue keeps one entry per id
    result.innerHTML = '<p class="error" id="error">give the unit\'s own item id: the review queue tells units apart by it</p>';
    return;
  }
  if (sku) data.append('sku', sku);
  if (location) data.append('location_id', location);
  data.append('heatmaps', 'true');
  result.textContent = 'inspecting...';
  const response = await fetch('/v1/inspect', {method: 'POST', body: data, headers: headers()});
  const body = await response.json();
  if (ticket !== SENT) return;  // its verdict would show under the item sent after it
  if (!response.ok) {
    result.innerHTML = '<p class="error" id="error">' + escapeHtml(JSON.stringify(body.detail)) + '</p>';
    return;
  }
  let html = '<div id="verdict" class="' + body.verdict + '">' + body.verdict + '</div>';
  if (body.queued) html += '<p id="queue-state">queued for review</p>';
  else if (body.recorded) html += '<p id="queue-state">recorded as a rejected unit (it leaves sellable stock)</p>';
  else if (body.verdict !== 'pass' && !(sku && location)) {
    html += '<p id="queue-state">not in a review queue: give its SKU, location and item id to queue it</p>';
  }
  html += '<p id="reasons">' + escapeHtml(body.reasons.join('; ') || 'no defect found') + '</p>';
  // Why the inspection is incomplete (the answer's ``errors``): the page said "incomplete
  // inspection" with every view ok, and not that the item had no product id or one the catalog
  // lacks (colour and size unchecked), so the operator could not tell what to send again.
  if (body.errors && body.errors.length) {
    html += '<ul id="errors" class="error">' + body.errors.map(e => '<li>' + escapeHtml(e) + '</li>').join('') + '</ul>';
  }
  html += '<table id="scores"><tr><th>class</th><th>score</th></tr>';
  for (const [name, score] of Object.entries(body.scores)) {
    html += '<tr><td>' + escapeHtml(name) + '</td><td>' + scoreText(score) + '</td></tr>';
  }
  html += '</table>';
  for (const view of body.views) {
    html += '<div class="card"><b>' + escapeHtml(view.view) + '</b> ' + escapeHtml(view.status);
    if (view.error) html += ' <span class="error">' + escapeHtml(view.error) + '</span>';
    if (view.heatmap_png) html += '<br><img class="view heatmap" src="data:image/png;base64,' + view.heatmap_png + '">';
    html += '</div>';
  }
  result.innerHTML = html;
});
function fieldValue(id) {
  const field = document.getElementById(id);
  return field && typeof field.value === 'string' ? field.value : '';
}
function scoreText(score) {
  // A non-finite score (the service sends null: the item's verdict is review, "not inspected")
  // threw on null.toFixed and the page stayed at "inspecting..." with no verdict shown.
  if (typeof score !== 'number' || !Number.isFinite(score)) return 'not scored';
  // Three decimals, and two significant digits below 0.001: a calibrated threshold can be
  // 0.00003, and a reject for a score shown as 0.000 read as a contradiction.
  // Likewise next to 1: three decimals showed 0.99996 as 1.000, a certainty the model did not
  // give (and a pass shown at 1.000 where calibration put a threshold above 0.9995); such a
  // score shows two significant digits of its distance to 1 (0.999960).
  if (score >= 0.9995 && score < 1) return score.toFixed(Math.floor(-Math.log10(1 - score)) + 2);
  return score >= 0.001 || score <= 0 ? score.toFixed(3) : score.toPrecision(2);
}
