// The resident web app (buurtnet). Server-rendered page shells; this script adds what belongs
// to this device. The device's id and token live in localStorage; a precise position from the
// browser stays in memory and is never sent: in "where I am" mode only the coarse cell number is.
import { areaHolds, bounds, coarseCell } from "./geo.js";

const KEY = "buurtnet.device";
const lang = document.documentElement.lang === "en" ? "en" : "nl";
const T = {
  nl: {
    fixed: (l) => `Je krijgt meldingen voor je vaste plek${l ? ` (${l})` : ""}.`,
    here: "Je krijgt meldingen voor de buurt waar je nu bent (een gebied van een paar km²; je precieze plek blijft op je telefoon).",
    linked: "Dit toestel is gekoppeld aan je account: je krijgt meldingen voor de adressen van je account.",
    paused: "Meldingen staan op pauze.",
    live: "Verbonden: nieuwe acties verschijnen hier zolang deze pagina open is.",
    liveLost: "Verbinding verbroken; we proberen het opnieuw.",
    pushOn: "Pushmeldingen staan aan.",
    pushOff: "Pushmeldingen zijn niet beschikbaar in deze browser: laat deze pagina open om acties te zien.",
    open: "Openen",
    newAction: (t) => `Nieuwe actie: ${t}`,
    severity: { amber: "AMBER Alert", alarm: "Alarm", search: "Opsporing", exercise: "OEFENING – geen echte actie", test: "TEST – geen echte actie" },
    kinds: { start: "Oproep", update: "Update", close: "Afloop", cancel: "Ingetrokken" },
    closed: "Deze actie is afgesloten.",
    active: "Deze actie loopt nog.",
    call: (n) => `Bel ${n}`,
    inside: "Je huidige plek ligt binnen het gebied van deze actie.",
    insideFixed: "Je vaste plek ligt binnen het gebied van deze actie.",
    outsideFixed: "Je vaste plek ligt buiten het gebied van deze actie.",
    outside: "Je huidige plek ligt buiten het gebied van deze actie.",
    unknownPos: "Je plek is onbekend; het gebied staat hierboven.",
    notFound: "Deze link werkt niet (meer).",
    tooMany: (s) => `Te veel verzoeken. Probeer het over ${Math.ceil(s / 60)} minuten opnieuw.`,
    failed: "Dat lukte niet. Probeer het later opnieuw.",
    tipsClosed: "Tips voor deze actie zijn gesloten. Bel bij nood 112.",
    posDenied: "Je browser gaf je plek niet. Kies een vaste plek, of sta locatie toe voor „waar ik ben”.",
    pause: "Meldingen pauzeren",
    resume: "Meldingen weer aanzetten",
    pausedOk: "Meldingen staan op pauze.",
    resumedOk: "Meldingen staan weer aan.",
    confirmDelete: "Wil je stoppen? We wissen alles over dit toestel.",
    deleted: "Gestopt. Alles over dit toestel is gewist.",
    photo: (i) => `Foto ${i} bij deze actie`,
    map: "Kaart van het gebied van de actie",
    you: "jij",
    person: "Persoon",
    vehicle: "Voertuig",
    direction: "Richting",
    none: "Geen acties.",
    everywhere: "Het gebied is heel Nederland.",
    codes: {
      invalid_postcode: "Vul een Nederlandse postcode in, zoals 3811 AB.",
      invalid_house_number: "Vul het huisnummer in, zoals 12 of 12a.",
      address_not_found: "We kunnen dit adres niet vinden.",
      outside_netherlands: "Deze plek ligt niet in Nederland.",
      invalid_phone: "Dit telefoonnummer klopt niet.",
      required: "Schrijf wat je hebt gezien.",
    },
    linkedOk: "Gekoppeld. Dit toestel krijgt nu de meldingen van je account.",
    linkInvalid: "Deze inloglink werkt niet (meer). Vraag een nieuwe aan.",
    sex: { female: "vrouw", male: "man", unknown: "onbekend" },
    years: (n) => `${n} jaar`,
  },
  en: {
    fixed: (l) => `You get alerts for your fixed place${l ? ` (${l})` : ""}.`,
    here: "You get alerts for the area you are in now (a few km²; your precise position stays on your phone).",
    linked: "This device is linked to your account: you get alerts for your account's addresses.",
    paused: "Alerts are paused.",
    live: "Connected: new actions appear here while this page is open.",
    liveLost: "Connection lost; trying again.",
    pushOn: "Push notifications are on.",
    pushOff: "Push notifications are not available in this browser: keep this page open to see actions.",
    open: "Open",
    newAction: (t) => `New action: ${t}`,
    severity: { amber: "AMBER Alert", alarm: "Alarm", search: "Search", exercise: "EXERCISE – not a real action", test: "TEST – not a real action" },
    kinds: { start: "Call", update: "Update", close: "Outcome", cancel: "Withdrawn" },
    closed: "This action has been closed.",
    active: "This action is still running.",
    call: (n) => `Call ${n}`,
    inside: "Your current position is inside this action's area.",
    insideFixed: "Your fixed place is inside this action's area.",
    outsideFixed: "Your fixed place is outside this action's area.",
    outside: "Your current position is outside this action's area.",
    unknownPos: "Your position is unknown; the area is shown above.",
    notFound: "This link does not work (any more).",
    tooMany: (s) => `Too many requests. Try again in ${Math.ceil(s / 60)} minutes.`,
    failed: "That did not work. Please try again later.",
    tipsClosed: "Tips for this action are closed. In an emergency call 112.",
    posDenied: "Your browser did not give your position. Choose a fixed place, or allow location for “where I am”.",
    pause: "Pause alerts",
    resume: "Turn alerts back on",
    pausedOk: "Alerts are paused.",
    resumedOk: "Alerts are on again.",
    confirmDelete: "Do you want to stop? We delete everything about this device.",
    deleted: "Stopped. Everything about this device has been deleted.",
    photo: (i) => `Photo ${i} with this action`,
    map: "Map of the action's area",
    you: "you",
    person: "Person",
    vehicle: "Vehicle",
    direction: "Direction",
    none: "No actions.",
    everywhere: "The area is the whole of the Netherlands.",
    codes: {},
    linkedOk: "Linked. This device now gets your account's alerts.",
    linkInvalid: "This sign-in link does not work (any more). Ask for a new one.",
    sex: { female: "female", male: "male", unknown: "unknown" },
    years: (n) => `${n} years`,
  },
}[lang];

const $ = (id) => document.getElementById(id);
const device = () => {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "null");
  } catch (_) {
    return null;
  }
};
const saveDevice = (d) => (d ? localStorage.setItem(KEY, JSON.stringify(d)) : localStorage.removeItem(KEY));

function announce(text) {
  const live = $("bn-live");
  if (live) live.textContent = text;
}

async function api(path, { method = "GET", body, token, form } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: form || (body !== undefined ? JSON.stringify(body) : undefined) });
  let data = null;
  try {
    data = await resp.json();
  } catch (_) {
    data = null;
  }
  return { status: resp.status, data, retryAfter: Number(resp.headers.get("retry-after") || 0) };
}

let configCache = null;
async function config() {
  if (!configCache) configCache = (await api("/api/v1/app/config")).data;
  return configCache;
}

/** The browser's position, in memory only. */
function position() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) return reject(new Error("no geolocation"));
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }),
      (e) => reject(e),
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 },
    );
  });
}

function b64urlToBytes(s) {
  const pad = "=".repeat((4 - (s.length % 4)) % 4);
  const raw = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** A push subscription, or null where push is blocked or unavailable. */
async function subscribe(vapidKey) {
  try {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return null;
    const permission = await Notification.requestPermission();
    if (permission !== "granted") return null;
    const reg = await navigator.serviceWorker.ready;
    const sub =
      (await reg.pushManager.getSubscription()) ||
      (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(vapidKey) }));
    return sub.toJSON();
  } catch (_) {
    return null;
  }
}

function showFieldErrors(data, map) {
  let shown = false;
  for (const f of (data && data.fields) || []) {
    const id = map[f.field];
    if (id && $(id)) {
      $(id).textContent = T.codes[f.code] || f.message;
      $(id).hidden = false;
      const input = $(id.replace(/-error$/, ""));
      if (input) input.setAttribute("aria-invalid", "true");
      shown = true;
    }
  }
  return shown;
}

function clearErrors(root) {
  root.querySelectorAll(".utrecht-form-field-error-message").forEach((e) => {
    e.hidden = true;
    e.textContent = "";
  });
  root.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
}

function problem(r) {
  if (r.status === 429) return T.tooMany(r.retryAfter || 60);
  if (r.status === 404) return T.notFound;
  return (r.data && r.data.message) || T.failed;
}

// ---------------------------------------------------------------- take part
function initJoin() {
  const form = $("join-form");
  const fixed = $("fixed-fields");
  const sync = () => {
    fixed.hidden = !$("mode-fixed").checked;
  };
  document.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", sync));
  const d = device();
  if (d && d.mode === "here") $("mode-here").checked = true;
  sync();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    $("join-error").hidden = true;
    const fail = (text) => {
      $("join-error").textContent = text;
      $("join-error").hidden = false;
    };
    $("join-submit").disabled = true;
    try {
      const cfg = await config();
      const here = $("mode-here").checked;
      let location;
      if (here) {
        let pos;
        try {
          pos = await position();
        } catch (_) {
          return fail(T.posDenied);
        }
        location = { coarse_cell: coarseCell(pos.lat, pos.lon, cfg.grid) };
      } else {
        location = { postcode: $("postcode").value, house_number: $("house_number").value };
        if ($("postcode2").value.trim() || $("house_number2").value.trim()) {
          location = [location, { postcode: $("postcode2").value, house_number: $("house_number2").value }];
        }
      }
      const subscription = await subscribe(cfg.vapid_public_key);
      let current = device();
      let r;
      if (current) {
        const change = { location };
        if (subscription) change.subscription = subscription;
        r = await api(`/api/v1/devices/${current.id}`, { method: "PATCH", body: change, token: current.token });
        if (r.status === 404) current = null;
      }
      if (!current) {
        r = await api("/api/v1/devices", { method: "POST", body: { subscription, location, language: lang } });
        if (r.status === 201) current = { id: r.data.id, token: r.data.token };
      }
      if (r.status !== 200 && r.status !== 201) {
        const mapped = showFieldErrors(r.data, {
          "location.postcode": "postcode-error",
          "location.house_number": "house_number-error",
          "location[0].postcode": "postcode-error",
          "location[0].house_number": "house_number-error",
          "location[1].postcode": "postcode2-error",
          "location[1].house_number": "house_number2-error",
        });
        return fail(mapped ? (lang === "nl" ? "Controleer de velden hierboven." : "Check the fields above.") : problem(r));
      }
      const view = await api(`/api/v1/app/devices/${current.id}`, { token: current.token });
      const loc = view.data && view.data.location;
      const points = here || !loc ? [] : [{ lat: loc.lat, lon: loc.lon }, ...(view.data.more_places || [])];
      const labels = [`${$("postcode").value.toUpperCase()} ${$("house_number").value}`.trim()];
      if (Array.isArray(location)) labels.push(`${$("postcode2").value.toUpperCase()} ${$("house_number2").value}`.trim());
      saveDevice({
        id: current.id,
        token: current.token,
        mode: here ? "here" : "fixed",
        label: here ? "" : labels.join(", "),
        points,
        cell: here ? location.coarse_cell : undefined,
        push: !!subscription,
      });
      window.location.assign("/");
    } finally {
      $("join-submit").disabled = false;
    }
  });
}

// ---------------------------------------------------------------- live feed
/** Opens the live feed for this device's place; calls `onMessage` with each action message. */
async function openLive(d, onMessage, status) {
  let url;
  if (d.mode === "here") {
    const cfg = await config();
    try {
      const pos = await position();
      currentPosition = pos;
      const cell = coarseCell(pos.lat, pos.lon, cfg.grid);
      // Renews the cell every time the page opens (it lapses after 24 hours without this).
      const r = await api(`/api/v1/devices/${d.id}`, { method: "PATCH", body: { location: { coarse_cell: cell } }, token: d.token });
      if (r.status === 200) {
        d.cell = cell;
        saveDevice(d);
      }
    } catch (_) {
      // No position now: keep the last cell.
    }
    if (d.cell === undefined) return null;
    url = `/api/v1/live?cell=${d.cell}`;
  }
  // One feed per fixed place (the places are the resident's own choice, already stored with
  // the device); a message seen on several of them is shown once.
  const urls = url ? [url] : (d.points || []).map((p) => `/api/v1/live?lat=${p.lat}&lon=${p.lon}`);
  if (urls.length === 0) return null;
  const seen = new Set();
  return urls.map((u) => {
    const es = new EventSource(u);
    es.addEventListener("open", () => status && status(T.live));
    es.addEventListener("error", () => status && status(T.liveLost));
    es.addEventListener("message", (ev) => {
      if (seen.has(ev.lastEventId)) return;
      seen.add(ev.lastEventId);
      try {
        onMessage(JSON.parse(ev.data));
      } catch (_) {
        /* not ours */
      }
    });
    return es;
  });
}

let currentPosition = null;

function card(item, { title, text, href, onOpen }) {
  const li = document.createElement("li");
  li.className = `bn-card bn-sev-${item.severity || "search"}`;
  const label = document.createElement("p");
  label.className = "bn-card-label";
  label.textContent = T.severity[item.severity] || T.severity.search;
  const h = document.createElement("h3");
  h.className = "utrecht-heading-3";
  h.textContent = title;
  li.append(label, h);
  if (text) {
    const p = document.createElement("p");
    p.className = "utrecht-paragraph";
    p.textContent = text;
    li.append(p);
  }
  if (href) {
    const a = document.createElement("a");
    a.className = "utrecht-button-link utrecht-button-link--primary-action bn-button";
    a.href = href;
    a.textContent = T.open;
    li.append(a);
  } else if (onOpen) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "utrecht-button utrecht-button--primary-action bn-button";
    b.textContent = T.open;
    b.addEventListener("click", onOpen);
    li.append(b);
  }
  return li;
}

function severityOfEvent(ev) {
  if (ev.status === "exercise") return "exercise";
  if (ev.status === "test") return "test";
  const k = ev.action_kind || "";
  if (["missing_person", "runaway_child"].includes(k) && ev.action_level === "national") return "amber";
  if (["gas_leak", "bomb", "explosion", "disaster"].includes(k)) return "alarm";
  return "search";
}

async function loadRecent(d) {
  const r = await api(`/api/v1/app/devices/${d.id}/actions`, { token: d.token });
  if (r.status === 404) {
    saveDevice(null); // Deleted elsewhere.
    return;
  }
  const list = $("recent-list");
  list.textContent = "";
  $("recent").hidden = false;
  const actions = (r.data && r.data.actions) || [];
  $("recent-empty").hidden = actions.length > 0;
  for (const a of actions) list.append(card(a, { title: a.title[lang], href: a.page }));
}

// ---------------------------------------------------------------- home
async function initHome() {
  const d = device();
  if (!d) return;
  $("not-joined").hidden = true;
  $("joined").hidden = false;
  const summary = [d.mode === "here" ? T.here : T.fixed(d.label), d.push ? T.pushOn : T.pushOff];
  const view = await api(`/api/v1/app/devices/${d.id}`, { token: d.token });
  if (view.status === 404) {
    saveDevice(null);
    window.location.reload();
    return;
  }
  if (view.data && view.data.paused) summary.push(T.paused);
  if (view.data && view.data.linked) summary.unshift(T.linked);
  $("place-summary").textContent = summary.join(" ");
  await loadRecent(d);
  const status = (s) => ($("live-status").textContent = s);
  await openLive(
    d,
    (ev) => {
      if (ev.kind !== "start" && ev.kind !== "update" && ev.kind !== "close" && ev.kind !== "cancel") return;
      $("incoming").hidden = false;
      const item = { severity: severityOfEvent(ev) };
      const text = ev[lang] || ev.nl;
      const li = card(item, {
        title: text.title,
        text: text.text,
        onOpen: async () => {
          const r = await api(`/api/v1/app/devices/${d.id}/open/${ev.action_id}`, { token: d.token });
          if (r.status === 200) window.location.assign(r.data.page);
        },
      });
      li.dataset.actionId = ev.action_id;
      $("incoming-list").prepend(li);
      announce(T.newAction(text.title));
    },
    status,
  );
}

// ---------------------------------------------------------------- action page
function drawMap(shapes, me) {
  const box = bounds(shapes);
  const map = $("map");
  map.textContent = "";
  if (shapes.some((sh) => sh.everywhere)) {
    const p = document.createElement("p");
    p.className = "utrecht-paragraph bn-everywhere";
    p.textContent = T.everywhere;
    map.append(p);
    return;
  }
  if (!box) return;
  const pad = 0.1;
  let [s, w, n, e] = box;
  if (me) {
    s = Math.min(s, me.lat);
    n = Math.max(n, me.lat);
    w = Math.min(w, me.lon);
    e = Math.max(e, me.lon);
  }
  const dy = (n - s) * pad || 0.001;
  const dx = (e - w) * pad || 0.001;
  s -= dy;
  n += dy;
  w -= dx;
  e += dx;
  const W = 320;
  const k = Math.cos((((s + n) / 2) * Math.PI) / 180);
  const H = Math.max(120, Math.min(400, (W * (n - s)) / ((e - w) * k)));
  const X = (lon) => ((lon - w) / (e - w)) * W;
  const Y = (lat) => ((n - lat) / (n - s)) * H;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H.toFixed(0)}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", T.map);
  const bg = document.createElementNS(ns, "rect");
  bg.setAttribute("width", W);
  bg.setAttribute("height", H.toFixed(0));
  bg.setAttribute("class", "bn-map-bg");
  svg.append(bg);
  for (const sh of shapes) {
    if (sh.circle) {
      const c = document.createElementNS(ns, "ellipse");
      c.setAttribute("cx", X(sh.circle.lon));
      c.setAttribute("cy", Y(sh.circle.lat));
      const ry = Y(sh.circle.lat - sh.circle.radius_m / 111000) - Y(sh.circle.lat);
      const rx = X(sh.circle.lon + sh.circle.radius_m / (111000 * Math.cos((sh.circle.lat * Math.PI) / 180))) - X(sh.circle.lon);
      c.setAttribute("rx", Math.abs(rx));
      c.setAttribute("ry", Math.abs(ry));
      c.setAttribute("class", "bn-map-area");
      svg.append(c);
    } else if (sh.polygon) {
      const polys = sh.polygon.type === "Polygon" ? [sh.polygon.coordinates] : sh.polygon.coordinates;
      for (const p of polys) {
        const path = document.createElementNS(ns, "path");
        path.setAttribute(
          "d",
          p.map((ring) => "M" + ring.map(([lon, lat]) => `${X(lon).toFixed(1)},${Y(lat).toFixed(1)}`).join("L") + "Z").join(""),
        );
        path.setAttribute("class", "bn-map-area");
        path.setAttribute("fill-rule", "evenodd");
        svg.append(path);
      }
    }
  }
  if (me) {
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", X(me.lon));
    dot.setAttribute("cy", Y(me.lat));
    dot.setAttribute("r", 6);
    dot.setAttribute("class", "bn-map-me");
    const label = document.createElementNS(ns, "title");
    label.textContent = T.you;
    dot.append(label);
    svg.append(dot);
  }
  map.append(svg);
}

function describe(desc) {
  const dl = $("description");
  dl.textContent = "";
  const add = (k, v) => {
    if (!v) return;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  };
  if (!desc) return;
  if (desc.person) {
    const p = desc.person;
    const parts = [p.sex ? T.sex[p.sex] || p.sex : null, p.age ? T.years(p.age) : null, p.height_cm ? `${p.height_cm} cm` : null];
    for (const [k, v] of Object.entries(p)) if (!["sex", "age", "height_cm"].includes(k) && v !== null && v !== "") parts.push(v);
    add(T.person, parts.filter(Boolean).join(", "));
  }
  if (desc.vehicle) add(T.vehicle, Object.values(desc.vehicle).filter((x) => x !== null && x !== "").join(", "));
  add(T.direction, desc.direction);
}

async function renderAction(token) {
  const r = await api(`/api/v1/app/actions/${encodeURIComponent(token)}`);
  $("action-loading").hidden = true;
  $("action").setAttribute("aria-busy", "false");
  if (r.status !== 200) {
    $("action-error").textContent = problem(r);
    $("action-error").hidden = false;
    return null;
  }
  const v = r.data;
  const a = v.action;
  $("action-body").hidden = false;
  document.body.dataset.severity = a.severity;
  $("severity").textContent = T.severity[a.severity] || T.severity.search;
  $("severity").className = `bn-severity bn-sev-${a.severity}`;
  $("title").textContent = a.title[lang];
  document.title = `${a.title[lang]} – buurtnet`;
  $("state").textContent = a.state === "closed" || a.state === "cancelled" ? T.closed : T.active;
  $("dna").hidden = !a.do_not_approach;
  if (a.callback_phone) {
    $("call").hidden = false;
    $("call-link").href = `tel:${a.callback_phone.replace(/[^+\d]/g, "")}`;
    $("call-link").textContent = T.call(a.callback_phone);
  }
  const text = $("text");
  text.textContent = "";
  for (const para of a.body[lang].split(/\n+/)) {
    const p = document.createElement("p");
    p.className = "utrecht-paragraph";
    p.textContent = para;
    text.append(p);
  }
  describe(a.description);
  const photos = $("photos");
  photos.textContent = "";
  a.photos.forEach((src, i) => {
    const img = document.createElement("img");
    img.src = src;
    img.alt = T.photo(i + 1);
    img.loading = "lazy";
    photos.append(img);
  });
  const ol = $("messages");
  ol.textContent = "";
  for (const m of [...v.messages].reverse()) {
    const li = document.createElement("li");
    li.className = `bn-message bn-message-${m.kind}`;
    const h = document.createElement("h3");
    h.className = "utrecht-heading-3";
    const when = m.sent_at ? new Date(m.sent_at).toLocaleString(lang === "nl" ? "nl-NL" : "en-GB", { dateStyle: "short", timeStyle: "short" }) : "";
    h.textContent = `${T.kinds[m.kind] || m.kind} · ${when}`;
    const p = document.createElement("p");
    p.className = "utrecht-paragraph";
    p.textContent = (m[lang] && m[lang].text) || m.nl.text;
    li.append(h, p);
    ol.append(li);
  }
  $("tip").hidden = !v.tips_open && $("tip-ok").hidden;
  if (!v.tips_open) $("tip-form").hidden = true;
  // Whether this phone is inside: worked out here, from what only this phone knows.
  const d = device();
  let me = null;
  if (d && d.mode === "fixed" && d.points && d.points.length) {
    // The first of the device's places inside the area, else its first place.
    me = d.points.find((p) => areaHolds(v.area, p.lat, p.lon)) || d.points[0];
  }
  if (d && d.mode === "here") {
    try {
      me = currentPosition || (await position());
      currentPosition = me;
    } catch (_) {
      me = null;
    }
  }
  drawMap(v.area, me);
  const fixed = d && d.mode === "fixed";
  const inside = me && areaHolds(v.area, me.lat, me.lon);
  $("inside").textContent = !me ? T.unknownPos : fixed ? (inside ? T.insideFixed : T.outsideFixed) : inside ? T.inside : T.outside;
  return a;
}

async function initAction() {
  const token = decodeURIComponent(window.location.pathname.split("/").pop() || "");
  const a = await renderAction(token);
  const form = $("tip-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    $("tip-error").hidden = true;
    const data = new FormData();
    data.append("text", $("tip-text").value);
    data.append("phone", $("tip-phone").value);
    data.append("lang", lang);
    for (const f of $("tip-photos").files) data.append("photos", f, f.name);
    const r = await api(`/api/v1/app/actions/${encodeURIComponent(token)}/tips`, { method: "POST", form: data });
    if (r.status === 201) {
      form.hidden = true;
      $("tip-ok").hidden = false;
      $("tip-ok").focus && $("tip-ok").setAttribute("tabindex", "-1");
      $("tip-ok").focus();
      return;
    }
    const fields = {};
    for (const f of (r.data && r.data.fields) || []) {
      if (f.field === "text") fields.text = "tip-text-error";
      if (f.field === "phone") fields.phone = "tip-phone-error";
      if (f.field.startsWith("photos")) fields[f.field] = "tip-photos-error";
    }
    if (!showFieldErrors(r.data, fields)) {
      $("tip-error").textContent = r.status === 409 ? T.tipsClosed : problem(r);
      $("tip-error").hidden = false;
    }
  });
  // Live while open: a new message of this action reloads the page's data.
  const d = device();
  if (a && d) {
    await openLive(d, (ev) => {
      if (ev.action_id === a.id) {
        renderAction(token);
        announce(((ev[lang] || ev.nl) || {}).title || "");
      }
    });
  } else if (a) {
    setInterval(() => renderAction(token), 30000);
  }
}

// ---------------------------------------------------------------- settings
async function initSettings() {
  const d = device();
  if (!d) return;
  const r = await api(`/api/v1/app/devices/${d.id}`, { token: d.token });
  if (r.status === 404) {
    saveDevice(null);
    return;
  }
  $("device-none").hidden = true;
  $("device").hidden = false;
  let view = r.data;
  const status = (s) => ($("settings-status").textContent = s);
  const render = () => {
    const parts = [view.linked ? T.linked : d.mode === "here" ? T.here : T.fixed(d.label)];
    if (view.paused) parts.push(T.paused);
    $("device-summary").textContent = parts.join(" ");
    $("pause").textContent = view.paused ? T.resume : T.pause;
    $("pause").setAttribute("aria-pressed", view.paused ? "true" : "false");
  };
  render();
  $("pause").addEventListener("click", async () => {
    const res = await api(`/api/v1/devices/${d.id}`, { method: "PATCH", body: { paused: !view.paused }, token: d.token });
    if (res.status !== 200) return status(problem(res));
    view = res.data;
    render();
    status(view.paused ? T.pausedOk : T.resumedOk);
  });
  $("export").addEventListener("click", async () => {
    const res = await api(`/api/v1/app/devices/${d.id}`, { token: d.token });
    if (res.status !== 200) return status(problem(res));
    const blob = new Blob([JSON.stringify(res.data, null, 2)], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "buurtnet-mijn-gegevens.json";
    document.body.append(a);
    a.click();
    a.remove();
  });
  $("delete").addEventListener("click", async () => {
    if (!window.confirm(T.confirmDelete)) return;
    const res = await api(`/api/v1/devices/${d.id}`, { method: "DELETE", token: d.token });
    if (res.status !== 204 && res.status !== 404) return status(problem(res));
    try {
      const reg = await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.getSubscription();
      if (sub) await sub.unsubscribe();
    } catch (_) {
      /* nothing to undo */
    }
    saveDevice(null);
    $("device").hidden = true;
    $("device-none").hidden = false;
    announce(T.deleted);
    $("device-none").querySelector("p").textContent = T.deleted;
  });
}

// ---------------------------------------------------------------- link to an account
function initLink() {
  const d = device();
  if (!d) {
    $("link-none").hidden = false;
    return;
  }
  $("link").hidden = false;
  $("link").addEventListener("click", async () => {
    const token = decodeURIComponent(window.location.pathname.split("/").pop() || "");
    const r = await api(`/api/v1/app/devices/${d.id}/link`, { method: "POST", body: { token }, token: d.token });
    if (r.status === 200) {
      d.linked = true;
      saveDevice(d);
      $("link").hidden = true;
      $("link-status").textContent = T.linkedOk;
    } else {
      $("link-status").textContent = r.status === 422 ? T.linkInvalid : problem(r);
    }
  });
}

// ---------------------------------------------------------------- start
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
const page = document.body.dataset.page;
({ home: initHome, join: initJoin, action: initAction, settings: initSettings, link: initLink })[page]?.();
