//! Which operation each staff endpoint of the JSON API needs: one table, by route template and
//! method, enforced for every route by one middleware ([`enforce`]) before any handler runs. Who
//! may perform an operation is the domain's rule (`buurtnet_domain::policy`), which the services
//! ask again with the data's scope. Routes not in the table are
//! public (residents, devices, providers' webhooks, areas). The role × scope test matrix walks
//! this table and every route of `http::api_routes()`.

use crate::auth::StaffUser;
use crate::state::AppState;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use buurtnet_domain::Operation;

/// (method, route template under `/api/v1`, the operation it needs).
pub const API_RULES: &[(&str, &str, Operation)] = &[
    ("GET", "/admin/area-imports", Operation::ReadAreaImports),
    ("GET", "/admin/jobs", Operation::ReadJobs),
    ("GET", "/staff/me", Operation::ReadOwnAccount),
    ("POST", "/targeting/count", Operation::CountReach),
    ("GET", "/stats/participants", Operation::ReadParticipantStats),
    ("GET", "/actions", Operation::ManageActions),
    ("POST", "/actions", Operation::ManageActions),
    ("GET", "/actions/live", Operation::FollowLiveActions),
    ("GET", "/actions/{id}", Operation::ManageActions),
    ("POST", "/actions/{id}/send", Operation::ManageActions),
    ("POST", "/actions/{id}/update", Operation::ManageActions),
    ("POST", "/actions/{id}/close", Operation::ManageActions),
    ("POST", "/actions/{id}/cancel", Operation::ManageActions),
    ("POST", "/actions/{id}/approve", Operation::ApproveAction),
    ("GET", "/actions/{id}/tips", Operation::ReadTips),
    ("POST", "/actions/{id}/photos", Operation::ManageActions),
    ("POST", "/messages", Operation::SendInformation),
    ("GET", "/messages/{id}", Operation::SendInformation),
    ("POST", "/messages/{id}/approve", Operation::ApproveInformation),
    ("GET", "/deliveries/dead", Operation::ManageDeliveries),
    ("POST", "/deliveries/{id}/retry", Operation::ManageDeliveries),
    ("POST", "/messages/{id}/retry-dead", Operation::ManageDeliveries),
    ("GET", "/enquiries", Operation::ReadEnquiries),
    ("POST", "/enquiries", Operation::RequestEnquiry),
    ("GET", "/enquiries/monthly", Operation::ReadEnquiries),
    ("GET", "/enquiries/{id}", Operation::ReadEnquiries),
    ("POST", "/enquiries/{id}/photo", Operation::RequestEnquiry),
    ("POST", "/enquiries/{id}/approve", Operation::ApproveEnquiry),
    ("POST", "/enquiries/{id}/return", Operation::ApproveEnquiry),
    ("POST", "/enquiries/{id}/close", Operation::CloseEnquiry),
    ("GET", "/enquiries/{id}/replies", Operation::ReadReplies),
    ("POST", "/replies/{id}/classify", Operation::HandleReplies),
    ("POST", "/replies/{id}/forward", Operation::HandleReplies),
    ("POST", "/replies/{id}/answer", Operation::HandleReplies),
    ("GET", "/reply-photos/{id}", Operation::ReadReplyPhotos),
];

/// The routes of the API that need no staff member, and why: residents (with their own link or
/// device token, checked by the handler), providers' webhooks (signed), and public facts.
pub const PUBLIC_API: &[(&str, &str, &str)] = &[
    ("GET", "/openapi.json", "the API's description"),
    ("GET", "/areas", "public geography"),
    ("GET", "/areas/at", "public geography"),
    ("GET", "/areas/{code}", "public geography"),
    ("POST", "/participants", "a resident signs up"),
    ("POST", "/participants/verify-email", "a resident's e-mail link"),
    ("POST", "/participants/verify-phone", "a resident's SMS code"),
    ("POST", "/participants/resend-code", "a resident's SMS code"),
    ("POST", "/participants/self-service-link", "a resident asks for their link"),
    ("GET", "/self-service/{token}", "a resident's signed link"),
    ("PATCH", "/self-service/{token}", "a resident's signed link"),
    ("DELETE", "/self-service/{token}", "a resident's signed link"),
    ("DELETE", "/self-service/{token}/devices/{id}", "a resident's signed link"),
    ("GET", "/live", "the public live feed of published actions"),
    ("POST", "/providers/sms/reports", "the SMS gateway's signed delivery reports"),
    ("GET", "/push/public-key", "the VAPID public key"),
    ("POST", "/devices", "a device registers itself"),
    ("PATCH", "/devices/{id}", "the device's own token"),
    ("DELETE", "/devices/{id}", "the device's own token"),
    ("GET", "/app/config", "the resident app's settings"),
    ("GET", "/app/devices/{id}", "the device's own token"),
    ("GET", "/app/devices/{id}/actions", "the device's own token"),
    ("GET", "/app/devices/{id}/open/{action}", "the device's own token"),
    ("POST", "/app/devices/{id}/link", "the device's own token and a self-service link"),
    ("GET", "/app/actions/{link}", "a signed action-page link"),
    ("POST", "/app/actions/{link}/tips", "a signed action-page link"),
];

/// The operation a staff route needs (`None`: a public route).
pub fn api_operation(method: &str, template: &str) -> Option<Operation> {
    API_RULES.iter().find(|(m, t, _)| *m == method && *t == template).map(|(_, _, op)| *op)
}

/// The roles allowed on a staff route (`None`: a public route), as the policy says.
pub fn api_roles(method: &str, template: &str) -> Option<&'static [buurtnet_domain::staff::Role]> {
    api_operation(method, template).map(Operation::roles)
}

/// The middleware (a route layer of the API router, so the matched route is known): signs the
/// caller in (bearer token or console session) and checks the role against [`API_RULES`]; the
/// signed-in user is handed on to the handler's `StaffUser` extractor.
pub async fn enforce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let template = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
    let template = template.strip_prefix("/api/v1").unwrap_or(&template);
    let Some(op) = api_operation(req.method().as_str(), template) else {
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
    if let Err(e) = user.require(op) {
        return e.into_response();
    }
    parts.extensions.insert(user);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A route added to the API must say what it needs: an operation of the policy, or a
    /// place in the list of public routes. Never both, never neither.
    #[test]
    fn every_route_has_its_operation_or_is_listed_public() {
        let mut missing = Vec::new();
        for r in crate::http::api_routes() {
            for m in r.methods {
                let staff = api_operation(m, r.path).is_some();
                let public = PUBLIC_API.iter().any(|(pm, pp, _)| pm == m && *pp == r.path);
                if staff == public {
                    missing.push(format!("{m} {} (operation: {staff}, public: {public})", r.path));
                }
            }
        }
        assert!(missing.is_empty(), "routes without exactly one of an operation or a public reason: {missing:#?}");
        for (m, t, _) in PUBLIC_API {
            assert!(crate::http::api_routes().iter().any(|r| r.path == *t && r.methods.contains(m)), "{m} {t} is not a route");
        }
    }

    /// A console page says who it is for; only the sign-in steps are open to anyone, and only
    /// the overview and one's own session pages to every signed-in role.
    #[test]
    fn every_console_page_has_its_access() {
        use crate::console::Access;
        for page in crate::console::pages() {
            match page.access {
                Access::Anyone => assert!(
                    ["/console/aanmelden", "/console/tweede-stap", "/console/wachtwoord", "/console/afmelden"]
                        .iter()
                        .any(|p| page.path.starts_with(p)),
                    "{} is open to anyone",
                    page.path
                ),
                Access::SignedIn => assert!(
                    ["/console", "/console/tweede-stap/aanzetten", "/console/overal-afmelden"].contains(&page.path),
                    "{} is open to every role: give it an operation",
                    page.path
                ),
                Access::Needs(_) => {}
            }
        }
    }

    #[test]
    fn every_rule_names_a_route_of_the_table() {
        let routes = crate::http::api_routes();
        for (m, t, _) in API_RULES {
            assert!(routes.iter().any(|r| r.path == *t && r.methods.contains(m)), "{m} {t} is not a route");
        }
    }
}
