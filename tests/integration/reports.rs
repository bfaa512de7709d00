//! Reports (#23): live actions and enquiries together with imported history, against figures
//! counted by hand; coverage with unknown inhabitants; the cost share to the cent; the "< 5"
//! rule beyond a municipality's own staff; and bad history files and parameters.

use crate::alerting::{AMERSFOORT, UTRECHT, get, post, resident, settle};
use crate::common::{Backend, TestApp, oracle_index, unique};
use crate::enquiries::burglary;
use crate::on_both_backends;
use buurtnet_domain::{Channel, Topic};
use serde_json::{Value, json};
use std::process::Command;

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}-{name}", unique("history")));
    std::fs::write(&path, text).unwrap();
    path
}

/// `buurtnet import-history …` against the app's database.
fn import_history(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .args(["--database-url", &app.state.config.database_url, "import-history"])
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

async fn csv_of(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let r = app.client.get(app.at(path)).bearer_auth(token).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

fn row<'a>(v: &'a Value, key: &str, value: &str) -> &'a Value {
    v["rows"].as_array().unwrap().iter().find(|r| r[key] == value).unwrap_or_else(|| panic!("no row {key}={value}: {v}"))
}

const ACTIONS_CSV: &str = "reference,region,municipality,kind,level,sent_at,closed_at,recipients,outcome
MN-2026-001,RE03,GM0307,missing_person,local,2026-11-05 10:00,2026-11-05 12:00,1200,indirect
MN-2026-002,RE03,GM0307,runaway_child,regional,2026-10-10T08:00:00+02:00,2026-10-10T09:30:00+02:00,5400,direct
MN-2026-003,RE03,GM0344,vehicle,local,2026-11-07 21:00,2026-11-07 22:00,800,none
";

on_both_backends!(
    action_and_enquiry_reports_mix_live_figures_and_history,
    coverage_and_cost_share,
    bad_history_and_parameters_are_refused
);

async fn action_and_enquiry_reports_mix_live_figures_and_history(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dispatcher = app.staff_token("dispatcher", "NL").await;
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    let region = app.staff_token("regional-coordinator", "RE03").await;
    assert_eq!(oracle_index().place_of("GM0307").police_unit, Some("RE03"), "the test's geography");
    resident(&app, AMERSFOORT, &[Channel::Email, Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;

    // Live: A closed as a direct success after 30 minutes, B without success after 60, and an
    // exercise that is no figure. All in November 2026 (the test clock's month).
    let area = json!({"circle": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "radius_m": 1500}});
    let mut ids = Vec::new();
    for status in ["actual", "actual", "exercise"] {
        let (s, v) = post(
            &app,
            &dispatcher,
            "/api/v1/actions",
            &json!({
            "kind": "missing_person", "status": status, "area": area,
            "title": "Man vermist", "body": "Kees (82) wordt vermist.", "consent": {"by": "dochter"}}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_i64().unwrap();
        let (s, v) = post(&app, &dispatcher, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
        assert_eq!(s, 200, "{v}");
        settle(&app, &dispatcher, id).await;
        ids.push(id);
    }
    app.clock.advance(chrono::Duration::minutes(30));
    for (id, outcome) in [(ids[0], "direct"), (ids[2], "direct")] {
        let (s, v) = post(&app, &dispatcher, &format!("/api/v1/actions/{id}/close"), &json!({"outcome": outcome})).await;
        assert_eq!(s, 200, "{v}");
    }
    app.clock.advance(chrono::Duration::minutes(30));
    let (s, v) = post(&app, &dispatcher, &format!("/api/v1/actions/{}/close", ids[1]), &json!({"outcome": "none"})).await;
    assert_eq!(s, 200, "{v}");

    // History: October and November in Amersfoort, one in Utrecht.
    let file = write("actions.csv", ACTIONS_CSV);
    let (ok, out) = import_history(&app, &["--actions", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("3 new"), "{out}");
    // Again: idempotent by reference.
    let (ok, out) = import_history(&app, &["--actions", file.to_str().unwrap()]);
    assert!(ok && out.contains("0 new, 3 replaced"), "{out}");
    assert_eq!(app.store.count_rows("history_actions").await.unwrap(), 3);

    let (s, v) = get(&app, &officer, "/api/v1/reports/actions?area=GM0307&from=2026-10&to=2026-11").await;
    assert_eq!(s, 200, "{v}");
    let oct = row(&v, "period", "2026-10");
    assert_eq!((oct["actions"].as_u64(), oct["direct"].as_u64(), oct["direct_pct"].as_f64()), (Some(1), Some(1), Some(100.0)));
    let nov = row(&v, "period", "2026-11");
    // A (direct), B (none), history 001 (indirect); the exercise and Utrecht are not here.
    assert_eq!(
        (nov["actions"].as_u64(), nov["direct"].as_u64(), nov["indirect"].as_u64(), nov["none"].as_u64()),
        (Some(3), Some(1), Some(1), Some(1)),
        "{nov}"
    );
    assert_eq!((nov["direct_pct"].as_f64(), nov["success_pct"].as_f64()), (Some(33.3), Some(66.7)));
    assert_eq!(nov["median_minutes_to_close"], 60, "30, 60 and 120 minutes: {nov}");
    assert_eq!(nov["median_minutes_to_first_message"], 0, "{nov}");
    // Reached: the resident by e-mail and SMS for A and B, and history's 1200.
    assert_eq!(nov["reached"], 1204, "{nov}");
    assert_eq!(nov["delivered_pct"], 100.0, "{nov}");
    let total = &v["total"];
    assert_eq!(total["period"], "total");
    assert_eq!((total["actions"].as_u64(), total["from_history"].as_u64()), (Some(4), Some(2)));
    assert_eq!((total["direct_pct"].as_f64(), total["success_pct"].as_f64()), (Some(50.0), Some(75.0)));
    assert_eq!(total["median_minutes_to_close"], 75, "30, 60, 90, 120: {total}");
    assert_eq!(total["target_pct"], 8.0);

    // By quarter: one row; by municipality over the police unit: Amersfoort and Utrecht apart.
    let (_, q) = get(&app, &region, "/api/v1/reports/actions?area=RE03&from=2026-10&to=2026-11&by=quarter").await;
    assert_eq!(q["rows"].as_array().unwrap().len(), 1, "{q}");
    assert_eq!(row(&q, "period", "2026-Q4")["actions"], 5);
    let (_, m) = get(&app, &region, "/api/v1/reports/actions?area=RE03&from=2026-10&to=2026-11&group=municipality").await;
    let utrecht: Vec<&Value> = m["rows"].as_array().unwrap().iter().filter(|r| r["group"] == "GM0344").collect();
    assert_eq!(utrecht.len(), 1, "{m}");
    assert_eq!(utrecht[0]["none"], 1);
    // Per channel, two e-mails: exact for the municipality's own staff, "< 5" for the region
    // and in any CSV.
    let path = "/api/v1/reports/actions?area=GM0307&from=2026-11&to=2026-11&group=channel";
    let (_, own) = get(&app, &officer, path).await;
    assert_eq!(row(&own, "group", "email")["reached"], 2, "{own}");
    let (_, theirs) = get(&app, &region, &path.replace("GM0307", "RE03")).await;
    assert_eq!(row(&theirs, "group", "email")["reached"], "< 5", "{theirs}");
    let (s, csv) = csv_of(&app, &officer, &format!("{path}&format=csv")).await;
    assert_eq!(s, 200);
    let email_line = csv.lines().find(|l| l.starts_with("2026-11,email,")).unwrap_or_else(|| panic!("{csv}"));
    assert!(email_line.contains("< 5"), "{email_line}");
    assert!(csv.lines().last().unwrap().starts_with("total,all,"), "{csv}");

    // Enquiries: one live (sent, no reply yet) and history in September and November.
    let requester = app.staff_token("requester", "GM0307").await;
    let approver = app.staff_token("approver", "GM0307").await;
    let (s, e) = post(&app, &requester, "/api/v1/enquiries", &burglary()).await;
    assert_eq!(s, 201, "{e}");
    let (s, v) =
        post(&app, &approver, &format!("/api/v1/enquiries/{}/approve", e["id"]), &json!({"version": e["version"]})).await;
    assert_eq!(s, 200, "{v}");
    let file = write(
        "enquiries.csv",
        "reference,municipality,incident_type,occurred_at,sent_at,recipients,replies,relevant_replies
BO-1,GM0307,burglary,2026-09-02 09:00,2026-09-02 11:00,100,10,5
BO-2,GM0307,burglary,2026-11-03 09:00,2026-11-03 10:00,200,0,0
",
    );
    let (ok, out) = import_history(&app, &["--enquiries", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (s, v) = get(&app, &officer, "/api/v1/reports/enquiries?area=GM0307&from=2026-09&to=2026-11").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rows"].as_array().unwrap().len(), 3, "every month, October without enquiries too: {v}");
    let sep = row(&v, "month", "2026-09");
    assert_eq!(
        (sep["enquiries_sent"].as_u64(), sep["reaction_pct"].as_f64(), sep["relevant_pct"].as_f64()),
        (Some(1), Some(100.0), Some(50.0))
    );
    let oct = row(&v, "month", "2026-10");
    assert_eq!((oct["enquiries_sent"].as_u64(), oct["reaction_pct"].clone()), (Some(0), Value::Null));
    let nov = row(&v, "month", "2026-11");
    assert_eq!(
        (nov["enquiries_sent"].as_u64(), nov["enquiries_with_reply"].as_u64(), nov["reaction_pct"].as_f64()),
        (Some(2), Some(0), Some(0.0))
    );
    assert_eq!(nov["median_minutes_to_send"], 120, "60 (history) and 180 (live, the clock moved an hour): {nov}");
    // The total over the whole period: 1 of 3 (not the mean of 100 %, none and 0 %).
    assert_eq!((v["total"]["enquiries_sent"].as_u64(), v["total"]["reaction_pct"].as_f64()), (Some(3), Some(33.3)));
    assert_eq!(v["total"]["replies"], 10);

    // Every read is audited, without figures.
    let audit = app.store.admin_strings("SELECT details FROM audit_log WHERE action = 'report.read'").await.unwrap();
    assert!(audit.len() >= 6 && audit.iter().all(|d| !d.contains("1204")), "{audit:?}");
}

async fn coverage_and_cost_share(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.reports.cost_per_region.insert(
            "RE01".into(),
            buurtnet_server::config::CostRates {
                municipality: buurtnet_domain::reports::RatePerInhabitant(500),
                police: buurtnet_domain::reports::RatePerInhabitant(125),
            },
        );
    })
    .await;
    let officer = app.staff_token("municipality-officer", "GM0344").await;
    let admin = app.staff_token("admin", "NL").await;
    let index = oracle_index();
    let hood = index.locate(UTRECHT.0, UTRECHT.1).neighbourhood.unwrap();
    for _ in 0..3 {
        resident(&app, UTRECHT, &[Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    }
    resident(&app, UTRECHT, &[Channel::Sms, Channel::Push], &[Topic::Urgent], "nl", vec![]).await;
    // The replica answers once it is ready; it must count exactly as the database does.
    app.state.live.catch_up(&app.store).await.unwrap();
    assert!(app.state.live.is_ready());
    let (s, v) = get(&app, &officer, "/api/v1/reports/coverage?area=GM0344&level=neighbourhood").await;
    assert_eq!(s, 200, "{v}");
    let from_db =
        app.store.participants_per_area(buurtnet_store::reports::CoverageLevel::Neighbourhood, Some("GM0344")).await.unwrap();
    assert!(!from_db.is_empty());
    for p in &from_db {
        let r = row(&v, "code", &p.code);
        assert_eq!(
            (r["participants"].as_i64(), r["push"].as_i64(), r["sms"].as_i64(), r["email"].as_i64()),
            (Some(p.participants), Some(p.push), Some(p.sms), Some(p.email)),
            "the replica and the database agree on {}",
            p.code
        );
    }
    let r = row(&v, "code", &hood);
    assert_eq!((r["participants"].as_u64(), r["email"].as_u64(), r["sms"].as_u64()), (Some(4), Some(3), Some(1)), "{r}");
    let inhabitants = index.get(&hood).unwrap().inhabitants.unwrap();
    assert_eq!(r["inhabitants"], inhabitants);
    assert_eq!(r["share_pct"].as_f64(), buurtnet_domain::reports::percentage(4, inhabitants as u64));
    assert_eq!(r["flagged"], true, "4 of {inhabitants} is under 10 %");
    let hoods = index.areas().iter().filter(|a| a.code.starts_with("BU0344")).count();
    assert_eq!(v["rows"].as_array().unwrap().len(), hoods);
    assert_eq!(v["total"]["code"], "GM0344");
    assert_eq!(v["total"]["participants"], 4);
    // The region's view and any CSV: "< 5", and no share that would give the count away.
    let (_, theirs) = get(&app, &admin, "/api/v1/reports/coverage?area=GM0344&level=neighbourhood").await;
    let r = row(&theirs, "code", &hood);
    assert_eq!((r["participants"].as_str(), r["share_pct"].clone()), (Some("< 5"), Value::Null), "{r}");
    let (s, csv) = csv_of(&app, &officer, "/api/v1/reports/coverage?area=GM0344&level=neighbourhood&format=csv").await;
    assert_eq!(s, 200);
    assert!(csv.lines().any(|l| l.starts_with(&format!("{hood},")) && l.contains("< 5")), "{csv}");
    // Unknown inhabitants (CBS suppressed Almere's WK003499): null, not 0 %, and not flagged.
    let (s, v) = get(&app, &admin, "/api/v1/reports/coverage?area=GM0034&level=district").await;
    assert_eq!(s, 200, "{v}");
    let unknown = row(&v, "code", "WK003499");
    assert_eq!(
        (unknown["inhabitants"].clone(), unknown["share_pct"].clone(), unknown["flagged"].clone()),
        (Value::Null, Value::Null, json!(false))
    );

    // Cost share over Midden-Nederland at the default € 0.04 + € 0.04, and RE01 at its own rates.
    let (s, v) = get(&app, &admin, "/api/v1/reports/cost-share?year=2026&area=RE03").await;
    assert_eq!(s, 200, "{v}");
    let amersfoort = row(&v, "code", "GM0307");
    let n = index.get("GM0307").unwrap().inhabitants.unwrap();
    assert_eq!(amersfoort["municipality_eur"].as_f64().unwrap(), (n * 4) as f64 / 100.0);
    assert_eq!(amersfoort["total_eur"].as_f64().unwrap(), (n * 8) as f64 / 100.0);
    let sum: i64 = v["rows"].as_array().unwrap().iter().map(|r| (r["total_eur"].as_f64().unwrap() * 100.0).round() as i64).sum();
    assert_eq!((v["total"]["total_eur"].as_f64().unwrap() * 100.0).round() as i64, sum, "the total adds up to the cent");
    let (s, csv) = csv_of(&app, &admin, "/api/v1/reports/cost-share?year=2026&area=RE01&format=csv").await;
    assert_eq!(s, 200);
    let groningen = csv.lines().find(|l| l.starts_with("2026,GM0014,")).unwrap_or_else(|| panic!("{csv}"));
    let g = index.get("GM0014").unwrap().inhabitants.unwrap();
    let cents = |rate: i64| (rate * g + 50) / 100;
    let euros = |c: i64| format!("{}.{:02}", c / 100, c % 100);
    assert!(
        groningen.ends_with(&format!(",{},{},{}", euros(cents(500)), euros(cents(125)), euros(cents(500) + cents(125)))),
        "{groningen}"
    );
    let last = csv.lines().last().unwrap();
    let total_cents: i64 = csv
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("2026,total"))
        .map(|l| l.rsplit(',').next().unwrap().replace('.', "").parse::<i64>().unwrap())
        .sum();
    assert!(last.starts_with("2026,total RE01,") && last.ends_with(&format!(",{}", euros(total_cents))), "{last}");
}

async fn bad_history_and_parameters_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    let header = "reference,region,municipality,kind,level,sent_at,closed_at,recipients,outcome\n";
    for (line, field) in [
        ("X1,RE03,GM0307,missing_person,local,2026-13-05 10:00,,10,direct", "sent_at"),
        ("X1,RE03,GM9999,missing_person,local,2026-11-05 10:00,,10,direct", "municipality"),
        ("X1,RE03,GM0307,missing_person,local,2026-11-05 10:00,,-4,direct", "recipients"),
        ("X1,RE03,GM0307,ufo,local,2026-11-05 10:00,,4,direct", "kind"),
        ("X1,RE01,GM0307,missing_person,local,2026-11-05 10:00,,4,direct", "municipality"),
    ] {
        let good = "G1,RE03,GM0307,missing_person,local,2026-11-05 10:00,,10,direct\n";
        let file = write("bad.csv", &format!("{header}{good}{line}\n"));
        let (ok, out) = import_history(&app, &["--actions", file.to_str().unwrap()]);
        assert!(!ok, "{line}: {out}");
        assert!(out.contains(&format!("line 3, field {field}")), "{line}: {out}");
        assert!(out.contains("nothing was imported"), "{out}");
    }
    let file = write(
        "bad-enquiries.csv",
        "reference,municipality,incident_type,occurred_at,sent_at,recipients,replies,relevant_replies
B1,GM0307,burglary,2026-09-02 09:00,2026-09-02 11:00,10,12,1
",
    );
    let (ok, out) = import_history(&app, &["--enquiries", file.to_str().unwrap()]);
    assert!(!ok && out.contains("line 2, field replies: 12 replies from 10 recipients"), "{out}");
    let file = write("no-column.csv", "reference,municipality\nB1,GM0307\n");
    let (ok, out) = import_history(&app, &["--enquiries", file.to_str().unwrap()]);
    assert!(!ok && out.contains("field incident_type"), "{out}");
    assert_eq!(app.store.count_rows("history_actions").await.unwrap(), 0, "nothing half-imported");
    assert_eq!(app.store.count_rows("history_enquiries").await.unwrap(), 0);

    for (path, status, field) in [
        ("/api/v1/reports/actions?by=week", 422, "by"),
        ("/api/v1/reports/actions?from=2026-13", 422, "from"),
        ("/api/v1/reports/actions?from=2026-11&to=2026-01", 422, "from"),
        ("/api/v1/reports/actions?group=colour", 422, "group"),
        ("/api/v1/reports/enquiries?format=xml", 422, "format"),
        ("/api/v1/reports/coverage?level=street", 422, "level"),
        ("/api/v1/reports/coverage?area=BU03070100&level=neighbourhood", 422, "level"),
        ("/api/v1/reports/cost-share?year=abc", 422, "year"),
        ("/api/v1/reports/actions?area=XX12", 422, "area"),
    ] {
        let (s, v) = get(&app, &officer, path).await;
        assert_eq!(s, status, "{path}: {v}");
        assert_eq!(v["fields"][0]["field"], field, "{path}: {v}");
    }
    // Outside the caller's scope: as unknown.
    let (s, v) = get(&app, &officer, "/api/v1/reports/coverage?area=GM0344").await;
    assert_eq!(s, 404, "{v}");
    let (s, v) = get(&app, &officer, "/api/v1/reports/actions?area=RE03").await;
    assert_eq!(s, 404, "{v}");
    // Roles without reports.
    let handler = app.staff_token("handler", "GM0307").await;
    let (s, _) = get(&app, &handler, "/api/v1/reports/actions").await;
    assert_eq!(s, 403);
}

/// The reports page in a real browser: the coverage map (one shape per neighbourhood, filled by
/// its class, with a legend and the table beside it), axe-core without serious findings, and
/// nothing that scrolls sideways on a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_page_and_its_coverage_map_in_a_real_browser() {
    use crate::browser_kit::{browser_sized, heading_is, screenshot};
    use crate::console_browser::{no_accessibility_problems, signed_in_on};
    use fantoccini::Locator;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let index = oracle_index();
    let hood = index.locate(UTRECHT.0, UTRECHT.1).neighbourhood.unwrap();
    for _ in 0..6 {
        resident(&app, UTRECHT, &[Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    }
    let file = write("actions.csv", ACTIONS_CSV);
    let (ok, out) = import_history(&app, &["--actions", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    for (width, name) in [(1280, "console-reports"), (390, "console-reports-phone")] {
        let (c, _) = signed_in_on(&app, "municipality-officer", "GM0344", browser_sized(width, 900).await).await;
        c.find(Locator::Id("nav-reports")).await.unwrap().click().await.unwrap();
        heading_is(&c, "Rapportages: Utrecht (GM0344)").await;
        c.goto(&app.at("/console/rapportages?from=2026-10&to=2026-11")).await.unwrap();
        heading_is(&c, "Rapportages: Utrecht (GM0344)").await;
        let shapes = c.find_all(Locator::Css("#coverage-map path[data-area]")).await.unwrap();
        let hoods = index.areas().iter().filter(|a| a.code.starts_with("BU0344")).count();
        assert_eq!(shapes.len(), hoods, "one shape per neighbourhood");
        let mine = c.find(Locator::Css(&format!("#coverage-map path[data-area='{hood}']"))).await.unwrap();
        let share = 600.0 / index.get(&hood).unwrap().inhabitants.unwrap() as f64;
        let expected = buurtnet_server::reports::choropleth::fill(Some(share));
        assert_eq!(mine.attr("fill").await.unwrap().as_deref(), Some(expected));
        let table = c.find(Locator::Id("report-coverage")).await.unwrap().text().await.unwrap();
        assert!(table.contains(&hood) && table.contains('6'), "{table}");
        let actions = c.find(Locator::Id("report-actions")).await.unwrap().text().await.unwrap();
        assert!(actions.contains("2026-11") && actions.contains("Totaal"), "{actions}");
        no_accessibility_problems(&c, name).await;
        let widths = c.execute("return [document.documentElement.scrollWidth, window.innerWidth]", vec![]).await.unwrap();
        assert!(widths[0].as_f64().unwrap() <= widths[1].as_f64().unwrap(), "{name} scrolls sideways: {widths}");
        screenshot(&c, name).await;
        c.close().await.unwrap();
    }
}

/// The quarterly report of a municipality: the page with its summary, the CSV, and the PDF
/// made by the server, rendered to PNG by poppler and read back as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quarterly_report_as_page_csv_and_pdf() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    let file = write("actions.csv", ACTIONS_CSV);
    let (ok, out) = import_history(&app, &["--actions", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    for _ in 0..7 {
        resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    }
    let base = "/api/v1/reports/quarterly/GM0307/2026-Q4";
    let (s, html) = csv_of(&app, &officer, base).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Kwartaalrapportage Amersfoort 2026-Q4"), "{html}");
    assert!(html.contains("In 2026-Q4 liepen in Amersfoort 2 acties (het kwartaal ervoor: 0)."), "{html}");
    assert!(html.contains("1 keer leidde een actie direct tot resultaat en 1 keer indirect"), "{html}");
    assert!(html.contains("Er doen 7 inwoners mee"), "{html}");
    assert!(html.contains("id=\"quarterly-actions\"") && html.contains("<svg"), "a table and a chart");
    let (s, csv) = csv_of(&app, &officer, &format!("{base}?format=csv&table=actions")).await;
    assert_eq!(s, 200);
    assert_eq!(csv.lines().count(), 5, "header, three months and the total: {csv}");
    assert!(csv.lines().last().unwrap().starts_with("total,,2,"), "{csv}");

    let r = app.client.get(app.at(&format!("{base}?format=pdf"))).bearer_auth(&officer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = std::env::temp_dir().join(unique("quarterly"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = Command::new("pdftotext").args(["-layout", path.to_str().unwrap(), "-"]).output().unwrap();
    assert!(text.status.success(), "pdftotext reads it");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Kwartaalrapportage Amersfoort 2026-Q4"), "the title: {text}");
    assert!(text.contains("Samenvatting") && text.contains("maatschappelijk succes"), "{text}");
    assert!(text.contains("Maand") && text.contains("Totaal") && text.contains("2026-11"), "a table: {text}");
    assert!(text.contains("€"), "the euro sign survives the encoding: {text}");
    let png = Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1"])
        .arg(&path)
        .arg(dir.join("page"))
        .output()
        .unwrap();
    assert!(png.status.success(), "{}", String::from_utf8_lossy(&png.stderr));
    let page =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "png")).unwrap();
    let img = image::open(&page).unwrap().to_rgb8();
    // The chart's bars: pixels of the bar colour.
    let bar_pixels = img.pixels().filter(|p| p.0[2] > 140 && p.0[0] < 60 && p.0[1] > 70 && p.0[1] < 120).count();
    assert!(bar_pixels > 100, "the chart's bars are drawn: {bar_pixels} pixels");
    std::fs::copy(&page, concat!(env!("CARGO_MANIFEST_DIR"), "/target/screenshots/quarterly-report-page1.png")).ok();
}

/// After a quarter's end the job announces each municipality's quarterly report to its
/// officers once (a second run sends nothing), with a link into the console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quarterly_report_is_announced_once_after_the_quarter() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.jobs.enabled = false).await;
    app.staff_token("municipality-officer", "GM0307").await;
    app.staff_token("municipality-officer", "GM0307").await;
    app.staff_token("municipality-officer", "GM0344").await;
    app.staff_token("handler", "GM0307").await;
    app.clock.set(chrono::DateTime::parse_from_rfc3339("2026-10-01T07:00:00Z").unwrap().to_utc());
    app.run_jobs().await;
    let officers = app.store.staff_with_role("municipality-officer").await.unwrap();
    assert_eq!(officers.len(), 3);
    for o in &officers {
        let mails = app.sandbox(&o.email).await;
        assert_eq!(mails.len(), 1, "{mails:?}");
        let (name, gm) = if o.scope == "GM0307" { ("Amersfoort", "GM0307") } else { ("Utrecht", "GM0344") };
        assert_eq!(mails[0]["subject"], format!("buurtnet: kwartaalrapportage {name} 2026-Q3"));
        assert!(mails[0]["body"].as_str().unwrap().contains(&format!("/console/rapportages/kwartaal/{gm}/2026-Q3")), "{mails:?}");
    }
    let handler = &app.store.staff_with_role("handler").await.unwrap()[0];
    assert!(app.sandbox(&handler.email).await.is_empty(), "handlers read no reports");
    app.clock.advance(chrono::Duration::hours(2));
    app.run_jobs().await;
    for o in &officers {
        assert_eq!(app.sandbox(&o.email).await.len(), 1, "announced once");
    }
}

on_both_backends!(a_recruitment_campaign_counts_its_sign_ups_by_neighbourhood_and_month);

/// A municipality's recruitment campaign: its link and QR code, sign-ups through the link
/// (only the campaign's id is kept, and only while it runs), per neighbourhood and month.
async fn a_recruitment_campaign_counts_its_sign_ups_by_neighbourhood_and_month(backend: Backend) {
    use crate::common::example_registration;
    let app = TestApp::spawn(backend).await;
    let officer = app.staff_token("municipality-officer", "GM0344").await;
    let other = app.staff_token("municipality-officer", "GM0307").await;
    let admin = app.staff_token("admin", "NL").await;
    let target = oracle_index().locate(52.09, 5.12).district.unwrap();
    let (s, c) = post(
        &app,
        &officer,
        "/api/v1/campaigns",
        &json!({
        "name": "Jongeren in de wijk", "areas": [target], "from": "2026-11-01", "to": "2026-12-31"}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    let link = c["link"].as_str().unwrap().to_string();
    let code = link.split("campagne=").nth(1).unwrap().to_string();
    assert!(link.starts_with(&format!("{}/aanmelden?campagne=", app.url)), "{link}");
    // The sign-up page carries the campaign into its form.
    let page = app.client.get(app.at(&format!("/aanmelden?campagne={code}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("name=\"campagne\" value=\"{code}\"")), "{page}");

    let mut with = example_registration("via-poster@example.org", "+31612340001");
    with["campaign"] = json!(code);
    assert_eq!(app.post_json("/api/v1/participants", &with).await.0, 202);
    assert_eq!(app.post_json("/api/v1/participants", &example_registration("plain@example.org", "+31612340002")).await.0, 202);
    let mut unknown = example_registration("unknown@example.org", "+31612340003");
    unknown["campaign"] = json!("nosuchcode");
    assert_eq!(app.post_json("/api/v1/participants", &unknown).await.0, 202, "an unknown code never stops a sign-up");
    let attributed = app
        .store
        .admin_strings("SELECT CAST(campaign_id AS TEXT) FROM participants WHERE campaign_id IS NOT NULL")
        .await
        .unwrap();
    assert_eq!(attributed, vec![id.to_string()], "only the campaign's id, only for its sign-up");

    let (s, v) = get(&app, &officer, &format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["sign_ups"].as_u64(), v["sign_ups_in_target"].as_u64()), (Some(1), Some(1)), "{v}");
    assert_eq!(v["per_month"], json!([{"month": "2026-11", "sign_ups": 1}]));
    assert!(v["per_neighbourhood"].as_array().unwrap().iter().any(|h| h["targeted"] == true), "{v}");
    // Beyond the municipality's own staff: "< 5".
    let (_, theirs) = get(&app, &admin, &format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(theirs["sign_ups"], "< 5");
    let (s, _) = get(&app, &other, &format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(s, 404, "another municipality's campaign is not there");
    let (_, list) = get(&app, &other, "/api/v1/campaigns").await;
    assert_eq!(list["campaigns"].as_array().unwrap().len(), 0);

    // After the campaign a sign-up through the old poster is not attributed.
    app.clock.set(chrono::DateTime::parse_from_rfc3339("2027-01-02T12:00:00Z").unwrap().to_utc());
    let mut late = example_registration("late@example.org", "+31612340004");
    late["campaign"] = json!(code);
    assert_eq!(app.post_json("/api/v1/participants", &late).await.0, 202);
    let (_, v) = get(&app, &officer, &format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(v["sign_ups"], 1);

    // The QR code for posters, as SVG and PNG.
    let r = app.client.get(app.at(&format!("/api/v1/campaigns/{id}/qr.svg"))).bearer_auth(&officer).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.text().await.unwrap().contains("<svg"));
    let r = app.client.get(app.at(&format!("/api/v1/campaigns/{id}/qr.png"))).bearer_auth(&officer).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    let png = image::load_from_memory(&r.bytes().await.unwrap()).unwrap().to_luma8();
    assert!(png.width() >= 250 && png.pixels().any(|p| p.0[0] == 0) && png.pixels().any(|p| p.0[0] == 255));

    // Bad campaigns, each naming its field; nothing stored.
    let amersfoort = oracle_index().locate(AMERSFOORT.0, AMERSFOORT.1).district.unwrap();
    for (body, field) in [
        (json!({"name": "", "areas": [target], "from": "2026-11-01", "to": "2026-12-31"}), "name"),
        (json!({"name": "X", "areas": [amersfoort], "from": "2026-11-01", "to": "2026-12-31"}), "areas[0]"),
        (json!({"name": "X", "areas": [target], "from": "2026-12-01", "to": "2026-11-01"}), "to"),
        (json!({"name": "X", "areas": [target], "from": "1 november", "to": "2026-12-31"}), "from"),
        (json!({"name": "X", "areas": [], "from": "2026-11-01", "to": "2026-12-31"}), "areas"),
        (json!({"name": 7, "areas": [target], "from": "2026-11-01", "to": "2026-12-31"}), "name"),
    ] {
        let (s, v) = post(&app, &officer, "/api/v1/campaigns", &body).await;
        assert_eq!(s, 422, "{body}: {v}");
        assert_eq!(v["fields"][0]["field"], field, "{body}: {v}");
    }
    let (s, v) = post(
        &app,
        &admin,
        "/api/v1/campaigns",
        &json!({"name": "X", "areas": [target], "from": "2026-11-01", "to": "2026-12-31"}),
    )
    .await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("municipality")), "{v}");
    assert_eq!(app.store.count_rows("campaigns").await.unwrap(), 1);
}

/// A municipality officer makes a campaign in the console and sees its link, QR code and
/// sign-ups; axe-core finds nothing serious, and nothing scrolls sideways on a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_is_made_in_the_console() {
    use crate::browser_kit::{browser_sized, heading_is, screenshot};
    use crate::console_browser::{no_accessibility_problems, signed_in_on};
    use fantoccini::Locator;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let target = oracle_index().locate(UTRECHT.0, UTRECHT.1).district.unwrap();
    for (width, name) in [(1280, "console-campaigns"), (390, "console-campaigns-phone")] {
        let (c, _) = signed_in_on(&app, "municipality-officer", "GM0344", browser_sized(width, 900).await).await;
        c.find(Locator::Id("nav-campaigns")).await.unwrap().click().await.unwrap();
        heading_is(&c, "Wervingscampagnes").await;
        c.find(Locator::Id("c-name")).await.unwrap().send_keys(&format!("Poster {width}")).await.unwrap();
        c.find(Locator::Id("c-areas")).await.unwrap().send_keys(&target).await.unwrap();
        c.execute("document.getElementById('c-from').value='2026-11-01'; document.getElementById('c-to').value='2026-12-31'; return true;", vec![]).await.unwrap();
        c.find(Locator::Id("make-campaign")).await.unwrap().click().await.unwrap();
        let section = crate::browser_kit::text_when(&c, "section.campaign", |t| t.contains(&format!("Poster {width}"))).await;
        assert!(section.contains("/aanmelden?campagne="), "{section}");
        let loaded = c
            .execute("return Array.from(document.querySelectorAll('section.campaign img')).every(i => i.complete && i.naturalWidth > 0)", vec![])
            .await
            .unwrap();
        assert_eq!(loaded, serde_json::json!(true), "the QR codes load");
        no_accessibility_problems(&c, name).await;
        let widths = c.execute("return [document.documentElement.scrollWidth, window.innerWidth]", vec![]).await.unwrap();
        assert!(widths[0].as_f64().unwrap() <= widths[1].as_f64().unwrap(), "{name} scrolls sideways: {widths}");
        screenshot(&c, name).await;
        c.close().await.unwrap();
    }
    assert_eq!(app.store.count_rows("campaigns").await.unwrap(), 2);
}

on_both_backends!(participants_are_asked_once_a_year_and_paused_without_an_answer);

/// The yearly "still with us?": everyone signed up a year ago is asked once, with a link to
/// their own page; who confirms stays, who does not is paused after the grace period (and sees
/// why), and confirming resumes them. The municipality's upkeep report counts it.
async fn participants_are_asked_once_a_year_and_paused_without_an_answer(backend: Backend) {
    use crate::pages::{csrf, page, post_form};
    let app = TestApp::spawn(backend).await;
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    let a = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    let b = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent], "en", vec![]).await;
    // Not asked in their first year; asked once it has passed.
    app.run_jobs().await;
    assert!(app.sandbox(&a.email).await.is_empty());
    app.clock.advance(chrono::Duration::days(366));
    app.run_jobs().await;
    let link = |mails: &[Value]| -> String {
        let body = mails.iter().find(|m| m["subject"].as_str().is_some_and(|s| s.contains("buurtnet: "))).unwrap()["body"]
            .as_str()
            .unwrap()
            .to_string();
        let start = body.find("/mijn/").unwrap();
        body[start..].split_whitespace().next().unwrap().to_string()
    };
    let mails_a = app.sandbox(&a.email).await;
    assert_eq!(mails_a.len(), 1, "{mails_a:?}");
    assert_eq!(mails_a[0]["subject"], "buurtnet: doet u nog mee?");
    let mails_b = app.sandbox(&b.email).await;
    assert_eq!(mails_b[0]["subject"], "buurtnet: still with us?", "in their language");
    // A second run asks nobody again.
    app.clock.advance(chrono::Duration::hours(1));
    app.run_jobs().await;
    assert_eq!(app.sandbox(&a.email).await.len(), 1);

    // A confirms on their page.
    let (s, html) = page(&app, &link(&mails_a)).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"confirm-yes\""), "{html}");
    let (s, html) = post_form(&app, &link(&mails_a), &[("csrf", &csrf(&html)), ("action", "confirm"), ("lang", "nl")]).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Bedankt: je doet weer een jaar mee.") && !html.contains("id=\"confirm-yes\""), "{html}");

    // Past the grace period B is paused, and sees why; A is not.
    app.clock.advance(chrono::Duration::days(30) + chrono::Duration::hours(1));
    app.run_jobs().await;
    let store = app.store.clone();
    let paused = |id: i64| {
        let store = store.clone();
        async move { store.participant(id).await.unwrap().unwrap().participant.paused }
    };
    assert!(!paused(a.id).await);
    assert!(paused(b.id).await);
    let (s, v) = get(&app, &officer, "/api/v1/reports/upkeep?area=GM0307").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["participants"].as_u64(), v["paused_unconfirmed"].as_u64(), v["confirmed"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{v}"
    );
    // B's link (valid for the grace period and a day) still opens the page: the reason and the way back.
    let (s, html) = page(&app, &format!("{}?lang=en", link(&mails_b))).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("We paused your registration because you did not confirm"), "{html}");
    let (s, _) = post_form(&app, &link(&mails_b), &[("csrf", &csrf(&html)), ("action", "confirm"), ("lang", "en")]).await;
    assert_eq!(s, 200);
    assert!(!paused(b.id).await, "confirming resumes");
    let (_, v) = get(&app, &officer, "/api/v1/reports/upkeep?area=GM0307").await;
    assert_eq!((v["paused_unconfirmed"].as_u64(), v["confirmed"].as_u64()), (Some(0), Some(2)), "{v}");
    let (s, v) = get(&app, &officer, "/api/v1/reports/upkeep?area=RE03").await;
    assert_eq!(s, 404, "a municipality officer's scope: {v}");
}

on_both_backends!(a_flood_of_report_requests_gets_429);

/// Reports are heavy reads: a flood from one account is cut off by the staff API limit, with
/// the usual JSON error and `Retry-After`.
async fn a_flood_of_report_requests_gets_429(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.abuse_limits.staff_api = buurtnet_server::config::Limit { per_ip: 0, per_target: 5, window_seconds: 60 };
    })
    .await;
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    for _ in 0..5 {
        let (s, v) = get(&app, &officer, "/api/v1/reports/coverage?level=district").await;
        assert_eq!(s, 200, "{v}");
    }
    let r = app.client.get(app.at("/api/v1/reports/actions")).bearer_auth(&officer).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert!(v["error"].is_string() && v["message"].is_string(), "{v}");
    // Unauthenticated: 401 and nothing of anyone's figures.
    let r = app.client.get(app.at("/api/v1/reports/cost-share")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}
