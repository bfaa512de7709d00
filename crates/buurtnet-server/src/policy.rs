//! Which operation each staff endpoint of the JSON API needs: derived from the route table
//! (`http::routes`, one row per handler), enforced for every route by one middleware
//! ([`enforce`]) before any handler runs. Who
//! may perform an operation is the domain's rule (`buurtnet_domain::policy`), which the services
//! ask again with the data's scope. Routes not in the table are
//! public (residents, devices, providers' webhooks, areas). The role × scope test matrix walks
//! this table and every route of `http::api_routes()`.

use crate::auth::StaffUser;
use crate::http::routes::Access;
use crate::state::AppState;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use buurtnet_domain::Operation;
use std::sync::LazyLock;

/// (method, route template under `/api/v1`, the operation it needs), from the route table
/// (`http::routes`).
pub static API_RULES: LazyLock<Vec<(&'static str, &'static str, Operation)>> = LazyLock::new(|| {
    crate::http::routes::rules()
        .iter()
        .filter_map(|r| match r.access {
            Access::Needs(op) => Some((r.method, r.path, op)),
            Access::Public(_) => None,
        })
        .collect()
});

/// The routes of the API that need no staff member, and why: residents (with their own link or
/// device token, checked by the handler), providers' webhooks (signed), and public facts. From
/// the route table (`http::routes`).
pub static PUBLIC_API: LazyLock<Vec<(&'static str, &'static str, &'static str)>> = LazyLock::new(|| {
    crate::http::routes::rules()
        .iter()
        .filter_map(|r| match r.access {
            Access::Public(why) => Some((r.method, r.path, why)),
            Access::Needs(_) => None,
        })
        .collect()
});

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
        for (m, t, _) in PUBLIC_API.iter() {
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
        for (m, t, _) in API_RULES.iter() {
            assert!(routes.iter().any(|r| r.path == *t && r.methods.contains(m)), "{m} {t} is not a route");
        }
    }
}
