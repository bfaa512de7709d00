//! Targeting against a brute-force oracle, on both backends.

use crate::common::{Backend, TestApp, oracle_index};
use crate::on_both_backends;
use buurtnet_domain::quiet_hours::{QuietHours, dutch_local_time, parse_hhmm};
use buurtnet_domain::registration::{AddressDraft, AddressLocation};
use buurtnet_domain::staff::Scope;
use buurtnet_domain::{AddressKind, Channel, ChannelSet, Clock, Topic, TopicSet};
use buurtnet_geo::AreaIndex;
use buurtnet_server::services::participants::new_address;
use buurtnet_store::{NewContact, NewParticipant, Store};
use buurtnet_targeting::reach::{self as targeting, Plan};
use futures::{StreamExt, TryStreamExt};
use geo::{Distance, Haversine, Intersects, MultiPolygon, Point, Polygon};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

on_both_backends!(
    replica_survives_a_rebuild,
    matches_the_oracle_for_random_areas,
    count_api_scopes_and_errors,
    time_windows_and_overrides,
    processes_sharing_a_database_agree,
    area_codes_reach_everyone_inside_their_outlines,
    count_api_clips_circles_to_the_scope_outline,
    area_codes_of_any_text_are_refused_without_a_panic
);

/// The box the random participants and areas live in (Amersfoort and around).
const BOX: (f64, f64, f64, f64) = (52.10, 52.22, 5.28, 5.50);

/// lat, lon, chosen channels, quiet hours, the area codes stored with it (one per level).
type OracleAddress = (f64, f64, ChannelSet, Vec<QuietHours>, Vec<String>);

/// A generated participant as the oracle sees it.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) id: i64,
    topics: TopicSet,
    paused: bool,
    verified: ChannelSet,
    addresses: Vec<OracleAddress>,
}

fn random_people(index: &AreaIndex, n: usize, seed: u64) -> (Vec<NewParticipant>, Vec<Person>) {
    random_people_at(index, n, seed, |rng| (rng.random_range(BOX.0..BOX.1), rng.random_range(BOX.2..BOX.3)))
}

/// Random people whose first (and some further) addresses are placed by `place`.
fn random_people_at(
    index: &AreaIndex,
    n: usize,
    seed: u64,
    mut place: impl FnMut(&mut StdRng) -> (f64, f64),
) -> (Vec<NewParticipant>, Vec<Person>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Vec::new();
    let mut people = Vec::new();
    for i in 0..n {
        let email = rng.random_bool(0.7);
        let phone = rng.random_bool(0.6) || !email;
        let mobile = rng.random_bool(0.8);
        let verified = |p: f64, rng: &mut StdRng| rng.random_bool(p).then_some(1);
        let mut contacts = Vec::new();
        // Push is reachable only through a registered device: every other person has one.
        let mut mask: ChannelSet = if i % 2 == 0 { [Channel::Push].into_iter().collect() } else { ChannelSet::EMPTY };
        if email {
            let v = verified(0.85, &mut rng);
            if v.is_some() {
                mask.insert(Channel::Email);
            }
            contacts.push(NewContact {
                kind: "email".into(),
                value: format!("p{seed}-{i}@example.org"),
                mobile: false,
                verified_at: v,
            });
        }
        if phone {
            let v = verified(0.85, &mut rng);
            if v.is_some() {
                mask.insert(Channel::Voice);
                if mobile {
                    mask.insert(Channel::Sms);
                }
            }
            contacts.push(NewContact { kind: "phone".into(), value: format!("+316{seed:02}{i:06}"), mobile, verified_at: v });
        }
        let topics: TopicSet = Topic::ALL.into_iter().filter(|_| rng.random_bool(0.7)).collect();
        let topics = if topics.is_empty() { [Topic::Urgent].into_iter().collect() } else { topics };
        let paused = rng.random_bool(0.05);
        let n_addr = [1, 1, 1, 2, 3][rng.random_range(0..5)];
        let mut addresses: Vec<OracleAddress> = Vec::new();
        let mut new_addresses = Vec::new();
        for a in 0..n_addr {
            // Some second addresses sit right next to the first: border duplicates.
            let (lat, lon) = if a > 0 && rng.random_bool(0.5) {
                let (la, lo) = (addresses[0].0, addresses[0].1);
                (la + rng.random_range(-0.0005..0.0005), lo + rng.random_range(-0.0005..0.0005))
            } else {
                place(&mut rng)
            };
            let channels: ChannelSet = Channel::ALL.into_iter().filter(|_| rng.random_bool(0.5)).collect();
            let channels = if channels.is_empty() { [Channel::Push].into_iter().collect() } else { channels };
            let quiet = if rng.random_bool(0.3) {
                vec![QuietHours {
                    channels: vec![Channel::Voice, Channel::Sms],
                    from: parse_hhmm("23:00").unwrap(),
                    to: parse_hhmm("07:00").unwrap(),
                }]
            } else {
                Vec::new()
            };
            let at = index.locate(lat, lon);
            let draft = AddressDraft {
                kind: AddressKind::Home,
                location: AddressLocation::Point { lat, lon },
                channels,
                quiet_hours: quiet.clone(),
            };
            new_addresses.push(new_address(&draft, lat, lon, false, &at));
            let codes = at.codes().into_iter().map(String::from).collect();
            addresses.push((lat, lon, channels, quiet, codes));
        }
        rows.push(NewParticipant {
            external_id: None,
            language: "nl".into(),
            topics: topics.bits(),
            age_confirmed: true,
            paused,
            municipality_code: new_addresses[0].municipality_code.clone(),
            created_at: 0,
            contacts,
            addresses: new_addresses,
        });
        people.push(Person { id: 0, topics, paused, verified: mask, addresses });
    }
    (rows, people)
}

pub(crate) async fn insert(store: &Store, index: &AreaIndex, n: usize, seed: u64) -> Vec<Person> {
    store_people(store, random_people(index, n, seed)).await
}

async fn store_people(store: &Store, (rows, mut people): (Vec<NewParticipant>, Vec<Person>)) -> Vec<Person> {
    let ids = store.insert_participants(&rows).await.unwrap();
    for (p, id) in people.iter_mut().zip(ids) {
        p.id = id;
    }
    let with_device: Vec<i64> = people.iter().filter(|p| p.verified.contains(Channel::Push)).map(|p| p.id).collect();
    store.add_participant_devices(&with_device, 0).await.unwrap();
    people
}

/// An imported area's outline for the oracle (not printed in failure messages).
#[derive(Clone)]
struct Outline(Arc<MultiPolygon<f64>>);

impl std::fmt::Debug for Outline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "outline")
    }
}

impl Outline {
    fn of(index: &AreaIndex, code: &str) -> Outline {
        let area = index.get(code).unwrap_or_else(|| panic!("no area {code}"));
        Outline(Arc::new(area.geometry.clone()))
    }

    /// `geo`'s own point-in-polygon, boundary included.
    fn contains(&self, lat: f64, lon: f64) -> bool {
        self.0.intersects(&Point::new(lon, lat))
    }
}

/// The oracle's idea of an area.
#[derive(Debug, Clone)]
enum Oracle {
    Circle(f64, f64, f64),
    Polygon(MultiPolygon<f64>),
    /// An area code: everything inside its imported outline (`None`: `NL`, every address).
    Code(String, Option<Outline>),
}

impl Oracle {
    fn code(index: &AreaIndex, code: &str) -> Oracle {
        Oracle::Code(code.to_string(), (code != "NL").then(|| Outline::of(index, code)))
    }

    /// Decided on the geometry alone, never on the codes stored with an address.
    fn contains(&self, lat: f64, lon: f64) -> bool {
        match self {
            Oracle::Circle(clat, clon, r) => Haversine.distance(Point::new(*clon, *clat), Point::new(lon, lat)) <= *r,
            Oracle::Polygon(mp) => mp.intersects(&Point::new(lon, lat)),
            Oracle::Code(_, None) => true,
            Oracle::Code(_, Some(outline)) => outline.contains(lat, lon),
        }
    }

    fn json(&self) -> Value {
        match self {
            Oracle::Circle(lat, lon, r) => json!({"circle": {"lat": lat, "lon": lon, "radius_m": r}}),
            Oracle::Polygon(mp) => {
                json!({"polygon": serde_json::from_str::<Value>(&buurtnet_geo::geometry_to_geojson(mp)).unwrap()})
            }
            Oracle::Code(c, _) => json!({"areas": [c]}),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Expected {
    people: u64,
    addresses: u64,
    by_channel: [u64; 4],
    recipients: BTreeSet<(i64, Channel)>,
}

fn expected(
    people: &[Person],
    area: &[Oracle],
    topic: Topic,
    at: chrono::DateTime<chrono::Utc>,
    override_tw: bool,
    scope: &Scope,
) -> Expected {
    let local = dutch_local_time(at);
    // In scope: the stored code is the scope's, or the address lies inside the scope's outline.
    let scope_outline = match scope {
        Scope::National => None,
        Scope::Municipality(c) | Scope::PoliceUnit(c) => Some(Outline::of(oracle_index(), c)),
    };
    let mut per_person: BTreeMap<i64, ChannelSet> = BTreeMap::new();
    let mut addresses = 0;
    for p in people {
        if p.paused || !p.topics.contains(topic) {
            continue;
        }
        for (lat, lon, channels, quiet, codes) in &p.addresses {
            if !area.iter().any(|a| a.contains(*lat, *lon)) {
                continue;
            }
            let in_scope = match (scope, &scope_outline) {
                (Scope::Municipality(gm) | Scope::PoliceUnit(gm), Some(outline)) => {
                    codes.contains(gm) || outline.contains(*lat, *lon)
                }
                _ => true,
            };
            if !in_scope {
                continue;
            }
            let mut allowed: ChannelSet = channels.iter().filter(|c| p.verified.contains(*c)).collect();
            if !override_tw {
                for w in quiet.iter().filter(|w| w.covers(local)) {
                    for c in &w.channels {
                        allowed.remove(*c);
                    }
                }
            }
            if allowed.is_empty() {
                continue;
            }
            addresses += 1;
            let e = per_person.entry(p.id).or_default();
            for c in allowed.iter() {
                e.insert(c);
            }
        }
    }
    let mut by_channel = [0u64; 4];
    let mut recipients = BTreeSet::new();
    for (id, set) in &per_person {
        for (i, c) in Channel::ALL.iter().enumerate() {
            if set.contains(*c) {
                by_channel[i] += 1;
                recipients.insert((*id, *c));
            }
        }
    }
    Expected { people: per_person.len() as u64, addresses, by_channel, recipients }
}

async fn actual(
    app: &TestApp,
    area: &[Oracle],
    topic: Topic,
    at: chrono::DateTime<chrono::Utc>,
    override_tw: bool,
    scope: &Scope,
) -> Expected {
    let index = app.state.areas.current();
    let body = json!({"area": {"union": area.iter().map(Oracle::json).collect::<Vec<_>>()}, "topic": topic.as_str(), "at": at.to_rfc3339(), "override_time_windows": override_tw});
    let req = || targeting::parse_request(&body, &index, at).unwrap_or_else(|e| panic!("{e}: {body}"));
    let counts = targeting::count(&app.store, Plan::new(req(), scope.clone(), &index)).await.unwrap();
    // The in-memory replica (what the count API uses) answers exactly like the database.
    let snapshot = app.state.live.catch_up(&app.store).await.unwrap();
    let live = targeting::count_live(&snapshot, &Plan::new(req(), scope.clone(), &index));
    assert_eq!(live, counts, "replica vs database for {body}");
    let recipients: BTreeSet<(i64, Channel)> = targeting::recipients(&app.store, Plan::new(req(), scope.clone(), &index))
        .map_ok(|r| (r.participant_id, r.channel))
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .collect();
    let from_replica: BTreeSet<(i64, Channel)> = targeting::recipients_live(snapshot, Plan::new(req(), scope.clone(), &index))
        .map(|r| (r.participant_id, r.channel))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect();
    assert_eq!(from_replica, recipients, "replica stream vs database stream for {body}");
    let c = &counts.by_channel;
    Expected { people: counts.people, addresses: counts.addresses, by_channel: [c.push, c.sms, c.voice, c.email], recipients }
}

fn star(lat: f64, lon: f64, r: f64, points: usize, seed: u64) -> Polygon<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = points.max(3);
    let mut ring: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            // Alternating radii make it concave.
            let rr = r * if i % 2 == 0 { 1.0 } else { rng.random_range(0.3..0.9) };
            (lon + rr * 1.6 * a.cos(), lat + rr * a.sin())
        })
        .collect();
    ring.push(ring[0]);
    Polygon::new(ring.into(), vec![])
}

fn area_strategy() -> impl Strategy<Value = Vec<Oracle>> {
    let circle = (BOX.0..BOX.1, BOX.2..BOX.3, prop_oneof![25.0..300.0f64, 300.0..3000.0f64, 3000.0..8000.0f64])
        .prop_map(|(lat, lon, r)| Oracle::Circle(lat, lon, r));
    let polygon = (BOX.0..BOX.1, BOX.2..BOX.3, 0.002..0.03f64, 3usize..40, any::<u64>(), any::<bool>()).prop_map(
        |(lat, lon, r, n, seed, two)| {
            let mut parts = vec![star(lat, lon, r, n, seed)];
            if two {
                parts.push(star(lat + 4.0 * r, lon - 4.0 * r, r / 2.0, n, seed + 1));
            }
            Oracle::Polygon(MultiPolygon(parts))
        },
    );
    let code = prop::sample::select(vec!["GM0307", "WK030701", "3811", "3818", "VR09", "RE03", "PV26", "NL", "GM0327"])
        .prop_map(|c| Oracle::code(oracle_index(), c));
    let member = prop_oneof![3 => circle, 2 => polygon, 1 => code];
    prop::collection::vec(member, 1..3)
}

async fn matches_the_oracle_for_random_areas(b: Backend) {
    let app = TestApp::spawn(b).await;
    let index = app.state.areas.current();
    let people = insert(&app.store, &index, 3000, 7).await;
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T23:30:00+01:00").unwrap().to_utc();
    let handle = tokio::runtime::Handle::current();
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config { cases: 48, ..Default::default() });
    let strategy = (area_strategy(), prop::sample::select(Topic::ALL.to_vec()), any::<bool>());
    let non_empty = std::cell::Cell::new(0);
    let result = runner.run(&strategy, |(area, topic, override_tw)| {
        let want = expected(&people, &area, topic, at, override_tw, &Scope::National);
        non_empty.set(non_empty.get() + usize::from(want.people > 0));
        let got = tokio::task::block_in_place(|| handle.block_on(actual(&app, &area, topic, at, override_tw, &Scope::National)));
        prop_assert_eq!(got, want, "area {:?}", area);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(non_empty.get() >= 16, "the random areas must reach people in most cases, not only empty ones ({})", non_empty.get());
    // Scoped to a municipality: only its addresses.
    let scope = Scope::Municipality("GM0307".into());
    let area = [Oracle::Circle(52.16, 5.30, 6000.0)];
    let want = expected(&people, &area, Topic::Urgent, at, true, &scope);
    assert!(want.people > 0);
    assert_eq!(actual(&app, &area, Topic::Urgent, at, true, &scope).await, want);
}

async fn count_api_scopes_and_errors(b: Backend) {
    let app = TestApp::spawn(b).await;
    let index = app.state.areas.current();
    let people = insert(&app.store, &index, 500, 11).await;
    let gm = app.staff_token("municipality-officer", "GM0307").await;
    let post = |token: String, body: Value| {
        let req = app.client.post(app.at("/api/v1/targeting/count")).bearer_auth(token).json(&body);
        async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = post(gm.clone(), json!({"area": {"areas": ["GM0307"]}, "topic": "urgent", "override_time_windows": true})).await;
    assert_eq!(s, 200, "{v}");
    let at = app.clock.now();
    let want = expected(&people, &[Oracle::code(oracle_index(), "GM0307")], Topic::Urgent, at, true, &Scope::National);
    assert_eq!(v["people"].as_u64(), Some(want.people));
    assert_eq!(v["addresses"].as_u64(), Some(want.addresses));
    assert_eq!(v["by_channel"]["sms"].as_u64(), Some(want.by_channel[1]));
    // The breakdown uses the neighbourhood stored with each address: a neighbour's only where
    // an address inside Amersfoort's outline is stored with that neighbour's neighbourhood.
    let by_area = v["by_area"].as_array().unwrap();
    let gm_outline = Outline::of(oracle_index(), "GM0307");
    let stored_inside = |code: &str| {
        people
            .iter()
            .flat_map(|p| &p.addresses)
            .any(|(lat, lon, _, _, stored)| stored.iter().any(|s| s == code) && gm_outline.contains(*lat, *lon))
    };
    assert!(
        !by_area.is_empty()
            && by_area.iter().all(|a| {
                let code = a["code"].as_str().unwrap();
                code.starts_with("BU0307") || a["level"] == "district" || stored_inside(code)
            }),
        "{v}"
    );
    assert_eq!(v["clipped_to_scope"], false);

    let (s, v) = post(gm.clone(), json!({"area": {"areas": ["GM0344"]}, "topic": "urgent"})).await;
    assert_eq!((s, v["error"].as_str()), (403, Some("forbidden")));
    let (s, _) =
        post(gm.clone(), json!({"area": {"union": [{"areas": ["GM0307"]}, {"areas": ["RE03"]}]}, "topic": "urgent"})).await;
    assert_eq!(s, 403);
    // A circle reaching over the border is clipped to the municipality, and says so.
    let (s, v) = post(gm.clone(), json!({"area": {"circle": {"lat": 52.16, "lon": 5.30, "radius_m": 6000}}, "topic": "urgent", "override_time_windows": true})).await;
    assert_eq!((s, v["clipped_to_scope"].as_bool()), (200, Some(true)), "{v}");
    let scoped =
        expected(&people, &[Oracle::Circle(52.16, 5.30, 6000.0)], Topic::Urgent, at, true, &Scope::Municipality("GM0307".into()));
    assert_eq!(v["people"].as_u64(), Some(scoped.people));

    for (body, field, code) in [
        (
            json!({"area": {"circle": {"lat": 52.16, "lon": 5.3, "radius_m": 5}}, "topic": "urgent"}),
            "area.circle.radius_m",
            "radius_out_of_range",
        ),
        (json!({"area": {"areas": ["GM9998"]}, "topic": "urgent"}), "area.areas[0]", "unknown_area"),
        (
            json!({"area": {"circle": {"lat": 52.5, "lon": 3.5, "radius_m": 500}}, "topic": "urgent"}),
            "area.circle",
            "outside_netherlands",
        ),
        (
            json!({"area": {"polygon": {"type": "Polygon", "coordinates": [[[5.3, 52.1], [5.4, 52.1], [5.4, 52.2]]]}}, "topic": "urgent"}),
            "area.polygon",
            "ring_too_short",
        ),
        (
            json!({"area": {"polygon": {"type": "Polygon", "coordinates": [[[7.5, 51.5], [7.6, 51.5], [7.6, 51.6], [7.5, 51.5]]]}}, "topic": "urgent"}),
            "area.polygon",
            "outside_netherlands",
        ),
        (
            json!({"area": {"polygon": {"type": "Polygon", "coordinates": [[[5.3, 52.1], [5.4, 52.2], [5.4, 52.1], [5.3, 52.2], [5.3, 52.1]]]}}, "topic": "urgent"}),
            "area.polygon",
            "self_intersection",
        ),
        (
            json!({"area": {"union": [{"areas": ["GM0307"]}, {"circle": {"lat": 52.1, "lon": 5.3, "radius_m": 200000}}]}, "topic": "urgent"}),
            "area.union[1].circle.radius_m",
            "radius_out_of_range",
        ),
        (json!({"area": {"areas": ["GM0307"]}, "topic": "gossip"}), "topic", "invalid_topic"),
        (json!({"area": {"areas": ["GM0307"]}, "topic": "urgent", "at": "tomorrow"}), "at", "invalid_time"),
        (json!({"topic": "urgent"}), "area", "missing_area"),
    ] {
        let (s, v) = post(gm.clone(), body.clone()).await;
        assert_eq!(s, 422, "{body}: {v}");
        assert!(v["fields"].as_array().unwrap().iter().any(|f| f["field"] == field && f["code"] == code), "{body}: {v}");
    }
    let requester = app.staff_token("requester", "RE03").await;
    assert_eq!(post(requester, json!({"area": {"areas": ["GM0307"]}, "topic": "urgent"})).await.0, 403);
    let r = app.client.post(app.at("/api/v1/targeting/count")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let dispatcher = app.staff_token("dispatcher", "RE03").await;
    assert_eq!(post(dispatcher.clone(), json!({"area": {"areas": ["VR09"]}, "topic": "urgent"})).await.0, 200);
    assert_eq!(post(dispatcher, json!({"area": {"areas": ["GM0014"]}, "topic": "urgent"})).await.0, 403);
}

async fn time_windows_and_overrides(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = json!({"phone": "+31655555555", "age_confirmed": true, "addresses": [{"lat": 52.1561, "lon": 5.3878, "channels": ["sms", "voice"],
        "quiet_hours": [{"channels": ["voice", "sms"], "from": "23:00", "to": "07:00"}]}]});
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    let admin = app.staff_token("admin", "NL").await;
    let count = |at: &'static str, override_tw: bool| {
        let req = app.client.post(app.at("/api/v1/targeting/count")).bearer_auth(admin.clone()).json(
            &json!({"area": {"circle": {"lat": 52.1561, "lon": 5.3878, "radius_m": 100}}, "topic": "urgent", "at": at, "override_time_windows": override_tw}),
        );
        async move { req.send().await.unwrap().json::<Value>().await.unwrap()["people"].as_u64().unwrap() }
    };
    assert_eq!(count("2026-11-22T12:00:00+01:00", false).await, 0, "an unverified phone reaches no one");
    let code = crate::common::sms_code(app.sandbox("+31655555555").await[0]["body"].as_str().unwrap());
    assert_eq!(app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "+31655555555", "code": code})).await.0, 200);
    assert_eq!(count("2026-11-22T12:00:00+01:00", false).await, 1);
    assert_eq!(count("2026-11-22T23:30:00+01:00", false).await, 0, "quiet hours");
    assert_eq!(count("2026-11-22T23:30:00+01:00", true).await, 1, "an urgent alarm overrides them");
    assert_eq!(count("2026-07-01T05:30:00Z", false).await, 1, "07:30 summer time");
    // Paused: nothing.
    let id = app.store.contact("phone", "+31655555555").await.unwrap().unwrap().participant_id;
    app.store.update_participant(id, "nl", 7, true, 0).await.unwrap();
    assert_eq!(count("2026-11-22T12:00:00+01:00", true).await, 0);
}

async fn processes_sharing_a_database_agree(b: Backend) {
    let first = TestApp::spawn(b).await;
    let index = first.state.areas.current();
    let people = insert(&first.store, &index, 800, 21).await;
    // A second server process on the same database (SQLite file or PostgreSQL).
    let url = match b {
        Backend::Sqlite | Backend::Postgres => first.state.config.database_url.clone(),
    };
    let second = TestApp::spawn_on(&url).await;
    let area = [Oracle::Circle(52.16, 5.39, 2500.0)];
    let at = first.clock.now();
    let a = actual(&first, &area, Topic::Urgent, at, true, &Scope::National).await;
    let b2 = actual(&second, &area, Topic::Urgent, at, true, &Scope::National).await;
    assert_eq!(a, b2);
    assert_eq!(a, expected(&people, &area, Topic::Urgent, at, true, &Scope::National));
    // Changes through one are seen by the other at once; registrations and deletions run
    // concurrently with counting.
    let more = {
        let store = second.store.clone();
        let index = index.clone();
        tokio::spawn(async move { insert(&store, &index, 300, 22).await })
    };
    let gone: Vec<i64> = people.iter().take(100).map(|p| p.id).collect();
    for id in &gone {
        first.store.delete_participant(*id, 0).await.unwrap();
        // Count on the other process while writes go on (no equality here: the database moves).
        let snap = second.state.live.catch_up(&second.store).await.unwrap();
        let body = json!({"area": area[0].json(), "topic": "urgent", "override_time_windows": true});
        let plan = Plan::new(targeting::parse_request(&body, &index, at).unwrap(), Scope::National, &index);
        let _ = targeting::count_live(&snap, &plan);
    }
    let added = more.await.unwrap();
    let now_people: Vec<Person> = people.into_iter().filter(|p| !gone.contains(&p.id)).chain(added).collect();
    let want = expected(&now_people, &area, Topic::Urgent, at, true, &Scope::National);
    assert_eq!(actual(&first, &area, Topic::Urgent, at, true, &Scope::National).await, want);
    assert_eq!(actual(&second, &area, Topic::Urgent, at, true, &Scope::National).await, want);
}

/// More changes than the replica keeps beside its sorted base: it rebuilds and still agrees.
async fn replica_survives_a_rebuild(b: Backend) {
    let app = TestApp::spawn(b).await;
    let index = app.state.areas.current();
    let first = insert(&app.store, &index, 1000, 31).await;
    app.state.live.catch_up(&app.store).await.unwrap();
    let second = insert(&app.store, &index, 45_000, 32).await;
    for p in first.iter().take(50) {
        app.store.delete_participant(p.id, 0).await.unwrap();
    }
    let people: Vec<Person> = first.into_iter().skip(50).chain(second).collect();
    let at = app.clock.now();
    for area in [
        vec![Oracle::Circle(52.16, 5.39, 3000.0)],
        vec![Oracle::code(oracle_index(), "GM0307")],
        vec![Oracle::code(oracle_index(), "NL")],
    ] {
        let want = expected(&people, &area, Topic::Urgent, at, false, &Scope::National);
        assert_eq!(actual(&app, &area, Topic::Urgent, at, false, &Scope::National).await, want);
    }
}

/// Issue #6, finding 12: an area code selects every address inside its imported outline
/// (boundary included), also where the one code per level stored with the address names a
/// neighbour (imported boundaries disagree in places). Many people in and around Amersfoort,
/// about 40% of them within about 100 m of one of the outlines' edges, where the outlines
/// disagree; the database, the replica and the point-in-polygon oracle must agree.
async fn area_codes_reach_everyone_inside_their_outlines(b: Backend) {
    let app = TestApp::spawn(b).await;
    let index = app.state.areas.current();
    let codes = ["GM0307", "WK030701", "WK030703", "WK030710", "BU03070101", "BU03070300", "3811", "3818"];
    let outlines: Vec<Outline> = codes.iter().map(|c| Outline::of(oracle_index(), c)).collect();
    let vertices: Vec<(f64, f64)> = outlines
        .iter()
        .flat_map(|o| {
            o.0.0.iter().flat_map(|p| p.exterior().coords().map(|c| (c.y, c.x)).collect::<Vec<_>>()).collect::<Vec<_>>()
        })
        .collect();
    let gm = geo::BoundingRect::bounding_rect(&*outlines[0].0).unwrap();
    let (lat0, lat1, lon0, lon1) = (gm.min().y - 0.01, gm.max().y + 0.01, gm.min().x - 0.015, gm.max().x + 0.015);
    let population = random_people_at(&index, 20_000, 51, |rng| {
        if rng.random_bool(0.4) {
            let (lat, lon) = vertices[rng.random_range(0..vertices.len())];
            (lat + rng.random_range(-0.001..0.001), lon + rng.random_range(-0.0015..0.0015))
        } else {
            (rng.random_range(lat0..lat1), rng.random_range(lon0..lon1))
        }
    });
    let people = store_people(&app.store, population).await;
    let at = app.clock.now();
    // The test must reach the disagreements: addresses inside an outline whose stored code for
    // that level is another one.
    let mut disagreements = 0;
    for (code, outline) in codes.iter().zip(&outlines) {
        let differ = people
            .iter()
            .flat_map(|p| &p.addresses)
            .filter(|(lat, lon, _, _, stored)| outline.contains(*lat, *lon) != stored.iter().any(|s| s == code))
            .count();
        disagreements += differ;
        let area = [Oracle::Code(code.to_string(), Some(outline.clone()))];
        for topic in [Topic::Urgent, Topic::Information] {
            let want = expected(&people, &area, topic, at, true, &Scope::National);
            assert!(want.people > 0, "{code}");
            assert_eq!(
                actual(&app, &area, topic, at, true, &Scope::National).await,
                want,
                "{code} ({differ} stored codes differ)"
            );
        }
    }
    assert!(disagreements > 0, "no address where stored codes and outlines disagree: the test proves nothing");
    // Unions of codes, and codes with a drawn shape.
    let union =
        [Oracle::code(oracle_index(), "WK030701"), Oracle::code(oracle_index(), "3811"), Oracle::Circle(52.156, 5.388, 800.0)];
    let want = expected(&people, &union, Topic::Urgent, at, false, &Scope::National);
    assert_eq!(actual(&app, &union, Topic::Urgent, at, false, &Scope::National).await, want);
    // Scoped to the municipality: everyone inside its outline is in scope.
    let scope = Scope::Municipality("GM0307".into());
    let area = [Oracle::code(oracle_index(), "3818"), Oracle::code(oracle_index(), "GM0307")];
    let want = expected(&people, &area, Topic::Urgent, at, true, &scope);
    assert_eq!(actual(&app, &area, Topic::Urgent, at, true, &scope).await, want);
}

/// Issue #6, finding 14: clipping to a municipality officer's scope is decided on the scope's
/// outline, whether or not anyone lives in the area.
async fn count_api_clips_circles_to_the_scope_outline(b: Backend) {
    let app = TestApp::spawn(b).await;
    let index = app.state.areas.current();
    let people = insert(&app.store, &index, 1500, 41).await;
    let gm = app.staff_token("municipality-officer", "GM0307").await;
    let post = |body: Value| {
        let req = app.client.post(app.at("/api/v1/targeting/count")).bearer_auth(gm.clone()).json(&body);
        async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let circle = |lat: f64, lon: f64, r: f64| json!({"area": {"circle": {"lat": lat, "lon": lon, "radius_m": r}}, "topic": "urgent", "override_time_windows": true});
    let at = app.clock.now();
    let scope = Scope::Municipality("GM0307".into());
    // Wholly outside (Amsterdam; and Utrecht, where nobody of ours lives either): refused,
    // rather than "0 people".
    for body in [
        circle(52.3728, 4.8936, 2000.0),
        json!({"area": {"polygon": {"type": "Polygon", "coordinates": [[[5.10, 52.08], [5.14, 52.08], [5.14, 52.10], [5.10, 52.08]]]}}, "topic": "urgent"}),
    ] {
        let (s, v) = post(body.clone()).await;
        assert_eq!((s, v["error"].as_str()), (403, Some("forbidden")), "{body}: {v}");
        assert!(v["message"].as_str().unwrap().contains("outside your scope (GM0307)"), "{v}");
    }
    // Partly outside: clipped, and only the people inside the scope are counted.
    let (s, v) = post(circle(52.16, 5.30, 6000.0)).await;
    assert_eq!((s, v["clipped_to_scope"].as_bool()), (200, Some(true)), "{v}");
    let area = [Oracle::Circle(52.16, 5.30, 6000.0)];
    let scoped = expected(&people, &area, Topic::Urgent, at, true, &scope);
    assert!(scoped.people < expected(&people, &area, Topic::Urgent, at, true, &Scope::National).people);
    assert_eq!(v["people"].as_u64(), Some(scoped.people), "{v}");
    assert_eq!(v["addresses"].as_u64(), Some(scoped.addresses), "{v}");
    // Wholly inside: not clipped.
    let (s, v) = post(circle(52.1561, 5.3878, 1000.0)).await;
    assert_eq!((s, v["clipped_to_scope"].as_bool()), (200, Some(false)), "{v}");
    let inside = expected(&people, &[Oracle::Circle(52.1561, 5.3878, 1000.0)], Topic::Urgent, at, true, &scope);
    assert!(inside.people > 0);
    assert_eq!(v["people"].as_u64(), Some(inside.people), "{v}");
    // The database path agrees (same plan, same scope).
    assert_eq!(actual(&app, &[Oracle::Circle(52.16, 5.30, 6000.0)], Topic::Urgent, at, true, &scope).await, scoped);
}

/// Issue #19, finding 0: an area code that is not ASCII (`"\u0800"`) panicked the worker while
/// the level was read from the code's first two bytes, and the client saw its connection
/// dropped. Now every such code is an unknown area (422 with the field), on the three routes
/// that take an area; no handler panics (the harness fails a test whose server panicked).
async fn area_codes_of_any_text_are_refused_without_a_panic(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.staff_token("admin", "NL").await;
    let routes = ["/api/v1/targeting/count", "/api/v1/actions", "/api/v1/messages"];
    let codes = [
        "\u{800}",
        "G\u{800}",
        "GM\u{800}",
        "\u{800}0307",
        "GM030\u{e9}",
        "WK\u{301}30701",
        "\u{200f}GM0307",
        "GM0307\u{0}",
        "\u{1f600}",
    ];
    for route in routes {
        for code in codes {
            let body = json!({"area": {"areas": [code]}, "topic": "urgent", "kind": "suspect", "status": "test",
                "title": "x", "body": "y", "type": "information"});
            let resp = app.client.post(app.at(route)).bearer_auth(&admin).json(&body).send().await;
            let resp = resp.unwrap_or_else(|e| panic!("{route} {code:?}: the connection failed: {e}"));
            let status = resp.status().as_u16();
            let v: Value = resp.json().await.unwrap();
            assert_eq!(status, 422, "{route} {code:?}: {v}");
            let fields = v["fields"].to_string();
            assert!(fields.contains("area.areas[0]") && fields.contains("unknown_area"), "{route} {code:?}: {v}");
        }
    }
    // The same through the raw JSON text, with a lone surrogate (not a string serde_json reads).
    for route in routes {
        let resp = app
            .client
            .post(app.at(route))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(r#"{"area": {"areas": ["\ud800"]}, "topic": "urgent"}"#)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap();
        assert!((400..500).contains(&status) && v["error"].is_string(), "{route}: {status} {v}");
    }
    assert_eq!(app.state.handler_panics.count(), 0);
}

fn square(
    code: &str,
    level: buurtnet_domain::AreaLevel,
    parent: Option<&str>,
    x: f64,
    y: f64,
    size: f64,
) -> buurtnet_geo::AreaRecord {
    use geo::polygon;
    buurtnet_geo::AreaRecord {
        code: code.into(),
        name: code.into(),
        level,
        parent_code: parent.map(String::from),
        province_code: None,
        inhabitants: None,
        geometry: MultiPolygon(vec![
            polygon![(x: x, y: y), (x: x + size, y: y), (x: x + size, y: y + size), (x: x, y: y + size), (x: x, y: y)],
        ]),
    }
}

/// Issue #19, finding 16, on made-up outlines: the nearest chain within the tolerance, nothing
/// beyond it or with no tolerance, and `in_netherlands` answers as `locate` does.
#[test]
fn a_point_between_outlines_gets_the_nearest_chain_within_the_tolerance() {
    use buurtnet_domain::AreaLevel;
    // Two municipalities with a gap of 0.0002° of longitude (about 14 m) between them.
    let idx = AreaIndex::new(vec![
        square("VR09", AreaLevel::SafetyRegion, Some("RE03"), 5.0, 52.0, 1.0),
        square("GM0001", AreaLevel::Municipality, Some("VR09"), 5.0, 52.0, 0.1),
        square("WK000101", AreaLevel::District, Some("GM0001"), 5.0, 52.0, 0.1),
        square("GM0002", AreaLevel::Municipality, Some("VR09"), 5.1002, 52.0, 0.1),
        square("WK000201", AreaLevel::District, Some("GM0002"), 5.1002, 52.0, 0.1),
    ]);
    // 0.00015° east of GM0001's edge (about 10 m), 0.00005° (about 3 m) from GM0002's.
    let l = idx.locate_near(52.05, 5.10015, 250.0);
    assert!(l.approximate && l.in_netherlands(), "{l:?}");
    assert_eq!((l.district.as_deref(), l.municipality.as_deref()), (Some("WK000201"), Some("GM0002")));
    assert_eq!(l.safety_region.as_deref(), Some("VR09"));
    assert!(!idx.locate_near(52.05, 5.10015, 0.0).in_netherlands(), "no tolerance, no guess");
    assert!(!idx.locate_near(52.05, 5.3, 250.0).in_netherlands(), "far beyond the tolerance");
    let inside = idx.locate_near(52.05, 5.05, 250.0);
    assert!(!inside.approximate && inside.municipality.as_deref() == Some("GM0001"));
    for (lat, lon) in [(52.05, 5.10015), (52.05, 5.05), (52.05, 5.15), (52.05, 5.3), (52.2, 5.05)] {
        assert_eq!(idx.in_netherlands(lat, lon), idx.locate(lat, lon).in_netherlands(), "{lat},{lon}");
    }
}

/// Issue #19, finding 19: a drawn shape is covered once per process and found again only when
/// it is the same shape; its scope overlaps are decided once per scope; the cache stays bounded.
#[test]
fn drawn_covers_are_kept_per_shape_and_bounded() {
    use buurtnet_geo::cover_cache::{CAPACITY, CoverCache};
    use buurtnet_geo::target_area::{Overlap, Shape};
    let cache = CoverCache::default();
    let circle = |r: f64| Shape::Circle { lat: 52.1561, lon: 5.3878, radius_m: r };
    let a = cache.covered(circle(400.0), 256);
    assert!(Arc::ptr_eq(&a, &cache.covered(circle(400.0), 256)));
    assert!(!Arc::ptr_eq(&a, &cache.covered(circle(400.000_000_1), 256)), "another radius is another shape");
    assert!(!Arc::ptr_eq(&a, &cache.covered(circle(400.0), 128)), "another budget is another cover");
    let mut computed = 0;
    for _ in 0..3 {
        let o = cache.overlap(&a, "GM0307", || {
            computed += 1;
            Overlap::Partly
        });
        assert_eq!(o, Overlap::Partly);
    }
    assert_eq!(computed, 1);
    assert_eq!(cache.overlap(&a, "GM0344", || Overlap::Disjoint), Overlap::Disjoint);
    for r in 0..(CAPACITY as u32 + 5) {
        cache.covered(circle(1000.0 + f64::from(r)), 256);
    }
    assert_eq!(cache.len(), CAPACITY);
}
