//! The alerting API: urgent actions and their lifecycle, information messages, dead letters,
//! and the live feeds. Handlers are thin; the work is in `crate::alerting`.

use super::extract::JsonBody;
use crate::alerting::actions::StepAnswer;
use crate::alerting::views::{
    ActionList, ActionView, DeadLetter, DeadLetters, MessageView, PhotoView, ReportsApplied, Retried, RetriedOfMessage, iso,
};
use crate::alerting::{actions, information, live};
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use buurtnet_domain::Operation;
use buurtnet_domain::action::Step;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn id_of(raw: &str, what: &str) -> AppResult<i64> {
    raw.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| AppError::NotFound(format!("There is no {what} {raw}.")))
}

/// Runs `work` at most once per `Idempotency-Key` (per staff account): a repeated request with
/// the same key gets the first answer again and sends nothing; the same key with another
/// request is refused. Without the header the work just runs.
async fn idempotent<F, Fut, T>(
    state: &AppState,
    user: &StaffUser,
    headers: &HeaderMap,
    what: &str,
    body: &Value,
    work: F,
) -> AppResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<(StatusCode, T)>>,
    T: serde::Serialize,
{
    let Some(raw) = headers.get("idempotency-key") else {
        let (status, v) = work().await?;
        return Ok((status, Json(v)).into_response());
    };
    let key = raw
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_idempotency_key",
                "The Idempotency-Key header must be 1 to 200 visible ASCII characters.",
            )
        })?;
    let hash: String = Sha256::digest(format!("{what}\n{body}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    match state.store.idempotency_reserve(user.id, key, &hash, state.now_ms()).await? {
        Some((seen, _, _)) if seen != hash => Err(AppError::invalid(
            "Idempotency-Key",
            "key_reused",
            "This Idempotency-Key was used for another request; use a new key.",
        )),
        Some((_, 0, _)) => {
            Err(AppError::Conflict("The first request with this Idempotency-Key is still running; try again shortly.".into()))
        }
        Some((_, status, response)) => {
            let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
            let v: Value = serde_json::from_str(&response).unwrap_or(Value::Null);
            Ok((status, [("idempotent-replayed", "true")], Json(v)).into_response())
        }
        None => match work().await {
            Ok((status, v)) => {
                let v = serde_json::to_value(v).map_err(|e| AppError::Internal(format!("answer: {e}")))?;
                state.store.idempotency_done(user.id, key, i64::from(status.as_u16()), &v.to_string()).await?;
                Ok((status, Json(v)).into_response())
            }
            Err(e) => {
                // Refusals are answered the same way again; failures on our side free the key.
                let (status, v) = match &e {
                    AppError::Validation(f) => (422, json!({"error": "validation_failed", "fields": f})),
                    _ => (0, Value::Null),
                };
                let _ = state.store.idempotency_done(user.id, key, status, &v.to_string()).await;
                Err(e)
            }
        },
    }
}

/// `POST /api/v1/actions`: a draft action.
#[utoipa::path(post, path = "/actions", tag = "actions",
    summary = "Create a draft urgent action (Idempotency-Key honoured)",
    request_body = super::requests::NewAction,
    responses((status = 201, description = "The action with its texts per channel and the SMS length (preview)", body = ActionView),
        (status = 409, description = "The first request with this Idempotency-Key is still running"),
        (status = 422, description = "Invalid fields")))]
pub async fn create_action(
    State(state): State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> AppResult<Response> {
    user.require(Operation::ManageActions)?;
    let st = state.clone();
    let u = user.clone();
    let b = body.clone();
    idempotent(&state, &user, &headers, "POST /actions", &body, || async move {
        let req = actions::parse_new(&b, &st.areas.current(), &u, st.clock.now())?;
        let id = actions::create(&st, &u, req).await?;
        Ok((StatusCode::CREATED, actions::view(&st, &u, id).await?))
    })
    .await
}

async fn lifecycle(
    state: AppState,
    user: StaffUser,
    headers: HeaderMap,
    raw: String,
    body: Option<Value>,
    step: Step,
) -> AppResult<Response> {
    user.require(Operation::ManageActions)?;
    let id = id_of(&raw, "action")?;
    let body = body.unwrap_or_else(|| json!({}));
    let what = format!("POST /actions/{id}/{}", step.as_str());
    let st = state.clone();
    let u = user.clone();
    let b = body.clone();
    idempotent(&state, &user, &headers, &what, &body, || async move {
        Ok((StatusCode::OK, actions::step(&st, &u, id, step, &b).await?))
    })
    .await
}

/// An optional JSON body (empty bodies are fine for `send` and `cancel`).
pub struct OptionalJson(Option<Value>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for OptionalJson {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = req.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()) == Some("0")
            || (req.headers().get(axum::http::header::CONTENT_TYPE).is_none()
                && req.headers().get(axum::http::header::TRANSFER_ENCODING).is_none()
                && req.headers().get(axum::http::header::CONTENT_LENGTH).is_none());
        if empty {
            return Ok(OptionalJson(None));
        }
        let JsonBody(v) = JsonBody::from_request(req, state).await?;
        Ok(OptionalJson(Some(v)))
    }
}

/// `POST /api/v1/actions/{id}/approve`: the second person's approval of a draft.
#[utoipa::path(post, path = "/actions/{id}/approve", tag = "actions", params(("id" = String, Path, description = "The action's id")),
    summary = "Approve a draft as a second person (approval.second_person, by default national actions): another dispatcher of its scope or a national administrator, never its creator (403); 'version' is the version looked at (409 when the draft changed since, when it needs no approval or has one)",
    request_body = super::requests::ApproveAction,
    responses((status = 200, description = "The action, approved", body = ActionView),
        (status = 404, description = "No such action"), (status = 409, description = "Not in a state to approve"),
        (status = 422, description = "Invalid fields")))]
pub async fn approve_action(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<ActionView>> {
    let id = id_of(&raw, "action")?;
    Ok(Json(crate::alerting::approval::approve(&state, &user, id, &body).await?))
}

/// `POST /api/v1/messages/{id}/approve`: a second officer releases a held information message.
#[utoipa::path(post, path = "/messages/{id}/approve", tag = "messages", params(("id" = String, Path, description = "The message's id")),
    summary = "Approve an information message held for a second person (approval.information_municipalities): another officer of its municipality or an administrator of its scope, never its writer (403); 409 when it is not held",
    responses((status = 200, description = "The message, released for its fan-out", body = MessageView),
        (status = 404, description = "No such message"), (status = 409, description = "Not held")))]
pub async fn approve_message(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
) -> AppResult<Json<MessageView>> {
    let id = id_of(&raw, "message")?;
    Ok(Json(crate::alerting::approval::approve_message(&state, &user, id).await?))
}

#[utoipa::path(post, path = "/actions/{id}/send", tag = "actions", params(("id" = String, Path, description = "The action's id")),
    summary = "Send a draft: the recipients are fixed now (Idempotency-Key honoured); 409 while it waits for a second person's approval",
    request_body (content = Option<super::requests::SendAction>, description = "Optional"),
    responses((status = 200, description = "The action, active, with message_id", body = StepAnswer),
        (status = 404, description = "No such action"), (status = 409, description = "Not allowed in its state"),
        (status = 422, description = "Invalid fields")))]
pub async fn send_action(
    State(s): State<AppState>,
    u: StaffUser,
    h: HeaderMap,
    Path(id): Path<String>,
    OptionalJson(b): OptionalJson,
) -> AppResult<Response> {
    lifecycle(s, u, h, id, b, Step::Send).await
}

#[utoipa::path(post, path = "/actions/{id}/update", tag = "actions", params(("id" = String, Path, description = "The action's id")),
    summary = "Send an update to everyone the action reached",
    request_body = super::requests::UpdateAction,
    responses((status = 200, description = "The action with message_id", body = StepAnswer),
        (status = 404, description = "No such action"), (status = 409, description = "Not allowed in its state"),
        (status = 422, description = "Invalid fields")))]
pub async fn update_action(
    State(s): State<AppState>,
    u: StaffUser,
    h: HeaderMap,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> AppResult<Response> {
    lifecycle(s, u, h, id, Some(b), Step::Update).await
}

#[utoipa::path(post, path = "/actions/{id}/close", tag = "actions", params(("id" = String, Path, description = "The action's id")),
    summary = "Close with an outcome; the closing message goes to everyone the action reached",
    request_body = super::requests::CloseAction,
    responses((status = 200, description = "The action, closed, with message_id", body = StepAnswer),
        (status = 404, description = "No such action"), (status = 409, description = "Not allowed in its state"),
        (status = 422, description = "Invalid fields")))]
pub async fn close_action(
    State(s): State<AppState>,
    u: StaffUser,
    h: HeaderMap,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> AppResult<Response> {
    lifecycle(s, u, h, id, Some(b), Step::Close).await
}

#[utoipa::path(post, path = "/actions/{id}/cancel", tag = "actions", params(("id" = String, Path, description = "The action's id")),
    summary = "Cancel (sent in error): a correction goes to everyone the action reached",
    request_body (content = Option<super::requests::CancelAction>, description = "Optional"),
    responses((status = 200, description = "The action, cancelled", body = StepAnswer),
        (status = 404, description = "No such action"), (status = 409, description = "Not allowed in its state"),
        (status = 422, description = "Invalid fields")))]
pub async fn cancel_action(
    State(s): State<AppState>,
    u: StaffUser,
    h: HeaderMap,
    Path(id): Path<String>,
    OptionalJson(b): OptionalJson,
) -> AppResult<Response> {
    lifecycle(s, u, h, id, b, Step::Cancel).await
}

#[utoipa::path(get, path = "/actions/{id}", tag = "actions", params(("id" = String, Path, description = "The action's id")),
    summary = "One action: fields, texts, messages and deliveries per channel and state; its 'version' and 'approval' (whether a second person must approve it, who did)",
    responses((status = 200, description = "The action", body = ActionView), (status = 404, description = "No such action")))]
pub async fn get_action(State(state): State<AppState>, user: StaffUser, Path(raw): Path<String>) -> AppResult<Json<ActionView>> {
    user.require(Operation::ManageActions)?;
    Ok(Json(actions::view(&state, &user, id_of(&raw, "action")?).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// open (draft or active), draft, active, closed or cancelled.
    #[param(pattern = "^(open|draft|active|closed|cancelled)$")]
    state: Option<String>,
}

#[utoipa::path(get, path = "/actions", tag = "actions", params(ListQuery),
    summary = "Actions within the caller's scope, newest first",
    responses((status = 200, description = "Each with reminder_due when open longer than the reminder time", body = ActionList),
        (status = 422, description = "Unknown state")))]
pub async fn list_actions(
    State(state): State<AppState>,
    user: StaffUser,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<ActionList>> {
    user.require(Operation::ManageActions)?;
    Ok(Json(actions::list(&state, &user, q.state.as_deref()).await?))
}

/// `GET /api/v1/actions/live`: Server-Sent Events of action messages within the caller's scope.
/// The stream checks its token or session again (see `console.live_recheck_ms`) and ends once
/// it no longer grants this role and scope.
#[utoipa::path(get, path = "/actions/live", tag = "actions",
    summary = "Server-Sent Events of action messages within the caller's scope",
    responses((status = 200, description = "Events 'message' with JSON data", content_type = "text/event-stream", body = String)))]
pub async fn staff_live(
    State(state): State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
    session: Option<axum::Extension<crate::console::session::SessionAuth>>,
) -> AppResult<Response> {
    user.require(Operation::FollowLiveActions)?;
    let tips = user.may(Operation::ReadTips);
    let credential = crate::auth::Credential::of(&headers, session.as_ref().map(|s| &s.0))
        .ok_or_else(|| AppError::Unauthorized("Sign in: send 'Authorization: Bearer <token>'.".into()))?;
    live::stream(state, live::Filter::Staff(live::StaffFeed { user, tips, credential }))
        .map(IntoResponse::into_response)
        .ok_or_else(|| AppError::Unavailable("Too many live feeds are open; try again shortly.".into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PointQuery {
    /// Latitude (WGS84) of a point in the Netherlands, with `lon`.
    #[param(value_type = Option<f64>, minimum = 50.7, maximum = 53.6)]
    lat: Option<String>,
    /// Longitude (WGS84), with `lat`.
    #[param(value_type = Option<f64>, minimum = 3.3, maximum = 7.3)]
    lon: Option<String>,
    /// Instead of a point: the coarse cell of "where I am" (0 to 16383).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 16383)]
    cell: Option<String>,
}

/// `GET /api/v1/live?lat=&lon=`: Server-Sent Events of the action messages whose area holds the
/// point, for an open resident page (texts only; tests are not shown).
#[utoipa::path(get, path = "/live", tag = "live", params(PointQuery),
    summary = "Server-Sent Events of action messages for a resident page: those whose area holds the point",
    responses((status = 200, description = "Events 'message' with JSON data (no tests)", content_type = "text/event-stream", body = String)))]
pub async fn public_live(
    State(state): State<AppState>,
    client: crate::abuse::ClientIp,
    Query(q): Query<PointQuery>,
) -> AppResult<Response> {
    // The resident app's rule, per client address; and a share of the process's feeds.
    crate::abuse::check(&state, "app", &state.config.abuse_limits.app, &client, &[]).await?;
    let filter = match (q.lat.as_deref().map(str::parse::<f64>), q.lon.as_deref().map(str::parse::<f64>), q.cell.as_deref()) {
        (None, None, Some(cell)) => match cell.parse::<i64>().ok().filter(|c| buurtnet_domain::cell::coarse(*c).is_some()) {
            Some(c) => live::Filter::Coarse(c),
            None => return Err(AppError::bad_request("invalid_cell", "Give cell as the number of a coarse cell (0 to 16383).")),
        },
        (Some(Ok(lat)), Some(Ok(lon)), None) if buurtnet_domain::NL_BOUNDS.contains(lat, lon) => live::Filter::Point(lat, lon),
        _ => {
            return Err(AppError::bad_request(
                "invalid_point",
                "Give lat and lon of a point in the Netherlands, or the cell of \"where I am\".",
            ));
        }
    };
    match live::public_stream(state, filter, client.key()) {
        Ok(sse) => Ok(sse.into_response()),
        Err(live::Refused::Full) => Err(AppError::Unavailable("Too many live feeds are open; try again shortly.".into())),
        Err(live::Refused::ClientFull) => Err(AppError::TooManyRequests {
            message: "Too many live feeds are open from your address; close one and try again.".into(),
            retry_after_secs: 30,
        }),
    }
}

/// `POST /api/v1/messages`: an information message (now or at `send_at`).
#[utoipa::path(post, path = "/messages", tag = "messages",
    summary = "An information message to the municipality's participants (e-mail and push; now or at send_at; held for a second person's approval in the municipalities of approval.information_municipalities)",
    request_body = super::requests::NewMessage,
    responses((status = 201, description = "The message", body = MessageView),
        (status = 409, description = "The first request with this Idempotency-Key is still running"),
        (status = 422, description = "Invalid fields")))]
pub async fn create_message(
    State(state): State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> AppResult<Response> {
    user.require(Operation::SendInformation)?;
    let st = state.clone();
    let u = user.clone();
    let b = body.clone();
    idempotent(&state, &user, &headers, "POST /messages", &body, || async move {
        Ok((StatusCode::CREATED, information::create(&st, &u, &b).await?))
    })
    .await
}

#[utoipa::path(get, path = "/messages/{id}", tag = "messages", params(("id" = String, Path, description = "The message's id")),
    summary = "An information message with its deliveries per channel and state, and its 'approval'",
    responses((status = 200, description = "The message", body = MessageView), (status = 404, description = "No such message")))]
pub async fn get_message(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
) -> AppResult<Json<MessageView>> {
    user.require(Operation::SendInformation)?;
    Ok(Json(information::view(&state, &user, id_of(&raw, "message")?).await?))
}

/// Dead letters span every municipality: for admins with a national scope.
fn national_admin(user: &StaffUser) -> AppResult<()> {
    user.require(Operation::ManageDeliveries)
}

/// `GET /api/v1/deliveries/dead`: dead letters (admins).
#[utoipa::path(get, path = "/deliveries/dead", tag = "deliveries",
    summary = "Dead letters: deliveries whose tries are used up (admins)",
    responses((status = 200, description = "The dead letters", body = DeadLetters)))]
pub async fn dead_letters(State(state): State<AppState>, user: StaffUser) -> AppResult<Json<DeadLetters>> {
    national_admin(&user)?;
    let rows = state.store.dead_deliveries(500).await?;
    let deliveries = rows
        .into_iter()
        .map(|d| DeadLetter {
            id: d.id,
            message_id: d.message_id,
            channel: d.channel,
            attempts: d.attempts,
            last_error: d.last_error,
            updated_at: iso(d.updated_at),
        })
        .collect();
    Ok(Json(DeadLetters { deliveries }))
}

/// `POST /api/v1/deliveries/{id}/retry`: a dead letter goes back in the queue (admins).
#[utoipa::path(post, path = "/deliveries/{id}/retry", tag = "deliveries",
    params(("id" = String, Path, description = "The delivery's id")),
    summary = "Put a dead letter back in the queue with fresh tries (admins)",
    responses((status = 200, description = "Queued", body = Retried),
        (status = 404, description = "No such delivery"), (status = 409, description = "Not dead")))]
pub async fn retry_delivery(State(state): State<AppState>, user: StaffUser, Path(raw): Path<String>) -> AppResult<Json<Retried>> {
    national_admin(&user)?;
    let id = id_of(&raw, "delivery")?;
    let now = state.now_ms();
    if !state.store.retry_delivery(id, now).await? {
        return Err(match state.store.delivery(id).await? {
            None => AppError::NotFound(format!("There is no delivery {id}.")),
            Some(d) => AppError::Conflict(format!("Delivery {id} is {}, not dead; only dead letters can be retried.", d.state)),
        });
    }
    state.engine.wake_workers.notify_waiters();
    state.store.audit(now, &user.actor(), "delivery.retry", Some(&format!("delivery:{id}")), &json!({})).await?;
    Ok(Json(Retried { id, state: "pending".into() }))
}

/// `POST /api/v1/messages/{id}/retry-dead`: every dead letter of a message back in the queue
/// with fresh tries (admins), e.g. once a provider that was down for hours is back.
#[utoipa::path(post, path = "/messages/{id}/retry-dead", tag = "deliveries", params(("id" = String, Path, description = "The message's id")),
    summary = "Put every dead letter of one message back in the queue with fresh tries, e.g. after a provider outage (admins)",
    responses((status = 200, description = "How many were put back", body = RetriedOfMessage),
        (status = 404, description = "No such message"), (status = 409, description = "No longer valid")))]
pub async fn retry_dead_of_message(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
) -> AppResult<Json<RetriedOfMessage>> {
    national_admin(&user)?;
    let id = id_of(&raw, "message")?;
    let now = state.now_ms();
    let Some(msg) = state.store.message(id).await? else {
        return Err(AppError::NotFound(format!("There is no message {id}.")));
    };
    if now > msg.valid_until {
        return Err(AppError::Conflict(format!(
            "Message {id} is no longer valid (since {}); its dead letters would expire at once.",
            actions::millis(msg.valid_until)
        )));
    }
    let retried = state.store.retry_dead_of_message(id, now).await?;
    if retried > 0 {
        state.engine.wake_workers.notify_waiters();
    }
    state
        .store
        .audit(now, &user.actor(), "delivery.retry_message", Some(&format!("message:{id}")), &json!({"retried": retried}))
        .await?;
    Ok(Json(RetriedOfMessage { message_id: id, retried }))
}

/// `POST /api/v1/providers/sms/reports`: the SMS gateway's delivery reports. The body must be
/// signed with the shared secret (`X-Buurtnet-Signature: t=<unix seconds>,sha256=<hex HMAC of
/// "<t>." and the body>`, at most five minutes old);
/// without a configured secret the endpoint answers 404. Each report moves its delivery (found
/// by our `bn<id>` reference) to delivered or failed — a failed one is replaced by a delivery
/// on the person's next channel (as a failed send is); unknown or repeated reports are counted
/// and ignored.
#[utoipa::path(post, path = "/providers/sms/reports", tag = "deliveries",
    summary = "Delivery reports of the SMS gateway (CM status-report JSON), signed with X-Buurtnet-Signature: t=<unix seconds>,sha256=<HMAC-SHA256 of '<t>.' and the body> (at most five minutes old); a failed SMS fails over to the person's next channel",
    request_body(content = Object, description = "The gateway's status report"),
    responses((status = 200, description = "What became of the reports", body = ReportsApplied),
        (status = 401, description = "Missing or wrong signature"), (status = 404, description = "No report secret configured")))]
pub async fn sms_reports(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<ReportsApplied>> {
    use buurtnet_delivery::sms_http::{self, ReportStatus};
    let secret = state.config.providers.sms.report_secret.as_bytes();
    if secret.is_empty() {
        return Err(AppError::NotFound("There is nothing at this address.".into()));
    }
    let signature = headers.get("x-buurtnet-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !sms_http::verify_signature(secret, &body, signature, state.clock.now().timestamp()) {
        return Err(AppError::Unauthorized("The report's signature is missing or wrong.".into()));
    }
    let reports = sms_http::parse_status_report(&body).map_err(|e| AppError::bad_request("invalid_report", e.to_string()))?;
    let now = state.now_ms();
    let (mut applied, mut ignored, mut failed_over) = (0u64, 0u64, 0u64);
    for r in &reports {
        let Some(id) = r.delivery_id() else {
            ignored += 1;
            continue;
        };
        let outcome = match &r.status {
            ReportStatus::Delivered => Some((true, None)),
            ReportStatus::Rejected { reason } | ReportStatus::Failed { reason } => Some((false, Some(reason.clone()))),
            ReportStatus::Accepted | ReportStatus::Other { .. } => None,
        };
        match outcome {
            Some((ok, reason)) if state.store.report_delivery(id, ok, reason.as_deref(), now).await? => {
                applied += 1;
                // The SMS never reached the phone: the person's next channel takes over.
                if !ok && buurtnet_delivery::worker::fail_over_reported(&state.store, id, now).await? {
                    failed_over += 1;
                }
            }
            _ => ignored += 1,
        }
    }
    if failed_over > 0 {
        state.engine.wake_workers.notify_waiters();
    }
    metrics::counter!("buurtnet_delivery_reports_total", "result" => "applied").increment(applied);
    metrics::counter!("buurtnet_delivery_reports_total", "result" => "ignored").increment(ignored);
    Ok(Json(ReportsApplied { applied, ignored, failed_over }))
}

/// `POST /api/v1/actions/{id}/photos` (body: a JPEG or PNG, at most 8 MB): a photo for a draft
/// action, re-encoded (metadata dropped); at most three. Sent by push and e-mail, never by SMS
/// or voice.
#[utoipa::path(post, path = "/actions/{id}/photos", tag = "actions", params(("id" = String, Path, description = "The action's id")),
    summary = "Add a photo to a draft action (body: image/jpeg or image/png, at most 8 MB; at most 3 photos; re-encoded, metadata dropped; sent by push and e-mail, never by SMS or voice)",
    request_body(content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
    responses((status = 201, description = "The photo", body = PhotoView),
        (status = 404, description = "No such action"), (status = 422, description = "Not a photo, too many, or not a draft")))]
pub async fn add_photo(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<PhotoView>)> {
    user.require(Operation::ManageActions)?;
    let id = id_of(&raw, "action")?;
    let action = actions::visible(&state, &user, id).await?;
    let refuse = AppError::invalid;
    if action.state != "draft" {
        return Err(refuse("state", "not_allowed", "Photos are added before the action is sent.".into()));
    }
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with("image/jpeg") && !content_type.starts_with("image/png") {
        return Err(refuse("photo", "unsupported_type", "Send the photo as image/jpeg or image/png.".into()));
    }
    let photo = tokio::task::spawn_blocking(move || crate::media::reencode(&body))
        .await
        .map_err(|e| AppError::Internal(format!("photo task failed: {e}")))?
        .map_err(|e| refuse("photo", "invalid_photo", e.0))?;
    let photo_id = crate::secrets::random_hex(16);
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&photo.jpeg);
    let now = state.now_ms();
    let size = (i64::from(photo.width), i64::from(photo.height));
    if !state.store.add_action_photo(&photo_id, id, size, &encoded, crate::media::MAX_PHOTOS, now).await? {
        if actions::visible(&state, &user, id).await?.state != "draft" {
            return Err(refuse("state", "not_allowed", "Photos are added before the action is sent.".into()));
        }
        return Err(refuse("photo", "too_many_photos", format!("An action has at most {} photos.", crate::media::MAX_PHOTOS)));
    }
    state.store.audit(now, &user.actor(), "action.photo", Some(&format!("action:{id}")), &json!({"photo": photo_id})).await?;
    let url = format!("{}/media/{photo_id}.jpg", state.config.public_url());
    Ok((StatusCode::CREATED, Json(PhotoView { id: photo_id, url, width: photo.width, height: photo.height })))
}

/// `GET /media/{id}.jpg`: an action's photo (public: the id is 128 random bits, and the
/// action's texts are public too).
pub async fn media(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "Not found").into_response();
    let Some(id) = name.strip_suffix(".jpg").filter(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())) else {
        return not_found();
    };
    let stored = match state.store.photo_jpeg(id).await {
        Ok(Some(s)) => s,
        Ok(None) => return not_found(),
        Err(e) => return AppError::from(e).into_response(),
    };
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(stored) {
        Ok(bytes) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "image/jpeg"), (axum::http::header::CACHE_CONTROL, "public, max-age=86400")],
            bytes,
        )
            .into_response(),
        Err(_) => AppError::Internal(format!("photo {id} is unreadable")).into_response(),
    }
}
