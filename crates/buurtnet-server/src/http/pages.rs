//! Server-rendered pages for residents (Dutch, English available): sign up, confirm, self-service.
//! The resident web app itself (at `/`) is `crate::resident_app`.
//! Every form carries a CSRF token that must match the `csrf` cookie (double submit; the cookie
//! is HttpOnly and SameSite=Strict).

use super::extract::RequestId;
use crate::abuse::ClientIp;
use crate::error::AppError;
use crate::i18n::{self, T};
use crate::services::participants as svc;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use buurtnet_domain::registration::parse_registration;
use buurtnet_domain::{ChannelSet, Language, TopicSet};
use rand::Rng;
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/aanmelden", get(register_form).post(register_submit))
        .route("/register", get(|| async { Redirect::to("/aanmelden?lang=en") }))
        .route("/bevestigen/{token}", get(confirm_email_page).post(confirm_email))
        .route("/telefoon", get(phone_form).post(phone_submit))
        .route("/mijn", get(self_service_request_form).post(self_service_request_submit))
        .route("/mijn/{token}", get(self_service_page).post(self_service_submit))
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

/// Picks the page language and remembers an explicit choice in a cookie.
pub(crate) fn language(jar: CookieJar, q: Option<&str>, headers: &HeaderMap, secure: bool) -> (CookieJar, T) {
    let accept = headers.get("accept-language").and_then(|v| v.to_str().ok());
    let lang = i18n::choose(q, jar.get("lang").map(|c| c.value()), accept);
    let jar = if q.is_some() {
        jar.add(Cookie::build(("lang", lang.as_str())).path("/").same_site(SameSite::Lax).secure(secure).http_only(true).build())
    } else {
        jar
    };
    (jar, T::new(lang))
}

/// The CSRF token of this browser (created on first use).
fn csrf_token(jar: CookieJar, secure: bool) -> (CookieJar, String) {
    if let Some(c) = jar.get("csrf")
        && c.value().len() >= 32
    {
        let v = c.value().to_string();
        return (jar, v);
    }
    let bytes: [u8; 24] = rand::rng().random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let cookie =
        Cookie::build(("csrf", token.clone())).path("/").same_site(SameSite::Strict).secure(secure).http_only(true).build();
    (jar.add(cookie), token)
}

fn csrf_ok(jar: &CookieJar, submitted: &str) -> bool {
    jar.get("csrf").is_some_and(|c| c.value().len() >= 32 && c.value() == submitted)
}

/// For a page with a form: the language and a CSRF token for this browser.
fn form_page(state: &AppState, jar: CookieJar, lang: Option<&str>, headers: &HeaderMap) -> (CookieJar, T, String) {
    let secure = state.config.secure_cookies;
    let (jar, t) = language(jar, lang, headers, secure);
    let (jar, csrf) = csrf_token(jar, secure);
    (jar, t, csrf)
}

/// For a submitted form: the language, or the error page when the CSRF token does not match.
fn submitted(
    state: &AppState,
    jar: CookieJar,
    lang: Option<&str>,
    headers: &HeaderMap,
    csrf: &str,
    rid: RequestId,
) -> Result<(CookieJar, T), Box<Response>> {
    let (jar, t) = language(jar, lang, headers, state.config.secure_cookies);
    if !csrf_ok(&jar, csrf) {
        let page = error_page(t, AppError::bad_request("csrf", "The form has expired; reload the page and try again."), rid);
        return Err(Box::new((jar, page).into_response()));
    }
    Ok((jar, t))
}

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
struct MessagePage {
    t: T,
    title: String,
    text: String,
    class: &'static str,
    request_id: String,
}

pub(super) fn message(t: T, status: StatusCode, title: &str, text: String, class: &'static str, request_id: String) -> Response {
    (status, MessagePage { t, title: title.to_string(), text, class, request_id }).into_response()
}

/// The one error-to-page adapter: the person sees a translated message and the request id.
fn error_page(t: T, err: AppError, request_id: RequestId) -> Response {
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(error.detail = %err, "page request failed");
    }
    let text = t.error(err.code(), &err.public_message());
    let retry_after = match &err {
        AppError::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
        _ => None,
    };
    let mut page = message(t, status, t.get("error_title"), text, "errors", request_id.0);
    if let Some(secs) = retry_after {
        page.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
    }
    page
}

#[derive(Deserialize, Default)]
struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    house_number: String,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    topics: Vec<String>,
    quiet_voice: Option<String>,
    age_confirmed: Option<String>,
    lang: Option<String>,
    /// The recruitment campaign's code from its link (`/aanmelden?campagne=…`).
    campagne: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "register.html")]
struct RegisterPage {
    t: T,
    csrf: String,
    form: RegisterForm,
    errors: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct RegisterQuery {
    lang: Option<String>,
    campagne: Option<String>,
}

async fn register_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(q): Query<RegisterQuery>,
) -> impl IntoResponse {
    let (jar, t, csrf) = form_page(&state, jar, q.lang.as_deref(), &headers);
    // A campaign code is letters and digits only (anything else cannot be one).
    let campagne = q.campagne.filter(|c| !c.is_empty() && c.len() <= 32 && c.bytes().all(|b| b.is_ascii_alphanumeric()));
    let form = RegisterForm {
        topics: vec!["urgent".into(), "enquiry".into(), "information".into()],
        campagne,
        ..RegisterForm::default()
    };
    (jar, RegisterPage { t, csrf, form, errors: Vec::new() })
}

async fn register_submit(
    State(state): State<AppState>,
    client: ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    Form(form): Form<RegisterForm>,
) -> Response {
    let secure = state.config.secure_cookies;
    let (jar, t) = match submitted(&state, jar, form.lang.as_deref(), &headers, &form.csrf, rid.clone()) {
        Ok(ok) => ok,
        Err(page) => return *page,
    };
    let mut address =
        json!({"kind": "home", "postcode": form.postcode, "house_number": form.house_number, "channels": form.channels});
    if form.quiet_voice.is_some() {
        address["quiet_hours"] = json!([{"channels": ["voice"], "from": "23:00", "to": "07:00"}]);
    }
    let body = json!({
        "email": form.email, "phone": form.phone, "language": t.code(),
        "age_confirmed": form.age_confirmed.is_some(), "topics": form.topics, "addresses": [address],
    });
    let result = match parse_registration(&body) {
        Ok(draft) => svc::register(&state, &client, draft, form.campagne.as_deref()).await,
        Err(e) => Err(AppError::Validation(e)),
    };
    match result {
        Ok(()) => (
            jar,
            message(t, StatusCode::OK, t.get("registered_title"), t.get("registered_text").to_string(), "ok", String::new()),
        )
            .into_response(),
        Err(AppError::Validation(errors)) => {
            let errors = errors.iter().map(|e| (e.field.clone(), t.error(e.code, &e.message))).collect();
            let (jar, csrf) = csrf_token(jar, secure);
            (StatusCode::UNPROCESSABLE_ENTITY, jar, RegisterPage { t, csrf, form, errors }).into_response()
        }
        Err(e) => (jar, error_page(t, e, rid)).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    t: T,
    csrf: String,
    token: String,
}

/// The link in the e-mail shows a page with a button: mail scanners that open links must not
/// confirm an address for its owner. The button's POST confirms.
async fn confirm_email_page(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    Path(token): Path<String>,
) -> Response {
    let (jar, t, csrf) = form_page(&state, jar, q.lang.as_deref(), &headers);
    // A signed link is base64url and dots: anything else cannot be one (and must not end up
    // in the form's target).
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        let page = error_page(t, svc::link_error(crate::signing::LinkError::Invalid), RequestId(String::new()));
        return (jar, page).into_response();
    }
    (jar, [(axum::http::header::CACHE_CONTROL, "no-store")], ConfirmPage { t, csrf, token }).into_response()
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    lang: Option<String>,
}

async fn confirm_email(
    State(state): State<AppState>,
    client: ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    Path(token): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let (jar, t) = match submitted(&state, jar, form.lang.as_deref(), &headers, &form.csrf, rid.clone()) {
        Ok(ok) => ok,
        Err(page) => return *page,
    };
    match svc::verify_email(&state, &client, &token).await {
        Ok(lang) => {
            let t = T::new(lang);
            (jar, message(t, StatusCode::OK, t.get("email"), t.get("email_verified").to_string(), "ok", String::new()))
                .into_response()
        }
        Err(e) => (jar, error_page(t, e, rid)).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "phone.html")]
struct PhonePage {
    t: T,
    csrf: String,
    phone: String,
    error: String,
}

async fn phone_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> impl IntoResponse {
    let (jar, t, csrf) = form_page(&state, jar, q.lang.as_deref(), &headers);
    (jar, PhonePage { t, csrf, phone: String::new(), error: String::new() })
}

#[derive(Deserialize)]
struct PhoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    lang: Option<String>,
}

async fn phone_submit(
    State(state): State<AppState>,
    client: ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    Form(form): Form<PhoneForm>,
) -> Response {
    let secure = state.config.secure_cookies;
    let (jar, t) = match submitted(&state, jar, form.lang.as_deref(), &headers, &form.csrf, rid.clone()) {
        Ok(ok) => ok,
        Err(page) => return *page,
    };
    match svc::verify_phone(&state, &client, &form.phone, &form.code).await {
        Ok(()) => {
            (jar, message(t, StatusCode::OK, t.get("verify_phone"), t.get("phone_verified").to_string(), "ok", String::new()))
                .into_response()
        }
        Err(e) if e.status().is_client_error() && !matches!(e, AppError::TooManyRequests { .. }) => {
            let error = match &e {
                AppError::Validation(f) => f.iter().map(|x| t.error(x.code, &x.message)).collect::<Vec<_>>().join(" "),
                other => t.error(other.code(), &other.public_message()),
            };
            let (jar, csrf) = csrf_token(jar, secure);
            (e.status(), jar, PhonePage { t, csrf, phone: form.phone, error }).into_response()
        }
        Err(e) => (jar, error_page(t, e, rid)).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "self_service_request.html")]
struct SelfServiceRequestPage {
    t: T,
    csrf: String,
    error: String,
}

async fn self_service_request_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> impl IntoResponse {
    let (jar, t, csrf) = form_page(&state, jar, q.lang.as_deref(), &headers);
    (jar, SelfServiceRequestPage { t, csrf, error: String::new() })
}

#[derive(Deserialize)]
struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    contact: String,
    lang: Option<String>,
}

async fn self_service_request_submit(
    State(state): State<AppState>,
    client: ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    Form(form): Form<ContactForm>,
) -> Response {
    let secure = state.config.secure_cookies;
    let (jar, t) = match submitted(&state, jar, form.lang.as_deref(), &headers, &form.csrf, rid.clone()) {
        Ok(ok) => ok,
        Err(page) => return *page,
    };
    let contact = form.contact.trim();
    let (email, phone) = if contact.contains('@') { (Some(contact), None) } else { (None, Some(contact)) };
    match svc::request_self_service(&state, &client, email, phone).await {
        Ok(()) => (jar, message(t, StatusCode::OK, t.get("my_details"), t.get("link_sent").to_string(), "ok", String::new()))
            .into_response(),
        Err(AppError::Validation(f)) => {
            let error = f.iter().map(|x| t.error(x.code, &x.message)).collect::<Vec<_>>().join(" ");
            let (jar, csrf) = csrf_token(jar, secure);
            (StatusCode::UNPROCESSABLE_ENTITY, jar, SelfServiceRequestPage { t, csrf, error }).into_response()
        }
        Err(e) => (jar, error_page(t, e, rid)).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "self_service.html")]
struct SelfServicePage {
    t: T,
    csrf: String,
    token: String,
    notice: String,
    paused: bool,
    /// Paused by the system for not answering the yearly question.
    paused_unconfirmed: bool,
    /// Asked whether they still take part, not answered yet.
    confirm_pending: bool,
    language: String,
    topics: Vec<String>,
    /// (kind, masked-or-full value, verified)
    contacts: Vec<(String, String, bool)>,
    /// (kind, where, approximate, channels)
    addresses: Vec<(String, String, bool, String)>,
    /// Linked devices: (id, push service host or empty, registered on)
    devices: Vec<(i64, String, String)>,
}

async fn render_self_service(
    state: &AppState,
    t: T,
    jar: CookieJar,
    token: String,
    notice: String,
) -> Result<Response, AppError> {
    let record = svc::self_service_record(state, &token).await?;
    let devices = crate::services::linked_devices::linked(state, record.participant.id).await?;
    let (jar, csrf) = csrf_token(jar, state.config.secure_cookies);
    let p = &record.participant;
    let upkeep = state.store.upkeep_state(p.id).await?;
    let page = SelfServicePage {
        t,
        csrf,
        token,
        notice,
        paused: p.paused,
        paused_unconfirmed: p.paused && upkeep.paused_reason.as_deref() == Some("no_confirmation"),
        confirm_pending: upkeep.pending(),
        language: p.language.clone(),
        topics: TopicSet::from_bits(p.topics).names().into_iter().map(String::from).collect(),
        contacts: record.contacts.iter().map(|c| (c.kind.clone(), c.value.clone(), c.verified_at.is_some())).collect(),
        addresses: record
            .addresses
            .iter()
            .map(|a| {
                let place = match (&a.postcode, &a.house_number) {
                    (Some(pc), Some(hn)) => format!("{pc} {hn}"),
                    _ => format!("{:.5}, {:.5}", a.lat, a.lon),
                };
                (a.kind.clone(), place, a.approximate, ChannelSet::from_bits(a.channels).names().join(", "))
            })
            .collect(),
        devices: devices
            .iter()
            .map(|d| {
                let v = crate::services::linked_devices::device_json(d);
                let on = chrono::DateTime::from_timestamp_millis(d.created_at)
                    .map(|t| t.format("%d-%m-%Y").to_string())
                    .unwrap_or_default();
                (d.id, v.push_service.unwrap_or_default(), on)
            })
            .collect(),
    };
    Ok((jar, page).into_response())
}

async fn self_service_page(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    Query(q): Query<LangQuery>,
    Path(token): Path<String>,
) -> Response {
    let (jar, t) = language(jar, q.lang.as_deref(), &headers, state.config.secure_cookies);
    match render_self_service(&state, t, jar.clone(), token, String::new()).await {
        Ok(r) => r,
        Err(e) => (jar, error_page(t, e, rid)).into_response(),
    }
}

#[derive(Deserialize)]
struct SelfServiceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    topics: Vec<String>,
    /// The device to unlink (`action=unlink`).
    #[serde(default)]
    device: String,
    language: Option<String>,
    lang: Option<String>,
}

async fn self_service_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    Path(token): Path<String>,
    Form(form): Form<SelfServiceForm>,
) -> Response {
    let (jar, t) = match submitted(&state, jar, form.lang.as_deref(), &headers, &form.csrf, rid.clone()) {
        Ok(ok) => ok,
        Err(page) => return *page,
    };
    let result = async {
        let record = svc::self_service_record(&state, &token).await?;
        match form.action.as_str() {
            "delete" => {
                svc::delete(&state, &record).await?;
                return Ok(None);
            }
            "unlink" => {
                let id = crate::services::linked_devices::device_id(&form.device)?;
                crate::services::linked_devices::unlink(&state, &record, id).await?;
                return Ok(Some("unlinked"));
            }
            "pause" => svc::update(&state, &record, &json!({"paused": true})).await?,
            "confirm" => {
                state.store.confirm_participant(record.participant.id, state.now_ms()).await?;
                return Ok(Some("confirmed"));
            }
            "resume" => svc::update(&state, &record, &json!({"paused": false})).await?,
            _ => {
                let lang = form.language.as_deref().and_then(Language::parse).unwrap_or(t.lang);
                svc::update(&state, &record, &json!({"topics": form.topics, "language": lang.as_str()})).await?
            }
        }
        Ok::<_, AppError>(Some("saved"))
    }
    .await;
    match result {
        Ok(None) => (jar, message(t, StatusCode::OK, t.get("my_details"), t.get("deleted").to_string(), "ok", String::new()))
            .into_response(),
        Ok(Some(notice)) => match render_self_service(&state, t, jar.clone(), token, t.get(notice).to_string()).await {
            Ok(r) => r,
            Err(e) => (jar, error_page(t, e, rid)).into_response(),
        },
        Err(AppError::Validation(f)) => {
            let text = f.iter().map(|x| t.error(x.code, &x.message)).collect::<Vec<_>>().join(" ");
            (jar, message(t, StatusCode::UNPROCESSABLE_ENTITY, t.get("errors_title"), text, "errors", rid.0)).into_response()
        }
        Err(e) => (jar, error_page(t, e, rid)).into_response(),
    }
}
