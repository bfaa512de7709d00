//! The resident's reply page (no login: the personal link is the key; mobile first; Dutch with
//! English) and the one-click unsubscribe from enquiries (RFC 8058). A client that asks for
//! JSON (`Accept: application/json`) gets our API error shape instead of a page.

use super::extract::RequestId;
use super::pages::{language, message};
use crate::enquiries::texts::dutch_time;
use crate::error::AppError;
use crate::i18n::T;
use crate::replies::model::{self as replies, LinkProblem, ReplyForm, Subject, SubmitError};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use buurtnet_domain::Language;
use buurtnet_domain::enquiry::{IncidentType, MAX_REPLY_PHOTOS};
use chrono::{DateTime, Utc};
use serde_json::json;

/// Five photos of 10 MB, the text and the form's overhead.
pub const MAX_REPLY_BODY: usize = MAX_REPLY_PHOTOS * crate::replies::photos::MAX_PHOTO_BYTES + 512 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/antwoord/{token}",
            get(reply_form).post(reply_submit).layer(DefaultBodyLimit::max(MAX_REPLY_BODY + MAX_REPLY_PHOTOS * 64 * 1024)),
        )
        .route("/afmelden/buurtonderzoek/{token}", get(unsubscribe_page).post(unsubscribe_now))
}

struct Labels {
    title: &'static str,
    questions: &'static str,
    text: &'static str,
    photos: &'static str,
    phone: &'static str,
    privacy: &'static str,
    send: &'static str,
    photo_alt: &'static str,
}

fn labels(lang: Language) -> Labels {
    match lang {
        Language::Nl => Labels {
            title: "Reageren op een buurtonderzoek",
            questions: "Wat de politie u vraagt",
            text: "Uw reactie (verplicht, ten hoogste 5000 tekens)",
            photos: "Foto's (ten hoogste 5; JPEG, PNG of WebP; elk ten hoogste 10 MB)",
            phone: "Telefoonnummer om u terug te bellen (niet verplicht)",
            privacy: "Locatiegegevens en andere metagegevens worden uit uw foto's verwijderd. Alleen de behandelaars van de politie zien uw reactie. Bij spoed belt u 112.",
            send: "Reactie versturen",
            photo_alt: "Foto bij dit buurtonderzoek",
        },
        Language::En => Labels {
            title: "Reply to a neighbourhood enquiry",
            questions: "What the police ask you",
            text: "Your reply (required, at most 5000 characters)",
            photos: "Photos (at most 5; JPEG, PNG or WebP; at most 10 MB each)",
            phone: "Phone number to call you back (optional)",
            privacy: "Location and other metadata are removed from your photos. Only the police's handlers see your reply. In an emergency call 112.",
            send: "Send reply",
            photo_alt: "Photo with this enquiry",
        },
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reply.html")]
struct ReplyPage {
    t: T,
    l: Labels,
    token: String,
    incident: String,
    when: String,
    description: String,
    questions: String,
    /// The request's photo (a path on this site), or empty.
    photo: String,
    errors: Vec<String>,
    text: String,
    phone: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "unsubscribe_enquiry.html")]
struct UnsubscribePage {
    t: T,
    title: &'static str,
    text: &'static str,
    button: &'static str,
    token: String,
}

#[derive(serde::Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"))
}

fn link_problem(t: T, p: LinkProblem, json: bool, request_id: String) -> Response {
    let status = StatusCode::from_u16(p.status()).unwrap_or(StatusCode::NOT_FOUND);
    if json {
        return (status, axum::Json(json!({"error": p.code(), "message": p.message(Language::En)}))).into_response();
    }
    let title = if t.lang == Language::Nl { "Reageren lukt niet" } else { "Cannot reply" };
    let text = p.message(t.lang).to_string();
    message(t, status, title, text, "errors", request_id)
}

fn form_page(t: T, token: &str, subject: &Subject, photo: String, errors: Vec<String>, text: String, phone: String) -> ReplyPage {
    // An enquiry shows its incident, time, description and questions; an urgent action its
    // title and when it was sent.
    let (incident_type, occurred_at, description, questions) = match subject {
        Subject::Enquiry(e) => (e.incident_type.as_str(), e.occurred_at, e.description.clone(), e.questions.clone()),
        Subject::Action(a) => {
            let title = serde_json::from_str::<buurtnet_domain::action_text::ActionContent>(&a.content)
                .map(|c| c.title)
                .unwrap_or_default();
            ("", a.sent_at.unwrap_or(a.created_at), title, String::new())
        }
    };
    let incident = IncidentType::parse(incident_type).unwrap_or(IncidentType::Other).label(t.lang).to_string();
    let when =
        dutch_time(DateTime::<Utc>::from_timestamp_millis(occurred_at).unwrap_or_default()).format("%d-%m-%Y %H:%M").to_string();
    let mut l = labels(t.lang);
    if matches!(subject, Subject::Action(_)) {
        // A tip during an urgent action: the page says so, and what the action is about.
        l.title = if t.lang == Language::Nl { "Tip doorgeven bij een Burgernetactie" } else { "Send a tip for an urgent action" };
        l.questions = if t.lang == Language::Nl {
            "Heeft u iets gezien? Beschrijf het zo precies mogelijk."
        } else {
            "Did you see something? Describe it as precisely as you can."
        };
    }
    ReplyPage { l, t, token: token.to_string(), incident, when, description, questions, photo, errors, text, phone }
}

/// The path of the enquiry request's photo, or empty (a page without it is still useful; a tip's
/// page has none).
async fn request_photo(state: &AppState, subject: &Subject) -> String {
    let Subject::Enquiry(e) = subject else { return String::new() };
    match state.store.enquiry_photo(e.id).await {
        Ok(Some((id, _, _))) => format!("/media/{id}.jpg"),
        _ => String::new(),
    }
}

async fn reply_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    jar: CookieJar,
    headers: HeaderMap,
    RequestId(rid): RequestId,
) -> Response {
    let (jar, t) = language(jar, q.lang.as_deref(), &headers, state.config.secure_cookies);
    match replies::open_link(&state, &token).await {
        Ok(Ok((subject, _))) => {
            let photo = request_photo(&state, &subject).await;
            (jar, form_page(t, &token, &subject, photo, Vec::new(), String::new(), String::new())).into_response()
        }
        Ok(Err(p)) => (jar, link_problem(t, p, wants_json(&headers), rid)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// One of the process's upload slots (`enquiries.max_concurrent_uploads`): a form with photos
/// is read into memory only while it holds one; without a free one the answer is 503, so a
/// burst of large posts cannot take the process's memory.
pub(crate) fn upload_slot(state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
    state.upload_slots.clone().try_acquire_owned().map_err(|_| {
        metrics::counter!("buurtnet_uploads_refused_total").increment(1);
        AppError::Unavailable("every upload slot of this process is taken".into())
    })
}

/// Reads the multipart form: `text`, `phone`, `lang` and any number of `photos` files.
pub(crate) async fn read_form(mut mp: Multipart) -> Result<(ReplyForm, Option<String>), AppError> {
    let mut form = ReplyForm::default();
    let mut lang = None;
    let too_large =
        || AppError::PayloadTooLarge(format!("The reply is too large: at most {MAX_REPLY_PHOTOS} photos of 10 MB each."));
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => {
                return Err(AppError::bad_request("bad_form", "The form could not be read; send it as multipart/form-data."));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => {
                return Err(AppError::bad_request("bad_form", "The form could not be read; send it as multipart/form-data."));
            }
        };
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "text" => form.text = text(),
            "phone" => form.phone = text(),
            "lang" => lang = Some(text()),
            "photos" | "photo" => {
                if form.photos.len() > MAX_REPLY_PHOTOS {
                    // Enough to say there are too many; the rest is not kept in memory.
                    continue;
                }
                form.photos.push((file_name.unwrap_or_else(|| "photo".into()), bytes.to_vec()));
            }
            _ => {}
        }
    }
    Ok((form, lang))
}

async fn reply_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    jar: CookieJar,
    headers: HeaderMap,
    RequestId(rid): RequestId,
    client: crate::abuse::ClientIp,
    mp: Multipart,
) -> Response {
    let json = wants_json(&headers);
    if let Err(e) = crate::abuse::check(&state, "reply", &state.config.abuse_limits.reply, &client, &[]).await {
        return e.into_response();
    }
    // The link first: a post to a made-up or spent link is refused before its body is read
    // (up to 52 MB of photos).
    match replies::open_link(&state, &token).await {
        Ok(Ok(_)) => {}
        Ok(Err(p)) => {
            let (jar, t) = language(jar, None, &headers, state.config.secure_cookies);
            return (jar, link_problem(t, p, json, rid)).into_response();
        }
        Err(e) => return e.into_response(),
    }
    let _slot = match upload_slot(&state) {
        Ok(slot) => slot,
        Err(e) => return e.into_response(),
    };
    let (mut form, lang) = match read_form(mp).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let (jar, t) = language(jar, lang.as_deref(), &headers, state.config.secure_cookies);
    form.language = t.lang;
    let (text, phone) = (form.text.clone(), form.phone.clone());
    match replies::submit(&state, &token, form).await {
        Ok(id) => {
            if json {
                return (StatusCode::CREATED, axum::Json(json!({"id": id, "status": "received"}))).into_response();
            }
            let (title, text) = match t.lang {
                Language::Nl => (
                    "Dank u wel",
                    "Uw reactie is ontvangen en wordt in behandeling genomen. U krijgt een bevestiging per e-mail en later een antwoord.",
                ),
                Language::En => (
                    "Thank you",
                    "Your reply has been received and is being handled. You get a confirmation by e-mail and an answer later.",
                ),
            };
            (jar, message(t, StatusCode::CREATED, title, text.to_string(), "ok", rid)).into_response()
        }
        Err(SubmitError::Link(p)) => (jar, link_problem(t, p, json, rid)).into_response(),
        Err(SubmitError::Invalid(fields)) => {
            if json {
                return AppError::Validation(fields).into_response();
            }
            match replies::open_link(&state, &token).await {
                Ok(Ok((subject, _))) => {
                    let errors = fields.iter().map(|f| f.message.clone()).collect();
                    let photo = request_photo(&state, &subject).await;
                    (StatusCode::UNPROCESSABLE_ENTITY, jar, form_page(t, &token, &subject, photo, errors, text, phone))
                        .into_response()
                }
                Ok(Err(p)) => (jar, link_problem(t, p, json, rid)).into_response(),
                Err(e) => e.into_response(),
            }
        }
        Err(SubmitError::Other(e)) => e.into_response(),
    }
}

fn unsubscribe_texts(lang: Language) -> (&'static str, &'static str, &'static str) {
    match lang {
        Language::Nl => (
            "Afmelden voor buurtonderzoeken",
            "U ontvangt dan geen buurtonderzoeken meer. Burgernetacties en andere berichten blijft u ontvangen.",
            "Afmelden",
        ),
        Language::En => (
            "Unsubscribe from neighbourhood enquiries",
            "You will no longer receive neighbourhood enquiries. You keep receiving urgent actions and other messages.",
            "Unsubscribe",
        ),
    }
}

async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Response {
    let (jar, t) = language(jar, q.lang.as_deref(), &headers, state.config.secure_cookies);
    let (title, text, button) = unsubscribe_texts(t.lang);
    (jar, UnsubscribePage { t, title, text, button, token }).into_response()
}

/// The one-click POST (RFC 8058: body `List-Unsubscribe=One-Click`, no cookies, no page), also
/// the page's own button.
async fn unsubscribe_now(
    State(state): State<AppState>,
    Path(token): Path<String>,
    jar: CookieJar,
    headers: HeaderMap,
    RequestId(rid): RequestId,
    client: crate::abuse::ClientIp,
) -> Response {
    if let Err(e) = crate::abuse::check(&state, "reply", &state.config.abuse_limits.reply, &client, &[]).await {
        return e.into_response();
    }
    let (jar, t) = language(jar, None, &headers, state.config.secure_cookies);
    match crate::enquiries::links::unsubscribe(&state, &token).await {
        Ok(true) => {
            let (title, text) = match t.lang {
                Language::Nl => ("Afgemeld", "U ontvangt geen buurtonderzoeken meer."),
                Language::En => ("Unsubscribed", "You will no longer receive neighbourhood enquiries."),
            };
            (jar, message(t, StatusCode::OK, title, text.to_string(), "ok", rid)).into_response()
        }
        Ok(false) => {
            let (title, text) = match t.lang {
                Language::Nl => {
                    ("Link niet geldig", "Deze afmeldlink is niet (meer) geldig. Afmelden kan ook via uw eigen pagina (/mijn).")
                }
                Language::En => (
                    "Link not valid",
                    "This unsubscribe link is not valid (any more). You can also unsubscribe on your own page (/mijn).",
                ),
            };
            (jar, message(t, StatusCode::NOT_FOUND, title, text.to_string(), "errors", rid)).into_response()
        }
        Err(e) => AppError::Internal(format!("unsubscribe failed: {e:#}")).into_response(),
    }
}
