// 'pending': the items waiting for a person; 'rejected' (/review/rejected): the units stations
// rejected outright, which a person may pass back into sellable stock.
const QUEUE_STATE = 'pending';
async function load() {
  const url = '/v1/review/queue' + (QUEUE_STATE === 'pending' ? '' : '?state=' + QUEUE_STATE);
  const response = await fetch(url, {headers: headers()});
  const queue = document.getElementById('queue');
  if (!response.ok) { queue.textContent = 'cannot load the queue (' + response.status + ')'; return; }
  const items = await response.json();
  if (!items.length) {
    queue.innerHTML = '<p id="empty">' + (QUEUE_STATE === 'pending' ? 'Nothing waits for review.'
      : 'No station reject waits for a person.') + '</p>';
    return;
  }
  queue.innerHTML = '';
  for (const item of items) {
    const card = document.createElement('div');
    card.className = 'card'; card.id = 'item-' + item.item_id; card.dataset.item = item.item_id;
    let html = '<b>' + escapeHtml(item.item_id) + '</b> SKU ' + escapeHtml(item.sku) + ' at ' + escapeHtml(item.location_id)
      + (QUEUE_STATE === 'pending' ? ' (queued ' : ' (rejected by the station ') + escapeHtml(item.queued) + (item.model ? ', scored by ' + escapeHtml(item.model) : '')
      + ')<br>' + escapeHtml(item.reasons) + '<br>';
    for (const [view, files] of Object.entries(item.views)) {
      // the id as a query parameter: a browser resolves an id "." or ".." in a path
      const base = '/v1/review/view?' + new URLSearchParams({item_id: item.item_id, view: view});
      if (files.image) html += '<img class="view" alt="' + escapeHtml(view) + '" data-src="' + escapeHtml(base + '&kind=image') + '">';
      if (files.heatmap) html += '<img class="view" alt="' + escapeHtml(view) + ' heatmap" data-src="' + escapeHtml(base + '&kind=heatmap') + '">';
    }
    // The class as the option's value: without one a browser's select.value is the option's
    // text with its whitespace stripped and collapsed ("dent " sent as "dent": a 422).
    // The class the model scored highest is preselected: the menu started on the first class,
    // so a reviewer confirming a reject without opening it labelled the unit that class, the
    // label `inspect train --feedback` learns from.
    const scores = item.scores || {};
    const likely = item.classes.reduce(
      (best, c) => ((scores[c] ?? -1) > (scores[best] ?? -1) ? c : best), item.classes[0]);
    html += '<br><button class="pass">Pass</button> <button class="reject">Reject as</button> <select class="defect">'
      + item.classes.map(c => '<option value="' + escapeHtml(c) + '"' + (c === likely ? ' selected' : '') + '>'
        + escapeHtml(c) + '</option>').join('') + '</select>';
    card.innerHTML = html;
    card.querySelector('.pass').onclick = () => decide(item.item_id, 'pass', null);
    card.querySelector('.reject').onclick = () => decide(item.item_id, 'reject', card.querySelector('.defect').value);
    queue.appendChild(card);
    for (const img of card.querySelectorAll('img[data-src]')) authorizedImage(img, img.dataset.src);
  }
}
async function decide(item, decision, defect) {
  const reviewer = document.getElementById('reviewer').value;
  const response = await fetch('/v1/review/decision?' + new URLSearchParams({item_id: item}), {
    method: 'POST', headers: {...headers(), 'Content-Type': 'application/json'},
    body: JSON.stringify({decision: decision, defect: defect, reviewer: reviewer})});
  const body = await response.json();
  const status = document.getElementById('status');
  if (!response.ok) { status.className = 'error'; status.textContent = JSON.stringify(body.detail); return; }
  status.className = ''; status.textContent = item + ': ' + decision + (defect ? ' (' + defect + ')' : '') + ' by ' + reviewer;
  document.getElementById('item-' + item).remove();
  // the queue shows its oldest 100 items: when they are done, fetch the next ones (or none)
  if (!document.querySelector('#queue .card')) load();
}
load();
