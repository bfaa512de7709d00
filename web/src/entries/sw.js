// buurtnet's service worker: an offline shell for the resident app, and Web Push.
// A notification's tag is its delivery's reference, so a repeat of the same delivery replaces
// itself on the phone; clicking it opens the action page the server made for that delivery.
const SHELL = "buurtnet-shell-v1";
const SHELL_URLS = ["/", "/app/meedoen", "/app/instellingen", "/app/privacy", "/app/icon.svg", "/manifest.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((c) => c.addAll(SHELL_URLS))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return; // The network only: live data is never served from a cache.
  }
  // Pages and assets: the network first (fresh texts), the cached shell when offline.
  event.respondWith(
    fetch(req)
      .then((resp) => {
        if (resp.ok && (SHELL_URLS.includes(url.pathname) || url.pathname.startsWith("/assets/"))) {
          const copy = resp.clone();
          caches.open(SHELL).then((c) => c.put(req, copy));
        }
        return resp;
      })
      .catch(() =>
        caches.match(req).then((hit) => hit || (req.mode === "navigate" ? caches.match("/") : Response.error())),
      ),
  );
});

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (_) {
    data = { title: "buurtnet", body: event.data ? event.data.text() : "" };
  }
  // Alarms and AMBER Alerts stay on screen until seen; exercises and tests say so.
  const alarm = ["gas_leak", "bomb", "explosion", "disaster"].includes(data.kind);
  const urgent = data.status === "actual" && (alarm || data.level === "national");
  const marks = { exercise: "OEFENING", test: "TEST" };
  let title = data.title || "buurtnet";
  if (marks[data.status] && !title.toUpperCase().includes(marks[data.status])) title = `${marks[data.status]}: ${title}`;
  const options = {
    body: data.body || "",
    tag: data.tag || undefined,
    renotify: false,
    icon: "/app/icon-192.png",
    badge: "/app/icon-192.png",
    image: data.image || undefined,
    lang: data.lang || undefined,
    requireInteraction: urgent,
    data: { page: data.page || "/", tag: data.tag },
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data && event.notification.data.page ? event.notification.data.page : "/", self.location.origin);
  if (target.origin !== self.location.origin) {
    return; // Only our own pages.
  }
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((list) => {
      for (const c of list) {
        if (c.url === target.href && "focus" in c) return c.focus();
      }
      return self.clients.openWindow(target.href);
    }),
  );
});
