//! The console's overview: who is signed in, and what their role works on within their scope
//! (open and recent actions, enquiries), read through the same services as the JSON API.

use super::texts::Ct;
use super::{Console, Shell, render_error};
use crate::alerting::actions;
use crate::enquiries::requests;
use crate::http::RequestId;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use buurtnet_domain::Operation;

pub struct ActionLine {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub title: String,
    pub created: String,
    pub reminder_due: bool,
}

pub struct EnquiryLine {
    pub id: i64,
    pub state: String,
    pub incident_type: String,
    pub municipality: String,
    pub created: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/dashboard.html")]
struct Dashboard {
    t: Ct,
    shell: Shell,
    show_actions: bool,
    actions: Vec<ActionLine>,
    show_enquiries: bool,
    enquiries: Vec<EnquiryLine>,
}

/// A time as the API gives it (RFC 3339), shown in Dutch time without seconds.
fn local(t: Option<&str>) -> String {
    t.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| crate::enquiries::texts::dutch_time(d.to_utc()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

pub async fn dashboard(State(state): State<AppState>, c: Console, rid: RequestId) -> Response {
    let t = c.t;
    let show_actions = c.user.may(Operation::ManageActions);
    let mut action_lines = Vec::new();
    if show_actions {
        match actions::list(&state, &c.user, None).await {
            Ok(v) => {
                for a in v.actions.into_iter().take(50) {
                    action_lines.push(ActionLine {
                        id: a.id,
                        kind: a.kind,
                        state: a.state,
                        title: a.title,
                        created: local(a.created_at.as_deref()),
                        reminder_due: a.reminder_due,
                    });
                }
            }
            Err(e) => return render_error(t, e, rid.0),
        }
    }
    let show_enquiries = c.user.may(Operation::ReadEnquiries);
    let mut enquiry_lines = Vec::new();
    if show_enquiries {
        match requests::list(&state, &c.user, None).await {
            Ok(v) => {
                for e in v.enquiries.into_iter().take(50) {
                    enquiry_lines.push(EnquiryLine {
                        id: e.id,
                        state: e.state,
                        incident_type: e.incident_type,
                        municipality: e.municipality,
                        created: local(e.created_at.as_deref()),
                    });
                }
            }
            Err(e) => return render_error(t, e, rid.0),
        }
    }
    let page = Dashboard { t, shell: c.shell, show_actions, actions: action_lines, show_enquiries, enquiries: enquiry_lines };
    (c.jar, page).into_response()
}
