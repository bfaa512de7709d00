//! Recruitment where coverage is low: a municipality makes a campaign (a name, the areas it aims
//! at, its period) and gets a sign-up link and a QR code (SVG, PNG) for posters. A sign-up
//! through the link records only the campaign's id; the campaign's page shows its sign-ups per
//! neighbourhood (in or outside the target areas) and per month, so the municipality sees
//! whether it reached the flagged areas.

use super::{lies_in, month_of};
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::{App, AppState};
use crate::texts::mail::dutch_time;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use buurtnet_domain::policy::ShownCount;
use buurtnet_domain::reports::Disclosure;
use buurtnet_domain::staff::Scope;
use buurtnet_domain::{AreaLevel, FieldErrors, Operation};
use buurtnet_store::campaigns::CampaignRow;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A new campaign.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// 1–100 characters.
    pub name: Option<String>,
    /// The neighbourhoods (BU…) or districts (WK…) it aims at, within the municipality.
    pub areas: Option<Vec<String>>,
    /// First day, YYYY-MM-DD.
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (at most two years after `from`).
    pub to: Option<String>,
    /// The municipality (GM…); default the caller's own.
    pub municipality: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NeighbourhoodSignUps {
    pub code: String,
    pub name: String,
    #[schema(value_type = Value)]
    pub sign_ups: ShownCount,
    /// Whether the neighbourhood lies in one of the campaign's target areas.
    pub targeted: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthSignUps {
    pub month: String,
    #[schema(value_type = Value)]
    pub sign_ups: ShownCount,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub id: i64,
    pub municipality: String,
    pub name: String,
    pub areas: Vec<String>,
    pub from: String,
    pub to: String,
    /// The sign-up link to print.
    pub link: String,
    /// The QR code of the link.
    pub qr_svg: String,
    pub qr_png: String,
    #[schema(value_type = Value)]
    pub sign_ups: ShownCount,
    /// Sign-ups that live in a target area.
    #[schema(value_type = Value)]
    pub sign_ups_in_target: ShownCount,
    pub per_neighbourhood: Vec<NeighbourhoodSignUps>,
    pub per_month: Vec<MonthSignUps>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignList {
    pub campaigns: Vec<CampaignView>,
}

fn link(app: &App, c: &CampaignRow) -> String {
    format!("{}/aanmelden?campagne={}", app.config.public_url(), c.code)
}

/// The id of the campaign with this code when it runs today (Dutch date), else none.
pub async fn running(app: &App, code: &str) -> AppResult<Option<i64>> {
    if code.is_empty() || code.len() > 32 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let today = dutch_time(app.clock.now()).date_naive().format("%Y-%m-%d").to_string();
    Ok(app.store.campaign_by_code(code).await?.filter(|c| c.starts_on <= today && today <= c.ends_on).map(|c| c.id))
}

fn may_see(user: &StaffUser, index: &buurtnet_geo::AreaIndex, c: &CampaignRow) -> bool {
    user.scope.covers(&index.place_of(&c.municipality))
}

async fn view(state: &AppState, user: &StaffUser, c: CampaignRow) -> AppResult<CampaignView> {
    let index = state.areas.current();
    let disclosure = Disclosure::of(&user.scope, &index.place_of(&c.municipality), false);
    let areas: Vec<String> = c.areas.split(',').filter(|a| !a.is_empty()).map(str::to_string).collect();
    let mut people: BTreeSet<i64> = BTreeSet::new();
    let mut in_target: BTreeSet<i64> = BTreeSet::new();
    let mut per_hood: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    let mut per_month: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for s in state.store.campaign_sign_ups(c.id).await? {
        people.insert(s.participant_id);
        per_month.entry(month_of(s.created_at).to_string()).or_default().insert(s.participant_id);
        if let Some(hood) = s.neighbourhood_code {
            if areas.iter().any(|a| lies_in(&index, &hood, a)) {
                in_target.insert(s.participant_id);
            }
            per_hood.entry(hood).or_default().insert(s.participant_id);
        }
    }
    let per_neighbourhood = per_hood
        .into_iter()
        .map(|(code, ids)| NeighbourhoodSignUps {
            name: index.get(&code).map(|a| a.name.clone()).unwrap_or_default(),
            targeted: areas.iter().any(|a| lies_in(&index, &code, a)),
            sign_ups: disclosure.people(ids.len() as u64),
            code,
        })
        .collect();
    let per_month =
        per_month.into_iter().map(|(month, ids)| MonthSignUps { month, sign_ups: disclosure.people(ids.len() as u64) }).collect();
    let base = format!("/api/v1/campaigns/{}", c.id);
    Ok(CampaignView {
        link: link(state, &c),
        id: c.id,
        municipality: c.municipality,
        name: c.name,
        areas,
        from: c.starts_on,
        to: c.ends_on,
        qr_svg: format!("{base}/qr.svg"),
        qr_png: format!("{base}/qr.png"),
        sign_ups: disclosure.people(people.len() as u64),
        sign_ups_in_target: disclosure.people(in_target.len() as u64),
        per_neighbourhood,
        per_month,
    })
}

fn parse_new(state: &AppState, user: &StaffUser, n: &NewCampaign) -> AppResult<CampaignRow> {
    let index = state.areas.current();
    let mut errors = FieldErrors::new();
    let municipality = match (&n.municipality, &user.scope) {
        (Some(m), _) => m.trim().to_ascii_uppercase(),
        (None, Scope::Municipality(gm)) => gm.clone(),
        (None, _) => {
            errors.add("municipality", "required", "Name the municipality (GM…) of the campaign.");
            String::new()
        }
    };
    if !municipality.is_empty() {
        match index.get(&municipality) {
            Some(a) if a.level == AreaLevel::Municipality => {
                if !user.scope.covers(&index.place_of(&municipality)) {
                    return Err(AppError::NotFound(format!("Municipality {municipality} lies outside your scope.")));
                }
            }
            _ => errors.add("municipality", "unknown_area", format!("There is no municipality with code {municipality}.")),
        }
    }
    let name = n.name.as_deref().unwrap_or_default().trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.add("name", "invalid_length", "Give the campaign a name of 1 to 100 characters.");
    }
    let wanted = n.areas.as_deref().unwrap_or_default();
    if wanted.is_empty() || wanted.len() > 200 {
        errors.add("areas", "invalid_area_list", "Give 1 to 200 target neighbourhoods (BU…) or districts (WK…).");
    }
    let mut areas = Vec::new();
    for (i, a) in wanted.iter().enumerate() {
        let code = a.trim().to_ascii_uppercase();
        let ok = index.get(&code).is_some_and(|r| matches!(r.level, AreaLevel::Neighbourhood | AreaLevel::District));
        if !ok {
            errors.add(format!("areas[{i}]"), "unknown_area", format!("{code} is no neighbourhood or district."));
        } else if !municipality.is_empty() && !lies_in(&index, &code, &municipality) {
            errors.add(format!("areas[{i}]"), "outside_municipality", format!("{code} does not lie in {municipality}."));
        } else if !areas.contains(&code) {
            areas.push(code);
        }
    }
    let date = |field: &str, s: &str, errors: &mut FieldErrors| {
        let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        if d.is_none() {
            errors.add(field, "invalid_date", format!("Give '{field}' as a date, e.g. 2027-03-01."));
        }
        d
    };
    let from = date("from", n.from.as_deref().unwrap_or_default(), &mut errors);
    let to = date("to", n.to.as_deref().unwrap_or_default(), &mut errors);
    if let (Some(f), Some(t)) = (from, to)
        && (t < f || (t - f).num_days() > 731)
    {
        errors.add("to", "invalid_period", "'to' must lie on or after 'from', at most two years later.");
    }
    errors.into_result(()).map_err(AppError::Validation)?;
    let code: String = {
        use rand::Rng;
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
        let mut rng = rand::rng();
        (0..10).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
    };
    Ok(CampaignRow {
        id: 0,
        municipality,
        name,
        areas: areas.join(","),
        starts_on: from.map(|d| d.to_string()).unwrap_or_default(),
        ends_on: to.map(|d| d.to_string()).unwrap_or_default(),
        code,
        created_by: user.id,
        created_at: state.now_ms(),
    })
}

#[utoipa::path(post, path = "/campaigns", tag = "reports",
    summary = "Make a recruitment campaign: a sign-up link and QR code for posters, aimed at areas of the municipality",
    request_body = NewCampaign,
    responses((status = 201, description = "The campaign", body = CampaignView), (status = 404, description = "Municipality outside the caller's scope"),
        (status = 422, description = "Invalid fields")))]
pub async fn create(
    State(state): State<AppState>,
    user: StaffUser,
    crate::http::extract::JsonBody(body): crate::http::extract::JsonBody,
) -> AppResult<(StatusCode, Json<CampaignView>)> {
    let body: NewCampaign = crate::http::extract::typed(body)?;
    Ok((StatusCode::CREATED, Json(make(&state, &user, &body).await?)))
}

/// Makes a campaign (checked, stored, audited).
pub async fn make(state: &AppState, user: &StaffUser, body: &NewCampaign) -> AppResult<CampaignView> {
    user.require(Operation::ManageCampaigns)?;
    let mut row = parse_new(state, user, body)?;
    row.id = state.store.create_campaign(&row).await?;
    let details = serde_json::json!({"municipality": row.municipality});
    state.store.audit(state.now_ms(), &user.actor(), "campaign.create", Some(&format!("campaign:{}", row.id)), &details).await?;
    view(state, user, row).await
}

/// The campaigns of the caller's scope, newest first.
pub async fn of_scope(state: &AppState, user: &StaffUser) -> AppResult<Vec<CampaignView>> {
    user.require(Operation::ReadReports)?;
    let index = state.areas.current();
    let mut campaigns = Vec::new();
    for c in state.store.campaigns().await?.into_iter().filter(|c| may_see(user, &index, c)) {
        campaigns.push(view(state, user, c).await?);
    }
    Ok(campaigns)
}

#[utoipa::path(get, path = "/campaigns", tag = "reports",
    summary = "The recruitment campaigns of one's scope with their sign-ups per neighbourhood and month",
    responses((status = 200, description = "The campaigns", body = CampaignList)))]
pub async fn list(State(state): State<AppState>, user: StaffUser) -> AppResult<Json<CampaignList>> {
    Ok(Json(CampaignList { campaigns: of_scope(&state, &user).await? }))
}

async fn visible(state: &AppState, user: &StaffUser, id: &str) -> AppResult<CampaignRow> {
    let missing = || AppError::NotFound(format!("There is no campaign {id}."));
    let id: i64 = id.parse().map_err(|_| missing())?;
    let c = state.store.campaign(id).await?.ok_or_else(missing)?;
    if !may_see(user, &state.areas.current(), &c) {
        return Err(missing());
    }
    Ok(c)
}

#[utoipa::path(get, path = "/campaigns/{id}", tag = "reports", params(("id" = String, Path, description = "The campaign")),
    summary = "One campaign with its sign-ups per neighbourhood and month",
    responses((status = 200, description = "The campaign", body = CampaignView), (status = 404, description = "No such campaign in one's scope")))]
pub async fn one(State(state): State<AppState>, user: StaffUser, Path(id): Path<String>) -> AppResult<Json<CampaignView>> {
    user.require(Operation::ReadReports)?;
    let c = visible(&state, &user, &id).await?;
    Ok(Json(view(&state, &user, c).await?))
}

fn qr(state: &AppState, c: &CampaignRow) -> AppResult<qrcode::QrCode> {
    qrcode::QrCode::new(link(state, c).as_bytes()).map_err(|e| AppError::Internal(format!("qr: {e}")))
}

#[utoipa::path(get, path = "/campaigns/{id}/qr.svg", tag = "reports", params(("id" = String, Path, description = "The campaign")),
    summary = "The QR code of a campaign's sign-up link as SVG (for posters)",
    responses((status = 200, description = "SVG", content((String = "image/svg+xml"))), (status = 404, description = "No such campaign in one's scope")))]
pub async fn qr_svg(State(state): State<AppState>, user: StaffUser, Path(id): Path<String>) -> AppResult<Response> {
    user.require(Operation::ReadReports)?;
    let c = visible(&state, &user, &id).await?;
    let svg = qr(&state, &c)?.render::<qrcode::render::svg::Color>().min_dimensions(400, 400).quiet_zone(true).build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

#[utoipa::path(get, path = "/campaigns/{id}/qr.png", tag = "reports", params(("id" = String, Path, description = "The campaign")),
    summary = "The QR code of a campaign's sign-up link as PNG",
    responses((status = 200, description = "PNG", content((Vec<u8> = "image/png"))), (status = 404, description = "No such campaign in one's scope")))]
pub async fn qr_png(State(state): State<AppState>, user: StaffUser, Path(id): Path<String>) -> AppResult<Response> {
    user.require(Operation::ReadReports)?;
    let c = visible(&state, &user, &id).await?;
    let code = qr(&state, &c)?;
    let (width, scale, quiet) = (code.width() as u32, 10u32, 4u32);
    let size = (width + 2 * quiet) * scale;
    let colors = code.to_colors();
    let img = image::GrayImage::from_fn(size, size, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let dark = mx >= quiet
            && my >= quiet
            && mx < width + quiet
            && my < width + quiet
            && colors[((my - quiet) * width + (mx - quiet)) as usize] == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png).map_err(|e| AppError::Internal(format!("png: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], bytes.into_inner()).into_response())
}
