//! Recruitment campaigns and the sign-ups they brought: a campaign's row, and per participant
//! only the campaign's id.

use crate::{Store, StoreError};
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct CampaignRow {
    pub id: i64,
    pub municipality: String,
    pub name: String,
    pub areas: String,
    pub starts_on: String,
    pub ends_on: String,
    pub code: String,
    pub created_by: i64,
    pub created_at: i64,
}

/// One sign-up of a campaign: where (the neighbourhood of each address) and when.
#[derive(Debug, Clone, FromRow)]
pub struct CampaignSignUp {
    pub participant_id: i64,
    pub neighbourhood_code: Option<String>,
    pub created_at: i64,
}

impl Store {
    pub async fn create_campaign(&self, c: &CampaignRow) -> Result<i64, StoreError> {
        let id = self.allocate_ids("campaigns", 1).await?;
        with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO campaigns (id, municipality, name, areas, starts_on, ends_on, code, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(&c.municipality)
            .bind(&c.name)
            .bind(&c.areas)
            .bind(&c.starts_on)
            .bind(&c.ends_on)
            .bind(&c.code)
            .bind(c.created_by)
            .bind(c.created_at)
            .execute(p)
            .await
            .map(|_| ())
        })?;
        Ok(id)
    }

    pub async fn campaign(&self, id: i64) -> Result<Option<CampaignRow>, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_as("SELECT * FROM campaigns WHERE id = $1").bind(id).fetch_optional(p).await)?)
    }

    pub async fn campaign_by_code(&self, code: &str) -> Result<Option<CampaignRow>, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_as("SELECT * FROM campaigns WHERE code = $1").bind(code).fetch_optional(p).await)?)
    }

    /// Every campaign, newest first (the caller keeps those of its scope).
    pub async fn campaigns(&self) -> Result<Vec<CampaignRow>, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_as("SELECT * FROM campaigns ORDER BY id DESC").fetch_all(p).await)?)
    }

    /// Records that a participant signed up through a campaign's link.
    pub async fn set_participant_campaign(&self, participant_id: i64, campaign_id: i64) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query("UPDATE participants SET campaign_id = $1 WHERE id = $2")
                .bind(campaign_id)
                .bind(participant_id)
                .execute(p)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// The sign-ups of a campaign, one row per address.
    pub async fn campaign_sign_ups(&self, campaign_id: i64) -> Result<Vec<CampaignSignUp>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT p.id AS participant_id, a.neighbourhood_code, p.created_at FROM participants p
                 JOIN addresses a ON a.participant_id = p.id WHERE p.campaign_id = $1",
            )
            .bind(campaign_id)
            .fetch_all(p)
            .await
        })?)
    }
}
