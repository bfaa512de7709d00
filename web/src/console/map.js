// The dispatcher's map: a base map drawn from the imported area outlines (municipalities, then
// districts and neighbourhoods as you zoom; an optional tile layer from the configuration),
// the area to reach (a circle around the incident, a polygon, or clicked areas), the live count
// per channel while drawing, previews per channel and sending with one confirmation.
import L from 'leaflet';
import { api, describeError } from './api.js';

const STYLE = {
  municipality: { color: '#154273', weight: 2, fill: false },
  district: { color: '#39870c', weight: 1, fillOpacity: 0.03 },
  neighbourhood: { color: '#8fcae7', weight: 1, fillOpacity: 0.05 },
  selected: { color: '#a90061', weight: 2, fillOpacity: 0.35 },
};

/** A tooltip's content that shows `text` as text (a string would be rendered as HTML). */
export function textNode(text) {
  const span = document.createElement('span');
  span.textContent = text == null ? '' : String(text);
  return span;
}

export function startMap(root) {
  const $ = (id) => document.getElementById(id);
  const map = L.map($('map'), { keyboard: true, zoomControl: true }).setView([52.1561, 5.3878], 11);
  const t = root.dataset;
  if (t.tiles) {
    L.tileLayer(t.tiles, { maxZoom: 19, attribution: t.tilesAttribution || '' }).addTo(map);
  }
  map.attributionControl.addAttribution(t.attribution || '');

  const loaded = new Set();
  const layers = { municipality: L.layerGroup().addTo(map), district: L.layerGroup(), neighbourhood: L.layerGroup() };
  const selected = new Map(); // code → layer
  let mode = 'circle';
  let centre = null;
  let circle = null;
  let polygon = [];
  let polygonLayer = null;
  let draft = null;

  function onArea(feature, layer) {
    // An area's name comes from an imported file: text, never markup (Leaflet renders a
    // string as HTML).
    layer.bindTooltip(textNode(feature.properties.name));
    layer.on('click', (e) => {
      if (mode !== 'areas' || feature.properties.level === 'municipality') return;
      L.DomEvent.stopPropagation(e);
      const code = feature.properties.code;
      if (selected.has(code)) {
        selected.delete(code);
        layer.setStyle(STYLE[feature.properties.level]);
      } else {
        selected.set(code, feature.properties.name);
        layer.setStyle(STYLE.selected);
      }
      changed();
    });
  }

  async function load(parent) {
    const key = parent || '';
    if (loaded.has(key)) return;
    loaded.add(key);
    const r = await fetch(`/console/kaart/gebieden${parent ? `?parent=${encodeURIComponent(parent)}` : ''}`, { credentials: 'same-origin' });
    if (!r.ok) return;
    const fc = await r.json();
    for (const f of fc.features) {
      const level = f.properties.level;
      const layer = L.geoJSON(f, { style: STYLE[level] || STYLE.neighbourhood, onEachFeature: onArea });
      layer.feature = f;
      (layers[level] || layers.neighbourhood).addLayer(layer);
      if (!parent && level === 'municipality') {
        layer.eachLayer((l) => { l.areaCode = f.properties.code; });
      }
    }
    if (!parent && fc.features.length) {
      map.fitBounds(L.geoJSON(fc).getBounds());
    }
  }

  // Deeper levels as you zoom, only for what is in view.
  function inView(group) {
    const out = [];
    const b = map.getBounds();
    group.eachLayer((g) => {
      if (g.getBounds && b.intersects(g.getBounds()) && g.feature) out.push(g.feature.properties.code);
    });
    return out;
  }
  function zoomed() {
    const z = map.getZoom();
    if (z >= 12) {
      map.addLayer(layers.district);
      inView(layers.municipality).forEach((c) => load(c));
    } else {
      map.removeLayer(layers.district);
    }
    if (z >= 14) {
      map.addLayer(layers.neighbourhood);
      inView(layers.district).forEach((c) => load(c));
    } else {
      map.removeLayer(layers.neighbourhood);
    }
  }
  map.on('zoomend moveend', zoomed);

  function area() {
    if (mode === 'circle' && centre) {
      return { circle: { lat: centre.lat, lon: centre.lng, radius_m: Number($('radius').value) || 0 } };
    }
    if (mode === 'polygon' && polygon.length >= 3) {
      const ring = polygon.map((p) => [p.lng, p.lat]);
      ring.push(ring[0]);
      return { polygon: { type: 'Polygon', coordinates: [ring] } };
    }
    if (mode === 'areas' && selected.size) {
      return { areas: [...selected.keys()] };
    }
    return null;
  }

  // A handle on the circle's edge: drag it to size the circle (the radius field follows; typing
  // a radius moves the handle).
  let handle = null;
  function edgeOf(c, radius) {
    const east = L.latLng(c.lat, c.lng + 0.001);
    const perDegree = c.distanceTo(east) / 0.001;
    return L.latLng(c.lat, c.lng + radius / perDegree);
  }
  function drawCircle() {
    if (circle) map.removeLayer(circle);
    circle = null;
    if (mode === 'circle' && centre) {
      const radius = Number($('radius').value) || 0;
      circle = L.circle(centre, { radius, color: '#a90061' }).addTo(map);
      if (!handle) {
        handle = L.marker(edgeOf(centre, radius), {
          draggable: true,
          keyboard: false,
          title: root.dataset.handleTitle || '',
          icon: L.divIcon({ className: 'radius-handle', iconSize: [16, 16] }),
        }).addTo(map);
        handle.on('drag', () => {
          const r = Math.max(50, Math.round(centre.distanceTo(handle.getLatLng()) / 10) * 10);
          $('radius').value = String(r);
          if (circle) circle.setRadius(r);
        });
        handle.on('dragend', () => {
          handle.setLatLng(edgeOf(centre, Number($('radius').value) || 0));
          changed();
        });
      } else {
        handle.setLatLng(edgeOf(centre, radius));
      }
    } else if (handle) {
      map.removeLayer(handle);
      handle = null;
    }
  }

  let timer = null;
  let seq = 0;
  function changed() {
    draft = null;
    $('send-box').hidden = true;
    clearTimeout(timer);
    timer = setTimeout(count, 200);
  }

  async function count() {
    const a = area();
    const out = $('reach');
    if (!a) {
      out.textContent = root.dataset.noArea;
      return;
    }
    const mine = ++seq;
    const { status, data } = await api('POST', '/api/v1/targeting/count', { area: a, topic: 'urgent' });
    if (mine !== seq) return;
    if (status !== 200) {
      out.textContent = describeError(data);
      return;
    }
    const channels = Object.entries(data.by_channel || {}).map(([ch, n]) => `${ch}: ${n}`).join(' · ');
    const areas = (data.by_area || []).filter((x) => x.level === 'neighbourhood').slice(0, 12).map((x) => `${x.name || x.code} (${x.people})`).join(', ');
    out.innerHTML = '';
    const p = document.createElement('p');
    p.id = 'reach-people';
    p.dataset.people = String(data.people);
    p.textContent = `${data.people} ${root.dataset.peopleWord}`;
    const c = document.createElement('p');
    c.id = 'reach-channels';
    c.textContent = channels;
    const n = document.createElement('p');
    n.className = 'small';
    n.textContent = areas;
    out.append(p, c, n);
  }

  map.on('click', (e) => {
    if (mode === 'circle') {
      centre = e.latlng;
      $('lat').value = centre.lat.toFixed(5);
      $('lon').value = centre.lng.toFixed(5);
      drawCircle();
      changed();
    } else if (mode === 'polygon') {
      polygon.push(e.latlng);
      if (polygonLayer) map.removeLayer(polygonLayer);
      polygonLayer = L.polygon(polygon, { color: '#a90061' }).addTo(map);
      changed();
    }
  });

  // Keyboard and exact input: typing the centre or the radius moves the circle.
  for (const id of ['lat', 'lon', 'radius']) {
    $(id).addEventListener('input', () => {
      const lat = Number($('lat').value);
      const lon = Number($('lon').value);
      if (mode === 'circle' && $('lat').value && $('lon').value && Number.isFinite(lat) && Number.isFinite(lon)) {
        centre = L.latLng(lat, lon);
      }
      drawCircle();
      changed();
    });
  }
  for (const radio of document.querySelectorAll('input[name=mode]')) {
    radio.addEventListener('change', () => {
      mode = radio.value;
      $('circle-fields').hidden = mode !== 'circle';
      $('polygon-fields').hidden = mode !== 'polygon';
      drawCircle();
      changed();
    });
  }
  $('polygon-clear').addEventListener('click', () => {
    polygon = [];
    if (polygonLayer) map.removeLayer(polygonLayer);
    polygonLayer = null;
    changed();
  });

  function actionBody() {
    const body = {
      kind: $('kind').value,
      status: $('status').value,
      area: area(),
      title: $('title').value,
      body: $('body').value,
    };
    if ($('consent').value.trim()) body.consent = { by: $('consent').value.trim() };
    return body;
  }

  $('make-preview').addEventListener('click', async () => {
    const err = $('form-error');
    err.hidden = true;
    const body = actionBody();
    if (!body.area) {
      err.textContent = root.dataset.noArea;
      err.hidden = false;
      return;
    }
    const { status, data } = await api('POST', '/api/v1/actions', body);
    if (status !== 201) {
      err.textContent = describeError(data);
      err.hidden = false;
      return;
    }
    draft = data;
    const nl = data.preview.nl;
    $('pv-push').textContent = `${nl.title}\n${nl.text}`;
    $('pv-email').textContent = `${nl.title}\n\n${nl.text}`;
    $('pv-sms').textContent = nl.sms.text;
    $('pv-sms-segments').textContent = String(nl.sms.segments);
    $('pv-voice').textContent = nl.voice;
    const en = data.preview.en;
    $('pv-en').textContent = `${en.title}\n${en.text}\n\nSMS (${en.sms.segments}): ${en.sms.text}\n\n${en.voice}`;
    $('send-box').hidden = false;
    $('send').focus();
  });

  $('send').addEventListener('click', () => {
    $('confirm-box').hidden = false;
    $('confirm-send').focus();
  });
  $('cancel-send').addEventListener('click', () => {
    $('confirm-box').hidden = true;
  });
  $('confirm-send').addEventListener('click', async () => {
    if (!draft) return;
    const body = {};
    const consent = $('consent').value.trim();
    if (consent) body.consent = { by: consent };
    const { status, data } = await api('POST', `/api/v1/actions/${draft.id}/send`, body);
    if (status !== 200) {
      $('form-error').textContent = describeError(data);
      $('form-error').hidden = false;
      return;
    }
    window.location.href = `/console/acties/${draft.id}`;
  });

  load(null);
}
