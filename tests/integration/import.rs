use crate::common::{Backend, TestApp, fresh_database};
use crate::on_both_backends;
use std::process::Command;

on_both_backends!(
    a_good_file_imports_everything,
    any_bad_line_aborts_naming_line_and_field,
    skip_invalid_imports_the_good_lines,
    points_between_outlines_import_with_the_nearest_areas
);

const HEADER: &str = "external_id,email,phone,lat,lon,postcode,house_number,address_kind,channels,topics,language";

fn run_import(database_url: &str, csv: &str, flags: &[&str]) -> (bool, String, String) {
    run_import_with(database_url, csv, flags, &[])
}

fn run_import_with(database_url: &str, csv: &str, flags: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("list.csv");
    std::fs::write(&file, csv).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .args(["--database-url", database_url, "import-participants"])
        .arg(&file)
        .args(flags)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn a_good_file_imports_everything(b: Backend) {
    let db = fresh_database(b).await;
    let csv = format!(
        "{HEADER}\n\
         m-1,een@example.org,+31612345001,52.1561,5.3878,,,home,sms;email,urgent;enquiry,nl\n\
         m-2,twee@example.org,,,,3522HG,70,home,email,,en\n\
         m-3,,0612345003,,,3811 AB,12,work,sms;voice,information,\n\
         m-4,vier@example.org,+31612345004,52.09,5.12,,,home,push;email,urgent,nl\n\
         m-4,,,52.1561,5.3878,,,work,email,,\n"
    );
    let (ok, stdout, stderr) = run_import(&db, &csv, &["--verified"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("imported 4 participants with 5 addresses from 5 lines"), "{stdout}");
    let app = TestApp::spawn_on(&db).await;
    assert_eq!(app.store.count_rows("participants").await.unwrap(), 4);
    assert_eq!(app.store.count_rows("addresses").await.unwrap(), 5);
    let c = app.store.contact("phone", "+31612345003").await.unwrap().expect("national format normalised to E.164");
    assert!(c.verified_at.is_some(), "--verified marks contact points verified");
    let p = app.store.participant(c.participant_id).await.unwrap().unwrap();
    assert_eq!(p.addresses[0].kind, "work");
    assert!(p.addresses[0].approximate, "3811AB 12 is not in the address table: PC4 fallback");
    assert_eq!(p.participant.topics, 4);
    let id = app.store.participant_by_external_id("m-4").await.unwrap().unwrap();
    let p = app.store.participant(id).await.unwrap().unwrap();
    assert_eq!(p.addresses.len(), 2, "two lines with one external_id are one person with two addresses");
    assert_eq!(p.addresses[1].municipality_code.as_deref(), Some("GM0307"));
    let id = app.store.participant_by_external_id("m-2").await.unwrap().unwrap();
    let p = app.store.participant(id).await.unwrap().unwrap();
    assert_eq!((p.participant.language.as_str(), p.addresses[0].approximate), ("en", false));
    // Without --verified nothing is verified; importing the same people again is refused.
    let (ok, _, stderr) = run_import(&db, &csv, &[]);
    assert!(!ok);
    assert!(stderr.contains("line 2, field email: This email is already registered"), "{stderr}");
    assert!(stderr.contains("line 4, field phone"), "{stderr}");
}

async fn any_bad_line_aborts_naming_line_and_field(b: Backend) {
    let db = fresh_database(b).await;
    let good = "g-1,goed@example.org,+31612345678,52.1561,5.3878,,,home,sms,,nl";
    let cases: Vec<(&str, &str)> = vec![
        ("b-1,not-an-email,,52.1561,5.3878,,,home,email,,nl", "email"),
        ("b-1,,+3161,52.1561,5.3878,,,home,sms,,nl", "phone"),
        ("b-1,a@example.org,,north,5.3878,,,home,email,,nl", "lat"),
        ("b-1,a@example.org,,52.1561,,,,home,email,,nl", "lon"),
        ("b-1,a@example.org,,48.85,2.35,,,home,email,,nl", "lat"),
        ("b-1,a@example.org,,,,0811XX,12,home,email,,nl", "postcode"),
        ("b-1,a@example.org,,,,5028AA,12,home,email,,nl", "postcode"),
        ("b-1,a@example.org,,,,3811AB,,home,email,,nl", "house_number"),
        ("b-1,a@example.org,,,,3811AB,-3,home,email,,nl", "house_number"),
        ("b-1,a@example.org,,52.1561,5.3878,,,castle,email,,nl", "address_kind"),
        ("b-1,a@example.org,,52.1561,5.3878,,,home,fax,,nl", "channels"),
        ("b-1,a@example.org,,52.1561,5.3878,,,home,,,nl", "channels"),
        ("b-1,a@example.org,,52.1561,5.3878,,,home,email,weather,nl", "topics"),
        ("b-1,a@example.org,,52.1561,5.3878,,,home,email,,fr", "language"),
        ("b-1,a@example.org,,52.1561,5.3878,,,home,sms,,nl", "channels"),
        ("b-1,,,52.1561,5.3878,,,home,push,,nl", "email"),
        ("b-1,goed@example.org,,52.1561,5.3878,,,home,email,,nl", "email"),
        ("b-1,a@example.org,,,,,,home,email,,nl", "postcode"),
    ];
    for (line, field) in cases {
        let csv = format!("{HEADER}\n{good}\n{line}\n");
        let (ok, _, stderr) = run_import(&db, &csv, &[]);
        assert!(!ok, "{line} should fail");
        assert!(stderr.contains(&format!("line 3, field {field}:")), "{line}: expected line 3, field {field} in:\n{stderr}");
        assert!(stderr.contains("nothing was imported"), "{stderr}");
    }
    // A wrong header or broken CSV names line 1 / the line.
    let (ok, _, stderr) = run_import(&db, "external_id,email\nx,y\n", &[]);
    assert!(!ok && stderr.contains("line 1: the header has no column 'phone'"), "{stderr}");
    let (ok, _, stderr) = run_import(&db, &format!("{HEADER},shoe_size\n"), &[]);
    assert!(!ok && stderr.contains("unknown column 'shoe_size'"), "{stderr}");
    let (ok, _, stderr) = run_import(&db, &format!("{HEADER}\n{good}\nonly,three,fields\n"), &[]);
    assert!(!ok && stderr.contains("line 3"), "{stderr}");
    let (ok, _, stderr) = run_import(&db, &format!("{HEADER}\n{good}\n{}\n", good.replace("g-1", "g-2")), &[]);
    assert!(!ok && stderr.contains("line 3, field email: Also on line 2"), "{stderr}");

    let store = buurtnet_store::Store::connect(&db, &Default::default()).await.unwrap();
    assert_eq!(store.count_rows("participants").await.unwrap(), 0, "all or nothing");
    assert_eq!(store.count_rows("contacts").await.unwrap(), 0);
    assert_eq!(store.count_rows("addresses").await.unwrap(), 0);
}

async fn skip_invalid_imports_the_good_lines(b: Backend) {
    let db = fresh_database(b).await;
    let csv = format!(
        "{HEADER}\n\
         s-1,een@example.org,,52.1561,5.3878,,,home,email,,nl\n\
         s-2,bad,,52.1561,5.3878,,,home,email,,nl\n\
         s-3,drie@example.org,,52.1561,5.3878,,,home,email,,xx\n\
         s-4,vier@example.org,,52.1561,5.3878,,,home,email,,en\n"
    );
    let (ok, stdout, stderr) = run_import(&db, &csv, &["--skip-invalid"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("imported 2 participants"), "{stdout}");
    assert!(stdout.contains("line 3, field email") && stdout.contains("line 4, field language"), "{stdout}");
    let store = buurtnet_store::Store::connect(&db, &Default::default()).await.unwrap();
    assert_eq!(store.count_rows("participants").await.unwrap(), 2);
    assert!(store.contact("email", "een@example.org").await.unwrap().unwrap().verified_at.is_none());
}

/// Issue #19, finding 16: 52.097089, 5.332963 lies in no municipality's outline (a sliver 8 m from
/// GM0351 and 2 m from WK032702). It imports with the nearest district's chain, marked
/// approximate; a point in the North Sea is refused as before, and so is the sliver point with
/// `geocoder.nearest_area_within_m` set to 0.
async fn points_between_outlines_import_with_the_nearest_areas(b: Backend) {
    let db = fresh_database(b).await;
    let sliver = "v-1,sliver@example.org,,52.097089,5.332963,,,home,email,,nl";
    let sea = "v-2,zee@example.org,,52.6,4.3,,,home,email,,nl";
    let (ok, _, stderr) = run_import(&db, &format!("{HEADER}\n{sliver}\n{sea}\n"), &[]);
    assert!(!ok);
    assert!(stderr.contains("line 3, field lat: This point is not in a Dutch municipality"), "{stderr}");
    assert!(!stderr.contains("line 2"), "the sliver point is not refused: {stderr}");
    let strict = [("BUURTNET_GEOCODER__NEAREST_AREA_WITHIN_M", "0")];
    let (ok, _, stderr) = run_import_with(&db, &format!("{HEADER}\n{sliver}\n"), &[], &strict);
    assert!(!ok && stderr.contains("line 2, field lat: This point is not in a Dutch municipality"), "{stderr}");

    let (ok, stdout, stderr) = run_import(&db, &format!("{HEADER}\n{sliver}\n"), &[]);
    assert!(ok, "{stdout}\n{stderr}");
    let store = buurtnet_store::Store::connect(&db, &Default::default()).await.unwrap();
    let id = store.participant_by_external_id("v-1").await.unwrap().unwrap();
    let a = &store.participant(id).await.unwrap().unwrap().addresses[0];
    assert!(a.approximate);
    assert_eq!((a.district_code.as_deref(), a.municipality_code.as_deref()), (Some("WK032702"), Some("GM0327")));
    assert!(a.police_unit_code.is_some() && a.province_code.is_some(), "{a:?}");
}
