//! Who may call which staff endpoint of the JSON API: one table, by route template and method,
//! enforced for every route by one middleware ([`enforce`]) before any handler runs. The role
//! lists are the services' own constants, so the table and the services cannot drift apart; the
//! services still check role and scope (data-dependent) themselves. Routes not in the table are
//! public (residents, devices, providers' webhooks, areas). The role × scope test matrix walks
//! this table and every route of `http::api_routes()`.

use crate::alerting::{actions, approval, information};
use crate::auth::StaffUser;
use crate::enquiries::{replies, requests};
use crate::state::AppState;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use buurtnet_domain::staff::Role;

const EVERYONE: &[Role] = &Role::ALL;
const ADMIN: &[Role] = &[Role::Admin];
const COUNT: &[Role] = &[Role::Dispatcher, Role::MunicipalityOfficer, Role::Admin];
const LIVE: &[Role] = &[Role::Dispatcher, Role::Admin, Role::MunicipalityOfficer, Role::RegionalCoordinator];
const STATS: &[Role] = &[Role::MunicipalityOfficer, Role::RegionalCoordinator, Role::Admin, Role::Dispatcher];
/// Reply photos: of tips (dispatchers) or of enquiries (handlers, approvers); the service
/// narrows it down by the photo's kind.
const PHOTO: &[Role] = &[Role::Dispatcher, Role::Handler, Role::Approver, Role::Admin];

/// (method, route template under `/api/v1`, roles).
pub const API_RULES: &[(&str, &str, &[Role])] = &[
    ("GET", "/admin/area-imports", ADMIN),
    ("GET", "/staff/me", EVERYONE),
    ("POST", "/targeting/count", COUNT),
    ("GET", "/stats/participants", STATS),
    ("GET", "/actions", actions::ROLES),
    ("POST", "/actions", actions::ROLES),
    ("GET", "/actions/live", LIVE),
    ("GET", "/actions/{id}", actions::ROLES),
    ("POST", "/actions/{id}/approve", approval::APPROVE_ROLES),
    ("POST", "/actions/{id}/send", actions::ROLES),
    ("POST", "/actions/{id}/update", actions::ROLES),
    ("POST", "/actions/{id}/close", actions::ROLES),
    ("POST", "/actions/{id}/cancel", actions::ROLES),
    ("GET", "/actions/{id}/tips", replies::TIP_ROLES),
    ("POST", "/actions/{id}/photos", actions::ROLES),
    ("POST", "/messages", information::ROLES),
    ("GET", "/messages/{id}", information::ROLES),
    ("POST", "/messages/{id}/approve", approval::MESSAGE_APPROVE_ROLES),
    ("GET", "/deliveries/dead", ADMIN),
    ("POST", "/deliveries/{id}/retry", ADMIN),
    ("POST", "/messages/{id}/retry-dead", ADMIN),
    ("GET", "/enquiries", requests::READ_ROLES),
    ("POST", "/enquiries", requests::REQUEST_ROLES),
    ("GET", "/enquiries/monthly", requests::READ_ROLES),
    ("GET", "/enquiries/{id}", requests::READ_ROLES),
    ("POST", "/enquiries/{id}/photo", requests::REQUEST_ROLES),
    ("POST", "/enquiries/{id}/approve", requests::APPROVE_ROLES),
    ("POST", "/enquiries/{id}/return", requests::APPROVE_ROLES),
    ("POST", "/enquiries/{id}/close", requests::CLOSE_ROLES),
    ("GET", "/enquiries/{id}/replies", replies::READ_ROLES),
    ("POST", "/replies/{id}/classify", replies::HANDLER_ROLES),
    ("POST", "/replies/{id}/forward", replies::HANDLER_ROLES),
    ("POST", "/replies/{id}/answer", replies::HANDLER_ROLES),
    ("GET", "/reply-photos/{id}", PHOTO),
];

/// The roles allowed on a staff route (`None`: a public route).
pub fn api_roles(method: &str, template: &str) -> Option<&'static [Role]> {
    API_RULES.iter().find(|(m, t, _)| *m == method && *t == template).map(|(_, _, roles)| *roles)
}

/// The middleware (a route layer of the API router, so the matched route is known): signs the
/// caller in (bearer token or console session) and checks the role against [`API_RULES`]; the
/// signed-in user is handed on to the handler's `StaffUser` extractor.
pub async fn enforce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let template = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
    let template = template.strip_prefix("/api/v1").unwrap_or(&template);
    let Some(roles) = api_roles(req.method().as_str(), template) else {
        return next.run(req).await;
    };
    // A console session (the map's and live page's scripts) with its CSRF rules.
    let req = match crate::console::session::authenticate(&state, req).await {
        Ok(req) => req,
        Err(refusal) => return refusal,
    };
    let (mut parts, body) = req.into_parts();
    let user = match StaffUser::from_request_parts(&mut parts, &state).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = user.require_role(roles) {
        return e.into_response();
    }
    parts.extensions.insert(user);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_a_route_of_the_table() {
        let routes = crate::http::api_routes();
        for (m, t, _) in API_RULES {
            assert!(routes.iter().any(|r| r.path == *t && r.methods.contains(m)), "{m} {t} is not a route");
        }
    }
}
