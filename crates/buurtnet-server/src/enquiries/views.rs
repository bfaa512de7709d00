//! What the API and the console show of enquiries and replies: each view is built in one place
//! and typed (its OpenAPI schema is derived from it).

use crate::alerting::views::DeliveryCounts;
use serde::Serialize;
use utoipa::ToSchema;

/// A point (WGS84).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnquiryLocation {
    pub lat: f64,
    pub lon: f64,
}

/// The request's photo as residents see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnquiryPhoto {
    pub url: String,
    pub width: i64,
    pub height: i64,
}

/// The deliveries of a sent enquiry: its fan-out state and the counts per channel and state.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct EnquiryDeliveries {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fanout: Option<String>,
    #[serde(flatten)]
    pub channels: DeliveryCounts,
}

/// One enquiry: its fields, state and figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnquiryView {
    pub id: i64,
    pub state: String,
    pub version: i64,
    pub incident_type: String,
    pub occurred_at: Option<String>,
    pub location: EnquiryLocation,
    pub radius_m: i64,
    pub municipality: String,
    pub team: String,
    pub description: String,
    pub questions: String,
    pub photo: Option<EnquiryPhoto>,
    pub requested_by: i64,
    pub decided_by: Option<i64>,
    pub return_comment: Option<String>,
    pub created_at: Option<String>,
    pub sent_at: Option<String>,
    pub closed_at: Option<String>,
    pub minutes_incident_to_sending: Option<i64>,
    pub recipients: Option<i64>,
    pub deliveries: EnquiryDeliveries,
    pub replies: usize,
    pub open_replies: usize,
}

/// One enquiry in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnquirySummary {
    pub id: i64,
    pub state: String,
    pub incident_type: String,
    pub occurred_at: Option<String>,
    pub municipality: String,
    pub requested_by: i64,
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnquiryList {
    pub enquiries: Vec<EnquirySummary>,
}

pub use crate::replies::view::{ReplyPhotoView, ReplyView, TipsView};

/// The replies to an enquiry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RepliesView {
    pub enquiry_id: i64,
    pub replies: Vec<ReplyView>,
}
