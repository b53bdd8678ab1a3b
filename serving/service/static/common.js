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
async function authorizedImage(img, url) {
  // An <img src> request carries no Authorization header: with a token the service answers
  // 401. Fetch the image with the token and show it from a blob URL instead.
  const response = await fetch(url, {headers: headers()});
  if (!response.ok) { img.alt = img.alt + ' (' + response.status + ')'; return; }
  if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(await response.blob());
}
