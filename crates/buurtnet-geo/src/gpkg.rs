//! Reading GeoPackage files (OGC GeoPackage 1.x: an SQLite database with `gpkg_contents`,
//! `gpkg_geometry_columns` and geometry blobs made of a "GP" header and WKB). Opened read-only;
//! layers are discovered from the metadata tables, never assumed. The WKB is decoded here with
//! a bounds check on every count before anything is allocated (a general WKB crate sizes its
//! vectors from the counts in the blob, so one corrupt count in a downloaded file would abort
//! the process); coordinates in RD New (EPSG:28992) are converted to WGS84.

use crate::rd::RdToWgs84;
use futures::TryStreamExt;
use geo::{Coord, MapCoords, MultiPolygon};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Row};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum GpkgError {
    #[error("{path} is not a GeoPackage: {message}")]
    NotGpkg { path: PathBuf, message: String },
    #[error("{path}, layer {layer}: {message}")]
    Layer { path: PathBuf, layer: String, message: String },
    #[error("{path}, layer {layer}, feature {code}: {message}")]
    Feature { path: PathBuf, layer: String, code: String, message: String },
}

/// One feature table of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub table: String,
    pub geometry_column: String,
    pub srs_id: i64,
    /// Column names as in the file.
    pub columns: Vec<String>,
}

impl Layer {
    /// The file's name of a column, matched case-insensitively against the candidates in order.
    pub fn column(&self, candidates: &[&str]) -> Option<&str> {
        candidates.iter().find_map(|c| self.columns.iter().find(|k| k.eq_ignore_ascii_case(c)).map(String::as_str))
    }
}

/// One row of a layer: the asked-for attributes as text (`None` for NULL) and its polygons in
/// WGS84 (lon/lat).
#[derive(Debug, Clone)]
pub struct Feature {
    pub values: Vec<Option<String>>,
    pub geometry: MultiPolygon<f64>,
}

/// One row of a point layer: its feature id, the asked-for attributes as text and its point in
/// WGS84 (`None` for an empty geometry).
#[derive(Debug, Clone)]
pub struct PointFeature {
    pub fid: i64,
    pub values: Vec<Option<String>>,
    pub point: Option<Coord<f64>>,
}

/// An open GeoPackage.
pub struct Gpkg {
    path: PathBuf,
    conn: SqliteConnection,
    rd: RdToWgs84,
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Gpkg {
    /// Opens the file read-only and checks it is a GeoPackage.
    pub async fn open(path: &Path) -> Result<Gpkg, GpkgError> {
        let not = |message: String| GpkgError::NotGpkg { path: path.into(), message };
        if !path.is_file() {
            return Err(not("no such file".into()));
        }
        let opts = SqliteConnectOptions::new().filename(path).read_only(true).immutable(true).create_if_missing(false);
        let mut conn = opts.connect().await.map_err(|e| not(e.to_string()))?;
        let n: Result<i64, _> = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('gpkg_contents', 'gpkg_geometry_columns')",
        )
        .fetch_one(&mut conn)
        .await;
        match n {
            Ok(2) => {}
            Ok(_) => return Err(not("it has no gpkg_contents and gpkg_geometry_columns tables".into())),
            Err(e) => return Err(not(format!("not a readable SQLite database ({e})"))),
        }
        let rd = RdToWgs84::new().map_err(|e| not(e.to_string()))?;
        Ok(Gpkg { path: path.into(), conn, rd })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The feature layers, from `gpkg_contents` and `gpkg_geometry_columns`, with their columns.
    pub async fn layers(&mut self) -> Result<Vec<Layer>, GpkgError> {
        let rows = sqlx::query(
            "SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c \
             JOIN gpkg_geometry_columns g ON g.table_name = c.table_name \
             WHERE c.data_type = 'features' ORDER BY c.table_name",
        )
        .fetch_all(&mut self.conn)
        .await
        .map_err(|e| GpkgError::NotGpkg { path: self.path.clone(), message: e.to_string() })?;
        let mut out = Vec::new();
        for r in rows {
            let table: String = r.try_get(0).map_err(|e| self.bad_meta(e))?;
            let geometry_column: String = r.try_get(1).map_err(|e| self.bad_meta(e))?;
            let srs_id: i64 = r.try_get(2).map_err(|e| self.bad_meta(e))?;
            let columns = self.columns(&table).await?;
            out.push(Layer { table, geometry_column, srs_id, columns });
        }
        Ok(out)
    }

    fn bad_meta(&self, e: sqlx::Error) -> GpkgError {
        GpkgError::NotGpkg { path: self.path.clone(), message: format!("gpkg_geometry_columns: {e}") }
    }

    /// Column names of any table (also attribute tables such as a register), empty when the table
    /// does not exist.
    pub async fn columns(&mut self, table: &str) -> Result<Vec<String>, GpkgError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info({})", quote(table))))
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| GpkgError::Layer { path: self.path.clone(), layer: table.into(), message: e.to_string() })?;
        rows.iter().map(|r| r.try_get::<String, _>("name")).collect::<Result<_, _>>().map_err(|e| GpkgError::Layer {
            path: self.path.clone(),
            layer: table.into(),
            message: e.to_string(),
        })
    }

    /// Rows of a plain table, the given columns as text.
    pub async fn table_rows(&mut self, table: &str, columns: &[&str]) -> Result<Vec<Vec<Option<String>>>, GpkgError> {
        let sql = format!("SELECT {} FROM {}", text_columns(columns), quote(table));
        let err = |e: sqlx::Error| GpkgError::Layer { path: self.path.clone(), layer: table.into(), message: e.to_string() };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut self.conn).await.map_err(err)?;
        rows.iter()
            .map(|r| (0..columns.len()).map(|i| r.try_get::<Option<String>, _>(i)).collect::<Result<Vec<_>, _>>())
            .collect::<Result<_, _>>()
            .map_err(err)
    }

    /// Every feature of a layer with the given attribute columns (as text) and its geometry as
    /// WGS84 polygons; `key` (one of `columns`) names the feature in errors. Features without a
    /// geometry are skipped; points and lines are an error.
    pub async fn features(&mut self, layer: &Layer, columns: &[&str], key: usize) -> Result<Vec<Feature>, GpkgError> {
        let transform = self.transform(layer)?;
        let sql = format!("SELECT {}, {} FROM {}", text_columns(columns), quote(&layer.geometry_column), quote(&layer.table));
        let path = self.path.clone();
        let layer_err = |message: String| GpkgError::Layer { path: path.clone(), layer: layer.table.clone(), message };
        let mut out = Vec::new();
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut self.conn);
        while let Some(r) = rows.try_next().await.map_err(|e| layer_err(e.to_string()))? {
            let values = (0..columns.len())
                .map(|i| r.try_get::<Option<String>, _>(i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| layer_err(e.to_string()))?;
            let blob: Option<Vec<u8>> = r.try_get(columns.len()).map_err(|e| layer_err(e.to_string()))?;
            let Some(blob) = blob.filter(|b| !b.is_empty()) else { continue };
            let code = values.get(key).cloned().flatten().unwrap_or_default();
            let feature_err = |message: String| GpkgError::Feature {
                path: path.clone(),
                layer: layer.table.clone(),
                code: code.clone(),
                message,
            };
            let polygons = decode_polygons(&blob).map_err(feature_err)?;
            let geometry = if transform {
                let rd = &self.rd;
                polygons
                    .try_map_coords(|c| rd.convert(c.x, c.y).map(|(x, y)| Coord { x: round7(x), y: round7(y) }))
                    .map_err(|e| feature_err(e.to_string()))?
            } else {
                polygons
            };
            out.push(Feature { values, geometry });
        }
        Ok(out)
    }
}

impl Gpkg {
    /// Up to `limit` features of a point layer whose feature id is above `after`, in feature-id
    /// order, with the given attribute columns (as text) and the point in WGS84: a file of
    /// millions of rows is read a batch at a time. Anything but a point is an error naming the
    /// feature.
    pub async fn point_batch(
        &mut self,
        layer: &Layer,
        columns: &[&str],
        after: i64,
        limit: usize,
    ) -> Result<Vec<PointFeature>, GpkgError> {
        let transform = self.transform(layer)?;
        let sql = format!(
            "SELECT rowid, {}, {} FROM {} WHERE rowid > $1 ORDER BY rowid LIMIT $2",
            text_columns(columns),
            quote(&layer.geometry_column),
            quote(&layer.table)
        );
        let path = self.path.clone();
        let layer_err = |message: String| GpkgError::Layer { path: path.clone(), layer: layer.table.clone(), message };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| layer_err(e.to_string()))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let fid: i64 = r.try_get(0).map_err(|e| layer_err(e.to_string()))?;
            let values = (1..=columns.len())
                .map(|i| r.try_get::<Option<String>, _>(i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| layer_err(e.to_string()))?;
            let feature_err = |message: String| GpkgError::Feature {
                path: path.clone(),
                layer: layer.table.clone(),
                code: format!("fid {fid}"),
                message,
            };
            let blob: Option<Vec<u8>> = r.try_get(columns.len() + 1).map_err(|e| layer_err(e.to_string()))?;
            let point = match blob.filter(|b| !b.is_empty()) {
                None => None,
                Some(blob) => match decode_point(&blob).map_err(feature_err)? {
                    None => None,
                    Some(c) if transform => {
                        let (x, y) = self.rd.convert(c.x, c.y).map_err(|e| feature_err(e.to_string()))?;
                        Some(Coord { x: round7(x), y: round7(y) })
                    }
                    Some(c) => Some(c),
                },
            };
            out.push(PointFeature { fid, values, point });
        }
        Ok(out)
    }

    /// Whether the layer's coordinates need converting from RD New; other systems are refused.
    fn transform(&self, layer: &Layer) -> Result<bool, GpkgError> {
        match layer.srs_id {
            28992 => Ok(true),
            4326 => Ok(false),
            other => Err(GpkgError::Layer {
                path: self.path.clone(),
                layer: layer.table.clone(),
                message: format!("coordinates in EPSG:{other}; only EPSG:28992 (RD New) and EPSG:4326 are read"),
            }),
        }
    }
}

fn text_columns(columns: &[&str]) -> String {
    columns.iter().map(|c| format!("CAST({} AS TEXT)", quote(c))).collect::<Vec<_>>().join(", ")
}

/// 1e-7 degrees is about 1 cm: more digits only make the stored text longer.
fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// A GeoPackage geometry blob (GP header + WKB) as polygons. Empty geometries give an empty
/// multipolygon; anything but (multi)polygons is an error.
pub fn decode_polygons(blob: &[u8]) -> Result<MultiPolygon<f64>, String> {
    let Some(mut reader) = wkb_of(blob)? else {
        return Ok(MultiPolygon(Vec::new()));
    };
    let mut polygons = Vec::new();
    reader.geometry(&mut polygons, 0)?;
    Ok(MultiPolygon(polygons))
}

/// A GeoPackage geometry blob holding a point (or a multipoint of one) as its coordinate, `None`
/// for an empty geometry; anything else is an error.
pub fn decode_point(blob: &[u8]) -> Result<Option<Coord<f64>>, String> {
    let Some(mut reader) = wkb_of(blob)? else {
        return Ok(None);
    };
    reader.point_geometry(true)
}

/// The WKB after a GeoPackage blob's header, `None` when the header marks it empty.
fn wkb_of(blob: &[u8]) -> Result<Option<Wkb<'_>>, String> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err("the geometry is not a GeoPackage geometry blob (no GP header)".into());
    }
    let flags = blob[3];
    if flags & 0b0010_0000 != 0 {
        return Err("extended GeoPackage geometries are not supported".into());
    }
    if flags & 0b0001_0000 != 0 {
        return Ok(None); // the empty-geometry flag
    }
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return Err("invalid envelope code in the GeoPackage header".into()),
    };
    if blob.len() < 8 + envelope + 5 {
        return Err("the geometry blob is truncated".into());
    }
    Ok(Some(Wkb { data: &blob[8 + envelope..], pos: 0 }))
}

/// A cursor over WKB bytes that checks every read.
struct Wkb<'a> {
    data: &'a [u8],
    pos: usize,
}

const WKB_TRUNCATED: &str = "the WKB geometry is truncated";

impl Wkb<'_> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let end = self.pos.checked_add(N).ok_or(WKB_TRUNCATED)?;
        let slice = self.data.get(self.pos..end).ok_or(WKB_TRUNCATED)?;
        self.pos = end;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u32(&mut self, little: bool) -> Result<u32, String> {
        let b = self.bytes::<4>()?;
        Ok(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    }

    fn f64(&mut self, little: bool) -> Result<f64, String> {
        let b = self.bytes::<8>()?;
        Ok(if little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) })
    }

    /// A count that claims no more items than the remaining bytes can hold.
    fn count(&mut self, little: bool, item_bytes: usize) -> Result<usize, String> {
        let n = self.u32(little)? as usize;
        let left = self.data.len() - self.pos;
        if n.saturating_mul(item_bytes) > left {
            return Err(WKB_TRUNCATED.into());
        }
        Ok(n)
    }

    /// A geometry's byte order, type (without dimension flags) and coordinate count per point.
    fn header(&mut self) -> Result<(bool, u32, usize), String> {
        let little = match self.bytes::<1>()?[0] {
            0 => false,
            1 => true,
            _ => return Err("invalid WKB byte order".into()),
        };
        let raw = self.u32(little)?;
        // ISO (1000 Z, 2000 M, 3000 ZM) and extended (high bits) dimension flags.
        let (mut z, mut m) = (raw & 0x8000_0000 != 0, raw & 0x4000_0000 != 0);
        let iso = raw & 0x0FFF_FFFF;
        match iso / 1000 {
            0 => {}
            1 => z = true,
            2 => m = true,
            3 => (z, m) = (true, true),
            _ => return Err(format!("unknown WKB geometry type {raw}")),
        }
        let dims = 2 + usize::from(z) + usize::from(m);
        Ok((little, iso % 1000, dims))
    }

    /// One point (or a multipoint holding one); an empty point (NaN coordinates) is `None`.
    fn point_geometry(&mut self, multi_allowed: bool) -> Result<Option<Coord<f64>>, String> {
        let (little, kind, dims) = self.header()?;
        match kind {
            1 => {
                let x = self.f64(little)?;
                let y = self.f64(little)?;
                for _ in 2..dims {
                    self.f64(little)?;
                }
                if x.is_nan() && y.is_nan() {
                    return Ok(None);
                }
                if !x.is_finite() || !y.is_finite() {
                    return Err("a coordinate is not a finite number".into());
                }
                Ok(Some(Coord { x, y }))
            }
            4 if multi_allowed => match self.count(little, 21)? {
                0 => Ok(None),
                1 => self.point_geometry(false),
                n => Err(format!("expected one point, found a multipoint of {n}")),
            },
            other => Err(format!("expected a Point, found WKB geometry type {other}")),
        }
    }

    /// One geometry (polygon, multipolygon or collection of them), appending its polygons.
    fn geometry(&mut self, out: &mut Vec<geo::Polygon<f64>>, depth: u32) -> Result<(), String> {
        if depth > 8 {
            return Err("geometry collections nested too deeply".into());
        }
        let (little, kind, dims) = self.header()?;
        match kind {
            3 => {
                let p = self.polygon(little, dims)?;
                out.extend(p);
            }
            6 | 7 => {
                let n = self.count(little, 5)?;
                for _ in 0..n {
                    self.geometry(out, depth + 1)?;
                }
            }
            1 | 2 | 4 | 5 => return Err("expected a Polygon or MultiPolygon, found points or lines".into()),
            other => return Err(format!("unsupported WKB geometry type {other}")),
        }
        Ok(())
    }

    fn polygon(&mut self, little: bool, dims: usize) -> Result<Option<geo::Polygon<f64>>, String> {
        let rings = self.count(little, 4)?;
        let mut parsed = Vec::with_capacity(rings);
        for _ in 0..rings {
            let n = self.count(little, 8 * dims)?;
            let mut coords = Vec::with_capacity(n);
            for _ in 0..n {
                let x = self.f64(little)?;
                let y = self.f64(little)?;
                for _ in 2..dims {
                    self.f64(little)?;
                }
                if !x.is_finite() || !y.is_finite() {
                    return Err("a coordinate is not a finite number".into());
                }
                coords.push(Coord { x, y });
            }
            parsed.push(geo::LineString(coords));
        }
        let mut rings = parsed.into_iter();
        Ok(rings.next().filter(|r| !r.0.is_empty()).map(|exterior| geo::Polygon::new(exterior, rings.collect())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(wkb: &[u8]) -> Vec<u8> {
        let mut b = b"GP".to_vec();
        b.push(0);
        b.push(1); // little endian, no envelope
        b.extend(28992i32.to_le_bytes());
        b.extend(wkb);
        b
    }

    fn square_wkb() -> Vec<u8> {
        let mut w = vec![1u8];
        w.extend(3u32.to_le_bytes()); // polygon
        w.extend(1u32.to_le_bytes());
        w.extend(5u32.to_le_bytes());
        for (x, y) in [(0.0f64, 0.0f64), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (0.0, 0.0)] {
            w.extend(x.to_le_bytes());
            w.extend(y.to_le_bytes());
        }
        w
    }

    fn point_wkb(x: f64, y: f64, z: Option<f64>) -> Vec<u8> {
        let mut w = vec![1u8];
        w.extend(if z.is_some() { 1001u32 } else { 1u32 }.to_le_bytes());
        w.extend(x.to_le_bytes());
        w.extend(y.to_le_bytes());
        if let Some(z) = z {
            w.extend(z.to_le_bytes());
        }
        w
    }

    #[test]
    fn reads_points_and_refuses_other_shapes() {
        assert_eq!(
            decode_point(&blob(&point_wkb(136_000.5, 455_000.25, None))).unwrap(),
            Some(Coord { x: 136_000.5, y: 455_000.25 })
        );
        assert_eq!(decode_point(&blob(&point_wkb(1.0, 2.0, Some(3.0)))).unwrap(), Some(Coord { x: 1.0, y: 2.0 }));
        assert_eq!(decode_point(&blob(&point_wkb(f64::NAN, f64::NAN, None))).unwrap(), None);
        let mut multi = vec![1u8];
        multi.extend(4u32.to_le_bytes());
        multi.extend(1u32.to_le_bytes());
        multi.extend(point_wkb(5.0, 6.0, None));
        assert_eq!(decode_point(&blob(&multi)).unwrap(), Some(Coord { x: 5.0, y: 6.0 }));
        assert!(decode_point(&blob(&square_wkb())).unwrap_err().contains("expected a Point"));
        let full = blob(&point_wkb(1.0, 2.0, None));
        for cut in 0..full.len() {
            assert!(decode_point(&full[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn reads_a_polygon_and_refuses_garbage() {
        let mp = decode_polygons(&blob(&square_wkb())).unwrap();
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].exterior().0.len(), 5);
        assert!(decode_polygons(b"XX").is_err());
        assert!(decode_polygons(&blob(&[1, 3, 0])).is_err());
        let full = blob(&square_wkb());
        for cut in 0..full.len() {
            assert!(decode_polygons(&full[..cut]).is_err(), "cut at {cut}");
        }
        // A ring claiming four billion points in a tiny blob: an error, not an allocation.
        let mut huge = vec![1u8];
        huge.extend(3u32.to_le_bytes());
        huge.extend(1u32.to_le_bytes());
        huge.extend(u32::MAX.to_le_bytes());
        assert!(decode_polygons(&blob(&huge)).is_err());
    }
}
