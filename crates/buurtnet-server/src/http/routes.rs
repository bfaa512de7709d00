//! The JSON API's one route table. Each row is a handler (its method, path, parameters, request
//! and response types are in its `#[utoipa::path]`) and what it needs: an [`Operation`] of the
//! policy, or a reason why it is public. The router, the policy layer (`policy::enforce`), the
//! OpenAPI document (`http::openapi`) and the tests' route lists are all made from this table.

use super::{
    api_alerting, api_areas, api_devices, api_enquiries, api_geocode, api_jobs, api_participants, api_publishing, api_staff,
    api_targeting,
};
use crate::neighbourhoods::{alarm_api, api as nbh_api, staff_api as nbh_staff};
use crate::reports::api as reports_api;
use crate::resident_app::api as app_api;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use buurtnet_domain::Operation;
use std::sync::LazyLock;
use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A signed-in staff member whose role the policy allows this operation.
    Needs(Operation),
    /// No staff member; the reason (residents with their own link or device token, checked by
    /// the handler; providers' signed webhooks; public facts).
    Public(&'static str),
}

/// One row: the handler with its OpenAPI description and router, and its access.
pub(super) type Row = (UtoipaMethodRouter<AppState>, Access);

/// A route whose body may be larger than the API's 1 MB (uploads).
fn with_body_limit(row: UtoipaMethodRouter<AppState>, bytes: usize) -> UtoipaMethodRouter<AppState> {
    let (schemas, paths, router) = row;
    (schemas, paths, router.layer(DefaultBodyLimit::max(bytes)))
}

/// The table, in the order of the document.
pub(super) fn table() -> Vec<Row> {
    use Access::{Needs, Public};
    use Operation as Op;
    const RESIDENT_LINK: &str = "a resident's signed link";
    const DEVICE_TOKEN: &str = "the device's own token";
    const GEOGRAPHY: &str = "public geography";
    vec![
        (routes!(super::openapi::document_handler), Public("the API's description")),
        (routes!(api_areas::list), Public(GEOGRAPHY)),
        (routes!(api_areas::at), Public(GEOGRAPHY)),
        (routes!(api_areas::one), Public(GEOGRAPHY)),
        (routes!(api_areas::imports), Needs(Op::ReadAreaImports)),
        (routes!(api_jobs::list), Needs(Op::ReadJobs)),
        (routes!(api_participants::register), Public("a resident signs up")),
        (routes!(api_participants::verify_email), Public("a resident's e-mail link")),
        (routes!(api_participants::verify_phone), Public("a resident's SMS code")),
        (routes!(api_participants::resend_code), Public("a resident's SMS code")),
        (routes!(api_participants::self_service_link), Public("a resident asks for their link")),
        (routes!(api_participants::export), Public(RESIDENT_LINK)),
        (routes!(api_participants::update), Public(RESIDENT_LINK)),
        (routes!(api_participants::delete), Public(RESIDENT_LINK)),
        (routes!(api_participants::unlink_device), Public(RESIDENT_LINK)),
        (routes!(api_staff::me), Needs(Op::ReadOwnAccount)),
        (routes!(api_targeting::count), Needs(Op::CountReach)),
        (routes!(api_geocode::search), Needs(Op::SearchPlaces)),
        (routes!(api_staff::participant_stats), Needs(Op::ReadParticipantStats)),
        (routes!(api_alerting::list_actions), Needs(Op::ManageActions)),
        (routes!(api_alerting::create_action), Needs(Op::ManageActions)),
        (routes!(api_alerting::staff_live), Needs(Op::FollowLiveActions)),
        (routes!(api_alerting::get_action), Needs(Op::ManageActions)),
        (routes!(api_alerting::approve_action), Needs(Op::ApproveAction)),
        (routes!(api_alerting::send_action), Needs(Op::ManageActions)),
        (routes!(api_alerting::update_action), Needs(Op::ManageActions)),
        (routes!(api_alerting::close_action), Needs(Op::ManageActions)),
        (routes!(api_alerting::cancel_action), Needs(Op::ManageActions)),
        (routes!(api_enquiries::tips), Needs(Op::ReadTips)),
        (with_body_limit(routes!(api_alerting::add_photo), crate::media::MAX_UPLOAD_BYTES + 4096), Needs(Op::ManageActions)),
        (routes!(api_alerting::create_message), Needs(Op::SendInformation)),
        (routes!(api_alerting::get_message), Needs(Op::SendInformation)),
        (routes!(api_alerting::approve_message), Needs(Op::ApproveInformation)),
        (routes!(api_alerting::dead_letters), Needs(Op::ManageDeliveries)),
        (routes!(api_alerting::retry_delivery), Needs(Op::ManageDeliveries)),
        (routes!(api_alerting::retry_dead_of_message), Needs(Op::ManageDeliveries)),
        (routes!(api_alerting::public_live), Public("the public live feed of published actions")),
        (routes!(api_alerting::sms_reports), Public("the SMS gateway's signed delivery reports")),
        // CAP 1.2: public alerts out, partners' alerts in as drafts.
        (routes!(api_publishing::alerts_feed), Public("public CAP alerts of kinds the domain publishes")),
        (routes!(api_publishing::alert_document), Public("public CAP alerts of kinds the domain publishes")),
        (routes!(api_publishing::action_document), Needs(Op::ManageActions)),
        (routes!(api_publishing::import_alert), Needs(Op::ManageActions)),
        (routes!(api_enquiries::list), Needs(Op::ReadEnquiries)),
        (routes!(api_enquiries::create), Needs(Op::RequestEnquiry)),
        (routes!(api_enquiries::monthly), Needs(Op::ReadEnquiries)),
        (routes!(api_enquiries::one), Needs(Op::ReadEnquiries)),
        (routes!(api_enquiries::approve), Needs(Op::ApproveEnquiry)),
        (routes!(api_enquiries::give_back), Needs(Op::ApproveEnquiry)),
        (routes!(api_enquiries::close), Needs(Op::CloseEnquiry)),
        (
            with_body_limit(routes!(api_enquiries::add_photo), crate::enquiries::photos::MAX_PHOTO_BYTES + 4096),
            Needs(Op::RequestEnquiry),
        ),
        (routes!(api_enquiries::replies_of), Needs(Op::ReadReplies)),
        (routes!(api_enquiries::classify), Needs(Op::HandleReplies)),
        (routes!(api_enquiries::forward), Needs(Op::HandleReplies)),
        (routes!(api_enquiries::answer), Needs(Op::HandleReplies)),
        (routes!(api_enquiries::photo), Needs(Op::ReadReplyPhotos)),
        // Reports (figures only, scoped; small counts of people as "< 5" beyond the municipality).
        (routes!(reports_api::actions), Needs(Op::ReadReports)),
        (routes!(reports_api::enquiries), Needs(Op::ReadReports)),
        (routes!(reports_api::coverage), Needs(Op::ReadReports)),
        (routes!(reports_api::cost_share), Needs(Op::ReadReports)),
        (routes!(reports_api::quarterly), Needs(Op::ReadReports)),
        (routes!(reports_api::upkeep), Needs(Op::ReadReports)),
        (routes!(crate::reports::campaigns::create), Needs(Op::ManageCampaigns)),
        (routes!(crate::reports::campaigns::list), Needs(Op::ReadReports)),
        (routes!(crate::reports::campaigns::one), Needs(Op::ReadReports)),
        (routes!(crate::reports::campaigns::qr_svg), Needs(Op::ReadReports)),
        (routes!(crate::reports::campaigns::qr_png), Needs(Op::ReadReports)),
        // Web Push: the VAPID public key and devices registered on their own.
        (routes!(api_devices::public_key), Public("the VAPID public key")),
        (routes!(api_devices::register), Public("a device registers itself")),
        (routes!(api_devices::update), Public(DEVICE_TOKEN)),
        (routes!(api_devices::delete), Public(DEVICE_TOKEN)),
        // The resident app (PWA).
        (routes!(app_api::config), Public("the resident app's settings")),
        (routes!(app_api::export_device), Public(DEVICE_TOKEN)),
        (routes!(app_api::device_actions), Public(DEVICE_TOKEN)),
        (routes!(app_api::open_action), Public(DEVICE_TOKEN)),
        (routes!(app_api::link_device), Public("the device's own token and a self-service link")),
        (routes!(app_api::action_page), Public("a signed action-page link")),
        (with_body_limit(routes!(app_api::send_tip), app_api::MAX_TIP_BYTES), Public("a signed action-page link")),
        // Neighbourhood conversations: residents with their linked device's token, staff on invitation.
        (routes!(nbh_api::membership), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::join), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::rename), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::leave), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::follow), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::unfollow), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::list), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::start), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::one), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::reply), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::invite), Public(DEVICE_TOKEN)),
        (routes!(nbh_api::close), Public(DEVICE_TOKEN)),
        (routes!(alarm_api::invite), Public(DEVICE_TOKEN)),
        (routes!(alarm_api::accept), Public(DEVICE_TOKEN)),
        (routes!(alarm_api::list), Public(DEVICE_TOKEN)),
        (routes!(alarm_api::end), Public(DEVICE_TOKEN)),
        (routes!(alarm_api::press), Public(DEVICE_TOKEN)),
        (routes!(alarm_api::presses), Public(DEVICE_TOKEN)),
        (routes!(alarm_api::cancel), Public(DEVICE_TOKEN)),
        (routes!(nbh_staff::list), Needs(Op::ReadConversations)),
        (routes!(nbh_staff::start), Needs(Op::TakePartInConversations)),
        (routes!(nbh_staff::one), Needs(Op::TakePartInConversations)),
        (routes!(nbh_staff::reply), Needs(Op::TakePartInConversations)),
        (routes!(nbh_staff::close), Needs(Op::TakePartInConversations)),
    ]
}

/// One route of the JSON API: its path template under `/api/v1` and the methods it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRoute {
    pub path: &'static str,
    pub methods: &'static [&'static str],
}

/// One method of one route and what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRule {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// The method and path of each row (every row is one handler: one method, one path).
pub(super) fn method_and_path(row: &UtoipaMethodRouter<AppState>) -> Vec<(&'static str, String)> {
    use utoipa::openapi::path::PathItem;
    let methods = |item: &PathItem| {
        let mut out = Vec::new();
        let all: [(&'static str, bool); 5] = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (m, present) in all {
            if present {
                out.push(m);
            }
        }
        out
    };
    row.1.paths.iter().flat_map(|(path, item)| methods(item).into_iter().map(move |m| (m, path.clone()))).collect()
}

/// The table's rules, made once (the declarations are constant; paths live for the process).
static RULES: LazyLock<Vec<RouteRule>> = LazyLock::new(|| {
    table()
        .iter()
        .flat_map(|(row, access)| {
            method_and_path(row).into_iter().map(|(method, path)| RouteRule {
                method,
                path: Box::leak(path.into_boxed_str()),
                access: *access,
            })
        })
        .collect()
});

static ROUTES: LazyLock<Vec<ApiRoute>> = LazyLock::new(|| {
    let mut paths: Vec<&'static str> = Vec::new();
    for r in RULES.iter() {
        if !paths.contains(&r.path) {
            paths.push(r.path);
        }
    }
    paths
        .into_iter()
        .map(|path| {
            let methods: Vec<&'static str> = RULES.iter().filter(|r| r.path == path).map(|r| r.method).collect();
            ApiRoute { path, methods: Box::leak(methods.into_boxed_slice()) }
        })
        .collect()
});

/// Every method of every route with what it needs.
pub fn rules() -> &'static [RouteRule] {
    &RULES
}

/// Every route of the JSON API (paths relative to `/api/v1`), with its methods.
pub fn api_routes() -> Vec<ApiRoute> {
    ROUTES.clone()
}
