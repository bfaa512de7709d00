//! Dutch geography for buurtnet: reading the CBS area files into [`AreaRecord`]s and answering
//! "which areas contain this point" quickly with an in-memory [`AreaIndex`].

pub mod area;
pub mod banded;
pub mod compose;
pub mod cover_cache;
pub mod gpkg;
pub mod index;
pub mod load;
pub mod official;
pub mod pdok;

pub mod rd;
pub mod synthetic;
pub mod target_area;

pub use area::{AreaRecord, geometry_from_geojson, geometry_to_geojson};
pub use index::{AreaIndex, Located};
pub use load::{GeoLoadError, load_folder};
