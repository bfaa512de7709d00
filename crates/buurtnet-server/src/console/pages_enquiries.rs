//! Neighbourhood enquiries in the console: the requester's form, the team's queue, the
//! approver's decision (four-eyes, enforced by the service), the handler's inbox of replies
//! (classify, answer, forward) and the monthly table. Every handler calls the enquiry services
//! of the JSON API.

use super::texts::Ct;
use super::{Console, Shell, render_error};
use crate::enquiries::{monitoring, replies, requests};
use crate::error::AppError;
use crate::http::RequestId;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use buurtnet_domain::Operation;
use buurtnet_domain::enquiry::{Classification, IncidentType};
use buurtnet_domain::staff::Role;
use serde::Deserialize;
use serde_json::{Value, json};

pub struct Line {
    pub id: i64,
    pub state: String,
    pub incident_type: String,
    pub municipality: String,
    pub created: String,
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

fn incident_types(t: Ct) -> Vec<Choice> {
    IncidentType::ALL.iter().map(|k| Choice { value: k.as_str(), label: t.get(k.as_str()) }).collect()
}

fn field_errors(e: &AppError) -> String {
    match e {
        AppError::Validation(f) => f.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "),
        other => other.public_message(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "console/enquiries.html")]
struct QueuePage {
    t: Ct,
    shell: Shell,
    lines: Vec<Line>,
    wanted: String,
    may_request: bool,
    types: Vec<Choice>,
    error: String,
    form: NewForm,
}

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    state: Option<String>,
}

pub async fn queue(State(state): State<AppState>, c: Console, rid: RequestId, Query(q): Query<QueueQuery>) -> Response {
    let wanted = q.state.filter(|s| !s.is_empty());
    render_queue(&state, c, rid, wanted, String::new(), NewForm::default()).await
}

async fn render_queue(
    state: &AppState,
    c: Console,
    rid: RequestId,
    wanted: Option<String>,
    error: String,
    form: NewForm,
) -> Response {
    let t = c.t;
    let v = match requests::list(state, &c.user, wanted.as_deref()).await {
        Ok(v) => v,
        Err(e) => return render_error(t, e, rid.0),
    };
    let lines = v
        .enquiries
        .into_iter()
        .map(|e| Line {
            id: e.id,
            state: e.state,
            incident_type: e.incident_type,
            municipality: e.municipality,
            created: super::local_time(e.created_at.as_deref().unwrap_or_default()),
        })
        .collect();
    let page = QueuePage {
        t,
        shell: c.shell,
        lines,
        wanted: wanted.unwrap_or_default(),
        may_request: c.user.may(Operation::RequestEnquiry),
        types: incident_types(t),
        error,
        form,
    };
    (c.jar, page).into_response()
}

#[derive(Deserialize, Default, Clone)]
pub struct NewForm {
    #[serde(default)]
    pub incident_type: String,
    /// `YYYY-MM-DDTHH:MM`, Dutch time (a `datetime-local` field).
    #[serde(default)]
    pub occurred_at: String,
    #[serde(default)]
    pub lat: String,
    #[serde(default)]
    pub lon: String,
    #[serde(default)]
    pub radius_m: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub questions: String,
}

/// A `datetime-local` value in Dutch time as RFC 3339 (UTC); the text as typed when it does
/// not parse (the service then names the field).
fn dutch_local_to_rfc3339(s: &str) -> String {
    let s = s.trim();
    let Ok(naive) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M") else { return s.to_string() };
    let offset = *crate::enquiries::texts::dutch_time(naive.and_utc()).offset();
    match naive.and_local_timezone(offset).single() {
        Some(t) => t.to_utc().to_rfc3339(),
        None => s.to_string(),
    }
}

/// A number typed in a form (a decimal comma allowed) as JSON: an integer when it is one.
fn number(s: &str) -> Value {
    let s = s.trim().replace(',', ".");
    if let Ok(n) = s.parse::<i64>() {
        return json!(n);
    }
    s.parse::<f64>().map(|n| json!(n)).unwrap_or_else(|_| json!(s))
}

pub async fn create(State(state): State<AppState>, c: Console, rid: RequestId, Form(f): Form<NewForm>) -> Response {
    let body = json!({
        "incident_type": f.incident_type,
        "occurred_at": dutch_local_to_rfc3339(&f.occurred_at),
        "location": {"lat": number(&f.lat), "lon": number(&f.lon)},
        "radius_m": number(&f.radius_m),
        "description": f.description,
        "questions": f.questions,
    });
    match requests::create(&state, &c.user, &body).await {
        Ok(v) => Redirect::to(&format!("/console/buurtonderzoek/{}", v.id)).into_response(),
        Err(e @ AppError::Validation(_)) => {
            let error = field_errors(&e);
            render_queue(&state, c, rid, None, error, f).await
        }
        Err(e) => render_error(c.t, e, rid.0),
    }
}

pub struct ReplyLine {
    pub id: i64,
    pub text: String,
    pub status: String,
    pub classification: String,
    pub answer: String,
    pub received: String,
    pub overdue: bool,
    pub photos: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/enquiry.html")]
struct EnquiryPage {
    t: Ct,
    shell: Shell,
    id: i64,
    e: EnquiryView,
    may_decide: bool,
    /// A requester (or approver) may add or replace the photo while the request waits.
    may_add_photo: bool,
    may_handle: bool,
    replies: Vec<ReplyLine>,
    classifications: Vec<Choice>,
    error: String,
}

pub struct EnquiryView {
    pub state: String,
    pub incident_type: String,
    pub occurred_at: String,
    pub municipality: String,
    pub description: String,
    pub questions: String,
    pub return_comment: String,
    pub recipients: String,
    pub replies: String,
    pub open_replies: String,
    /// The request's photo (a path on this site), or empty.
    pub photo: String,
    /// The version shown: the approval form sends it back, so what is approved is what was seen.
    pub version: i64,
}

pub async fn detail(State(state): State<AppState>, c: Console, rid: RequestId, Path(id): Path<i64>) -> Response {
    render_detail(&state, c, rid, id, String::new()).await
}

async fn render_detail(state: &AppState, c: Console, rid: RequestId, id: i64, error: String) -> Response {
    let t = c.t;
    let v = match requests::view(state, &c.user, id).await {
        Ok(v) => v,
        Err(e) => return render_error(t, e, rid.0),
    };
    let may_handle = c.user.may(Operation::ReadReplies);
    let mut lines = Vec::new();
    if may_handle {
        match replies::list(state, &c.user, id, None).await {
            Ok(list) => {
                for r in list.replies {
                    lines.push(ReplyLine {
                        id: r.id,
                        text: r.text,
                        status: r.status,
                        classification: r.classification.unwrap_or_default(),
                        answer: r.answer.unwrap_or_default(),
                        received: super::local_time(r.received_at.as_deref().unwrap_or_default()),
                        overdue: r.overdue,
                        photos: r.photos.iter().map(|p| format!("/api/v1/reply-photos/{}", p.id)).collect(),
                    });
                }
            }
            Err(e) => return render_error(t, e, rid.0),
        }
    }
    let e = EnquiryView {
        occurred_at: super::local_time(v.occurred_at.as_deref().unwrap_or_default()),
        recipients: v.recipients.map(|n| n.to_string()).unwrap_or_default(),
        replies: v.replies.to_string(),
        open_replies: v.open_replies.to_string(),
        photo: v.photo.as_ref().and_then(|p| p.url.find("/media/").map(|i| p.url[i..].to_string())).unwrap_or_default(),
        version: v.version,
        state: v.state,
        incident_type: v.incident_type,
        municipality: v.municipality,
        description: v.description,
        questions: v.questions,
        return_comment: v.return_comment.unwrap_or_default(),
    };
    let page = EnquiryPage {
        t,
        shell: c.shell,
        id,
        may_decide: c.user.may(Operation::ApproveEnquiry) && matches!(e.state.as_str(), "requested" | "returned"),
        may_add_photo: c.user.may(Operation::RequestEnquiry) && e.state == "requested",
        may_handle: c.user.may(Operation::HandleReplies),
        e,
        replies: lines,
        classifications: Classification::ALL.iter().map(|k| Choice { value: k.as_str(), label: t.get(k.as_str()) }).collect(),
        error,
    };
    (c.jar, page).into_response()
}

/// A refusal that belongs on the page (four-eyes, wrong state, a field) rather than on an error
/// page; anything else is the error page.
async fn outcome<T>(state: &AppState, c: Console, rid: RequestId, id: i64, result: Result<T, AppError>) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/console/buurtonderzoek/{id}")).into_response(),
        Err(e @ (AppError::Validation(_) | AppError::WrongState(_) | AppError::Forbidden(_))) => {
            let error = match (&e, c.t.lang) {
                (AppError::Forbidden(_), buurtnet_domain::Language::Nl) => {
                    format!("{} ({})", c.t.get("refused"), e.public_message())
                }
                _ => field_errors(&e),
            };
            let status = e.status();
            let mut resp = render_detail(state, c, rid, id, error).await;
            if resp.status().is_success() {
                *resp.status_mut() = status;
            }
            resp
        }
        Err(e) => render_error(c.t, e, rid.0),
    }
}

#[derive(Deserialize, Default)]
pub struct DecideForm {
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize, Default)]
pub struct ApproveForm {
    /// The version of the request the page showed (empty: none, which the service refuses).
    #[serde(default)]
    version: String,
}

pub async fn approve(
    State(state): State<AppState>,
    c: Console,
    rid: RequestId,
    Path(id): Path<i64>,
    Form(f): Form<ApproveForm>,
) -> Response {
    let body = match f.version.trim().parse::<i64>() {
        Ok(v) => json!({"version": v}),
        Err(_) => json!({}),
    };
    let result = requests::approve(&state, &c.user, id, &body).await;
    outcome(&state, c, rid, id, result).await
}

pub async fn give_back(
    State(state): State<AppState>,
    c: Console,
    rid: RequestId,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Response {
    let result = requests::give_back(&state, &c.user, id, &json!({"comment": f.comment})).await;
    outcome(&state, c, rid, id, result).await
}

pub async fn close(State(state): State<AppState>, c: Console, rid: RequestId, Path(id): Path<i64>) -> Response {
    let result = requests::close(&state, &c.user, id).await;
    outcome(&state, c, rid, id, result).await
}

#[derive(Deserialize, Default)]
pub struct ReplyForm {
    #[serde(default)]
    enquiry: i64,
    #[serde(default)]
    op: String,
    #[serde(default)]
    classification: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    body: String,
}

/// `POST /console/antwoorden/{id}`: classify, answer or forward one reply.
pub async fn reply_step(
    State(state): State<AppState>,
    c: Console,
    rid: RequestId,
    Path(id): Path<i64>,
    Form(f): Form<ReplyForm>,
) -> Response {
    let result = match f.op.as_str() {
        "classify" => replies::classify(&state, &c.user, id, &json!({"classification": f.classification})).await,
        "answer" => {
            let mut body = json!({});
            if !f.template.is_empty() {
                body["template"] = json!(f.template);
            }
            if !f.body.trim().is_empty() {
                body["body"] = json!(f.body.trim());
            }
            replies::answer(&state, &c.user, id, &body).await
        }
        "forward" => replies::forward(&state, &c.user, id).await,
        _ => Err(AppError::invalid("op", "unknown_op", "Unknown operation.")),
    };
    outcome(&state, c, rid, f.enquiry, result).await
}

pub struct MonthLine {
    pub month: String,
    pub municipality: String,
    pub sent: i64,
    pub with_reply: i64,
    pub reaction_pct: String,
    pub replies: i64,
    pub relevant_pct: String,
    pub open: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/monthly.html")]
struct MonthlyPage {
    t: Ct,
    shell: Shell,
    rows: Vec<MonthLine>,
}

pub async fn monthly(State(state): State<AppState>, c: Console, rid: RequestId) -> Response {
    let t = c.t;
    let rows = match monitoring::monthly(&state, &c.user, None, None).await {
        Ok(r) => r,
        Err(e) => return render_error(t, e, rid.0),
    };
    let rows = rows
        .into_iter()
        .map(|r| MonthLine {
            month: r.month,
            municipality: r.municipality,
            sent: r.enquiries_sent,
            with_reply: r.enquiries_with_reply,
            reaction_pct: format!("{:.1}", r.reaction_pct),
            replies: r.replies,
            relevant_pct: r.relevant_pct.map(|p| format!("{p:.1}")).unwrap_or_else(|| "–".into()),
            open: r.open_replies,
        })
        .collect();
    (c.jar, MonthlyPage { t, shell: c.shell, rows }).into_response()
}

pub fn may_see_enquiries(role: Role) -> bool {
    Operation::ReadEnquiries.allows(role)
}
