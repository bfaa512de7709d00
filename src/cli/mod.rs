//! Command-line interface: parsing, configuration layering, and one module per command.

mod admin;
mod bench;
mod bench_addresses;
mod bench_dense;
mod bench_fanout;
mod bench_replies;
mod bench_reports;
mod bench_targeting;
mod commands;
mod import_addresses;
mod import_gpkg;
mod import_history;
mod settings;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "buurtnet",
    version,
    about = "Alerting residents and neighbours: urgent actions, enquiries, information, conversations"
)]
pub struct Cli {
    /// TOML configuration file (settings: defaults → this file → BUURTNET_… environment → flags).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://FILE (default sqlite://buurtnet.db) or postgres://USER:PASS@HOST/DB.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, global = true)]
    pub bind: Option<String>,
    /// Folder with the CBS GeoJSON files (default ../shared/data/nl when it exists).
    #[arg(long, global = true)]
    pub geodata: Option<PathBuf>,
    /// Log JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server on an existing database (applies pending migrations; never creates one),
    /// with delivery workers in the same process.
    Serve {
        /// Delivery workers in this process (0: none; run `buurtnet worker` elsewhere). Default:
        /// `alerting.workers` (2).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Run delivery workers (and fan-outs) and the job runner, no HTTP server: more processes, one database.
    Worker {
        /// Delivery workers in this process. Default: `alerting.workers` (2).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Migrate, import geography and demo participants, create one staff account per role, and serve.
    Demo {
        /// Share of each neighbourhood's inhabitants to create as participants.
        #[arg(long, default_value_t = 0.10)]
        share: f64,
        /// Prepare the demo data and exit without serving.
        #[arg(long)]
        no_serve: bool,
        /// Delivery workers in this process. Default: `alerting.workers` (2).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Apply the database migrations.
    Migrate,
    /// Import areas: the CBS GeoJSON folder (default: --geodata), or official CBS GeoPackages
    /// (--gpkg FILE…, or --download --year YYYY from PDOK). Each GeoPackage replaces only its own
    /// levels; addresses get their new area codes; servers keep running.
    ImportAreas {
        /// The GeoJSON folder (defaults to --geodata).
        folder: Option<PathBuf>,
        /// Official GeoPackages: Wijk- en buurtkaart, CBS gebiedsindelingen and/or CBS postcode4, of one year.
        #[arg(long, num_args = 1.., conflicts_with = "folder")]
        gpkg: Vec<PathBuf>,
        /// Download the year's Wijk- en buurtkaart and gebiedsindelingen from PDOK (Atom feeds), then import them.
        #[arg(long, requires = "year", conflicts_with_all = ["folder", "gpkg"])]
        download: bool,
        /// The year to download (with --download), or that the files must be of (with --gpkg).
        #[arg(long)]
        year: Option<i32>,
        /// PDOK's download service (default https://service.pdok.nl).
        #[arg(long)]
        pdok_url: Option<String>,
        /// Where downloads go (default: {data_dir}/downloads); an interrupted download resumes from here.
        #[arg(long)]
        download_dir: Option<PathBuf>,
    },
    /// Import official address points (the Kadaster's BAG GeoPackage as PDOK publishes it:
    /// layer verblijfsobject, RD New) into the offline geocoding table. Streamed in batches,
    /// idempotent (an upsert by postcode and house number), optionally limited to one area.
    ImportAddresses {
        /// The BAG GeoPackage (e.g. bag-light.gpkg).
        #[arg(long, required_unless_present = "download", conflicts_with = "download")]
        gpkg: Option<PathBuf>,
        /// Download the GeoPackage first (from --url), resuming an earlier partial download.
        #[arg(long)]
        download: bool,
        /// Where --download fetches from.
        #[arg(long, default_value = buurtnet_targeting::address_import::BAG_GPKG_URL)]
        url: String,
        /// Where downloads go (default: {data_dir}/downloads).
        #[arg(long)]
        download_dir: Option<PathBuf>,
        /// The address layer (default verblijfsobject).
        #[arg(long)]
        layer: Option<String>,
        /// Column names where the file differs: field=column, comma-separated; fields are
        /// postcode, huisnummer, huisletter, toevoeging, openbare_ruimte, woonplaats.
        #[arg(long)]
        columns: Vec<String>,
        /// Keep only addresses inside this municipality (GM…) or province (PV…).
        #[arg(long)]
        within: Option<String>,
    },
    /// Import participants from a CSV file (header: external_id,email,phone,lat,lon,postcode,house_number,address_kind,channels,topics,language).
    ImportParticipants {
        file: PathBuf,
        /// Mark e-mail addresses and phone numbers as verified (the list's owner vouches for them).
        #[arg(long)]
        verified: bool,
        /// Import the good lines and report the bad ones (default: any bad line aborts, nothing is imported).
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Import the history a region brings along (figures for the reports; never sent):
    /// actions (reference,region,municipality,kind,level,sent_at,closed_at,recipients,outcome)
    /// and/or neighbourhood enquiries (reference,municipality,incident_type,occurred_at,sent_at,
    /// recipients,replies,relevant_replies). Each file is checked whole first and imported all or
    /// nothing; a reference imported before is replaced.
    ImportHistory {
        /// CSV of earlier actions.
        #[arg(long, required_unless_present = "enquiries")]
        actions: Option<PathBuf>,
        /// CSV of earlier neighbourhood enquiries.
        #[arg(long)]
        enquiries: Option<PathBuf>,
    },
    /// Copy every table from one database to another (e.g. SQLite → PostgreSQL).
    CopyDb {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Staff accounts and API tokens.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Benchmarks (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match settings::build(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    buurtnet_server::telemetry::init_logging(config.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
