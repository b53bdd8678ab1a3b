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
