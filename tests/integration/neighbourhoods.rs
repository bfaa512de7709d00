//! Neighbourhood conversations (Mijnbuur) through the real server: membership by verified home
//! address with a linked device, conversations for a street or a neighbourhood, following an
//! adjacent neighbourhood read-only, and officials only on invitation — as a matrix of every
//! staff role × the four categories × invited or not, with every official read audited.

use crate::common::{Backend, TestApp, link_token};
use crate::on_both_backends;
use buurtnet_domain::Operation;
use buurtnet_domain::staff::Role;
use serde_json::{Value, json};

on_both_backends!(
    members_talk_with_their_street_and_neighbourhood,
    officials_read_only_the_conversations_they_were_invited_into,
    an_official_opens_a_conversation_for_a_neighbourhood_of_their_scope,
);

/// Rivierenwijk (Utrecht): one neighbourhood with many streets, and Rotsoord beside it.
const RIVIERENWIJK: &str = "BU03440812";
const ROTSOORD: &str = "BU03440721";

async fn call(app: &TestApp, method: &str, path: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = app.client.request(m, app.at(&format!("/api/v1{path}"))).bearer_auth(bearer);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A resident's device, linked to their account.
struct Device {
    id: i64,
    token: String,
    /// The participant's self-service link token (empty for a device linked to nobody).
    signin: String,
}

impl Device {
    async fn call(&self, app: &TestApp, method: &str, rest: &str, body: Option<Value>) -> (u16, Value) {
        call(app, method, &format!("/app/devices/{}{rest}", self.id), &self.token, body).await
    }
}

/// A device registered for a place, not linked to anyone.
async fn bare_device(app: &TestApp, postcode: &str, house: &str) -> Device {
    let (s, v) = app.post_json("/api/v1/devices", &json!({"location": {"postcode": postcode, "house_number": house}})).await;
    assert_eq!(s, 201, "{v}");
    Device { id: v["id"].as_i64().unwrap(), token: v["token"].as_str().unwrap().to_string(), signin: String::new() }
}

/// A participant with a home address and a confirmed e-mail address, and a device linked to
/// their account through the self-service link.
async fn resident(app: &TestApp, email: &str, postcode: &str, house: &str) -> Device {
    let body = json!({"email": email, "language": "nl", "age_confirmed": true, "topics": ["urgent"],
        "addresses": [{"kind": "home", "postcode": postcode, "house_number": house, "channels": ["email"]}]});
    let (s, v) = app.post_json("/api/v1/participants", &body).await;
    assert_eq!(s, 202, "{v}");
    let mail = app.sandbox(email).await.into_iter().find(|m| m["body"].as_str().unwrap().contains("/bevestigen/")).unwrap();
    let token = link_token(mail["body"].as_str().unwrap(), "/bevestigen/");
    assert_eq!(app.post_json("/api/v1/participants/verify-email", &json!({"token": token})).await.0, 200);
    let mut device = bare_device(app, postcode, house).await;
    assert_eq!(app.post_json("/api/v1/participants/self-service-link", &json!({"email": email})).await.0, 202);
    let mail = app.sandbox(email).await.into_iter().find(|m| m["body"].as_str().unwrap().contains("/mijn/")).unwrap();
    let signin = link_token(mail["body"].as_str().unwrap(), "/mijn/");
    let (s, v) = device.call(app, "POST", "/link", Some(json!({"token": signin}))).await;
    assert_eq!(s, 200, "{v}");
    device.signin = signin;
    device
}

async fn join(app: &TestApp, d: &Device, name: &str) {
    let (s, v) = d.call(app, "POST", "/neighbourhood", Some(json!({"display_name": name, "accept_house_rules": true}))).await;
    assert_eq!(s, 201, "{v}");
}

async fn start(app: &TestApp, d: &Device, category: &str, audience: &str, title: &str) -> i64 {
    let body = json!({"category": category, "audience": audience, "title": title, "body": format!("{title}: wie weet meer?")});
    let (s, v) = d.call(app, "POST", "/conversations", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

fn ids(list: &Value) -> Vec<i64> {
    let mut out: Vec<i64> = list["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    out.sort_unstable();
    out
}

fn field(v: &Value) -> (&str, &str) {
    (v["fields"][0]["field"].as_str().unwrap_or(""), v["fields"][0]["code"].as_str().unwrap_or(""))
}

async fn count(app: &TestApp, table: &str) -> i64 {
    app.store.count_rows(table).await.unwrap()
}

async fn members_talk_with_their_street_and_neighbourhood(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.abuse_limits.enabled = false).await;
    // A device that is not linked is told how to link it.
    let loose = bare_device(&app, "3522HG", "70").await;
    let (s, v) = loose.call(&app, "GET", "/conversations", None).await;
    assert_eq!(s, 403, "{v}");
    assert!(v["message"].as_str().unwrap().contains(&format!("/app/devices/{}/link", loose.id)), "{v}");

    let anne = resident(&app, "anne@example.org", "3522HG", "70").await; // Jutfaseweg
    let bram = resident(&app, "bram@example.org", "3522HE", "66").await; // Jutfaseweg
    let cees = resident(&app, "cees@example.org", "3522ST", "110").await; // Waalstraat
    let dirk = resident(&app, "dirk@example.org", "3523CL", "11").await; // Rotsoord

    // Not joined yet: told how to join. Joining needs a clean display name and the house rules.
    let (s, v) = anne.call(&app, "GET", "/conversations", None).await;
    assert!(s == 403 && v["message"].as_str().unwrap().contains("/neighbourhood"), "{s} {v}");
    for (body, expected) in [
        (json!({"display_name": "0612345678", "accept_house_rules": true}), ("display_name", "invalid_display_name")),
        (json!({"display_name": "anne@example.org", "accept_house_rules": true}), ("display_name", "invalid_display_name")),
        (json!({"display_name": "Anne"}), ("accept_house_rules", "required")),
        (json!({"display_name": 7, "accept_house_rules": true}), ("display_name", "invalid_type")),
    ] {
        let (s, v) = anne.call(&app, "POST", "/neighbourhood", Some(body)).await;
        assert_eq!((s, field(&v)), (422, expected), "{v}");
    }
    assert_eq!(count(&app, "neighbourhood_members").await, 0, "nothing stored");
    let (s, v) = anne.call(&app, "GET", "/neighbourhood", None).await;
    assert_eq!((s, &v["member"]), (200, &json!(false)), "{v}");
    assert_eq!(v["neighbourhoods"][0]["code"], RIVIERENWIJK, "{v}");
    assert_eq!(v["neighbourhoods"][0]["streets"], json!(["Jutfaseweg"]), "{v}");
    assert!(v["house_rules"]["nl"].as_str().unwrap().contains("112"), "{v}");
    join(&app, &anne, "Anne").await;
    assert_eq!(
        anne.call(&app, "POST", "/neighbourhood", Some(json!({"display_name": "Anne", "accept_house_rules": true}))).await.0,
        409
    );
    join(&app, &bram, "Bram").await;
    join(&app, &cees, "Cees").await;
    join(&app, &dirk, "Dirk").await;
    let (_, v) = dirk.call(&app, "GET", "/neighbourhood", None).await;
    assert_eq!(v["neighbourhoods"][0]["code"], ROTSOORD, "{v}");

    // Bad conversations name their field and store nothing.
    let good = json!({"category": "help", "audience": "street", "title": "Ladder", "body": "Wie leent mij een ladder?"});
    let with = |k: &str, val: Value| {
        let mut b = good.clone();
        b[k] = val;
        b
    };
    for (body, expected) in [
        (with("category", json!("gossip")), ("category", "invalid_choice")),
        (with("audience", json!("city")), ("audience", "invalid_choice")),
        (with("audience", json!("alarm_neighbours")), ("audience", "not_yet_available")),
        (with("title", json!("  ")), ("title", "required")),
        (with("body", json!("x".repeat(5001))), ("body", "too_long")),
        (with("neighbourhood", json!(ROTSOORD)), ("neighbourhood", "invalid_choice")),
    ] {
        let (s, v) = anne.call(&app, "POST", "/conversations", Some(body)).await;
        assert_eq!((s, field(&v)), (422, expected), "{v}");
    }
    assert_eq!(count(&app, "conversations").await, 0, "nothing stored");
    let (s, _) = anne.call(&app, "POST", "/conversations", Some(with("body", json!("é".repeat(5000))))).await;
    assert_eq!(s, 201, "5,000 characters are allowed");

    let street = start(&app, &anne, "help", "street", "Ladder nodig").await;
    let whole = start(&app, &anne, "news", "neighbourhood", "Buurtfeest zaterdag").await;
    let rotsoord = start(&app, &dirk, "news", "neighbourhood", "Rotsoord nieuws").await;

    // The street reads the street's conversation; the rest of the neighbourhood does not.
    let (_, v) = bram.call(&app, "GET", "/conversations", None).await;
    assert!(ids(&v).contains(&street) && ids(&v).contains(&whole) && !ids(&v).contains(&rotsoord), "{v}");
    let (_, v) = cees.call(&app, "GET", "/conversations", None).await;
    assert!(!ids(&v).contains(&street) && ids(&v).contains(&whole), "{v}");
    let (_, v) = dirk.call(&app, "GET", "/conversations", None).await;
    assert_eq!(ids(&v), vec![rotsoord], "{v}");
    let before = count(&app, "conversation_messages").await;
    assert_eq!(cees.call(&app, "GET", &format!("/conversations/{street}"), None).await.0, 404);
    let (s, v) = cees.call(&app, "POST", &format!("/conversations/{street}/messages"), Some(json!({"body": "Ik!"}))).await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(count(&app, "conversation_messages").await, before, "nothing stored");

    // Replies show the display name and street, never a contact point or house number.
    let (s, v) =
        bram.call(&app, "POST", &format!("/conversations/{street}/messages"), Some(json!({"body": "Die van mij!"}))).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = bram.call(&app, "POST", &format!("/conversations/{street}/messages"), Some(json!({"body": ""}))).await;
    assert_eq!((s, field(&v)), (422, ("body", "required")), "{v}");
    assert_eq!(bram.call(&app, "PATCH", "/neighbourhood", Some(json!({"display_name": "Bram B."}))).await.0, 200);
    let (s, v) = anne.call(&app, "GET", &format!("/conversations/{street}"), None).await;
    assert_eq!(s, 200, "{v}");
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!((msgs[0]["author"].as_str(), msgs[0]["street"].as_str()), (Some("Anne"), Some("Jutfaseweg")), "{v}");
    assert_eq!((msgs[1]["author"].as_str(), msgs[1]["body"].as_str()), (Some("Bram B."), Some("Die van mij!")), "{v}");
    let text = v.to_string();
    for secret in ["@example.org", "3522", "\"66\"", "\"70\"", "participant"] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }

    // Only the starter closes; then nobody replies.
    assert_eq!(bram.call(&app, "POST", &format!("/conversations/{street}/close"), None).await.0, 403);
    assert_eq!(anne.call(&app, "POST", &format!("/conversations/{street}/close"), None).await.0, 204);
    assert_eq!(
        bram.call(&app, "POST", &format!("/conversations/{street}/messages"), Some(json!({"body": "Nog één"}))).await.0,
        409
    );

    // Rotsoord borders the Rivierenwijk: Dirk follows it and reads its neighbourhood-wide
    // conversations, but posts nothing there and never reads a street's.
    let (s, v) = dirk.call(&app, "POST", "/neighbourhood/follows", Some(json!({"neighbourhood": "BU03070100"}))).await;
    assert_eq!((s, field(&v)), (422, ("neighbourhood", "not_adjacent")), "{v}");
    let (s, v) = dirk.call(&app, "POST", "/neighbourhood/follows", Some(json!({"neighbourhood": RIVIERENWIJK}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["following"], json!([RIVIERENWIJK]), "{v}");
    let (_, v) = dirk.call(&app, "GET", "/conversations", None).await;
    assert!(ids(&v).contains(&whole) && !ids(&v).contains(&street), "{v}");
    assert_eq!(dirk.call(&app, "GET", &format!("/conversations/{whole}"), None).await.0, 200);
    let (s, v) =
        dirk.call(&app, "POST", &format!("/conversations/{whole}/messages"), Some(json!({"body": "Mag ik ook komen?"}))).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(dirk.call(&app, "DELETE", &format!("/neighbourhood/follows/{RIVIERENWIJK}"), None).await.0, 204);
    assert_eq!(dirk.call(&app, "GET", &format!("/conversations/{whole}"), None).await.0, 404);

    // Leaving: one's messages stay as a former neighbour's; one reads nothing more.
    assert_eq!(
        cees.call(&app, "POST", &format!("/conversations/{whole}/messages"), Some(json!({"body": "Ik bak een taart."}))).await.0,
        201
    );
    assert_eq!(cees.call(&app, "DELETE", "/neighbourhood", None).await.0, 204);
    assert_eq!(cees.call(&app, "GET", "/conversations", None).await.0, 403);
    let (_, v) = anne.call(&app, "GET", &format!("/conversations/{whole}"), None).await;
    assert_eq!(v["messages"][1]["author"], "Oud-buurtbewoner", "{v}");

    // One's export holds the membership and one's messages; deleting the account deletes them.
    let (s, v) = app.get_json(&format!("/api/v1/self-service/{}", anne.signin)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["neighbourhood"]["display_name"], "Anne", "{v}");
    assert_eq!(v["neighbourhood"]["messages"].as_array().unwrap().len(), 3, "her three opening messages");
    let bram_messages = count(&app, "conversation_messages").await;
    let r = app.client.delete(app.at(&format!("/api/v1/self-service/{}", bram.signin))).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(count(&app, "conversation_messages").await, bram_messages - 1, "Bram's one reply is gone");
    assert_eq!(count(&app, "neighbourhood_members").await, 2, "Anne and Dirk are left");
}

/// Every staff role × the four categories × invited or not: an official reads (and answers) a
/// conversation only when invited into it, which only nuisance and trouble allow; nobody else
/// ever reads one. Coordinators and administrators see counts.
async fn officials_read_only_the_conversations_they_were_invited_into(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.abuse_limits.enabled = false).await;
    let anne = resident(&app, "anne@example.org", "3522HG", "70").await;
    join(&app, &anne, "Anne").await;
    let scope = |r: Role| if matches!(r, Role::NeighbourhoodOfficer | Role::MunicipalityOfficer) { "GM0344" } else { "NL" };
    let mut staff = Vec::new();
    for role in Role::ALL {
        staff.push((role, app.staff_token(role.as_str(), scope(role)).await));
    }
    // An officer of another municipality is never invited.
    let elsewhere = app.staff_token("neighbourhood-officer", "GM0014").await;

    // Nobody to invite yet in an empty region is a clear 409; here both officials exist.
    let mut cases = Vec::new(); // (category, invited, id, marker)
    for category in ["news", "help", "nuisance", "trouble"] {
        for invited in [true, false] {
            let marker = format!("MARKER-{category}-{invited}");
            let id = start(&app, &anne, category, "neighbourhood", &marker).await;
            if invited {
                for official in ["neighbourhood_officer", "municipality"] {
                    let (s, v) = anne
                        .call(&app, "POST", &format!("/conversations/{id}/invite"), Some(json!({"official": official})))
                        .await;
                    if category == "nuisance" || category == "trouble" {
                        assert_eq!(s, 200, "{v}");
                        assert_eq!(v["added"], 1, "{v}");
                    } else {
                        assert_eq!((s, field(&v)), (422, ("official", "not_for_category")), "{v}");
                    }
                }
            }
            cases.push((category, invited, id, marker));
        }
    }
    let (s, v) =
        anne.call(&app, "POST", &format!("/conversations/{}/invite", cases[4].2), Some(json!({"official": "mayor"}))).await;
    assert_eq!((s, field(&v)), (422, ("official", "invalid_choice")), "{v}");
    assert_eq!(count(&app, "conversation_officials").await, 4, "two officials in two conversations");

    let reads_before = app.store.audit_entries(1000).await.unwrap().iter().filter(|e| e.action == "conversation.read").count();
    let mut reads = 0;
    // (role, token, whether its scope covers the Rivierenwijk)
    let mut tokens: Vec<(Role, &str, bool)> = staff.iter().map(|(r, t)| (*r, t.as_str(), true)).collect();
    tokens.push((Role::NeighbourhoodOfficer, &elsewhere, false));
    for (role, token, in_scope) in &tokens {
        let takes_part = Operation::TakePartInConversations.allows(*role);
        let official = *in_scope && matches!(role, Role::NeighbourhoodOfficer | Role::MunicipalityOfficer);
        for (category, invited, id, marker) in &cases {
            let sees = *invited && matches!(*category, "nuisance" | "trouble") && official;
            let label = format!("{role:?} (in scope: {in_scope}) {category} invited={invited}");
            let (s, v) = call(&app, "GET", &format!("/conversations/{id}"), token, None).await;
            let messages = count(&app, "conversation_messages").await;
            let (ps, pv) =
                call(&app, "POST", &format!("/conversations/{id}/messages"), token, Some(json!({"body": "Wij komen langs."})))
                    .await;
            if sees {
                reads += 1;
                assert_eq!(s, 200, "{label}: {v}");
                assert!(v.to_string().contains(marker), "{label}: {v}");
                assert_eq!(ps, 201, "{label}: {pv}");
            } else {
                assert_eq!(s, if takes_part { 404 } else { 403 }, "{label}: {v}");
                assert!(!v.to_string().contains(marker) && !pv.to_string().contains(marker), "{label}: {v} {pv}");
                assert_eq!(ps, if takes_part { 404 } else { 403 }, "{label}: {pv}");
                assert_eq!(count(&app, "conversation_messages").await, messages, "{label}: nothing stored");
            }
        }
        // The list: one's own conversations only; counts for the scope, never contents.
        let (s, v) = call(&app, "GET", "/conversations", token, None).await;
        if !Operation::ReadConversations.allows(*role) {
            assert_eq!(s, 403, "{role:?}: {v}");
            continue;
        }
        assert_eq!(s, 200, "{role:?}: {v}");
        let expected: Vec<i64> = if official {
            let mut e: Vec<i64> =
                cases.iter().filter(|(c, inv, _, _)| *inv && matches!(*c, "nuisance" | "trouble")).map(|x| x.2).collect();
            e.sort_unstable();
            e
        } else {
            vec![]
        };
        assert_eq!(ids(&v), expected, "{role:?}: {v}");
        if expected.is_empty() {
            assert!(!v.to_string().contains("MARKER"), "{role:?} sees contents: {v}");
        }
        if *in_scope {
            let total: i64 = v["counts"].as_array().unwrap().iter().map(|c| c["open"].as_i64().unwrap()).sum();
            assert_eq!(total, 8, "{role:?}: {v}");
        } else {
            assert_eq!(v["counts"], json!([]), "another municipality's counts are not shown: {v}");
        }
    }
    assert_eq!(reads, 4, "each of the two officials read the two conversations they were invited into");
    let audit = app.store.audit_entries(1000).await.unwrap();
    let audited = audit.iter().filter(|e| e.action == "conversation.read").count() - reads_before;
    assert_eq!(audited, reads, "every official read is audited");
    assert!(audit.iter().any(|e| e.action == "conversation.invite"));

    // The resident sees the officials' answers by their kind, never a name.
    let nuisance = cases.iter().find(|c| c.0 == "nuisance" && c.1).unwrap().2;
    let (_, v) = anne.call(&app, "GET", &format!("/conversations/{nuisance}"), None).await;
    let authors: Vec<&str> = v["messages"].as_array().unwrap().iter().map(|m| m["author"].as_str().unwrap()).collect();
    assert_eq!(authors, ["Anne", "Wijkagent", "Gemeente"], "{v}");
}

async fn an_official_opens_a_conversation_for_a_neighbourhood_of_their_scope(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.abuse_limits.enabled = false).await;
    let anne = resident(&app, "anne@example.org", "3522HG", "70").await; // Jutfaseweg
    let cees = resident(&app, "cees@example.org", "3522ST", "110").await; // Waalstraat
    join(&app, &anne, "Anne").await;
    join(&app, &cees, "Cees").await;
    let officer = app.staff_token("neighbourhood-officer", "GM0344").await;
    let municipality = app.staff_token("municipality-officer", "GM0344").await;
    let other = app.staff_token("neighbourhood-officer", "GM0014").await;
    let admin = app.staff_token("admin", "NL").await;

    let body = json!({"category": "news", "audience": RIVIERENWIJK, "title": "Spreekuur wijkagent", "body": "Donderdag in het buurthuis."});
    let with = |k: &str, val: Value| {
        let mut b = body.clone();
        b[k] = val;
        b
    };
    for (token, b, status, expected) in [
        (&other, body.clone(), 422, ("audience", "out_of_scope")),
        (&officer, with("audience", json!("GM0344")), 422, ("audience", "invalid_neighbourhood")),
        (&officer, with("category", json!("gossip")), 422, ("category", "invalid_choice")),
        (&officer, with("body", json!("x".repeat(5001))), 422, ("body", "too_long")),
        (&admin, body.clone(), 403, ("", "")),
    ] {
        let (s, v) = call(&app, "POST", "/conversations", token, Some(b)).await;
        assert_eq!((s, field(&v)), (status, expected), "{v}");
    }
    assert_eq!(count(&app, "conversations").await, 0, "nothing stored");

    let (s, v) = call(&app, "POST", "/conversations", &officer, Some(body.clone())).await;
    assert_eq!(s, 201, "{v}");
    let whole = v["id"].as_i64().unwrap();
    let (s, v) = call(&app, "POST", "/conversations", &officer, Some(with("street", json!("Jutfaseweg")))).await;
    assert_eq!(s, 201, "{v}");
    let street = v["id"].as_i64().unwrap();

    let (_, v) = anne.call(&app, "GET", "/conversations", None).await;
    assert_eq!(ids(&v), vec![whole, street], "{v}");
    let (_, v) = cees.call(&app, "GET", "/conversations", None).await;
    assert_eq!(ids(&v), vec![whole], "another street does not read the street's: {v}");
    assert_eq!(
        anne.call(&app, "POST", &format!("/conversations/{street}/messages"), Some(json!({"body": "Fijn!"}))).await.0,
        201
    );
    let (s, v) = call(&app, "GET", &format!("/conversations/{street}"), &officer, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["messages"][0]["author"], "Wijkagent", "{v}");
    assert_eq!((v["messages"][1]["author"].as_str(), v["messages"][1]["body"].as_str()), (Some("Anne"), Some("Fijn!")), "{v}");
    // Another official of the same municipality was not added.
    assert_eq!(call(&app, "GET", &format!("/conversations/{street}"), &municipality, None).await.0, 404);
    assert_eq!(call(&app, "POST", &format!("/conversations/{street}/close"), &municipality, None).await.0, 404);
    assert_eq!(call(&app, "POST", &format!("/conversations/{street}/close"), &officer, None).await.0, 204);
    let (s, _) = anne.call(&app, "POST", &format!("/conversations/{street}/messages"), Some(json!({"body": "Nog iets"}))).await;
    assert_eq!(s, 409);

    // An officer moved to another municipality no longer reads what they were added to there.
    assert_eq!(call(&app, "GET", &format!("/conversations/{whole}"), &officer, None).await.0, 200);
    app.store
        .execute_admin("UPDATE staff_users SET scope = 'GM0014' WHERE role = 'neighbourhood-officer' AND scope = 'GM0344'")
        .await
        .unwrap();
    assert_eq!(call(&app, "GET", &format!("/conversations/{whole}"), &officer, None).await.0, 404);

    // The storage queries themselves refuse a staff member who was not added, whatever a
    // handler would ask: no conversation, no messages, nothing stored.
    use buurtnet_store::conversations::{Author, Reader};
    let outsider =
        app.store.create_staff_user("outsider@test.example.org", "x", "neighbourhood-officer", "GM0344", 0).await.unwrap();
    let reader = Reader::Staff(outsider);
    assert_eq!(app.store.conversation_for(reader, whole).await.unwrap(), None);
    assert!(app.store.conversation_messages_for(reader, whole).await.unwrap().is_empty());
    assert!(app.store.conversations_for(reader, 100).await.unwrap().is_empty());
    let author = Author::Official { staff_user_id: outsider, official: "neighbourhood_officer".into() };
    let before = count(&app, "conversation_messages").await;
    assert_eq!(app.store.add_conversation_message(whole, &author, "Ongevraagd", app.clock_ms()).await.unwrap(), None);
    assert_eq!(count(&app, "conversation_messages").await, before);
}
