//! Admin pages: staff accounts (create, change, disable) and the audit log (browse, filter,
//! export as CSV). Admins only; the services check the role and scope.

use super::texts::Ct;
use super::{Console, Shell, render_error};
use crate::error::AppError;
use crate::http::RequestId;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use buurtnet_domain::Operation;
use buurtnet_domain::staff::Role;
use buurtnet_store::{AuditEntry, AuditFilter, StaffUserRow};
use serde::Deserialize;
use serde_json::json;

pub struct RoleOption {
    pub value: &'static str,
    pub label: &'static str,
}

fn role_options(t: Ct) -> Vec<RoleOption> {
    Role::ALL.iter().map(|r| RoleOption { value: r.as_str(), label: t.role(r.as_str()) }).collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "console/staff.html")]
struct StaffPage {
    t: Ct,
    shell: Shell,
    staff: Vec<StaffUserRow>,
    roles: Vec<RoleOption>,
    notice: String,
    error: String,
    form_email: String,
    form_role: String,
    form_scope: String,
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    done: Option<String>,
}

pub async fn staff_list(State(state): State<AppState>, c: Console, rid: RequestId, Query(q): Query<NoticeQuery>) -> Response {
    let t = c.t;
    let notice = match q.done.as_deref() {
        Some("created") => t.get("created_staff"),
        Some("changed") => t.get("changed"),
        _ => "",
    };
    render_staff(&state, c, rid, notice.to_string(), None, StatusCode::OK, ("", "", "")).await
}

async fn render_staff(
    state: &AppState,
    c: Console,
    rid: RequestId,
    notice: String,
    error: Option<AppError>,
    status: StatusCode,
    form: (&str, &str, &str),
) -> Response {
    let t = c.t;
    let staff = match super::staff_admin::visible_staff(state, &c.user).await {
        Ok(s) => s,
        Err(e) => return render_error(t, e, rid.0),
    };
    let error = error.map(|e| describe(t, &e)).unwrap_or_default();
    let page = StaffPage {
        t,
        shell: c.shell,
        staff,
        roles: role_options(t),
        notice,
        error,
        form_email: form.0.to_string(),
        form_role: form.1.to_string(),
        form_scope: form.2.to_string(),
    };
    (status, c.jar, page).into_response()
}

/// A validation error as one line naming the field.
fn describe(_t: Ct, e: &AppError) -> String {
    match e {
        AppError::Validation(f) => f.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "),
        other => other.public_message(),
    }
}

#[derive(Deserialize, Default)]
pub struct CreateForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
}

pub async fn staff_create(State(state): State<AppState>, c: Console, rid: RequestId, Form(form): Form<CreateForm>) -> Response {
    match super::staff_admin::create(&state, &c.user, &form.email, &form.role, form.scope.trim(), c.t.lang).await {
        Ok(_) => Redirect::to("/console/beheer/medewerkers?done=created").into_response(),
        Err(e @ AppError::Validation(_)) => {
            render_staff(
                &state,
                c,
                rid,
                String::new(),
                Some(e),
                StatusCode::UNPROCESSABLE_ENTITY,
                (&form.email, &form.role, &form.scope),
            )
            .await
        }
        Err(e) => render_error(c.t, e, rid.0),
    }
}

#[derive(Deserialize, Default)]
pub struct ChangeForm {
    #[serde(default)]
    op: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
}

pub async fn staff_change(
    State(state): State<AppState>,
    c: Console,
    rid: RequestId,
    Path(id): Path<i64>,
    Form(form): Form<ChangeForm>,
) -> Response {
    use super::staff_admin as svc;
    let result = match form.op.as_str() {
        "change" => svc::change(&state, &c.user, id, &form.role, form.scope.trim()).await,
        "disable" => svc::set_disabled(&state, &c.user, id, true).await,
        "enable" => svc::set_disabled(&state, &c.user, id, false).await,
        "reset_totp" => svc::reset_second_factor(&state, &c.user, id).await,
        _ => Err(AppError::invalid("op", "unknown_op", "Unknown operation.")),
    };
    match result {
        Ok(()) => Redirect::to("/console/beheer/medewerkers?done=changed").into_response(),
        Err(e @ AppError::Validation(_)) => {
            render_staff(&state, c, rid, String::new(), Some(e), StatusCode::UNPROCESSABLE_ENTITY, ("", "", "")).await
        }
        Err(e) => render_error(c.t, e, rid.0),
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

pub struct AuditLine {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/audit.html")]
struct AuditPage {
    t: Ct,
    shell: Shell,
    q: AuditQuery,
    lines: Vec<AuditLine>,
    csv_query: String,
    older: Option<String>,
}

const PAGE: i64 = 100;
const EXPORT_MAX: i64 = 100_000;

fn day_ms(s: &str, field: &str) -> Result<Option<i64>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, "invalid_date", "Give a date as YYYY-MM-DD."))?;
    Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()))
}

fn filter_of(q: &AuditQuery) -> Result<AuditFilter, AppError> {
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(AuditFilter {
        actor: opt(&q.actor),
        action: opt(&q.action),
        target: opt(&q.target),
        from: day_ms(&q.from, "from")?,
        // "to" is inclusive as a day: entries before the next midnight.
        to: day_ms(&q.to, "to")?.map(|ms| ms + 86_400_000),
        before_id: q.before,
    })
}

fn query_string(q: &AuditQuery) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("actor", &q.actor), ("action", &q.action), ("target", &q.target), ("from", &q.from), ("to", &q.to)] {
        if !v.trim().is_empty() {
            s.append_pair(k, v.trim());
        }
    }
    s.finish()
}

/// Which filters an export used (their names only: a typed value is not copied into the log).
fn filter_names(q: &AuditQuery) -> Vec<&'static str> {
    [("actor", &q.actor), ("action", &q.action), ("target", &q.target), ("from", &q.from), ("to", &q.to)]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, _)| k)
        .collect()
}

fn time_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| crate::enquiries::texts::dutch_time(d).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Only admins read the audit log: those with a national scope all of it, others the entries
/// of the staff accounts within their scope.
async fn searchable(state: &AppState, c: &Console, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditEntry>, AppError> {
    c.user.require(Operation::ManageStaff)?;
    let entries = state.store.audit_search(filter, limit).await?;
    if c.user.scope.is_national() {
        return Ok(entries);
    }
    let own: std::collections::HashSet<String> =
        super::staff_admin::visible_staff(state, &c.user).await?.iter().map(|u| format!("staff:{}", u.id)).collect();
    Ok(entries.into_iter().filter(|e| own.contains(&e.actor) || e.target.as_ref().is_some_and(|t| own.contains(t))).collect())
}

pub async fn audit_page(State(state): State<AppState>, c: Console, rid: RequestId, Query(q): Query<AuditQuery>) -> Response {
    let t = c.t;
    let filter = match filter_of(&q) {
        Ok(f) => f,
        Err(e) => return render_error(t, e, rid.0),
    };
    let entries = match searchable(&state, &c, &filter, PAGE).await {
        Ok(e) => e,
        Err(e) => return render_error(t, e, rid.0),
    };
    let older =
        (entries.len() as i64 == PAGE).then(|| entries.last().map(|e| format!("{}&before={}", query_string(&q), e.id))).flatten();
    let lines = entries
        .into_iter()
        .map(|e| AuditLine {
            id: e.id,
            at: time_of(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target.unwrap_or_default(),
            details: e.details,
        })
        .collect();
    let csv_query = query_string(&q);
    (c.jar, AuditPage { t, shell: c.shell, q, lines, csv_query, older }).into_response()
}

/// `GET /console/beheer/audit.csv`: the filtered log as CSV (the export is itself audited).
pub async fn audit_csv(State(state): State<AppState>, c: Console, rid: RequestId, Query(q): Query<AuditQuery>) -> Response {
    let t = c.t;
    let result = async {
        let filter = filter_of(&q)?;
        let entries = searchable(&state, &c, &filter, EXPORT_MAX).await?;
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["id", "at_utc", "actor", "action", "target", "details"])
            .map_err(|e| AppError::Internal(e.to_string()))?;
        for e in &entries {
            let at = chrono::DateTime::from_timestamp_millis(e.at).map(|d| d.to_rfc3339()).unwrap_or_default();
            w.write_record([&e.id.to_string(), &at, &e.actor, &e.action, e.target.as_deref().unwrap_or(""), &e.details])
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
        let bytes = w.into_inner().map_err(|e| AppError::Internal(e.to_string()))?;
        state
            .store
            .audit(
                state.now_ms(),
                &c.user.actor(),
                "audit.exported",
                None,
                &json!({"rows": entries.len(), "filtered_by": filter_names(&q)}),
            )
            .await?;
        Ok::<Vec<u8>, AppError>(bytes)
    }
    .await;
    match result {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"buurtnet-audit.csv\""),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => render_error(t, e, rid.0),
    }
}
