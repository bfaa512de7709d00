//! The targeting replica's upkeep: change-feed pruning, batched catch-up, rebuilds, the
//! background load (counts from the database meanwhile) and the snapshot file, on both backends.

use crate::common::{Backend, TestApp, unique};
use crate::on_both_backends;
use crate::targeting::insert;
use buurtnet_domain::staff::Scope;
use buurtnet_domain::{Channel, Clock};
use buurtnet_server::services::participants;
use buurtnet_store::Store;
use buurtnet_targeting::reach as targeting;
use buurtnet_targeting::replica::{self as live_index, LiveIndex, LiveRow, LoadSource, Snapshot};
use futures::TryStreamExt;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;

on_both_backends!(
    pruning_removes_old_changes_and_a_lagging_replica_reloads,
    deletes_and_pauses_count_towards_a_rebuild,
    deleting_records_the_real_time,
    a_burst_of_changes_is_applied_in_a_few_queries,
    counts_come_from_the_database_while_the_replica_loads,
    a_restart_from_the_snapshot_file_equals_a_fresh_load,
    a_snapshot_of_another_database_or_a_damaged_one_is_ignored
);

const AREAS: [&str; 3] =
    [r#"{"circle": {"lat": 52.16, "lon": 5.39, "radius_m": 3000}}"#, r#"{"areas": ["GM0307"]}"#, r#"{"areas": ["NL"]}"#];

fn plan(app: &TestApp, area: &str) -> targeting::Plan {
    let index = app.state.areas.current();
    let body = json!({"area": serde_json::from_str::<Value>(area).unwrap(), "topic": "urgent", "override_time_windows": true});
    targeting::Plan::new(targeting::parse_request(&body, &index, app.clock.now()).unwrap(), Scope::National, &index)
}

/// The replica view answers exactly like the database for every test area.
async fn assert_exact(app: &TestApp, snap: &Snapshot, what: &str) {
    for area in AREAS {
        let db = targeting::count(&app.store, plan(app, area)).await.unwrap();
        let live = targeting::count_live(snap, &plan(app, area));
        assert_eq!(live, db, "{what}: replica vs database for {area}");
    }
}

/// Every address row in the database, as the replica would hold it (for a quick total).
async fn count_all(store: &Store) -> i64 {
    store.targeting_rows(None).try_fold(0i64, |n, r| async move { Ok(n + i64::from(!r.paused)) }).await.unwrap()
}

async fn pruning_removes_old_changes_and_a_lagging_replica_reloads(b: Backend) {
    let app = TestApp::spawn(b).await;
    let index = app.state.areas.current();
    let people = insert(&app.store, &index, 300, 51).await;
    // Two other processes' replicas: one stays behind with `catch_up`, one with `current`.
    let lagging = LiveIndex::default();
    lagging.catch_up(&app.store).await.unwrap();
    let lagging_request = LiveIndex::default();
    lagging_request.catch_up(&app.store).await.unwrap();
    let behind = lagging.snapshot().seq;
    insert(&app.store, &index, 200, 52).await;
    for p in people.iter().take(20) {
        app.store.delete_participant(p.id, app.state.now_ms()).await.unwrap();
    }
    let last = app.store.last_change().await.unwrap();
    assert!(last > behind);
    // Nothing is old enough yet.
    let (_, deleted) =
        live_index::prune_change_feed(&app.store, app.state.now_ms(), app.state.config.replica.change_retention_minutes)
            .await
            .unwrap();
    let kept = app.store.changes_since(0).await.unwrap();
    assert!(kept.iter().any(|c| c.seq > behind), "recent changes are kept");
    let _ = deleted;
    // Two hours later everything is past the retention bound.
    app.clock.advance(chrono::Duration::hours(2));
    let (through, deleted) =
        live_index::prune_change_feed(&app.store, app.state.now_ms(), app.state.config.replica.change_retention_minutes)
            .await
            .unwrap();
    assert_eq!(through, last);
    assert!(deleted > 0);
    assert!(app.store.changes_since(0).await.unwrap().is_empty());
    assert_eq!(app.store.get_meta("changes_pruned_through").await.unwrap(), Some(last.to_string()));
    // Pruning again is harmless; the feed position survives an empty table.
    assert_eq!(
        live_index::prune_change_feed(&app.store, app.state.now_ms(), app.state.config.replica.change_retention_minutes)
            .await
            .unwrap(),
        (last, 0)
    );
    assert_eq!(app.store.last_change().await.unwrap(), last);
    // A request never reloads: it is told to use the database, and the replica is not ready.
    assert!(lagging_request.current(&app.store).await.unwrap().is_none());
    assert!(!lagging_request.is_ready());
    // The background catch-up reloads instead of applying a gappy feed, and is exact.
    let snap = lagging.catch_up(&app.store).await.unwrap();
    assert_eq!(snap.seq, last);
    assert_eq!(snap.len() as i64, count_all(&app.store).await);
    assert_exact(&app, &snap, "after a reload").await;
    let snap = lagging_request.catch_up(&app.store).await.unwrap();
    assert!(lagging_request.is_ready());
    assert_exact(&app, &snap, "after a reload (request path)").await;
    // Later changes are applied from the feed as usual.
    insert(&app.store, &index, 50, 53).await;
    let snap = lagging.catch_up(&app.store).await.unwrap();
    assert_exact(&app, &snap, "after new changes").await;
}

async fn deletes_and_pauses_count_towards_a_rebuild(b: Backend) {
    let app = TestApp::spawn(b).await;
    let index = app.state.areas.current();
    let people = insert(&app.store, &index, 400, 61).await;
    let live = LiveIndex::default().with_rebuild_at(100);
    live.catch_up(&app.store).await.unwrap();
    for p in people.iter().take(90) {
        app.store.delete_participant(p.id, app.state.now_ms()).await.unwrap();
    }
    for p in people.iter().skip(90).take(30) {
        app.store.update_participant(p.id, "nl", 7, true, app.state.now_ms()).await.unwrap();
    }
    let snap = live.catch_up(&app.store).await.unwrap();
    // 120 changed participants without a single new row: the base was rebuilt.
    assert_eq!(snap.pending_changes(), 0, "deletes and pauses trigger a rebuild");
    assert_eq!(snap.len() as i64, count_all(&app.store).await);
    assert_exact(&app, &snap, "after deletes and pauses").await;
}

async fn deleting_records_the_real_time(b: Backend) {
    let app = TestApp::spawn(b).await;
    let index = app.state.areas.current();
    let people = insert(&app.store, &index, 3, 71).await;
    // Older changes are pruned away, so that only the deletion is left.
    app.clock.advance(chrono::Duration::hours(2));
    live_index::prune_change_feed(&app.store, app.state.now_ms(), app.state.config.replica.change_retention_minutes)
        .await
        .unwrap();
    let record = app.store.participant(people[0].id).await.unwrap().unwrap();
    participants::delete(&app.state, &record).await.unwrap();
    let deletion = app.store.last_change().await.unwrap();
    // Pruning what is older than the retention bound keeps it: its time is now, not 0.
    live_index::prune_change_feed(&app.store, app.state.now_ms(), app.state.config.replica.change_retention_minutes)
        .await
        .unwrap();
    let kept = app.store.changes_since(0).await.unwrap();
    assert_eq!(kept.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![deletion]);
    // It ages like any other change.
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(
        live_index::prune_change_feed(&app.store, app.state.now_ms(), app.state.config.replica.change_retention_minutes)
            .await
            .unwrap(),
        (deletion, 1)
    );
}

async fn a_burst_of_changes_is_applied_in_a_few_queries(b: Backend) {
    let app = TestApp::spawn(b).await;
    let index = app.state.areas.current();
    let people = insert(&app.store, &index, 2000, 81).await;
    let live = LiveIndex::default();
    live.catch_up(&app.store).await.unwrap();
    let before_seq = app.store.last_change().await.unwrap();
    // 2,000 single-participant changes: topic changes, pauses, and some deletions.
    let now = app.state.now_ms();
    for (i, p) in people.iter().enumerate() {
        if i % 10 == 0 {
            app.store.delete_participant(p.id, now).await.unwrap();
        } else {
            app.store.update_participant(p.id, "nl", if i % 2 == 0 { 1 } else { 7 }, i % 7 == 0, now).await.unwrap();
        }
    }
    assert_eq!(app.store.last_change().await.unwrap() - before_seq, 2000);
    let queries = live.queries();
    let started = std::time::Instant::now();
    let snap = live.catch_up(&app.store).await.unwrap();
    let used = live.queries() - queries;
    assert!(used <= 3, "2,000 changes took {used} queries");
    eprintln!("{b:?}: 2,000 changes applied in {used} queries, {:?}", started.elapsed());
    assert_eq!(snap.len() as i64, count_all(&app.store).await);
    assert_exact(&app, &snap, "after a burst").await;
}

async fn counts_come_from_the_database_while_the_replica_loads(b: Backend) {
    // The replica is not loaded at start, as while a big one loads in the background.
    let app = TestApp::spawn_with(b, |c| c.replica.load = false).await;
    let index = app.state.areas.current();
    insert(&app.store, &index, 600, 91).await;
    let (s, ready) = app.get_json("/readyz").await;
    assert_eq!(s, 200);
    assert_eq!((ready["database"].as_str(), ready["targeting_replica"].as_str()), (Some("ok"), Some("off")), "{ready}");
    let token = app.staff_token("dispatcher", "NL").await;
    let count = |area: &'static str| {
        let req = app.client.post(app.at("/api/v1/targeting/count")).bearer_auth(token.clone()).json(
            &json!({"area": serde_json::from_str::<Value>(area).unwrap(), "topic": "urgent", "override_time_windows": true}),
        );
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let mut from_database = Vec::new();
    let mut streams = Vec::new();
    for area in AREAS {
        from_database.push(count(area).await);
        streams.push(recipients(&app, area).await);
    }
    assert!(!app.state.live.is_ready(), "nothing loaded the replica");
    assert!(from_database[2]["people"].as_u64().unwrap() > 0);
    // Once it is loaded the same requests are answered from memory, with the same numbers.
    app.state.live.catch_up(&app.store).await.unwrap();
    assert!(app.state.live.is_ready());
    let (_, ready) = app.get_json("/readyz").await;
    assert_eq!(ready["targeting_replica"].as_str(), Some("ready"), "{ready}");
    for (i, area) in AREAS.into_iter().enumerate() {
        assert_eq!(count(area).await, from_database[i], "{area}");
        assert_eq!(recipients(&app, area).await, streams[i], "{area}");
    }
}

/// The recipients as sending code gets them (replica if ready, else the database).
async fn recipients(app: &TestApp, area: &str) -> BTreeSet<(i64, Channel)> {
    targeting::resolve(&app.store, &app.state.live, plan(app, area))
        .await
        .unwrap()
        .map_ok(|r| (r.participant_id, r.channel))
        .try_collect()
        .await
        .unwrap()
}

/// The rows of a view with interned ids replaced by what they stand for, in address order.
fn rows_of(snap: &Snapshot) -> Vec<(LiveRow, Vec<String>, String)> {
    let mut rows: Vec<(LiveRow, Vec<String>, String)> = snap
        .all()
        .map(|r| {
            let codes = r.codes.iter().map(|c| snap.code_name(*c).unwrap_or("").to_string()).collect();
            let quiet = serde_json::to_string(snap.quiet_hours(r.quiet)).unwrap();
            (LiveRow { quiet: 0, codes: [0; 7], ..r.clone() }, codes, quiet)
        })
        .collect();
    rows.sort_by_key(|r| r.0.address_id);
    rows
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(unique("buurtnet_replica"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn a_restart_from_the_snapshot_file_equals_a_fresh_load(b: Backend) {
    let data = temp_dir().join("data");
    let d = data.clone();
    let first = TestApp::spawn_with(b, move |c| {
        c.data_dir = d;
        c.replica.load = false;
    })
    .await;
    let index = first.state.areas.current();
    let people = insert(&first.store, &index, 500, 101).await;
    first.state.live.catch_up(&first.store).await.unwrap();
    assert_eq!(first.state.live.loaded_from(), Some(LoadSource::Database));
    assert!(first.state.live.save().await.unwrap(), "the snapshot file holds the current view");
    let file = data.join("replica.snapshot");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    }
    // Changes after the save reach a restarted process through the change feed.
    insert(&first.store, &index, 100, 102).await;
    for p in people.iter().take(10) {
        first.store.delete_participant(p.id, first.state.now_ms()).await.unwrap();
    }
    for p in people.iter().skip(10).take(10) {
        first.store.update_participant(p.id, "nl", 7, true, first.state.now_ms()).await.unwrap();
    }
    let url = first.state.config.database_url.clone();
    let d = data.clone();
    let restarted = TestApp::spawn_configured(&url, move |c| {
        c.data_dir = d;
        c.replica.load = false;
    })
    .await;
    let from_file = restarted.state.live.catch_up(&restarted.store).await.unwrap();
    assert_eq!(restarted.state.live.loaded_from(), Some(LoadSource::File));
    let fresh = LiveIndex::default();
    let fresh_snap = fresh.catch_up(&restarted.store).await.unwrap();
    assert_eq!(from_file.seq, fresh_snap.seq);
    assert_eq!(rows_of(&from_file), rows_of(&fresh_snap));
    assert_exact(&restarted, &from_file, "restarted from the file").await;
}

async fn a_snapshot_of_another_database_or_a_damaged_one_is_ignored(b: Backend) {
    let data = temp_dir();
    let d = data.clone();
    let first = TestApp::spawn_with(b, move |c| {
        c.data_dir = d;
        c.replica.load = false;
    })
    .await;
    let index = first.state.areas.current();
    insert(&first.store, &index, 300, 111).await;
    first.state.live.catch_up(&first.store).await.unwrap();
    assert!(first.state.live.save().await.unwrap());
    let file = data.join("replica.snapshot");
    let good = std::fs::read(&file).unwrap();
    let first_id = buurtnet_targeting::replica::snapshot_identity(&first.store).await.unwrap();

    // Another database with the same data folder: its own id, so the file is not used.
    let d = data.clone();
    let other = TestApp::spawn_with(b, move |c| {
        c.data_dir = d;
        c.replica.load = false;
    })
    .await;
    assert_ne!(buurtnet_targeting::replica::snapshot_identity(&other.store).await.unwrap(), first_id);
    insert(&other.store, &other.state.areas.current(), 40, 112).await;
    let snap = other.state.live.catch_up(&other.store).await.unwrap();
    assert_eq!(other.state.live.loaded_from(), Some(LoadSource::Database));
    assert_exact(&other, &snap, "another database's file ignored").await;

    // Truncated, damaged or garbage files of the right database: ignored, never a panic. (Each
    // in a file of its own: the other server saves its replica to the shared one, and each
    // replica loaded here saves itself over its file in the background.)
    let mut damaged = good.clone();
    let at = damaged.len() / 2;
    damaged[at] ^= 0x01;
    let bad = [good[..good.len() / 2].to_vec(), good[..10].to_vec(), damaged, b"not a snapshot at all".to_vec(), Vec::new()];
    for (i, bytes) in bad.into_iter().enumerate() {
        let file = data.join(format!("bad{i}.snapshot"));
        std::fs::write(&file, &bytes).unwrap();
        let live = LiveIndex::with_file(file.clone(), first_id.clone());
        let snap = live.catch_up(&first.store).await.unwrap();
        assert_eq!(live.loaded_from(), Some(LoadSource::Database), "{} bytes", bytes.len());
        assert_exact(&first, &snap, "damaged file ignored").await;
    }
    // The good file still loads.
    let file = data.join("good.snapshot");
    std::fs::write(&file, &good).unwrap();
    let live = LiveIndex::with_file(file.clone(), first_id.clone());
    live.catch_up(&first.store).await.unwrap();
    assert_eq!(live.loaded_from(), Some(LoadSource::File));
}
