//! Geocoding a postcode + house number to a point. Behind one interface: the offline table of
//! address points (with the PC4 area's interior point as an approximate fallback), optionally
//! preceded by the PDOK Locatieserver (the national geocoder).

use crate::address_book::AddressBook;
use buurtnet_domain::postcode::{HouseNumber, Postcode};
use buurtnet_geo::AreaIndex;
use buurtnet_store::Store;
use geo::InteriorPoint;
use serde::Deserialize;
use std::sync::{Arc, RwLock};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geocoded {
    pub lat: f64,
    pub lon: f64,
    /// True when only the postcode area was found (the point is its interior point).
    pub approximate: bool,
    pub source: &'static str,
}

pub struct Geocoder {
    pdok: Option<Pdok>,
    /// The address table in memory, with the table version it was read at.
    book: RwLock<Option<(String, Arc<AddressBook>)>>,
}

struct Pdok {
    client: reqwest::Client,
    base: String,
}

impl Geocoder {
    pub fn from_config(c: &GeocoderConfig) -> anyhow::Result<Geocoder> {
        let pdok = if c.kind == "pdok" {
            let client = reqwest::Client::builder().timeout(Duration::from_millis(c.timeout_ms)).build()?;
            Some(Pdok { client, base: c.pdok_url.trim_end_matches('/').to_string() })
        } else {
            None
        };
        Ok(Geocoder { pdok, book: RwLock::new(None) })
    }

    pub async fn geocode(
        &self,
        store: &Store,
        areas: &AreaIndex,
        postcode: &Postcode,
        house: &HouseNumber,
    ) -> anyhow::Result<Option<Geocoded>> {
        if let Some(pdok) = &self.pdok {
            match pdok.lookup(postcode, house).await {
                Ok(Some(g)) => return Ok(Some(g)),
                Ok(None) => {}
                // Outage of the national service: fall back to the offline table, log once here.
                Err(e) => tracing::warn!(error = %e, "PDOK Locatieserver lookup failed; using the offline table"),
            }
        }
        if let Some(f) = self.book().and_then(|b| b.get(postcode, house).map(|f| (f.lat, f.lon))) {
            return Ok(Some(Geocoded { lat: f.0, lon: f.1, approximate: false, source: "address_points" }));
        }
        // Not in the book: it may have been imported since the book was read.
        if let Some(p) = store.address_point(postcode.as_str(), house.as_str()).await? {
            return Ok(Some(Geocoded { lat: p.lat, lon: p.lon, approximate: false, source: "address_points" }));
        }
        Ok(pc4_point(areas, postcode.pc4()))
    }
}

impl Geocoder {
    /// The address book in memory, once loaded.
    pub fn book(&self) -> Option<Arc<AddressBook>> {
        match self.book.read() {
            Ok(g) => g.as_ref().map(|(_, b)| b.clone()),
            Err(p) => p.into_inner().as_ref().map(|(_, b)| b.clone()),
        }
    }

    /// Reads the address table into memory when it changed since the last read (any process
    /// may have imported addresses). Returns whether it read.
    pub async fn refresh_book(&self, store: &Store) -> anyhow::Result<bool> {
        let version = store.address_points_version().await?.unwrap_or_default();
        let current = match self.book.read() {
            Ok(g) => g.as_ref().map(|(v, _)| v.clone()),
            Err(p) => p.into_inner().as_ref().map(|(v, _)| v.clone()),
        };
        if current.as_deref() == Some(version.as_str()) {
            return Ok(false);
        }
        let book = Arc::new(AddressBook::load(store).await?);
        tracing::info!(addresses.count = book.len(), addresses.bytes = book.heap_bytes(), "address book loaded");
        if let Ok(mut g) = self.book.write() {
            *g = Some((version, book));
        }
        Ok(true)
    }
}

/// The interior point of a PC4 area: an approximate location for any address in it.
pub fn pc4_point(areas: &AreaIndex, pc4: &str) -> Option<Geocoded> {
    let area = areas.get(pc4)?;
    let p = area.geometry.interior_point()?;
    Some(Geocoded { lat: p.y(), lon: p.x(), approximate: true, source: "pc4" })
}

impl Pdok {
    async fn lookup(&self, postcode: &Postcode, house: &HouseNumber) -> anyhow::Result<Option<Geocoded>> {
        let q = format!("postcode:{} and huisnummer:{}", postcode.as_str(), house.number());
        let resp = self
            .client
            .get(format!("{}/free", self.base))
            .query(&[("q", q.as_str()), ("fq", "type:adres"), ("rows", "1"), ("fl", "centroide_ll,postcode,huisnummer")])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            // The request URL holds the postcode and house number: never in an error (or a log).
            .map_err(reqwest::Error::without_url)?;
        let body: serde_json::Value = resp.json().await.map_err(reqwest::Error::without_url)?;
        let doc = body.pointer("/response/docs/0");
        let Some(point) = doc.and_then(|d| d.get("centroide_ll")).and_then(|v| v.as_str()) else {
            return Ok(None);
        };
        Ok(parse_wkt_point(point).map(|(lon, lat)| Geocoded { lat, lon, approximate: false, source: "pdok" }))
    }
}

/// Parses `POINT(5.38 52.15)` (lon lat).
fn parse_wkt_point(s: &str) -> Option<(f64, f64)> {
    let inner = s.trim().strip_prefix("POINT(")?.strip_suffix(')')?;
    let mut parts = inner.split_whitespace();
    let lon = parts.next()?.parse().ok()?;
    let lat = parts.next()?.parse().ok()?;
    Some((lon, lat))
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeocoderConfig {
    /// `offline` (address table, PC4 centroid fallback) or `pdok` (PDOK Locatieserver first,
    /// then offline).
    pub kind: String,
    /// Base URL of the PDOK Locatieserver.
    pub pdok_url: String,
    /// Time-out for one geocoding request, in milliseconds.
    pub timeout_ms: u64,
    /// A point in no municipality's outline but within this many metres of one (the simplified
    /// outlines leave slivers of a few metres between neighbours) gets the nearest district and
    /// municipality (the chain of a neighbourhood that contains it first) and is recorded as
    /// approximate; further away it is refused as outside the Netherlands. 0 refuses every
    /// point outside the outlines. Default 250.
    pub nearest_area_within_m: f64,
}

impl Default for GeocoderConfig {
    fn default() -> Self {
        GeocoderConfig {
            kind: "offline".into(),
            pdok_url: "https://api.pdok.nl/bzk/locatieserver/search/v3_1".into(),
            timeout_ms: 3000,
            nearest_area_within_m: 250.0,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wkt_points() {
        assert_eq!(super::parse_wkt_point("POINT(5.38 52.15)"), Some((5.38, 52.15)));
        assert_eq!(super::parse_wkt_point("POINT(5.38)"), None);
        assert_eq!(super::parse_wkt_point("LINESTRING(1 2)"), None);
    }
}
