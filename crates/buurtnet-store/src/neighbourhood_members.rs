//! Members of the neighbourhood conversations: who joined (display name, house rules accepted),
//! the neighbourhoods and streets their verified home addresses put them in, and the adjacent
//! neighbourhoods they follow read-only. A verified home is a home address with a neighbourhood
//! (not approximate) of a participant with a verified contact point; its street is that of its
//! address point.

use crate::{Store, StoreError};
use sqlx::FromRow;

/// The verified homes of participant `$1` (`$2`: false), as `a` joined with its address point
/// `ap`. Shared by the conversation queries, which decide who reads what with it.
pub(crate) const VERIFIED_HOMES: &str = "addresses a LEFT JOIN address_points ap
      ON ap.postcode = a.postcode AND ap.house_number = a.house_number
    WHERE a.participant_id = $1 AND a.kind = 'home' AND a.approximate = $2
      AND a.neighbourhood_code IS NOT NULL AND a.municipality_code IS NOT NULL
      AND EXISTS (SELECT 1 FROM contacts vc WHERE vc.participant_id = a.participant_id AND vc.verified_at IS NOT NULL)";

/// One verified home: its neighbourhood (CBS buurt), municipality and street (`None` for an
/// address given as a point, or one without an address point).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Home {
    pub neighbourhood_code: String,
    pub municipality_code: String,
    pub street: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MemberRow {
    pub participant_id: i64,
    pub display_name: String,
    pub house_rules_accepted_at: i64,
    pub joined_at: i64,
    pub updated_at: i64,
}

impl Store {
    /// The participant's verified homes, each neighbourhood and street once.
    pub async fn verified_homes(&self, participant_id: i64) -> Result<Vec<Home>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT a.neighbourhood_code, a.municipality_code, ap.street FROM {VERIFIED_HOMES}
             ORDER BY a.neighbourhood_code, ap.street"
        );
        let rows = with_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(participant_id).bind(false).fetch_all(p).await
        })?;
        Ok(rows)
    }

    pub async fn neighbourhood_member(&self, participant_id: i64) -> Result<Option<MemberRow>, StoreError> {
        let row = with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM neighbourhood_members WHERE participant_id = $1")
                .bind(participant_id)
                .fetch_optional(p)
                .await
        })?;
        Ok(row)
    }

    /// Joins (false when already a member: nothing changes).
    pub async fn join_neighbourhood(&self, participant_id: i64, display_name: &str, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO neighbourhood_members (participant_id, display_name, house_rules_accepted_at, joined_at, updated_at)
                 VALUES ($1, $2, $3, $3, $3) ON CONFLICT (participant_id) DO NOTHING",
            )
            .bind(participant_id)
            .bind(display_name)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Changes a member's display name (false: not a member).
    pub async fn rename_member(&self, participant_id: i64, display_name: &str, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE neighbourhood_members SET display_name = $1, updated_at = $2 WHERE participant_id = $3")
                .bind(display_name)
                .bind(now)
                .bind(participant_id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Leaves: the membership, the followed neighbourhoods and the alarm neighbours go (false: not a member). The
    /// messages stay, shown as a former member's.
    pub async fn leave_neighbourhood(&self, participant_id: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM neighbourhood_follows WHERE participant_id = $1")
                .bind(participant_id)
                .execute(&mut *tx)
                .await?;
            // Alarm neighbours are members: leaving ends one's pairs.
            sqlx::query("DELETE FROM alarm_neighbours WHERE participant_a = $1 OR participant_b = $1")
                .bind(participant_id)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query("DELETE FROM neighbourhood_members WHERE participant_id = $1")
                .bind(participant_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Follows a neighbourhood read-only (idempotent).
    pub async fn follow_neighbourhood(&self, participant_id: i64, code: &str, now: i64) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO neighbourhood_follows (participant_id, neighbourhood_code, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (participant_id, neighbourhood_code) DO NOTHING",
            )
            .bind(participant_id)
            .bind(code)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Stops following (false: was not followed).
    pub async fn unfollow_neighbourhood(&self, participant_id: i64, code: &str) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("DELETE FROM neighbourhood_follows WHERE participant_id = $1 AND neighbourhood_code = $2")
                .bind(participant_id)
                .bind(code)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    pub async fn followed_neighbourhoods(&self, participant_id: i64) -> Result<Vec<String>, StoreError> {
        let rows = with_pool!(self, |p| {
            sqlx::query_scalar(
                "SELECT neighbourhood_code FROM neighbourhood_follows WHERE participant_id = $1 ORDER BY neighbourhood_code",
            )
            .bind(participant_id)
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }
}
