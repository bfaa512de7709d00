//! The OpenAPI 3.1 document of the JSON API, `GET /api/v1/openapi.json`, generated from the
//! route table (`http::routes`): each handler's `#[utoipa::path]` gives its method, path,
//! parameters, request and response types, whose schemas are derived from the Rust types
//! (`utoipa::ToSchema`). Added here only what holds for every route: the error shape and the
//! statuses any route may answer, the staff token's security scheme on routes that need an
//! operation, and stable operation ids.

use super::routes::{self, Access};
use crate::error::ErrorBody;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "buurtnet API",
        description = "Alerting residents: areas, participants, self-service, targeting, urgent actions, information messages, neighbourhood enquiries and replies, deliveries, live feeds. Errors are {\"error\", \"message\", \"fields\"?}."
    ),
    servers((url = "/api/v1")),
    components(schemas(ErrorBody))
)]
struct Base;

/// Statuses any route may answer: a bad request, a body too large, too many requests, and
/// a busy server.
const ANY_ROUTE: [u16; 4] = [400, 413, 429, 503];

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn document_handler() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(document())
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "staffToken",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A staff API token (buurtnet admin create-token)."))
                .build(),
        ),
    );
    for (row, access) in routes::table() {
        let (schemas, mut paths, _) = row;
        for (name, schema) in schemas {
            components.schemas.insert(name, schema);
        }
        for (path, item) in paths.paths.iter_mut() {
            let ops = [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Patch, &mut item.patch),
                (HttpMethod::Delete, &mut item.delete),
            ];
            for (method, op) in ops {
                if let Some(op) = op {
                    complete(op, &method, path, access);
                }
            }
        }
        doc.paths.merge(paths);
    }
    doc
}

fn method_name(m: &HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Patch => "patch",
        HttpMethod::Delete => "delete",
        HttpMethod::Head => "head",
        HttpMethod::Options => "options",
        HttpMethod::Trace => "trace",
    }
}

/// What every operation shares: the error body on each error status, the statuses any route
/// may answer, the staff token where an operation is needed, and its id.
fn complete(op: &mut Operation, method: &HttpMethod, path: &str, access: Access) {
    op.operation_id = Some(format!("{}{}", method_name(method), path.replace(['/', '{', '}', '-', '.'], "_")));
    let error = || {
        ContentBuilder::new()
            .schema(Some(RefOr::<utoipa::openapi::schema::Schema>::Ref(Ref::from_schema_name("ErrorBody"))))
            .build()
    };
    for status in ANY_ROUTE {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| {
            RefOr::T(ResponseBuilder::new().description("An error").content("application/json", error()).build())
        });
    }
    if matches!(access, Access::Needs(_)) {
        for status in [401, 403] {
            op.responses.responses.entry(status.to_string()).or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description("Not signed in, or not allowed")
                        .content("application/json", error())
                        .build(),
                )
            });
        }
        op.security = Some(vec![SecurityRequirement::new("staffToken", Vec::<String>::new())]);
    }
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(r) = response
            && status.as_str() >= "400"
            && r.content.is_empty()
        {
            r.content.insert("application/json".into(), error());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two types never share a schema name (the document would show one of them for both).
    #[test]
    fn schema_names_are_unique() {
        let mut seen: std::collections::BTreeMap<String, serde_json::Value> = Default::default();
        for ((schemas, _, _), _) in routes::table() {
            for (name, schema) in schemas {
                let schema = serde_json::to_value(schema).unwrap_or_default();
                if let Some(before) = seen.insert(name.clone(), schema.clone()) {
                    assert_eq!(before, schema, "two types are called {name}");
                }
            }
        }
    }

    /// Every route of the table is in the document with a summary, a success response with a
    /// schema (or no content: 204), and nothing else is.
    #[test]
    fn every_route_is_described_with_typed_answers() {
        let doc = serde_json::to_value(document()).unwrap_or_default();
        // `BUURTNET_OPENAPI_OUT=file`: the document is written there (to compare versions).
        if let Some(out) = std::env::var_os("BUURTNET_OPENAPI_OUT") {
            std::fs::write(out, serde_json::to_string_pretty(&doc).unwrap_or_default()).unwrap_or_default();
        }
        assert_eq!(doc["openapi"], "3.1.0");
        let routes = routes::api_routes();
        assert_eq!(doc["paths"].as_object().map(|p| p.len()), Some(routes.len()));
        for r in &routes {
            for m in r.methods {
                let op = &doc["paths"][r.path][m.to_lowercase()];
                assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{m} {}: {op}", r.path);
                let ok = op["responses"].as_object().and_then(|rs| rs.iter().find(|(s, _)| s.starts_with('2')));
                let Some((status, ok)) = ok else { panic!("{m} {}: no success response", r.path) };
                if status != "204" {
                    let content = ok["content"].as_object().unwrap_or_else(|| panic!("{m} {}: no content", r.path));
                    for (_, c) in content {
                        assert!(c["schema"].is_object(), "{m} {}: {c}", r.path);
                    }
                }
            }
        }
    }
}
