//! `buurtnet import-areas --gpkg FILE…` and `--download --year YYYY`.

use anyhow::Context;
use buurtnet_domain::{Clock, SystemClock};
use buurtnet_geo::pdok::{Dataset, FileLink, PDOK_URL, Pdok};
use buurtnet_store::Store;
use buurtnet_targeting::area_import::{self, ImportFile};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

/// Finds the year's files in PDOK's Atom feeds and downloads them (resuming earlier parts).
pub async fn download(pdok_url: Option<&str>, year: i32, dir: &Path) -> anyhow::Result<Vec<ImportFile>> {
    let pdok = Pdok::new(pdok_url.unwrap_or(PDOK_URL))?;
    let mut files = Vec::new();
    let wijkbuurt = pdok.find(Dataset::WijkBuurtKaart, year).await?;
    files.push(fetch(&pdok, &wijkbuurt, dir).await?);
    match pdok.find(Dataset::Gebiedsindelingen, year).await {
        Ok(link) => files.push(fetch(&pdok, &link, dir).await?),
        Err(buurtnet_geo::pdok::PdokError::NotFound(m)) => {
            eprintln!("warning: {m}; provinces, safety regions and police units keep their current membership");
        }
        Err(e) => return Err(e.into()),
    }
    Ok(files)
}

async fn fetch(pdok: &Pdok, link: &FileLink, dir: &Path) -> anyhow::Result<ImportFile> {
    let bar = ProgressBar::new(link.length.unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(link.file_name.clone());
    let path = pdok
        .download(link, dir, |got, total| {
            if let Some(t) = total {
                bar.set_length(t);
            }
            bar.set_position(got);
        })
        .await?;
    bar.finish_and_clear();
    println!("downloaded {} ({} bytes) from {}", path.display(), link.length.map_or("?".into(), |l| l.to_string()), link.url);
    Ok(ImportFile { path, source_url: Some(link.url.to_string()) })
}

/// Imports the files and prints what happened, including staff scopes that name a code that
/// no longer exists.
pub async fn run(store: &Store, files: &[ImportFile], year: Option<i32>) -> anyhow::Result<()> {
    let at = SystemClock.now().timestamp_millis();
    let report = area_import::import_gpkg(store, files, year, at, &at.to_string()).await.context("nothing was imported")?;
    store.audit(at, "cli", "areas.imported", None, &serde_json::json!({"files": report.files, "levels": report.levels})).await?;
    for f in &report.files {
        println!(
            "imported {} ({}, {}): {} areas, {} bytes, sha256 {}",
            f.file_name,
            f.kind,
            f.year.map_or("year unknown".into(), |y| y.to_string()),
            f.areas,
            f.size_bytes,
            f.sha256
        );
    }
    for (level, n) in &report.levels {
        println!("  {level:<14} {n}");
    }
    println!("addresses: {} checked, {} moved to other areas", report.addresses_checked, report.addresses_changed);
    if !report.without_membership.is_empty() {
        println!(
            "warning: {} municipalities have no province or safety region (import the year's CBS gebiedsindelingen): {}",
            report.without_membership.len(),
            report.without_membership.join(", ")
        );
    }
    for s in &report.stale_scopes {
        println!("warning: staff account {} ({}, {}) has scope {}, which no longer exists", s.user_id, s.email, s.role, s.scope);
    }
    println!("{}", area_import::ATTRIBUTION_NL);
    Ok(())
}
