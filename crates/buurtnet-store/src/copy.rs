//! Copying every table from one store to another (SQLite → PostgreSQL or back), in key order,
//! page by page, so a database of millions of rows moves in bounded memory.

use crate::{Store, StoreError};
use sqlx::{QueryBuilder, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Int,
    Real,
    Text,
    Bool,
}

pub struct TableSpec {
    pub name: &'static str,
    pub key: &'static [&'static str],
    pub columns: &'static [(&'static str, ColType)],
}

use ColType::{Bool, Int, Real, Text};

/// Every table, parents before children (not `abuse_counters`: short-lived counters that a
/// new deployment starts afresh; nor `staff_sessions` and `staff_password_resets`: staff sign
/// in again on the copy; nor `spent_links`, kept only while a link lives, a day by default; nor `jobs`: the copy's job runners schedule their periodic jobs anew).
pub const TABLES: &[TableSpec] = &[
    TableSpec { name: "meta", key: &["key"], columns: &[("key", Text), ("value", Text)] },
    TableSpec { name: "id_sequences", key: &["name"], columns: &[("name", Text), ("next_id", Int)] },
    TableSpec {
        name: "areas",
        key: &["code"],
        columns: &[
            ("code", Text),
            ("name", Text),
            ("level", Text),
            ("parent_code", Text),
            ("province_code", Text),
            ("inhabitants", Int),
            ("min_lon", Real),
            ("min_lat", Real),
            ("max_lon", Real),
            ("max_lat", Real),
            ("geometry", Text),
            ("geometry_simplified", Text),
        ],
    },
    TableSpec {
        name: "area_imports",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("imported_at", Int),
            ("kind", Text),
            ("year", Int),
            ("file_name", Text),
            ("size_bytes", Int),
            ("sha256", Text),
            ("source_url", Text),
            ("levels", Text),
            ("areas", Int),
        ],
    },
    TableSpec {
        name: "address_points",
        key: &["postcode", "house_number"],
        columns: &[("postcode", Text), ("house_number", Text), ("street", Text), ("city", Text), ("lat", Real), ("lon", Real)],
    },
    TableSpec {
        name: "participants",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("external_id", Text),
            ("language", Text),
            ("topics", Int),
            ("age_confirmed", Bool),
            ("paused", Bool),
            ("municipality_code", Text),
            ("created_at", Int),
            ("updated_at", Int),
            ("campaign_id", Int),
            ("confirmed_at", Int),
            ("confirm_asked_at", Int),
            ("paused_reason", Text),
        ],
    },
    TableSpec {
        name: "contacts",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("participant_id", Int),
            ("kind", Text),
            ("value", Text),
            ("mobile", Bool),
            ("verified_at", Int),
            ("code_hash", Text),
            ("code_expires_at", Int),
            ("code_attempts", Int),
            ("code_budget_since", Int),
            ("code_budget_used", Int),
            ("code_sends", Int),
        ],
    },
    TableSpec {
        name: "addresses",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("participant_id", Int),
            ("kind", Text),
            ("postcode", Text),
            ("house_number", Text),
            ("lat", Real),
            ("lon", Real),
            ("approximate", Bool),
            ("cell", Int),
            ("neighbourhood_code", Text),
            ("district_code", Text),
            ("municipality_code", Text),
            ("pc4", Text),
            ("safety_region_code", Text),
            ("police_unit_code", Text),
            ("province_code", Text),
            ("channels", Int),
            ("quiet_hours", Text),
            ("topics", Int),
            ("paused", Bool),
            ("verified_channels", Int),
        ],
    },
    TableSpec {
        name: "staff_users",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("email", Text),
            ("password_hash", Text),
            ("role", Text),
            ("scope", Text),
            ("disabled", Bool),
            ("created_at", Int),
            ("totp_secret", Text),
            ("totp_enabled_at", Int),
            ("totp_last_step", Int),
            ("skip_second_factor", Bool),
            ("totp_locked_at", Int),
        ],
    },
    TableSpec {
        name: "devices",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("participant_id", Int),
            ("created_at", Int),
            ("endpoint", Text),
            ("p256dh", Text),
            ("auth", Text),
            ("token_hash", Text),
            ("language", Text),
            ("topics", Int),
            ("lat", Real),
            ("lon", Real),
            ("cell", Int),
            ("updated_at", Int),
            ("coarse_cell", Int),
            ("coarse_until", Int),
            ("paused", Bool),
        ],
    },
    TableSpec {
        name: "device_places",
        key: &["device_id", "position"],
        columns: &[("device_id", Int), ("position", Int), ("lat", Real), ("lon", Real), ("cell", Int)],
    },
    TableSpec {
        name: "api_tokens",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("token_hash", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("revoked_at", Int),
        ],
    },
    TableSpec {
        name: "changes",
        key: &["seq"],
        columns: &[("seq", Int), ("participant_lo", Int), ("participant_hi", Int), ("at", Int)],
    },
    TableSpec {
        name: "audit_log",
        key: &["id"],
        columns: &[("id", Int), ("at", Int), ("actor", Text), ("action", Text), ("target", Text), ("details", Text)],
    },
    TableSpec {
        name: "actions",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("kind", Text),
            ("level", Text),
            ("status", Text),
            ("state", Text),
            ("area", Text),
            ("content", Text),
            ("outcome", Text),
            ("consent_by", Text),
            ("consent_at", Int),
            ("created_by", Int),
            ("scope", Text),
            ("created_at", Int),
            ("sent_at", Int),
            ("updated_at", Int),
            ("closed_at", Int),
            ("reminded_at", Int),
            ("first_message_id", Int),
            ("version", Int),
            ("approved_by", Int),
            ("approved_at", Int),
        ],
    },
    TableSpec {
        name: "cap_imports",
        key: &["sender", "identifier"],
        columns: &[
            ("sender", Text),
            ("identifier", Text),
            ("msg_type", Text),
            ("action_id", Int),
            ("imported_by", Int),
            ("created_at", Int),
        ],
    },
    TableSpec {
        name: "messages",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("action_id", Int),
            ("kind", Text),
            ("status", Text),
            ("priority", Int),
            ("override_quiet", Bool),
            ("channels", Int),
            ("topic", Text),
            ("area", Text),
            ("scope", Text),
            ("content", Text),
            ("created_by", Int),
            ("created_at", Int),
            ("send_at", Int),
            ("valid_until", Int),
            ("fanout_state", Text),
            ("fanout_lease", Int),
            ("fanout_done_at", Int),
            ("recipients", Int),
            ("fanout_again_at", Int),
            ("delivery_summary", Text),
            ("approved_by", Int),
            ("approved_at", Int),
        ],
    },
    TableSpec {
        name: "deliveries",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("message_id", Int),
            ("participant_id", Int),
            ("device_id", Int),
            ("channel", Text),
            ("state", Text),
            ("priority", Int),
            ("next_at", Int),
            ("attempts", Int),
            ("provider_id", Text),
            ("last_error", Text),
            ("updated_at", Int),
        ],
    },
    TableSpec {
        name: "idempotency_keys",
        key: &["user_id", "key"],
        columns: &[
            ("user_id", Int),
            ("key", Text),
            ("request_hash", Text),
            ("status", Int),
            ("response", Text),
            ("created_at", Int),
        ],
    },
    TableSpec {
        name: "enquiry_photos",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("enquiry_id", Int),
            ("width", Int),
            ("height", Int),
            ("jpeg_base64", Text),
            ("created_at", Int),
        ],
    },
    TableSpec {
        name: "action_photos",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("action_id", Int),
            ("position", Int),
            ("width", Int),
            ("height", Int),
            ("jpeg_base64", Text),
            ("created_at", Int),
        ],
    },
    TableSpec {
        name: "enquiries",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("scope", Text),
            ("municipality", Text),
            ("incident_type", Text),
            ("occurred_at", Int),
            ("lat", Real),
            ("lon", Real),
            ("radius_m", Int),
            ("description", Text),
            ("questions", Text),
            ("state", Text),
            ("return_comment", Text),
            ("requested_by", Int),
            ("decided_by", Int),
            ("message_id", Int),
            ("created_at", Int),
            ("updated_at", Int),
            ("sent_at", Int),
            ("closed_at", Int),
            ("version", Int),
        ],
    },
    TableSpec {
        name: "reply_tokens",
        key: &["token_hash"],
        columns: &[
            ("token_hash", Text),
            ("enquiry_id", Int),
            ("action_id", Int),
            ("participant_id", Int),
            ("created_at", Int),
            ("expires_at", Int),
            ("used_at", Int),
        ],
    },
    TableSpec {
        name: "replies",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("enquiry_id", Int),
            ("action_id", Int),
            ("participant_id", Int),
            ("text", Text),
            ("phone", Text),
            ("language", Text),
            ("status", Text),
            ("classification", Text),
            ("forwarded_at", Int),
            ("answer", Text),
            ("answered_at", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    },
    // The photos' rows; their files stay in the photo folder (enquiries.photo_dir).
    TableSpec {
        name: "reply_photos",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("reply_id", Int),
            ("position", Int),
            ("sha256", Text),
            ("width", Int),
            ("height", Int),
            ("bytes", Int),
            ("created_at", Int),
        ],
    },
    // Recruitment campaigns (migration 0029).
    TableSpec {
        name: "campaigns",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("municipality", Text),
            ("name", Text),
            ("areas", Text),
            ("starts_on", Text),
            ("ends_on", Text),
            ("code", Text),
            ("created_by", Int),
            ("created_at", Int),
        ],
    },
    // The history a region brought along (figures only).
    TableSpec {
        name: "history_actions",
        key: &["reference"],
        columns: &[
            ("reference", Text),
            ("region", Text),
            ("municipality", Text),
            ("kind", Text),
            ("level", Text),
            ("sent_at", Int),
            ("closed_at", Int),
            ("recipients", Int),
            ("outcome", Text),
            ("imported_at", Int),
        ],
    },
    TableSpec {
        name: "history_enquiries",
        key: &["reference"],
        columns: &[
            ("reference", Text),
            ("municipality", Text),
            ("incident_type", Text),
            ("occurred_at", Int),
            ("sent_at", Int),
            ("recipients", Int),
            ("replies", Int),
            ("relevant_replies", Int),
            ("imported_at", Int),
        ],
    },
    // Neighbourhood conversations (migration 0027).
    TableSpec {
        name: "neighbourhood_members",
        key: &["participant_id"],
        columns: &[
            ("participant_id", Int),
            ("display_name", Text),
            ("house_rules_accepted_at", Int),
            ("joined_at", Int),
            ("updated_at", Int),
        ],
    },
    TableSpec {
        name: "neighbourhood_follows",
        key: &["participant_id", "neighbourhood_code"],
        columns: &[("participant_id", Int), ("neighbourhood_code", Text), ("created_at", Int)],
    },
    TableSpec {
        name: "conversations",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("category", Text),
            ("audience", Text),
            ("neighbourhood_code", Text),
            ("municipality_code", Text),
            ("street", Text),
            ("title", Text),
            ("started_by_participant", Int),
            ("started_by_staff", Int),
            ("closed_at", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    },
    TableSpec {
        name: "conversation_messages",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("conversation_id", Int),
            ("participant_id", Int),
            ("author_street", Text),
            ("staff_user_id", Int),
            ("official", Text),
            ("body", Text),
            ("created_at", Int),
        ],
    },
    TableSpec {
        name: "conversation_officials",
        key: &["conversation_id", "staff_user_id"],
        columns: &[
            ("conversation_id", Int),
            ("staff_user_id", Int),
            ("official", Text),
            ("invited_by_participant", Int),
            ("added_at", Int),
        ],
    },
    TableSpec {
        name: "alarm_invitations",
        key: &["code_hash"],
        columns: &[
            ("code_hash", Text),
            ("participant_id", Int),
            ("created_at", Int),
            ("expires_at", Int),
            ("used_at", Int),
            ("used_by", Int),
        ],
    },
    TableSpec {
        name: "alarm_neighbours",
        key: &["id"],
        columns: &[("id", Int), ("participant_a", Int), ("participant_b", Int), ("created_at", Int)],
    },
    TableSpec {
        name: "emergency_presses",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("participant_id", Int),
            ("message_id", Int),
            ("recipients", Int),
            ("created_at", Int),
            ("cancelled_at", Int),
            ("cancel_message_id", Int),
        ],
    },
    TableSpec {
        name: "emergency_recipients",
        key: &["press_id", "participant_id"],
        columns: &[("press_id", Int), ("participant_id", Int)],
    },
    TableSpec {
        name: "sandbox_messages",
        key: &["id"],
        columns: &[("id", Int), ("at", Int), ("channel", Text), ("recipient", Text), ("subject", Text), ("body", Text)],
    },
];

/// One value, typed by its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

/// Tables that the target may already hold rows in (they are replaced).
const REPLACED: &[&str] = &["meta", "id_sequences"];

const PAGE: i64 = 2000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedTable {
    pub table: &'static str,
    pub rows: u64,
}

impl Store {
    pub async fn count_rows(&self, table: &str) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        Ok(with_pool!(self, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str())).fetch_one(p).await)?)
    }

    async fn read_page(&self, spec: &TableSpec, after: Option<&[Cell]>) -> Result<Vec<Vec<Cell>>, StoreError> {
        let cols: Vec<&str> = spec.columns.iter().map(|c| c.0).collect();
        let key = spec.key.join(", ");
        let rows = with_pool!(self, |p| {
            let mut qb = QueryBuilder::new(format!("SELECT {} FROM {}", cols.join(", "), spec.name));
            if let Some(after) = after {
                qb.push(format!(" WHERE ({key}) > ("));
                let mut sep = qb.separated(", ");
                for k in spec.key {
                    let i = spec.columns.iter().position(|c| c.0 == *k).unwrap_or(0);
                    match &after[i] {
                        Cell::Int(v) => sep.push_bind(*v),
                        Cell::Real(v) => sep.push_bind(*v),
                        Cell::Text(v) => sep.push_bind(v.clone()),
                        Cell::Bool(v) => sep.push_bind(*v),
                    };
                }
                qb.push(")");
            }
            qb.push(format!(" ORDER BY {key} LIMIT {PAGE}"));
            let rows = qb.build().fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let mut cells = Vec::with_capacity(spec.columns.len());
                for (i, (_, t)) in spec.columns.iter().enumerate() {
                    cells.push(match t {
                        ColType::Int => Cell::Int(row.try_get(i)?),
                        ColType::Real => Cell::Real(row.try_get(i)?),
                        ColType::Text => Cell::Text(row.try_get(i)?),
                        ColType::Bool => Cell::Bool(row.try_get(i)?),
                    });
                }
                out.push(cells);
            }
            Ok::<_, sqlx::Error>(out)
        })?;
        Ok(rows)
    }

    async fn write_rows(&self, spec: &TableSpec, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        let cols: Vec<&str> = spec.columns.iter().map(|c| c.0).collect();
        // Keep each statement under SQLite's bind-parameter limit.
        let per_stmt = (30_000 / cols.len()).max(1);
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            for chunk in rows.chunks(per_stmt) {
                let mut qb = QueryBuilder::new(format!("INSERT INTO {} ({}) ", spec.name, cols.join(", ")));
                qb.push_values(chunk, |mut b, row| {
                    for cell in row {
                        match cell {
                            Cell::Int(v) => b.push_bind(*v),
                            Cell::Real(v) => b.push_bind(*v),
                            Cell::Text(v) => b.push_bind(v.clone()),
                            Cell::Bool(v) => b.push_bind(*v),
                        };
                    }
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// Copies every table of `self` into `target`, which must be migrated and hold no data
    /// (beyond the rows the migrations create). Calls `progress` after each page.
    pub async fn copy_to(&self, target: &Store, mut progress: impl FnMut(&str, u64)) -> Result<Vec<CopiedTable>, StoreError> {
        for spec in TABLES.iter().filter(|s| !REPLACED.contains(&s.name)) {
            if target.count_rows(spec.name).await? > 0 {
                return Err(StoreError::Config(format!(
                    "the target database already holds rows in {}; copy-db only fills an empty database",
                    spec.name
                )));
            }
        }
        let mut report = Vec::new();
        for spec in TABLES {
            if REPLACED.contains(&spec.name) {
                let sql = format!("DELETE FROM {}", spec.name);
                with_pool!(target, |p| sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
            let mut copied = 0u64;
            let mut last: Option<Vec<Cell>> = None;
            loop {
                let page = self.read_page(spec, last.as_deref()).await?;
                if page.is_empty() {
                    break;
                }
                target.write_rows(spec, &page).await?;
                copied += page.len() as u64;
                progress(spec.name, copied);
                last = page.into_iter().last();
            }
            report.push(CopiedTable { table: spec.name, rows: copied });
        }
        Ok(report)
    }
}
