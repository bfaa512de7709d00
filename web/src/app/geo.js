// Geometry done on the phone: the coarse cell of "where I am" (the same formula as the
// server's buurtnet_domain::cell::coarse_id) and whether a point lies in an action's area.

/** The Z-order id of grid position (x, y) with `level` bits each. */
function interleave(x, y, level) {
  let z = 0;
  for (let i = 0; i < level; i++) {
    z += ((x >> i) & 1) * 2 ** (2 * i);
    z += ((y >> i) & 1) * 2 ** (2 * i + 1);
  }
  return z;
}

/** The coarse cell number of a point, given the grid the server describes. */
export function coarseCell(lat, lon, grid) {
  const n = 2 ** grid.coarse_level;
  const q = (v, min, max) => Math.min(n - 1, Math.max(0, Math.floor(((v - min) / (max - min)) * n)));
  const x = q(lon, grid.min_lon, grid.max_lon);
  const y = q(lat, grid.min_lat, grid.max_lat);
  return interleave(x, y, grid.coarse_level);
}

/** Metres between two points (haversine). */
export function distanceM(lat1, lon1, lat2, lon2) {
  const r = 6371008.8;
  const rad = Math.PI / 180;
  const dlat = (lat2 - lat1) * rad;
  const dlon = (lon2 - lon1) * rad;
  const a = Math.sin(dlat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dlon / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(a));
}

function inRing(ring, lat, lon) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function inPolygon(rings, lat, lon) {
  return rings.length > 0 && inRing(rings[0], lat, lon) && !rings.slice(1).some((h) => inRing(h, lat, lon));
}

/** Whether a point lies in any of the area's shapes (as the action page API gives them). */
export function areaHolds(shapes, lat, lon) {
  return shapes.some((s) => {
    if (s.everywhere) return true;
    if (s.circle) return distanceM(s.circle.lat, s.circle.lon, lat, lon) <= s.circle.radius_m;
    if (s.polygon) {
      const g = s.polygon;
      if (g.type === "Polygon") return inPolygon(g.coordinates, lat, lon);
      if (g.type === "MultiPolygon") return g.coordinates.some((p) => inPolygon(p, lat, lon));
    }
    return false;
  });
}

/** The bounding box of the shapes: [minLat, minLon, maxLat, maxLon], or null. */
export function bounds(shapes) {
  let b = null;
  const add = (lat, lon) => {
    b = b ? [Math.min(b[0], lat), Math.min(b[1], lon), Math.max(b[2], lat), Math.max(b[3], lon)] : [lat, lon, lat, lon];
  };
  for (const s of shapes) {
    if (s.circle) {
      const dlat = s.circle.radius_m / 111000;
      const dlon = s.circle.radius_m / (111000 * Math.cos((s.circle.lat * Math.PI) / 180));
      add(s.circle.lat - dlat, s.circle.lon - dlon);
      add(s.circle.lat + dlat, s.circle.lon + dlon);
    } else if (s.polygon) {
      const polys = s.polygon.type === "Polygon" ? [s.polygon.coordinates] : s.polygon.coordinates;
      for (const p of polys) for (const [lon, lat] of p[0]) add(lat, lon);
    }
  }
  return b;
}
