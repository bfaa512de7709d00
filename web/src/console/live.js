// The live action page: new messages and residents' tips arrive through the staff live feed
// (Server-Sent Events: `message` and `tip` events); the page then reloads its figures and tips
// (server-rendered) without losing the forms.
export function startLive(root) {
  const id = root.dataset.action;
  let pending = null;
  async function refresh() {
    const r = await fetch(window.location.pathname, { credentials: 'same-origin' });
    if (!r.ok) return;
    const html = await r.text();
    const doc = new DOMParser().parseFromString(html, 'text/html');
    for (const part of ['deliveries', 'tips', 'action-state']) {
      const fresh = doc.getElementById(part);
      const old = document.getElementById(part);
      if (fresh && old) old.replaceWith(fresh);
    }
  }
  function soon() {
    clearTimeout(pending);
    pending = setTimeout(refresh, 300);
  }
  const feed = new EventSource('/api/v1/actions/live');
  const ours = (e) => {
    try {
      const m = JSON.parse(e.data);
      if (!m.action_id || String(m.action_id) === id) soon();
    } catch (_) {
      soon();
    }
  };
  feed.onmessage = ours;
  feed.addEventListener('tip', ours);
  // Deliveries change without events of their own: look again every 30 s.
  setInterval(refresh, 30000);
}
