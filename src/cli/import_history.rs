//! `buurtnet import-history --actions FILE.csv` / `--enquiries FILE.csv`: the figures of the
//! years before buurtnet, for the reports. All or nothing per file; idempotent by reference.

use anyhow::Context;
use buurtnet_domain::{Clock, SystemClock};
use buurtnet_server::reports::history_import::{self, HistoryError, HistoryKind};
use buurtnet_store::Store;
use buurtnet_targeting::geography;
use std::path::Path;

pub async fn run(store: &Store, files: &[(HistoryKind, &Path)]) -> anyhow::Result<()> {
    let rows = store.all_areas().await?;
    if rows.is_empty() {
        anyhow::bail!(
            "the database has no areas; run `buurtnet import-areas` first (history names police units and municipalities)"
        );
    }
    let index = buurtnet_geo::AreaIndex::new(geography::records_from_rows(&rows)?);
    for (kind, path) in files {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let now = SystemClock.now().timestamp_millis();
        let what = match kind {
            HistoryKind::Actions => "actions",
            HistoryKind::Enquiries => "enquiries",
        };
        match history_import::import(store, &index, *kind, std::io::BufReader::new(file), now).await {
            Ok(done) => {
                store
                    .audit(
                        now,
                        "cli",
                        "history.imported",
                        None,
                        &serde_json::json!({"what": what, "added": done.added, "replaced": done.replaced}),
                    )
                    .await?;
                println!(
                    "imported {} history {what} from {} ({} new, {} replaced)",
                    done.added + done.replaced,
                    path.display(),
                    done.added,
                    done.replaced
                );
            }
            Err(HistoryError::Invalid(errors)) => {
                for e in errors.iter().take(100) {
                    eprintln!("  {}: {e}", path.display());
                }
                if errors.len() > 100 {
                    eprintln!("  … and {} more", errors.len() - 100);
                }
                anyhow::bail!("{} error(s) in {}; nothing was imported", errors.len(), path.display());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
