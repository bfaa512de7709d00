//! Membership: a device linked to a participant's account, whose verified home addresses make
//! them a member of each home's neighbourhood and street once they join (a display name, the
//! house rules accepted). Following an adjacent neighbourhood (outlines touch) reads along.

use super::requests::{FollowBody, JoinBody, RenameBody};
use super::views;
use crate::alerting::views::iso;
use crate::error::{AppError, AppResult};
use crate::state::App;
use buurtnet_domain::neighbourhood::display_name;
use buurtnet_domain::{AreaLevel, FieldErrors, Language};
use buurtnet_store::DeviceRecord;
use buurtnet_store::neighbourhood_members::{Home, MemberRow};
use geo::{BoundingRect, Intersects};
use serde_json::json;

/// The house rules one accepts on joining.
pub fn house_rules() -> views::Both {
    views::Both {
        nl: "Wees vriendelijk en behulpzaam. Geen discriminatie, bedreiging of schelden. Deel geen \
             telefoonnummers, adressen of foto's van anderen. Noem geen namen bij overlast of onraad. Dit is \
             geen alarmnummer: bel bij spoed altijd eerst 112."
            .into(),
        en: "Be kind and helpful. No discrimination, threats or abuse. Do not share other people's phone \
             numbers, addresses or photos. Name no one when reporting nuisance or trouble. This is not an \
             emergency service: in an emergency always call 112 first."
            .into(),
    }
}

/// A resident behind a device: the participant and their verified homes.
#[derive(Debug, Clone)]
pub struct Resident {
    pub participant_id: i64,
    pub homes: Vec<Home>,
    pub language: Language,
}

impl Resident {
    /// The distinct neighbourhoods of the homes.
    pub fn neighbourhoods(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.homes.iter().map(|h| h.neighbourhood_code.as_str()).collect();
        out.dedup();
        out
    }

    /// The street one writes from in a neighbourhood (or a street of a municipality).
    pub fn street_in(&self, neighbourhood: &str, municipality: &str, street: Option<&str>) -> Option<String> {
        match street {
            Some(s) => self.homes.iter().find(|h| h.municipality_code == municipality && h.street.as_deref() == Some(s)),
            None => self.homes.iter().find(|h| h.neighbourhood_code == neighbourhood && h.street.is_some()),
        }
        .and_then(|h| h.street.clone())
    }
}

/// The resident behind a device, or 403 saying how to become one.
pub async fn resident(app: &App, device: &DeviceRecord) -> AppResult<Resident> {
    let Some(participant_id) = device.participant_id else {
        return Err(AppError::Forbidden(format!(
            "This device is not linked to a registration. Ask for a sign-in link (POST /api/v1/participants/self-service-link) \
             and link this device with it (POST /api/v1/app/devices/{}/link); then your verified home address makes you a \
             member of your neighbourhood.",
            device.id
        )));
    };
    let homes = app.store.verified_homes(participant_id).await?;
    if homes.is_empty() {
        return Err(AppError::Forbidden(
            "Neighbourhood conversations need a verified home address: add your home address (postcode and house number) \
             to your registration and confirm your e-mail address or phone number."
                .into(),
        ));
    }
    Ok(Resident { participant_id, homes, language: Language::parse(&device.language).unwrap_or_default() })
}

/// The membership of a resident, or 403 saying how to join.
pub async fn member(app: &App, r: &Resident, device_id: i64) -> AppResult<MemberRow> {
    app.store.neighbourhood_member(r.participant_id).await?.ok_or_else(|| {
        AppError::Forbidden(format!(
            "Join first: POST /api/v1/app/devices/{device_id}/neighbourhood with a display_name and accept_house_rules: true."
        ))
    })
}

/// What a resident's membership looks like.
pub async fn view(app: &App, r: &Resident) -> AppResult<views::Membership> {
    let m = app.store.neighbourhood_member(r.participant_id).await?;
    let index = app.areas.current();
    let neighbourhoods = r
        .neighbourhoods()
        .into_iter()
        .map(|code| views::MemberNeighbourhood {
            code: code.to_string(),
            name: index.get(code).map(|a| a.name.clone()),
            streets: r.homes.iter().filter(|h| h.neighbourhood_code == code).filter_map(|h| h.street.clone()).collect(),
        })
        .collect();
    Ok(views::Membership {
        member: m.is_some(),
        display_name: m.as_ref().map(|m| m.display_name.clone()),
        house_rules_accepted_at: m.as_ref().and_then(|m| iso(m.house_rules_accepted_at)),
        neighbourhoods,
        following: app.store.followed_neighbourhoods(r.participant_id).await?,
        house_rules: house_rules(),
    })
}

/// Joins: a display name and the house rules accepted. 409 when already a member.
pub async fn join(app: &App, r: &Resident, body: JoinBody) -> AppResult<views::Membership> {
    let mut errors = FieldErrors::new();
    let name = display_name("display_name", body.display_name.as_deref(), &mut errors);
    if body.accept_house_rules != Some(true) {
        errors.add("accept_house_rules", "required", "Accept the house rules (accept_house_rules: true) to join.");
    }
    let name = errors.into_result(name)?.unwrap_or_default();
    if !app.store.join_neighbourhood(r.participant_id, &name, app.now_ms()).await? {
        return Err(AppError::WrongState("You are a member already; change your display name with PATCH.".into()));
    }
    view(app, r).await
}

/// Changes the display name (also on one's earlier messages).
pub async fn rename(app: &App, r: &Resident, device_id: i64, body: RenameBody) -> AppResult<views::Membership> {
    member(app, r, device_id).await?;
    let mut errors = FieldErrors::new();
    let name = display_name("display_name", body.display_name.as_deref(), &mut errors);
    let name = errors.into_result(name)?.unwrap_or_default();
    app.store.rename_member(r.participant_id, &name, app.now_ms()).await?;
    view(app, r).await
}

/// Leaves (404 when not a member). One's messages stay, shown as a former member's.
pub async fn leave(app: &App, r: &Resident) -> AppResult<()> {
    if !app.store.leave_neighbourhood(r.participant_id).await? {
        return Err(AppError::NotFound("You are not a member.".into()));
    }
    app.store
        .audit(app.now_ms(), "resident", "neighbourhood.leave", Some(&format!("participant:{}", r.participant_id)), &json!({}))
        .await?;
    Ok(())
}

/// Whether two neighbourhoods are adjacent: different, and their outlines (from the geo index)
/// touch or overlap. The candidates come from the index's R-tree by bounding box, so this costs
/// a handful of polygon tests.
pub fn adjacent(index: &buurtnet_geo::AreaIndex, a: &str, b: &str) -> bool {
    let (Some(x), Some(y)) = (index.get(a), index.get(b)) else { return false };
    if a == b || x.level != AreaLevel::Neighbourhood || y.level != AreaLevel::Neighbourhood {
        return false;
    }
    let Some(rect) = x.geometry.bounding_rect() else { return false };
    index.intersecting(AreaLevel::Neighbourhood, &rect).iter().any(|c| c.code == b) && x.geometry.intersects(&y.geometry)
}

/// Follows an adjacent neighbourhood read-only.
pub async fn follow(app: &App, r: &Resident, device_id: i64, body: FollowBody) -> AppResult<views::Membership> {
    member(app, r, device_id).await?;
    let code = body.neighbourhood.as_deref().map(str::trim).unwrap_or_default().to_string();
    let index = app.areas.current();
    let own = r.neighbourhoods();
    if own.contains(&code.as_str()) {
        return Err(AppError::invalid("neighbourhood", "own_neighbourhood", "You are a member of this neighbourhood already."));
    }
    if !own.iter().any(|o| adjacent(&index, o, &code)) {
        return Err(AppError::invalid(
            "neighbourhood",
            "not_adjacent",
            "Only a neighbourhood (BU code) adjacent to one of your own can be followed.",
        ));
    }
    app.store.follow_neighbourhood(r.participant_id, &code, app.now_ms()).await?;
    view(app, r).await
}

/// Stops following a neighbourhood.
pub async fn unfollow(app: &App, r: &Resident, code: &str) -> AppResult<()> {
    if !app.store.unfollow_neighbourhood(r.participant_id, code.trim()).await? {
        return Err(AppError::NotFound("You do not follow this neighbourhood.".into()));
    }
    Ok(())
}

/// What a participant's export holds of the neighbourhood conversations (`None`: nothing).
pub async fn export(app: &App, participant_id: i64) -> AppResult<Option<views::NeighbourhoodExport>> {
    let m = app.store.neighbourhood_member(participant_id).await?;
    let following = app.store.followed_neighbourhoods(participant_id).await?;
    let messages: Vec<views::OwnMessage> = app
        .store
        .conversation_messages_of_participant(participant_id)
        .await?
        .into_iter()
        .map(|(conversation, body, at)| views::OwnMessage { conversation, body, created_at: iso(at) })
        .collect();
    let alarm_neighbours: Vec<String> =
        app.store.alarm_neighbours_of(participant_id).await?.into_iter().map(|n| n.display_name).collect();
    let emergency_presses: Vec<_> =
        app.store.emergency_presses_of(participant_id, i64::MAX).await?.iter().map(super::alarm::entry).collect();
    if m.is_none() && following.is_empty() && messages.is_empty() && emergency_presses.is_empty() {
        return Ok(None);
    }
    Ok(Some(views::NeighbourhoodExport {
        member: m.is_some(),
        display_name: m.as_ref().map(|m| m.display_name.clone()),
        house_rules_accepted_at: m.as_ref().and_then(|m| iso(m.house_rules_accepted_at)),
        following,
        messages,
        alarm_neighbours,
        emergency_presses,
    }))
}
