//! `buurtnet bench reports`: the action, enquiry and coverage reports and the cost share for
//! the whole country on a populated database (e.g. the 3 M participants `bench targeting
//! --keep-sqlite` leaves), after importing N history actions spread over ten years. Medians of
//! several runs; the first (cold) run is printed apart.

use anyhow::Context;
use buurtnet_domain::reports::{Disclosure, Month, PeriodLength};
use buurtnet_domain::{Clock, SystemClock};
use buurtnet_server::reports::{
    ReportArea, Window, actions, cost_share, coverage, enquiries, history_import, quarterly, quarterly_pdf,
};
use buurtnet_server::{App, AppState, Config};
use buurtnet_store::reports::CoverageLevel;
use buurtnet_store::{ConnectOptions, Store};
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Instant;

pub struct ReportsArgs {
    pub database_url: String,
    pub history: u64,
    pub runs: usize,
}

fn history_csv(index: &buurtnet_geo::AreaIndex, n: u64) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let municipalities: Vec<(&str, &str)> = index
        .areas()
        .iter()
        .filter(|a| a.level == buurtnet_domain::AreaLevel::Municipality)
        .filter_map(|a| index.place_of(&a.code).police_unit.map(|u| (a.code.as_str(), u)))
        .collect();
    let kinds = ["missing_person", "runaway_child", "suspect", "vehicle"];
    let outcomes = ["direct", "indirect", "none", "none", "none", ""];
    let mut out = String::from("reference,region,municipality,kind,level,sent_at,closed_at,recipients,outcome\n");
    for i in 0..n {
        let (gm, unit) = municipalities[rng.random_range(0..municipalities.len())];
        let (y, m, d, h) =
            (rng.random_range(2016..2026), rng.random_range(1..=12), rng.random_range(1..=28), rng.random_range(6..22));
        out.push_str(&format!(
            "bench-{i},{unit},{gm},{},local,{y}-{m:02}-{d:02} {h:02}:00,{y}-{m:02}-{d:02} {h:02}:{:02},{},{}\n",
            kinds[rng.random_range(0..kinds.len())],
            rng.random_range(1..60),
            rng.random_range(100..20_000),
            outcomes[rng.random_range(0..outcomes.len())]
        ));
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn timed<F, Fut>(name: &str, runs: usize, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut ms = Vec::new();
    let mut rows = 0;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        rows = f().await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("{name:<48} {rows:>6} rows  first {:>8.1} ms  median {:>8.1} ms", ms[0], median(ms.clone()));
    Ok(())
}

pub async fn bench_reports(args: &ReportsArgs) -> anyhow::Result<()> {
    let store = Store::connect(&args.database_url, &ConnectOptions { create_if_missing: false, ..ConnectOptions::default() })
        .await
        .context("bench reports needs a populated database (--database-url)")?;
    store.migrate().await?;
    let data_dir = tempfile::tempdir()?;
    let config = Config { database_url: args.database_url.clone(), data_dir: data_dir.path().to_path_buf(), ..Config::default() };
    let app = App::new(config, store.clone(), Arc::new(SystemClock), None).await?;
    let state = AppState(Arc::new(app));
    let index = state.areas.current();
    if args.history > 0 {
        let csv = history_csv(&index, args.history);
        let t = Instant::now();
        let now = SystemClock.now().timestamp_millis();
        let done = match history_import::import(&store, &index, history_import::HistoryKind::Actions, csv.as_bytes(), now).await {
            Ok(done) => done,
            Err(history_import::HistoryError::Invalid(errors)) => {
                anyhow::bail!("the generated history is refused: {:?}", &errors[..errors.len().min(5)])
            }
            Err(e) => return Err(e.into()),
        };
        println!(
            "imported {} history actions ({} new) in {:.1} s",
            done.added + done.replaced,
            done.added,
            t.elapsed().as_secs_f64()
        );
    }
    println!("participants: {}", store.count_rows("participants").await?);
    println!("history actions: {}", store.count_rows("history_actions").await?);
    let utrecht = ReportArea { code: "GM0344".into(), name: "Utrecht".into(), disclosure: Disclosure::Beyond };
    let nl = ReportArea { code: "NL".into(), name: "Nederland".into(), disclosure: Disclosure::Beyond };
    let ten_years = Window { from: Month { year: 2016, month: 1 }, to: Month { year: 2025, month: 12 } };
    let runs = args.runs;
    timed("actions NL, 10 years by month", runs, || async {
        Ok(actions::report(&state, &nl, ten_years, PeriodLength::Month, actions::Split::None).await?.rows.len())
    })
    .await?;
    timed("actions NL, 10 years by year, per municipality", runs, || async {
        Ok(actions::report(&state, &nl, ten_years, PeriodLength::Year, actions::Split::Municipality).await?.rows.len())
    })
    .await?;
    timed("enquiries NL, 10 years", runs, || async { Ok(enquiries::report(&state, &nl, ten_years).await?.rows.len()) }).await?;
    // Coverage: first from the database alone (one run: slow at this size), then from the
    // live replica as a server answers once it has loaded.
    for (label, runs) in [("database", 1), ("replica", runs)] {
        if label == "replica" {
            let t = Instant::now();
            state.live.catch_up(&store).await?;
            println!("replica loaded in {:.1} s", t.elapsed().as_secs_f64());
        }
        timed(&format!("coverage NL per municipality ({label})"), runs, || async {
            Ok(coverage::report(&state, &nl, CoverageLevel::Municipality).await?.rows.len())
        })
        .await?;
        timed(&format!("coverage NL per neighbourhood ({label})"), runs, || async {
            Ok(coverage::report(&state, &nl, CoverageLevel::Neighbourhood).await?.rows.len())
        })
        .await?;
        timed(&format!("coverage GM0344 per neighbourhood ({label})"), runs, || async {
            Ok(coverage::report(&state, &utrecht, CoverageLevel::Neighbourhood).await?.rows.len())
        })
        .await?;
    }
    timed("cost share NL", runs, || async { Ok(cost_share::report(&state, &nl)?.rows.len()) }).await?;
    let q = buurtnet_domain::reports::Quarter { year: 2025, quarter: 4 };
    timed("quarterly report GM0344 2025-Q4 as PDF (bytes/1000)", runs, || async {
        let report = quarterly::build(&state, &utrecht, q).await?;
        Ok(quarterly_pdf::render(&report).len() / 1000)
    })
    .await?;
    Ok(())
}
