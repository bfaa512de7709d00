//! Demo data: synthetic participants placed inside real neighbourhoods (about 10% of their
//! inhabitants, with a realistic mix of channels) and one staff account per role.

use crate::auth::{generate_password, generate_token, hash_password};
use crate::services::participants::new_address;
use buurtnet_domain::registration::{AddressDraft, AddressLocation};
use buurtnet_domain::staff::Role;
use buurtnet_domain::{AddressKind, AreaLevel, Channel, ChannelSet, Topic, TopicSet};
use buurtnet_geo::{AreaIndex, AreaRecord};
use buurtnet_store::{NewContact, NewParticipant, Store};
use geo::{BoundingRect, Intersects, Point};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The safety region whose neighbourhoods get demo participants (Utrecht, which includes
/// Amersfoort). Without CBS files, the synthetic town is used instead.
pub const DEMO_REGION: &str = "VR09";

/// The municipality an area lies in, following parents upwards.
pub fn municipality_of<'a>(index: &'a AreaIndex, area: &'a AreaRecord) -> Option<&'a AreaRecord> {
    let mut cur = area;
    for _ in 0..4 {
        if cur.level == AreaLevel::Municipality {
            return Some(cur);
        }
        cur = index.get(cur.parent_code.as_deref()?)?;
    }
    None
}

/// Neighbourhoods that get demo participants.
pub fn demo_neighbourhoods(index: &AreaIndex) -> Vec<&AreaRecord> {
    let all: Vec<&AreaRecord> = index.areas().iter().filter(|a| a.level == AreaLevel::Neighbourhood).collect();
    let in_region: Vec<&AreaRecord> = all
        .iter()
        .copied()
        .filter(|b| municipality_of(index, b).and_then(|m| m.parent_code.as_deref()) == Some(DEMO_REGION))
        .collect();
    if in_region.is_empty() { all } else { in_region }
}

/// A random point inside an area (rejection sampling in its bounding box).
pub fn random_point_in(area: &AreaRecord, rng: &mut impl Rng) -> Option<(f64, f64)> {
    let r = area.geometry.bounding_rect()?;
    for _ in 0..1000 {
        let lon = rng.random_range(r.min().x..=r.max().x);
        let lat = rng.random_range(r.min().y..=r.max().y);
        if area.geometry.intersects(&Point::new(lon, lat)) {
            return Some((lat, lon));
        }
    }
    None
}

fn channel_mix(rng: &mut impl Rng) -> ChannelSet {
    // Roughly the national picture: more SMS/voice than app, e-mail for many.
    let mut set = ChannelSet::EMPTY;
    if rng.random_bool(0.55) {
        set.insert(Channel::Sms);
    }
    if rng.random_bool(0.45) {
        set.insert(Channel::Push);
    }
    if rng.random_bool(0.40) {
        set.insert(Channel::Email);
    }
    if rng.random_bool(0.10) {
        set.insert(Channel::Voice);
    }
    if set.is_empty() {
        set.insert(Channel::Sms);
    }
    set
}

/// Builds `share` (e.g. 0.10) of the inhabitants of each neighbourhood as verified participants.
pub fn generate_participants(index: &AreaIndex, share: f64, seed: u64, now_ms: i64) -> Vec<NewParticipant> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut serial: u64 = 0;
    for b in demo_neighbourhoods(index) {
        let n = (b.inhabitants.unwrap_or(0) as f64 * share).round() as u64;
        for _ in 0..n {
            let Some((lat, lon)) = random_point_in(b, &mut rng) else { break };
            serial += 1;
            let channels = channel_mix(&mut rng);
            let wants_phone = channels.contains(Channel::Sms) || channels.contains(Channel::Voice) || rng.random_bool(0.3);
            // Everyone has at least one contact point (for self-service), also app-only users.
            let wants_email = channels.contains(Channel::Email) || rng.random_bool(0.3) || !wants_phone;
            let mut contacts = Vec::new();
            if wants_email {
                contacts.push(NewContact {
                    kind: "email".into(),
                    value: format!("deelnemer{serial}@demo.buurtnet.invalid"),
                    mobile: false,
                    verified_at: Some(now_ms),
                });
            }
            if wants_phone {
                contacts.push(NewContact {
                    kind: "phone".into(),
                    value: format!("+3161{serial:07}"),
                    mobile: true,
                    verified_at: Some(now_ms),
                });
            }
            let draft = AddressDraft {
                kind: AddressKind::Home,
                location: AddressLocation::Point { lat, lon },
                channels,
                quiet_hours: Vec::new(),
            };
            let at = index.locate(lat, lon);
            let address = new_address(&draft, lat, lon, false, &at);
            let topics: TopicSet = Topic::ALL.into_iter().filter(|_| rng.random_bool(0.9)).chain([Topic::Urgent]).collect();
            out.push(NewParticipant {
                external_id: Some(format!("demo-{serial}")),
                language: if rng.random_bool(0.9) { "nl".into() } else { "en".into() },
                topics: topics.bits(),
                age_confirmed: true,
                paused: false,
                municipality_code: address.municipality_code.clone(),
                created_at: now_ms,
                contacts,
                addresses: vec![address],
            });
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub email: String,
    pub role: Role,
    pub scope: String,
    pub password: Option<String>,
    pub token: String,
}

/// One staff account per role (created once; later runs give each a fresh password and token,
/// so that every run prints a working sign-in). Demo accounts sign in to the console without a
/// second factor (the sign-in page says so).
pub async fn ensure_staff(store: &Store, index: &AreaIndex, now_ms: i64) -> anyhow::Result<Vec<DemoAccount>> {
    let real = index.get("GM0307").is_some();
    let (region, town, town2) = if real { ("RE03", "GM0307", "GM0344") } else { ("RE99", "GM9999", "GM9999") };
    let mut out = Vec::new();
    for role in Role::ALL {
        let scope = match role {
            Role::Admin => "NL",
            Role::MunicipalityOfficer => town,
            Role::NeighbourhoodOfficer => town2,
            _ => region,
        };
        let email = format!("{}@demo.buurtnet.nl", role.as_str());
        let (user_id, password) = match store.staff_user_by_email(&email).await? {
            Some(u) => {
                let password = generate_password();
                store.set_staff_password(u.id, &hash_password(&password)?, now_ms).await?;
                (u.id, Some(password))
            }
            None => {
                let password = generate_password();
                let id = store.create_staff_user(&email, &hash_password(&password)?, role.as_str(), scope, now_ms).await?;
                store
                    .audit(
                        now_ms,
                        "cli:demo",
                        "staff.created",
                        Some(&format!("staff:{id}")),
                        &serde_json::json!({"role": role.as_str(), "scope": scope}),
                    )
                    .await?;
                (id, Some(password))
            }
        };
        store.set_skip_second_factor(user_id, true).await?;
        let (token, hash) = generate_token();
        store.create_api_token(user_id, &hash, now_ms, now_ms + crate::auth::DEFAULT_TOKEN_DAYS * 86_400_000).await?;
        store.audit(now_ms, "cli:demo", "token.created", Some(&format!("staff:{user_id}")), &serde_json::json!({})).await?;
        out.push(DemoAccount { email, role, scope: scope.into(), password, token });
    }
    Ok(out)
}

/// Participants spread over the country by the inhabitants of every district (2024 figures),
/// placed at random points inside their district, with about `second_share` of them having a
/// second address (half next door, half elsewhere). Deterministic for a seed; generated in
/// chunks so millions fit in little memory.
pub struct Population<'a> {
    index: &'a AreaIndex,
    /// (district, participants still to create there)
    plan: Vec<(&'a AreaRecord, u64)>,
    next: usize,
    rng: StdRng,
    serial: u64,
    second_share: f64,
    now_ms: i64,
}

impl<'a> Population<'a> {
    pub fn new(index: &'a AreaIndex, total: u64, seed: u64, second_share: f64, now_ms: i64) -> Population<'a> {
        let districts: Vec<&AreaRecord> =
            index.areas().iter().filter(|a| a.level == AreaLevel::District && a.inhabitants.unwrap_or(0) > 0).collect();
        let sum: i64 = districts.iter().map(|d| d.inhabitants.unwrap_or(0)).sum();
        let mut plan: Vec<(&AreaRecord, u64)> = districts
            .iter()
            .map(|d| (*d, (total as f64 * d.inhabitants.unwrap_or(0) as f64 / sum.max(1) as f64).floor() as u64))
            .collect();
        // Hand out what rounding left over, largest districts first.
        let mut missing = total.saturating_sub(plan.iter().map(|p| p.1).sum());
        plan.sort_by_key(|p| std::cmp::Reverse(p.0.inhabitants.unwrap_or(0)));
        for p in plan.iter_mut() {
            if missing == 0 {
                break;
            }
            p.1 += 1;
            missing -= 1;
        }
        Population { index, plan, next: 0, rng: StdRng::seed_from_u64(seed), serial: 0, second_share, now_ms }
    }

    /// The next participant, or `None` when all are made.
    pub fn next_participant(&mut self) -> Option<(NewParticipant, Vec<(f64, f64)>)> {
        let (lat, lon) = loop {
            while self.next < self.plan.len() && self.plan[self.next].1 == 0 {
                self.next += 1;
            }
            let (district, left) = self.plan.get_mut(self.next)?;
            *left -= 1;
            let district: &AreaRecord = district;
            if let Some(p) = random_point_in(district, &mut self.rng) {
                break p;
            }
        };
        self.serial += 1;
        let serial = self.serial;
        let mut points = vec![(lat, lon)];
        if self.rng.random_bool(self.second_share) {
            let p = if self.rng.random_bool(0.5) {
                (lat + self.rng.random_range(-0.003..0.003), lon + self.rng.random_range(-0.004..0.004))
            } else {
                (lat + self.rng.random_range(-0.1..0.1), lon + self.rng.random_range(-0.15..0.15))
            };
            points.push(p);
        }
        let channels = channel_mix(&mut self.rng);
        let mut contacts = vec![NewContact {
            kind: "email".into(),
            value: format!("bench{serial}@bench.buurtnet.invalid"),
            mobile: false,
            verified_at: Some(self.now_ms),
        }];
        if channels.contains(Channel::Sms) || channels.contains(Channel::Voice) {
            contacts.push(NewContact {
                kind: "phone".into(),
                value: format!("+3162{serial:07}"),
                mobile: true,
                verified_at: Some(self.now_ms),
            });
        }
        let addresses = points
            .iter()
            .enumerate()
            .map(|(i, (lat, lon))| {
                let kind = if i == 0 { AddressKind::Home } else { AddressKind::Work };
                let draft = AddressDraft {
                    kind,
                    location: AddressLocation::Point { lat: *lat, lon: *lon },
                    channels,
                    quiet_hours: Vec::new(),
                };
                new_address(&draft, *lat, *lon, false, &self.index.locate(*lat, *lon))
            })
            .collect::<Vec<_>>();
        let p = NewParticipant {
            external_id: None,
            language: "nl".into(),
            topics: 7,
            age_confirmed: true,
            paused: false,
            municipality_code: addresses[0].municipality_code.clone(),
            created_at: self.now_ms,
            contacts,
            addresses,
        };
        Some((p, points))
    }

    /// Up to `n` more participants.
    pub fn chunk(&mut self, n: usize) -> Vec<NewParticipant> {
        (0..n).map_while(|_| self.next_participant().map(|p| p.0)).collect()
    }
}

/// The generated residents who chose app notifications on some address: they "installed the
/// app", so each gets a registered device (push is reachable only through one).
pub fn app_users(people: &[NewParticipant], ids: &[i64]) -> Vec<i64> {
    people
        .iter()
        .zip(ids)
        .filter(|(p, _)| p.addresses.iter().any(|a| ChannelSet::from_bits(a.channels).contains(Channel::Push)))
        .map(|(_, id)| *id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_demo_places_everyone_in_their_neighbourhood() {
        let index = AreaIndex::new(buurtnet_geo::synthetic::synthetic_town());
        let people = generate_participants(&index, 0.01, 1, 0);
        assert_eq!(people.len(), 9 * 33);
        for p in &people {
            assert!(!p.contacts.is_empty());
            let a = &p.addresses[0];
            assert!(a.neighbourhood_code.is_some(), "{a:?}");
            assert_eq!(a.municipality_code.as_deref(), Some("GM9999"));
            assert!(a.channels != 0);
        }
    }
}
