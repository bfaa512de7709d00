// Calls to the JSON API with the console's session cookie: unsafe methods carry the
// session's CSRF token in the X-CSRF-Token header (the server refuses them otherwise).

export function csrfToken() {
  const el = document.querySelector('[data-csrf]');
  return el ? el.dataset.csrf : '';
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET') {
    headers['X-CSRF-Token'] = csrfToken();
  }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  let data = null;
  try {
    data = await r.json();
  } catch (_) {
    data = null;
  }
  return { status: r.status, data };
}

/** A validation answer as one line per field. */
export function describeError(data) {
  if (!data) return 'Er ging iets mis.';
  if (Array.isArray(data.fields)) {
    return data.fields.map((f) => `${f.field}: ${f.message}`).join('\n');
  }
  return data.message || 'Er ging iets mis.';
}
