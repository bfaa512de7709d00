//! The OpenAPI 3.1 document of the JSON API, `GET /api/v1/openapi.json`. Its paths come from the
//! router's own route table (`api_routes`), and every route must have a description here: a
//! route without one makes the test `every_route_is_described` fail (and is served with a
//! placeholder that says so, never silently left out).

use super::ApiRoute;
use serde_json::{Value, json};

/// What one operation takes and answers.
struct Operation {
    summary: &'static str,
    tag: &'static str,
    /// Needs `Authorization: Bearer <staff token>`.
    staff: bool,
    /// The JSON body's schema, if it takes one.
    body: Option<Value>,
    /// Query parameters: (name, required, description).
    query: &'static [(&'static str, bool, &'static str)],
    /// The success status and what it answers.
    ok: (u16, &'static str),
    /// Error statuses it may answer (besides 400, 413, 429 and 503, which any may).
    errors: &'static [u16],
}

fn area_schema() -> Value {
    json!({"$ref": "#/components/schemas/Area"})
}

/// The description of one route and method, or `None` when it has none yet.
fn describe(path: &str, method: &str) -> Option<Operation> {
    let op = |summary, tag, staff, body, query, ok, errors| Operation { summary, tag, staff, body, query, ok, errors };
    let contact = |names: &[&str]| {
        let props: serde_json::Map<String, Value> = names.iter().map(|n| (n.to_string(), json!({"type": "string"}))).collect();
        json!({"type": "object", "properties": props})
    };
    Some(match (path, method) {
        ("/openapi.json", "GET") => op("This document", "meta", false, None, &[], (200, "The OpenAPI 3.1 document"), &[]),
        ("/areas", "GET") => op(
            "Areas of a level below a parent",
            "areas",
            false,
            None,
            &[
                ("level", false, "country, province, police_unit, safety_region, municipality, district, neighbourhood, pc4"),
                ("parent", false, "the parent area's code"),
            ],
            (200, "{\"attribution\": {\"nl\", \"en\"}, \"sources\": [imported files], \"areas\": [area summaries]}"),
            &[],
        ),
        ("/areas/at", "GET") => op(
            "Every area containing a point",
            "areas",
            false,
            None,
            &[("lat", true, "latitude (WGS84)"), ("lon", true, "longitude (WGS84)")],
            (200, "The areas at the point, one per level"),
            &[],
        ),
        ("/areas/{code}", "GET") => {
            op("One area with a simplified GeoJSON geometry", "areas", false, None, &[], (200, "The area"), &[404])
        }
        ("/admin/area-imports", "GET") => op(
            "Imported official area files, and staff scopes naming a code that no longer exists (national admins)",
            "areas",
            true,
            None,
            &[],
            (200, "{\"imports\": [...], \"stale_scopes\": [...]}"),
            &[401, 403],
        ),
        ("/admin/jobs", "GET") => op(
            "Periodic and deferred jobs with their state, due time, attempts and last error (national admins)",
            "admin",
            true,
            None,
            &[("failed", false, "true: only jobs whose last run failed or that were given up")],
            (200, "{\"jobs\": [{\"kind\", \"key\", \"state\", \"due_at\", \"attempts\", \"runs\", \"last_error\", ...}]}"),
            &[401, 403],
        ),
        ("/participants", "POST") => op(
            "Register as a resident (the same answer whether or not the e-mail or phone is known)",
            "participants",
            false,
            Some(json!({"$ref": "#/components/schemas/Registration"})),
            &[],
            (202, "Accepted: check e-mail and SMS"),
            &[422],
        ),
        ("/participants/verify-email", "POST") => op(
            "Confirm an e-mail address with the token of its link",
            "participants",
            false,
            Some(json!({"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}})),
            &[],
            (200, "Confirmed"),
            &[404, 422],
        ),
        ("/participants/verify-phone", "POST") => op(
            "Confirm a phone number with its 6-digit SMS code",
            "participants",
            false,
            Some(json!({"type": "object", "required": ["phone", "code"],
                "properties": {"phone": {"type": "string"}, "code": {"type": "string", "pattern": "^[0-9]{6}$"}}})),
            &[],
            (200, "Confirmed"),
            &[422],
        ),
        ("/participants/resend-code", "POST") => op(
            "Send a new SMS code to an unconfirmed number",
            "participants",
            false,
            Some(json!({"type": "object", "required": ["phone"], "properties": {"phone": {"type": "string"}}})),
            &[],
            (202, "Accepted (the same answer for unknown numbers)"),
            &[422],
        ),
        ("/participants/self-service-link", "POST") => op(
            "Send a self-service link by e-mail or SMS",
            "participants",
            false,
            Some(contact(&["email", "phone"])),
            &[],
            (202, "Accepted (the same answer for unknown contacts)"),
            &[422],
        ),
        ("/self-service/{token}", "GET") => {
            op("Everything stored about me (JSON export)", "self-service", false, None, &[], (200, "My data"), &[404])
        }
        ("/self-service/{token}", "PATCH") => op(
            "Change language, topics, paused, and channels and quiet hours per address",
            "self-service",
            false,
            Some(json!({"$ref": "#/components/schemas/SelfServiceChange"})),
            &[],
            (200, "My data after the change"),
            &[404, 422],
        ),
        ("/self-service/{token}", "DELETE") => {
            op("Delete everything about me", "self-service", false, None, &[], (204, "Deleted"), &[404])
        }
        ("/self-service/{token}/devices/{id}", "DELETE") => {
            op("Unlink one of my linked devices", "self-service", false, None, &[], (204, "Unlinked"), &[404])
        }
        ("/staff/me", "GET") => op("The signed-in staff account", "staff", true, None, &[], (200, "id, role, scope"), &[401]),
        ("/targeting/count", "POST") => op(
            "How many people and addresses an area reaches, per channel and neighbourhood",
            "targeting",
            true,
            Some(json!({"type": "object", "required": ["area", "topic"], "properties": {
                "area": area_schema(),
                "topic": {"enum": ["urgent", "enquiry", "information"]},
                "at": {"type": "string", "format": "date-time"},
                "override_time_windows": {"type": "boolean"}}})),
            &[],
            (200, "The counts; clipped_to_scope when part of the area lies outside the caller's scope"),
            &[401, 403, 422],
        ),
        ("/stats/participants", "GET") => op(
            "Participant counts per channel within the caller's scope",
            "staff",
            true,
            None,
            &[("municipality", false, "a municipality code (GM…)"), ("police_unit", false, "a police unit code (RE…)")],
            (200, "The counts"),
            &[401, 403],
        ),
        ("/actions", "GET") => op(
            "Actions within the caller's scope, newest first",
            "actions",
            true,
            None,
            &[("state", false, "open (draft or active), draft, active, closed or cancelled")],
            (200, "{\"actions\": [...]}, each with reminder_due when open longer than the reminder time"),
            &[401, 403, 422],
        ),
        ("/actions", "POST") => op(
            "Create a draft urgent action (Idempotency-Key honoured)",
            "actions",
            true,
            Some(json!({"$ref": "#/components/schemas/NewAction"})),
            &[],
            (201, "The action with its texts per channel and the SMS length (preview)"),
            &[401, 403, 409, 422],
        ),
        ("/actions/live", "GET") => op(
            "Server-Sent Events of action messages within the caller's scope",
            "actions",
            true,
            None,
            &[],
            (200, "text/event-stream: events 'message' with JSON data"),
            &[401, 403],
        ),
        ("/actions/{id}", "GET") => op(
            "One action: fields, texts, messages and deliveries per channel and state; its 'version' and 'approval' (whether a second person must approve it, who did)",
            "actions",
            true,
            None,
            &[],
            (200, "The action"),
            &[401, 403, 404],
        ),
        ("/actions/{id}/approve", "POST") => op(
            "Approve a draft as a second person (approval.second_person, by default national actions): another dispatcher of its scope or a national administrator, never its creator (403); 'version' is the version looked at (409 when the draft changed since, when it needs no approval or has one)",
            "actions",
            true,
            Some(json!({"type": "object", "required": ["version"], "properties": {"version": {"type": "integer"}}})),
            &[],
            (200, "The action, approved"),
            &[401, 403, 404, 409, 422],
        ),
        ("/actions/{id}/send", "POST") => op(
            "Send a draft: the recipients are fixed now (Idempotency-Key honoured); 409 while it waits for a second person's approval",
            "actions",
            true,
            Some(json!({"type": "object", "properties": {"consent": {"$ref": "#/components/schemas/Consent"}}})),
            &[],
            (200, "The action, active, with message_id"),
            &[401, 403, 404, 409, 422],
        ),
        ("/actions/{id}/update", "POST") => op(
            "Send an update to everyone the action reached",
            "actions",
            true,
            Some(
                json!({"type": "object", "required": ["body"], "properties": {"body": {"type": "string", "minLength": 1, "maxLength": 1000}}}),
            ),
            &[],
            (200, "The action with message_id"),
            &[401, 403, 404, 409, 422],
        ),
        ("/actions/{id}/close", "POST") => op(
            "Close with an outcome; the closing message goes to everyone the action reached",
            "actions",
            true,
            Some(json!({"type": "object", "required": ["outcome"], "properties": {
                "outcome": {"enum": ["direct", "indirect", "none"]},
                "body": {"type": "string", "maxLength": 1000}}})),
            &[],
            (200, "The action, closed, with message_id"),
            &[401, 403, 404, 409, 422],
        ),
        ("/actions/{id}/cancel", "POST") => op(
            "Cancel (sent in error): a correction goes to everyone the action reached",
            "actions",
            true,
            Some(json!({"type": "object", "properties": {"body": {"type": "string", "maxLength": 1000}}})),
            &[],
            (200, "The action, cancelled"),
            &[401, 403, 404, 409, 422],
        ),
        ("/actions/{id}/photos", "POST") => op(
            "Add a photo to a draft action (body: image/jpeg or image/png, at most 8 MB; at most 3 photos; re-encoded, metadata dropped; sent by push and e-mail, never by SMS or voice)",
            "actions",
            true,
            None,
            &[],
            (201, "{\"id\", \"url\", \"width\", \"height\"}"),
            &[401, 403, 404, 422],
        ),
        ("/messages", "POST") => op(
            "An information message to the municipality's participants (e-mail and push; now or at send_at; held for a second person's approval in the municipalities of approval.information_municipalities)",
            "messages",
            true,
            Some(json!({"type": "object", "required": ["area", "title", "body"], "properties": {
                "area": area_schema(),
                "title": {"type": "string", "minLength": 1, "maxLength": 120},
                "body": {"type": "string", "minLength": 1, "maxLength": 1000},
                "title_en": {"type": "string", "maxLength": 120},
                "body_en": {"type": "string", "maxLength": 1000},
                "status": {"enum": ["actual", "exercise", "test"]},
                "send_at": {"type": "string", "format": "date-time"}}})),
            &[],
            (201, "The message"),
            &[401, 403, 409, 422],
        ),
        ("/messages/{id}", "GET") => op(
            "An information message with its deliveries per channel and state, and its 'approval'",
            "messages",
            true,
            None,
            &[],
            (200, "The message"),
            &[401, 403, 404],
        ),
        ("/messages/{id}/approve", "POST") => op(
            "Approve an information message held for a second person (approval.information_municipalities): another officer of its municipality or an administrator of its scope, never its writer (403); 409 when it is not held",
            "messages",
            true,
            None,
            &[],
            (200, "The message, released for its fan-out"),
            &[401, 403, 404, 409],
        ),
        ("/deliveries/dead", "GET") => op(
            "Dead letters: deliveries whose tries are used up (admins)",
            "deliveries",
            true,
            None,
            &[],
            (200, "{\"deliveries\": [...]}"),
            &[401, 403],
        ),
        ("/deliveries/{id}/retry", "POST") => op(
            "Put a dead letter back in the queue with fresh tries (admins)",
            "deliveries",
            true,
            None,
            &[],
            (200, "Queued"),
            &[401, 403, 404, 409],
        ),
        ("/messages/{id}/retry-dead", "POST") => op(
            "Put every dead letter of one message back in the queue with fresh tries, e.g. after a provider outage (admins)",
            "deliveries",
            true,
            None,
            &[],
            (200, "{\"message_id\", \"retried\"}"),
            &[401, 403, 404, 409],
        ),
        ("/live", "GET") => op(
            "Server-Sent Events of action messages for a resident page: those whose area holds the point",
            "live",
            false,
            None,
            &[("lat", true, "latitude (WGS84)"), ("lon", true, "longitude (WGS84)")],
            (200, "text/event-stream: events 'message' with JSON data (no tests)"),
            &[],
        ),
        ("/providers/sms/reports", "POST") => op(
            "Delivery reports of the SMS gateway (CM status-report JSON), signed with X-Buurtnet-Signature: t=<unix seconds>,sha256=<HMAC-SHA256 of '<t>.' and the body> (at most five minutes old); a failed SMS fails over to the person's next channel",
            "deliveries",
            false,
            Some(json!({"type": "object", "required": ["messages"], "properties": {"messages": {"type": "object"}}})),
            &[],
            (200, "{\"applied\", \"ignored\", \"failed_over\"}"),
            &[401, 404],
        ),
        ("/enquiries", "POST") => op(
            "Request a neighbourhood enquiry (requesters; lands in the team's queue for another person to approve)",
            "enquiries",
            true,
            Some(
                json!({"type": "object", "required": ["incident_type", "occurred_at", "location", "description", "questions"], "properties": {
                "incident_type": {"enum": ["burglary", "attempted_burglary", "street_robbery", "arson", "vandalism", "other"]},
                "occurred_at": {"type": "string", "format": "date-time"},
                "location": {"type": "object", "required": ["lat", "lon"], "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
                "radius_m": {"type": "integer", "minimum": 50, "maximum": 5000, "default": 500},
                "description": {"type": "string", "minLength": 1, "maxLength": 2000},
                "questions": {"type": "string", "minLength": 1, "maxLength": 2000}}}),
            ),
            &[],
            (201, "The enquiry, with its id"),
            &[401, 403, 422],
        ),
        ("/enquiries", "GET") => op(
            "Enquiries within the caller's scope, newest first (state=requested: the team's queue)",
            "enquiries",
            true,
            None,
            &[("state", false, "requested, returned, sent, closed")],
            (200, "{\"enquiries\": [...]}"),
            &[401, 403, 422],
        ),
        ("/enquiries/monthly", "GET") => op(
            "Monthly monitoring per municipality: sent, with a reply, reaction %, relevant share, open replies",
            "enquiries",
            true,
            None,
            &[
                ("from", false, "first month, YYYY-MM"),
                ("to", false, "last month, YYYY-MM"),
                ("format", false, "json (default), csv or html (a simple page)"),
            ],
            (200, "{\"months\": [...]} or text/csv"),
            &[401, 403, 422],
        ),
        ("/enquiries/{id}", "GET") => op(
            "One enquiry: fields, state, time from incident to sending, recipients, deliveries, replies",
            "enquiries",
            true,
            None,
            &[],
            (200, "The enquiry"),
            &[401, 403, 404],
        ),
        ("/enquiries/{id}/approve", "POST") => op(
            "Approve and send (approvers; never the request's own requester: 403), optionally with edited texts; 'version' is the version of the request reviewed (409 when its texts or photo changed since)",
            "enquiries",
            true,
            Some(
                json!({"type": "object", "required": ["version"], "properties": {"version": {"type": "integer"}, "description": {"type": "string"}, "questions": {"type": "string"}}}),
            ),
            &[],
            (200, "The enquiry, now sent"),
            &[401, 403, 404, 409, 422],
        ),
        ("/enquiries/{id}/return", "POST") => op(
            "Return a request to its requester with a comment (approvers)",
            "enquiries",
            true,
            Some(
                json!({"type": "object", "required": ["comment"], "properties": {"comment": {"type": "string", "maxLength": 1000}}}),
            ),
            &[],
            (200, "The enquiry, now returned"),
            &[401, 403, 404, 409, 422],
        ),
        ("/enquiries/{id}/close", "POST") => op(
            "Close a sent enquiry: its reply links stop working, the photo retention period starts",
            "enquiries",
            true,
            None,
            &[],
            (200, "The enquiry, now closed"),
            &[401, 403, 404, 409],
        ),
        ("/enquiries/{id}/photo", "POST") => op(
            "Set or replace the request's optional photo while it waits for approval (body: image/jpeg, image/png or image/webp, at most 10 MB; re-encoded, metadata dropped; shown to residents in the e-mail, the push and on the reply page)",
            "enquiries",
            true,
            None,
            &[],
            (200, "The enquiry, with its photo's url"),
            &[401, 403, 404, 409, 413, 422],
        ),
        ("/enquiries/{id}/replies", "GET") => op(
            "The replies to an enquiry (handlers), each with text, status, classification and photos with an authorised url",
            "enquiries",
            true,
            None,
            &[("status", false, "new, classified, answered, overdue (open longer than one working day)")],
            (200, "{\"enquiry_id\", \"replies\": [...]}"),
            &[401, 403, 404, 422],
        ),
        ("/replies/{id}/classify", "POST") => op(
            "Classify a reply (handlers)",
            "enquiries",
            true,
            Some(
                json!({"type": "object", "required": ["classification"], "properties": {"classification": {"enum": ["relevant", "relevant_other", "not_relevant"]}}}),
            ),
            &[],
            (200, "The reply"),
            &[401, 403, 404, 422],
        ),
        ("/replies/{id}/forward", "POST") => op(
            "Forward a reply with its photos by e-mail to the investigating team's configured address (handlers)",
            "enquiries",
            true,
            None,
            &[],
            (200, "The reply, with forwarded_at"),
            &[401, 403, 404, 422, 503],
        ),
        ("/replies/{id}/answer", "POST") => op(
            "The final answer to the resident, by e-mail; the reply is then handled (handlers)",
            "enquiries",
            true,
            Some(
                json!({"type": "object", "properties": {"body": {"type": "string", "maxLength": 5000}, "template": {"enum": ["used", "other_case", "not_relevant"]}}}),
            ),
            &[],
            (200, "The reply, answered"),
            &[401, 403, 404, 409, 422],
        ),
        ("/actions/{id}/tips", "GET") => op(
            "Tips residents reached by the action sent through their own link (the action's control room's dispatchers only)",
            "actions",
            true,
            None,
            &[],
            (200, "{\"action_id\", \"tips\": [...]} (each like a reply, photos with an authorised url)"),
            &[401, 403, 404],
        ),
        ("/reply-photos/{id}", "GET") => op(
            "A reply photo (image/jpeg, Cache-Control: no-store; every view audited)",
            "enquiries",
            true,
            None,
            &[],
            (200, "image/jpeg"),
            &[401, 403, 404],
        ),
        ("/push/public-key", "GET") => op(
            "The VAPID public key browsers subscribe with (applicationServerKey)",
            "devices",
            false,
            None,
            &[],
            (200, "{\"public_key\": base64url of the uncompressed P-256 point}"),
            &[],
        ),
        ("/devices", "POST") => op(
            "Register a Web Push device for a location (no account); the token lets it change or delete itself",
            "devices",
            false,
            Some(json!({"$ref": "#/components/schemas/DeviceRegistration"})),
            &[],
            (201, "{\"id\", \"token\"}: keep the token, it is shown once"),
            &[422],
        ),
        ("/app/config", "GET") => op(
            "What the resident app needs: the VAPID public key and the coarse grid it computes its 'where I am' cell on in the browser (no position is ever sent)",
            "app",
            false,
            None,
            &[],
            (200, "{\"vapid_public_key\", \"grid\", …}"),
            &[],
        ),
        ("/app/devices/{id}", "GET") => op(
            "Everything stored about this device, as a download (Authorization: Bearer <device token>)",
            "app",
            false,
            None,
            &[],
            (200, "The device's settings, places and the actions that reached it"),
            &[400, 401, 404, 429],
        ),
        ("/app/devices/{id}/actions", "GET") => op(
            "The device's recent actions, each with its page link (Authorization: Bearer <device token>)",
            "app",
            false,
            None,
            &[],
            (200, "{\"actions\": [...]}"),
            &[400, 401, 404, 429],
        ),
        ("/app/devices/{id}/open/{action}", "GET") => op(
            "The page link of an action the open page heard of on the live feed, if it concerns this device (Authorization: Bearer <device token>)",
            "app",
            false,
            None,
            &[],
            (200, "{\"link\"}"),
            &[400, 401, 404, 429],
        ),
        ("/app/devices/{id}/link", "POST") => op(
            "Link this device to a participant's account with the token of a sign-in link (Authorization: Bearer <device token>)",
            "app",
            false,
            Some(json!({"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}})),
            &[],
            (200, "The device, now linked"),
            &[400, 401, 404, 422, 429],
        ),
        ("/app/actions/{link}", "GET") => op(
            "The action page a notification opens (the link is signed for one delivery): full texts, photos, description, call-back number, the area, every message so far",
            "app",
            false,
            None,
            &[],
            (200, "The action page's data"),
            &[404, 429],
        ),
        ("/app/actions/{link}/tips", "POST") => op(
            "A tip for the action's dispatchers (multipart: text, optional phone, lang, photos; photos re-encoded without EXIF); anonymous unless a phone number is given",
            "app",
            false,
            None,
            &[],
            (201, "The tip was received"),
            &[404, 410, 413, 422, 429],
        ),
        ("/devices/{id}", "PATCH") => op(
            "Change a device's subscription, location, topics or language (Authorization: Bearer <device token>)",
            "devices",
            false,
            Some(json!({"$ref": "#/components/schemas/DeviceChange"})),
            &[],
            (200, "The device: id, language, topics, location"),
            &[404, 422],
        ),
        ("/devices/{id}", "DELETE") => {
            op("Delete a device (Authorization: Bearer <device token>)", "devices", false, None, &[], (204, "Deleted"), &[404])
        }
        _ => return None,
    })
}

fn components() -> Value {
    json!({
        "securitySchemes": {"staffToken": {"type": "http", "scheme": "bearer", "description": "A staff API token (buurtnet admin create-token)."}},
        "schemas": {
            "Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string", "description": "A stable code"},
                "message": {"type": "string"},
                "fields": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}}}},
            "Area": {"description": "An area expression", "oneOf": [
                {"type": "object", "required": ["circle"], "properties": {"circle": {"type": "object", "required": ["lat", "lon", "radius_m"],
                    "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}, "radius_m": {"type": "number", "minimum": 25, "maximum": 100000}}}}},
                {"type": "object", "required": ["polygon"], "properties": {"polygon": {"description": "A GeoJSON Polygon or MultiPolygon (WGS84), at most 10,000 vertices", "type": "object"}}},
                {"type": "object", "required": ["areas"], "properties": {"areas": {"type": "array", "items": {"type": "string"}, "minItems": 1}}},
                {"type": "object", "required": ["union"], "properties": {"union": {"type": "array", "items": {"$ref": "#/components/schemas/Area"}, "minItems": 1}}}
            ]},
            "Registration": {"type": "object", "required": ["age_confirmed", "addresses"], "properties": {
                "email": {"type": "string"}, "phone": {"type": "string"}, "external_id": {"type": "string"},
                "language": {"enum": ["nl", "en"]}, "age_confirmed": {"type": "boolean"},
                "topics": {"type": "array", "items": {"enum": ["urgent", "enquiry", "information"]}},
                "addresses": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Address"}}}},
            "Address": {"type": "object", "required": ["channels"], "properties": {
                "kind": {"enum": ["home", "work", "other"]}, "postcode": {"type": "string"}, "house_number": {"type": "string"},
                "lat": {"type": "number"}, "lon": {"type": "number"},
                "channels": {"type": "array", "items": {"enum": ["push", "sms", "voice", "email"]}},
                "quiet_hours": {"type": "array", "items": {"$ref": "#/components/schemas/QuietHours"}}}},
            "QuietHours": {"type": "object", "required": ["channels", "from", "to"], "properties": {
                "channels": {"type": "array", "items": {"enum": ["push", "sms", "voice", "email"]}},
                "from": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                "to": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}}},
            "Consent": {"type": "object", "required": ["by"], "description": "The family's consent (missing person, runaway child)", "properties": {
                "by": {"type": "string", "minLength": 1, "maxLength": 200}, "at": {"type": "string", "format": "date-time"}}},
            "NewAction": {"type": "object", "required": ["kind", "status", "area", "title", "body"], "properties": {
                "kind": {"enum": ["suspect", "vehicle", "missing_person", "runaway_child", "gas_leak", "bomb", "explosion", "disaster", "other"]},
                "level": {"enum": ["local", "regional", "national"]},
                "status": {"enum": ["actual", "exercise", "test"]},
                "area": {"$ref": "#/components/schemas/Area"},
                "title": {"type": "string", "minLength": 1, "maxLength": 120},
                "body": {"type": "string", "minLength": 1, "maxLength": 1000},
                "title_en": {"type": "string", "maxLength": 120},
                "body_en": {"type": "string", "maxLength": 1000},
                "callback_phone": {"type": "string", "maxLength": 20},
                "consent": {"$ref": "#/components/schemas/Consent"},
                "description": {"type": "object", "additionalProperties": false, "properties": {
                    "person": {"type": "object", "additionalProperties": false, "properties": {
                        "sex": {"enum": ["male", "female", "unknown"]}, "age": {"type": "integer", "minimum": 0},
                        "height_cm": {"type": "integer", "minimum": 0}, "build": {"type": "string"}, "hair": {"type": "string"}, "clothing": {"type": "string"}}},
                    "vehicle": {"type": "object", "additionalProperties": false, "properties": {
                        "make": {"type": "string"}, "model": {"type": "string"}, "colour": {"type": "string"}, "plate": {"type": "string"}}},
                    "direction": {"type": "string"}, "do_not_approach": {"type": "boolean"}}}}},
            "PushSubscription": {"type": "object", "required": ["endpoint", "keys"], "description": "The browser's PushSubscription.toJSON()", "properties": {
                "endpoint": {"type": "string", "description": "https URL of a push service on the allow-list"},
                "expirationTime": {"type": ["number", "null"]},
                "keys": {"type": "object", "required": ["p256dh", "auth"], "properties": {
                    "p256dh": {"type": "string", "description": "base64url, uncompressed P-256 point (65 bytes)"},
                    "auth": {"type": "string", "description": "base64url, 16 bytes"}}}}},
            "Location": {"type": "object", "required": ["lat", "lon"], "description": "A point in a Dutch municipality (WGS84)",
                "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
            "DeviceRegistration": {"type": "object", "required": ["subscription", "location"], "properties": {
                "subscription": {"$ref": "#/components/schemas/PushSubscription"},
                "location": {"$ref": "#/components/schemas/Location"},
                "topics": {"type": "array", "items": {"enum": ["urgent", "enquiry", "information"]}, "description": "default [\"urgent\"]"},
                "language": {"enum": ["nl", "en"]}}},
            "DeviceChange": {"type": "object", "properties": {
                "subscription": {"$ref": "#/components/schemas/PushSubscription"},
                "location": {"$ref": "#/components/schemas/Location"},
                "topics": {"type": "array", "items": {"enum": ["urgent", "enquiry", "information"]}},
                "language": {"enum": ["nl", "en"]}}},
            "SelfServiceChange": {"type": "object", "properties": {
                "language": {"enum": ["nl", "en"]},
                "topics": {"type": "array", "items": {"enum": ["urgent", "enquiry", "information"]}},
                "paused": {"type": "boolean"},
                "addresses": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "integer"},
                    "channels": {"type": "array", "items": {"enum": ["push", "sms", "voice", "email"]}},
                    "quiet_hours": {"type": "array", "items": {"$ref": "#/components/schemas/QuietHours"}}}}}}}
        }
    })
}

fn operation(path: &str, method: &str) -> Value {
    let Some(op) = describe(path, method) else {
        return json!({"summary": "UNDESCRIBED ROUTE: add it to http/openapi.rs", "responses": {"default": {"description": "unknown"}}});
    };
    let error =
        json!({"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut responses = serde_json::Map::new();
    let ok_content = if op.ok.0 == 204 {
        json!({"description": op.ok.1})
    } else {
        json!({"description": op.ok.1, "content": {"application/json": {"schema": {}}}})
    };
    responses.insert(op.ok.0.to_string(), ok_content);
    for status in op.errors.iter().chain(&[400, 413, 429, 503]) {
        responses.insert(status.to_string(), error.clone());
    }
    let mut parameters: Vec<Value> = op
        .query
        .iter()
        .map(|(name, required, description)| {
            json!({"name": name, "in": "query", "required": required, "description": description, "schema": {"type": "string"}})
        })
        .collect();
    for name in path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
        parameters.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    let mut o = json!({"summary": op.summary, "tags": [op.tag], "operationId": format!("{}{}", method.to_lowercase(), path.replace(['/', '{', '}', '-', '.'], "_")), "responses": responses});
    if !parameters.is_empty() {
        o["parameters"] = json!(parameters);
    }
    if let Some(schema) = op.body {
        o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema}}});
    }
    if op.staff {
        o["security"] = json!([{"staffToken": []}]);
    }
    o
}

/// The whole document for these routes.
pub fn document(routes: &[ApiRoute]) -> Value {
    let mut paths = serde_json::Map::new();
    for r in routes {
        let mut item = serde_json::Map::new();
        for m in r.methods {
            item.insert(m.to_lowercase(), operation(r.path, m));
        }
        paths.insert(r.path.to_string(), Value::Object(item));
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "buurtnet API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Alerting residents: areas, participants, self-service, targeting, urgent actions, information messages, neighbourhood enquiries and replies, deliveries, live feeds. Errors are {\"error\", \"message\", \"fields\"?}."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": components(),
    })
}

/// Routes of the table that have no description here.
pub fn undescribed(routes: &[ApiRoute]) -> Vec<String> {
    routes
        .iter()
        .flat_map(|r| r.methods.iter().filter(|m| describe(r.path, m).is_none()).map(move |m| format!("{m} {}", r.path)))
        .collect()
}
