//! The commands that need a database: serve, demo, migrate, imports, copy-db, admin.

use super::Command;
use anyhow::Context;
use buurtnet_domain::{Clock, SystemClock};
use buurtnet_server::services::{demo, import};
use buurtnet_server::{App, AppState, Config};
use buurtnet_store::{ConnectOptions, Store};
use buurtnet_targeting::geography;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;

async fn open(config: &Config) -> anyhow::Result<Store> {
    let opts = ConnectOptions { max_connections: config.database_max_connections, ..ConnectOptions::default() };
    let store = Store::connect(&config.database_url, &opts).await?;
    store.migrate().await?;
    Ok(store)
}

/// Opens an existing database for `serve`: never creates one (a mistyped SQLite path must not
/// start an empty service), and refuses a database that was never migrated. Pending
/// migrations of a database that was migrated before are applied (they are additive).
async fn open_existing(config: &Config) -> anyhow::Result<Store> {
    let opts = ConnectOptions {
        max_connections: config.database_max_connections,
        create_if_missing: false,
        ..ConnectOptions::default()
    };
    let shown = buurtnet_server::config::redact_url(&config.database_url);
    let store = Store::connect(&config.database_url, &opts).await.with_context(|| {
        format!("cannot open the database {shown}; to start a new one run `buurtnet migrate` (or `buurtnet demo`) first")
    })?;
    if store.applied_migrations().await? == 0 {
        anyhow::bail!(
            "the database {shown} has never been migrated; run `buurtnet migrate` (and `buurtnet import-areas`) first, or `buurtnet demo`"
        );
    }
    store.migrate().await?;
    Ok(store)
}

fn version_tag() -> String {
    format!("{}", SystemClock.now().timestamp_millis())
}

pub async fn run(command: Command, mut config: Config) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            let store = open(&config).await?;
            println!("database migrated ({})", store.backend().as_str());
        }
        Command::Serve { workers } => {
            config.alerting.workers = workers.unwrap_or(config.alerting.workers);
            let store = open_existing(&config).await?;
            serve(config, store).await?;
        }
        Command::Worker { workers } => {
            config.alerting.workers = workers.unwrap_or(config.alerting.workers);
            anyhow::ensure!(config.alerting.workers > 0, "--workers must be at least 1");
            let store = open_existing(&config).await?;
            worker(config, store).await?;
        }
        Command::Demo { share, no_serve, workers } => {
            config.alerting.workers = workers.unwrap_or(config.alerting.workers);
            anyhow::ensure!((0.0..=1.0).contains(&share), "--share must be between 0 and 1");
            // Plain http on loopback: cookies cannot be Secure there.
            if config.bind.ip().is_loopback() {
                config.secure_cookies = false;
                // The demo's sandbox and metrics are for whoever sits at this machine.
                config.local_operator_access = true;
            }
            // The demo accounts skip the console's second factor; the sign-in page says so.
            config.console.demo_notice = true;
            let store = open(&config).await?;
            prepare_demo(&config, &store, share).await?;
            if !no_serve {
                serve(config, store).await?;
            }
        }
        Command::ImportAreas { folder: _, gpkg, download, year, pdok_url, download_dir } if download || !gpkg.is_empty() => {
            let files = if download {
                let dir = download_dir.unwrap_or_else(|| config.data_dir.join("downloads"));
                let year = year.context("--download needs --year")?;
                super::import_gpkg::download(pdok_url.as_deref(), year, &dir).await?
            } else {
                gpkg.into_iter().map(|path| buurtnet_targeting::area_import::ImportFile { path, source_url: None }).collect()
            };
            let store = open(&config).await?;
            super::import_gpkg::run(&store, &files, year).await?;
        }
        Command::ImportAreas { folder, .. } => {
            let folder = folder.or(config.geodata.clone()).context("give a folder, or set --geodata / BUURTNET_GEODATA")?;
            let store = open(&config).await?;
            let summary = geography::import_areas(&store, Some(&folder), &version_tag()).await?;
            store
                .audit(
                    SystemClock.now().timestamp_millis(),
                    "cli",
                    "areas.imported",
                    None,
                    &serde_json::json!({"areas": summary.areas}),
                )
                .await?;
            println!("imported {} areas and {} address points from {}", summary.areas, summary.address_points, folder.display());
            for (level, n) in summary.by_level {
                println!("  {level:<14} {n}");
            }
        }
        Command::ImportAddresses { gpkg, download: _, url, download_dir, layer, columns, within } => {
            let path = match gpkg {
                Some(path) => path,
                None => {
                    let dir = download_dir.unwrap_or_else(|| config.data_dir.join("downloads"));
                    super::import_addresses::download(&url, &dir).await?
                }
            };
            let store = open_existing(&config).await?;
            let options = buurtnet_targeting::address_import::AddressImportOptions { layer, columns, within };
            super::import_addresses::run(&store, &path, &options).await?;
        }
        Command::ImportParticipants { file, verified, skip_invalid } => {
            let store = open(&config).await?;
            import_participants(
                &store,
                &file,
                import::ImportOptions { verified, skip_invalid, nearest_area_within_m: config.geocoder.nearest_area_within_m },
            )
            .await?;
        }
        Command::ImportHistory { actions, enquiries } => {
            use buurtnet_server::reports::history_import::HistoryKind;
            let store = open_existing(&config).await?;
            let mut files = Vec::new();
            if let Some(a) = &actions {
                files.push((HistoryKind::Actions, a.as_path()));
            }
            if let Some(e) = &enquiries {
                files.push((HistoryKind::Enquiries, e.as_path()));
            }
            super::import_history::run(&store, &files).await?;
        }
        Command::CopyDb { from, to } => {
            let source = Store::connect(&from, &ConnectOptions { create_if_missing: false, ..ConnectOptions::default() })
                .await
                .context("cannot open --from")?;
            source.migrate().await?;
            let target = Store::connect(&to, &ConnectOptions::default()).await.context("cannot open --to")?;
            target.migrate().await?;
            let bar = ProgressBar::new_spinner();
            let report = source.copy_to(&target, |table, n| bar.set_message(format!("{table}: {n} rows"))).await?;
            bar.finish_and_clear();
            for t in &report {
                let n = target.count_rows(t.table).await?;
                anyhow::ensure!(n as u64 == t.rows, "{}: copied {} rows but the target holds {n}", t.table, t.rows);
                println!("{:<18} {:>10} rows", t.table, t.rows);
            }
            // The copy is a database of its own from now on: replica snapshot files of the source
            // must never be taken for it.
            target.execute_admin("DELETE FROM meta WHERE key = 'database_id'").await?;
            buurtnet_targeting::replica::snapshot_identity(&target).await?;
            seal_copied_totp_secrets(&config, &target).await?;
            println!("copied {} tables from {} to {}", report.len(), source.backend().as_str(), target.backend().as_str());
        }
        Command::Bench { command } => {
            super::bench::run(command, config.geodata.as_deref(), &config.database_url).await?;
        }
        Command::Admin { command } => {
            let store = open_existing(&config).await?;
            super::admin::run(&store, &config, command).await?;
        }
    }
    Ok(())
}

/// The copy must hold no staff TOTP secret in clear (a source no server of this version has
/// started on may still have some): with the deployment's secrets file they are sealed with its
/// TOTP key; without one they are removed (those accounts set up their second step again).
async fn seal_copied_totp_secrets(config: &Config, target: &Store) -> anyhow::Result<()> {
    use buurtnet_server::console::totp_seal::{TotpSeal, seal_clear_secrets};
    let clear = target.staff_totp_secrets().await?.into_iter().filter(|(_, s)| !TotpSeal::is_sealed(s)).count();
    if clear == 0 {
        return Ok(());
    }
    let path = config.secrets_path();
    if buurtnet_server::secrets::read(&path)?.is_some() {
        let now = SystemClock.now().timestamp_millis();
        let secrets = buurtnet_server::secrets::load_or_create(&path, now)?;
        let n = seal_clear_secrets(target, &secrets.totp_seal()?).await?;
        println!("encrypted {n} staff TOTP secret(s) on the copy with the key of {}", path.display());
    } else {
        target
            .execute_admin(
                "UPDATE staff_users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL
                 WHERE totp_secret IS NOT NULL AND totp_secret NOT LIKE 'enc1:%'",
            )
            .await?;
        println!(
            "no secrets file at {}: {clear} staff TOTP secret(s) stored in clear were not copied (those accounts set up their second step again)",
            path.display()
        );
    }
    Ok(())
}

async fn serve(config: Config, store: Store) -> anyhow::Result<()> {
    let bind = config.bind;
    let app = App::new(config, store, Arc::new(SystemClock), buurtnet_server::telemetry::prometheus()).await?;
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    let bind = listener.local_addr().unwrap_or(bind);
    tracing::info!(http.bind = %bind, "buurtnet is listening");
    println!("buurtnet is listening on http://{bind}  (sandbox: http://{bind}/sandbox)");
    buurtnet_server::serve(AppState(Arc::new(app)), listener, shutdown_signal()).await?;
    Ok(())
}

/// `buurtnet worker`: fan-outs, delivery workers and the job runner (unless `jobs.enabled` is
/// off), until Ctrl-C (or SIGTERM); the current batch and job are finished first.
async fn worker(config: Config, store: Store) -> anyhow::Result<()> {
    let app = AppState(Arc::new(App::new(config, store, Arc::new(SystemClock), None).await?));
    let running = buurtnet_server::wiring::engine::start(&app, app.config.alerting.workers);
    let jobs = buurtnet_server::jobs::runner::start(&app);
    println!("buurtnet worker running with {} delivery workers", app.config.alerting.workers);
    shutdown_signal().await;
    running.stop().await;
    if let Some(jobs) = jobs {
        jobs.stop().await;
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn prepare_demo(config: &Config, store: &Store, share: f64) -> anyhow::Result<()> {
    if store.count_areas().await? == 0 {
        let summary = geography::import_areas(store, config.geodata.as_deref(), &version_tag()).await?;
        if summary.synthetic {
            println!("no geodata folder found: using the synthetic town Demodorp ({} areas)", summary.areas);
        } else {
            println!("imported {} areas from the CBS files", summary.areas);
        }
    }
    let rows = store.all_areas().await?;
    let index = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        Ok(buurtnet_geo::AreaIndex::new(geography::records_from_rows(&rows)?))
    })
    .await??;
    let now = SystemClock.now().timestamp_millis();
    if store.count_participants().await? == 0 {
        let people = demo::generate_participants(&index, share, 2026, now);
        let bar = ProgressBar::new(people.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("demo participants {bar:40} {pos}/{len} {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let ids = store.insert_participants_with_progress(&people, &mut |n| bar.set_position(n)).await?;
        bar.finish_and_clear();
        // Demo residents who chose app notifications have "installed the app": a device each.
        store.add_participant_devices(&demo::app_users(&people, &ids), now).await?;
        println!(
            "created {} demo participants ({}% of the inhabitants of {} neighbourhoods)",
            people.len(),
            share * 100.0,
            demo::demo_neighbourhoods(&index).len()
        );
    } else {
        println!("the database already holds {} participants; not adding demo participants", store.count_participants().await?);
    }
    let accounts = demo::ensure_staff(store, &index, now).await?;
    println!(
        "\nstaff accounts: sign in at http://{}/console/aanmelden with the e-mail address and password \
         (demo accounts skip the second factor), or use the token as 'Authorization: Bearer <token>':",
        config.bind
    );
    for a in accounts {
        println!(
            "  {:<22} {:<36} scope {:<7} password {:<26} token {}",
            a.role.as_str(),
            a.email,
            a.scope,
            a.password.as_deref().unwrap_or("(unchanged)"),
            a.token
        );
    }
    println!(
        "\ntry an urgent action (with the dispatcher's token; watch the messages arrive at /sandbox):\n  \
         curl -s -H 'Authorization: Bearer DISPATCHER_TOKEN' -H 'Content-Type: application/json' \\\n    \
         -d '{{\"kind\":\"missing_person\",\"status\":\"exercise\",\"area\":{{\"circle\":{{\"lat\":52.1561,\"lon\":5.3878,\"radius_m\":500}}}},\"title\":\"Man vermist\",\"body\":\"Kees (82) wordt vermist.\",\"consent\":{{\"by\":\"dochter\"}}}}' \\\n    \
         http://{}/api/v1/actions     # then POST /api/v1/actions/ID/send",
        config.bind
    );
    println!();
    Ok(())
}

async fn import_participants(store: &Store, file: &std::path::Path, options: import::ImportOptions) -> anyhow::Result<()> {
    let rows = store.all_areas().await?;
    let index = Arc::new(buurtnet_geo::AreaIndex::new(geography::records_from_rows(&rows)?));
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{msg:10} {bar:40} {percent}% {elapsed}").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |stage: &'static str, done: u64, total: u64| {
        bar.set_message(stage);
        bar.set_length(total.max(1));
        bar.set_position(done);
    };
    let started = std::time::Instant::now();
    let now = SystemClock.now().timestamp_millis();
    let result =
        import::import_csv(store, index, std::io::BufReader::with_capacity(1 << 20, f), size, options, now, &progress).await;
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            let secs = started.elapsed().as_secs_f64();
            store
                .audit(
                    now,
                    "cli",
                    "participants.imported",
                    None,
                    &serde_json::json!({"participants": report.participants, "rejected_lines": report.rejected.len()}),
                )
                .await?;
            println!(
                "imported {} participants with {} addresses from {} lines in {:.1} s ({:.0} lines/s)",
                report.participants,
                report.addresses,
                report.lines,
                secs,
                report.lines as f64 / secs.max(1e-9)
            );
            if !report.rejected.is_empty() {
                println!("skipped {} bad line(s):", report.rejected.len());
                for e in &report.rejected {
                    println!("  {e}");
                }
            }
            Ok(())
        }
        Err(import::ImportError::Invalid(errors)) => {
            for e in errors.iter().take(100) {
                eprintln!("  {e}");
            }
            if errors.len() > 100 {
                eprintln!("  … and {} more", errors.len() - 100);
            }
            anyhow::bail!("{} bad line(s); nothing was imported (use --skip-invalid to import the good lines)", errors.len())
        }
        Err(e) => Err(e.into()),
    }
}
