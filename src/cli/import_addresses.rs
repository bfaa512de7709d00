//! `buurtnet import-addresses --gpkg FILE` (or `--download`): official address points into the
//! offline geocoding table, with a progress line and an audit entry.

use anyhow::Context;
use buurtnet_domain::{Clock, SystemClock};
use buurtnet_store::Store;
use buurtnet_targeting::address_import::{self, AddressImportOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

pub async fn download(url: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("BAG GeoPackage");
    let path = address_import::download(url, dir, |got, total| {
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(got);
    })
    .await?;
    bar.finish_and_clear();
    println!("downloaded {} from {url}", path.display());
    Ok(path)
}

pub async fn run(store: &Store, path: &Path, options: &AddressImportOptions) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let bar = ProgressBar::new_spinner();
    let report = address_import::import_addresses(store, path, options, |r| {
        bar.set_message(format!("{} read, {} written", r.read, r.written));
        bar.tick();
    })
    .await
    .with_context(|| format!("importing addresses from {}", path.display()))?;
    bar.finish_and_clear();
    let at = SystemClock.now().timestamp_millis();
    store
        .audit(
            at,
            "cli",
            "addresses.imported",
            None,
            &serde_json::json!({
                "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                "layer": report.layer,
                "within": options.within,
                "read": report.read,
                "written": report.written,
            }),
        )
        .await?;
    println!(
        "imported {} addresses from layer {} of {} in {:.1} s ({} features read)",
        report.written,
        report.layer,
        path.display(),
        started.elapsed().as_secs_f64(),
        report.read
    );
    if let Some(area) = &options.within {
        println!("  {} outside {area}, left out", report.outside);
    }
    for (n, what) in [
        (report.without_point, "without a point"),
        (report.bad_postcode, "without a valid postcode"),
        (report.bad_house_number, "without a valid house number"),
    ] {
        if n > 0 {
            println!("  {n} skipped: {what}");
        }
    }
    for p in &report.problems {
        println!("  e.g. {p}");
    }
    println!("total in the table: {}", store.count_address_points().await?);
    Ok(())
}
