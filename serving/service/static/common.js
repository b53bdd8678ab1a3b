function headers() {
  const token = localStorage.getItem('stockcast-token');
  return token ? {'Authorization': 'Bearer ' + token} : {};
}
function setToken() {
  const token = prompt('Bearer token (empty: none)');
  if (token === null) return;
  if (token) localStorage.setItem('stockcast-token', token); else localStorage.removeItem('stockcast-token');
}
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}
function clearImage(img) {
  if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
  img.src = '';
}
async function authorizedImage(img, url, current = () => true) {
  // An <img src> request carries no Authorization header: with a token the service answers
  // 401. Fetch the image with the token and show it from a blob URL instead. ``current``:
  // false once the image is no longer wanted (another pick came after it); a failed fetch
  // leaves no earlier picture in the element.
  if (img.dataset) img.dataset.alt = img.dataset.alt || img.alt;
  const alt = img.dataset ? img.dataset.alt : img.alt;
  const response = await fetch(url, {headers: headers()});
  if (!current()) return;
  if (!response.ok) { clearImage(img); img.alt = alt + ' (' + response.status + ')'; return; }
  const blob = await response.blob();
  if (!current()) return;
  clearImage(img);
  img.alt = alt;
  img.src = URL.createObjectURL(blob);
}
