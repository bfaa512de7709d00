//! Participants (residents), their contact points and addresses.

use crate::{
    AddressRow, AreaFilter, ContactRow, NewParticipant, ParticipantCounts, ParticipantRecord, ParticipantRow, Store, StoreError,
};
use sqlx::QueryBuilder;

/// Rows per multi-row INSERT; well under both backends' bind-parameter limits.
const BATCH: usize = 500;

impl Store {
    /// Inserts participants with their contacts and addresses in one transaction, all or
    /// nothing, and returns their ids in input order. A duplicate contact point or external id
    /// fails the whole call with [`StoreError::Conflict`].
    pub async fn insert_participants(&self, batch: &[NewParticipant]) -> Result<Vec<i64>, StoreError> {
        self.insert_participants_with_progress(batch, &mut |_| {}).await
    }

    /// As [`Store::insert_participants`], calling `progress` with the number written so far.
    pub async fn insert_participants_with_progress(
        &self,
        batch: &[NewParticipant],
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<Vec<i64>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let n_contacts: usize = batch.iter().map(|p| p.contacts.len()).sum();
        let n_addresses: usize = batch.iter().map(|p| p.addresses.len()).sum();
        let first_p = self.allocate_ids("participants", batch.len() as i64).await?;
        let mut next_c = self.allocate_ids("contacts", n_contacts.max(1) as i64).await?;
        let mut next_a = self.allocate_ids("addresses", n_addresses.max(1) as i64).await?;
        let ids: Vec<i64> = (0..batch.len() as i64).map(|i| first_p + i).collect();

        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut written = 0u64;
            for (chunk_no, chunk) in batch.chunks(BATCH).enumerate() {
                let chunk_ids = &ids[chunk_no * BATCH..chunk_no * BATCH + chunk.len()];
                let mut contacts = Vec::new();
                let mut addresses = Vec::new();
                for (p, id) in chunk.iter().zip(chunk_ids) {
                    for c in &p.contacts {
                        contacts.push((next_c, *id, c));
                        next_c += 1;
                    }
                    let mask = crate::targeting::verified_mask(&p.contacts);
                    for a in &p.addresses {
                        addresses.push((next_a, *id, a, p.topics, p.paused, mask));
                        next_a += 1;
                    }
                }
                let mut qb = QueryBuilder::new(
                    "INSERT INTO participants (id, external_id, language, topics, age_confirmed, paused, municipality_code, created_at, updated_at) ",
                );
                qb.push_values(chunk.iter().zip(chunk_ids), |mut b, (p, id)| {
                    b.push_bind(*id)
                        .push_bind(&p.external_id)
                        .push_bind(&p.language)
                        .push_bind(p.topics)
                        .push_bind(p.age_confirmed)
                        .push_bind(p.paused)
                        .push_bind(&p.municipality_code)
                        .push_bind(p.created_at)
                        .push_bind(p.created_at);
                });
                qb.build().execute(&mut *tx).await?;
                for part in contacts.chunks(BATCH) {
                    let mut qb =
                        QueryBuilder::new("INSERT INTO contacts (id, participant_id, kind, value, mobile, verified_at) ");
                    qb.push_values(part, |mut b, (id, pid, c)| {
                        b.push_bind(*id)
                            .push_bind(*pid)
                            .push_bind(&c.kind)
                            .push_bind(&c.value)
                            .push_bind(c.mobile)
                            .push_bind(c.verified_at);
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                for part in addresses.chunks(BATCH) {
                    let mut qb = QueryBuilder::new(
                        "INSERT INTO addresses (id, participant_id, kind, postcode, house_number, lat, lon, approximate, cell, \
                         neighbourhood_code, district_code, municipality_code, pc4, safety_region_code, police_unit_code, province_code, channels, quiet_hours, topics, paused, verified_channels) ",
                    );
                    qb.push_values(part, |mut b, (id, pid, a, topics, paused, mask)| {
                        b.push_bind(*id)
                            .push_bind(*pid)
                            .push_bind(&a.kind)
                            .push_bind(&a.postcode)
                            .push_bind(&a.house_number)
                            .push_bind(a.lat)
                            .push_bind(a.lon)
                            .push_bind(a.approximate)
                            .push_bind(a.cell)
                            .push_bind(&a.neighbourhood_code)
                            .push_bind(&a.district_code)
                            .push_bind(&a.municipality_code)
                            .push_bind(&a.pc4)
                            .push_bind(&a.safety_region_code)
                            .push_bind(&a.police_unit_code)
                            .push_bind(&a.province_code)
                            .push_bind(a.channels)
                            .push_bind(&a.quiet_hours)
                            .push_bind(*topics)
                            .push_bind(*paused)
                            .push_bind(*mask);
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                written += chunk.len() as u64;
                progress(written);
            }
            let (lo, hi) = (ids[0], ids[ids.len() - 1]);
            record_change!(tx, lo, hi, batch[0].created_at);
            tx.commit().await
        })?;
        Ok(ids)
    }

    /// Which of these contact values (of one kind) are already registered.
    pub async fn existing_contacts(&self, kind: &str, values: &[String]) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for chunk in values.chunks(BATCH) {
            let mut rows: Vec<String> = with_pool!(self, |p| {
                let mut qb = QueryBuilder::new("SELECT value FROM contacts WHERE kind = ");
                qb.push_bind(kind).push(" AND value IN (");
                let mut sep = qb.separated(", ");
                for v in chunk {
                    sep.push_bind(v);
                }
                qb.push(")");
                qb.build_query_scalar().fetch_all(p).await
            })?;
            found.append(&mut rows);
        }
        Ok(found)
    }

    /// Which of these external ids are already used.
    pub async fn existing_external_ids(&self, values: &[String]) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for chunk in values.chunks(BATCH) {
            let mut rows: Vec<String> = with_pool!(self, |p| {
                let mut qb = QueryBuilder::new("SELECT external_id FROM participants WHERE external_id IN (");
                let mut sep = qb.separated(", ");
                for v in chunk {
                    sep.push_bind(v);
                }
                qb.push(")");
                qb.build_query_scalar().fetch_all(p).await
            })?;
            found.append(&mut rows);
        }
        Ok(found)
    }

    pub async fn contact(&self, kind: &str, value: &str) -> Result<Option<ContactRow>, StoreError> {
        let row = with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM contacts WHERE kind = $1 AND value = $2").bind(kind).bind(value).fetch_optional(p).await
        })?;
        Ok(row)
    }

    pub async fn contact_by_id(&self, id: i64) -> Result<Option<ContactRow>, StoreError> {
        let row = with_pool!(self, |p| sqlx::query_as("SELECT * FROM contacts WHERE id = $1").bind(id).fetch_optional(p).await)?;
        Ok(row)
    }

    pub async fn participant(&self, id: i64) -> Result<Option<ParticipantRecord>, StoreError> {
        let (participant, contacts, addresses) = with_pool!(self, |p| {
            let participant: Option<ParticipantRow> =
                sqlx::query_as("SELECT * FROM participants WHERE id = $1").bind(id).fetch_optional(p).await?;
            let contacts: Vec<ContactRow> =
                sqlx::query_as("SELECT * FROM contacts WHERE participant_id = $1 ORDER BY id").bind(id).fetch_all(p).await?;
            let addresses: Vec<AddressRow> =
                sqlx::query_as("SELECT * FROM addresses WHERE participant_id = $1 ORDER BY id").bind(id).fetch_all(p).await?;
            Ok::<_, sqlx::Error>((participant, contacts, addresses))
        })?;
        Ok(participant.map(|participant| ParticipantRecord { participant, contacts, addresses }))
    }

    pub async fn participant_by_external_id(&self, external_id: &str) -> Result<Option<i64>, StoreError> {
        let id = with_pool!(self, |p| {
            sqlx::query_scalar("SELECT id FROM participants WHERE external_id = $1").bind(external_id).fetch_optional(p).await
        })?;
        Ok(id)
    }

    /// Changes language, topics and the paused flag (and the addresses' copies of them).
    pub async fn update_participant(
        &self,
        id: i64,
        language: &str,
        topics: i64,
        paused: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.update_self_service(id, language, topics, paused, &[], now).await
    }

    /// A participant's own change, in one transaction: language, topics and paused, and the
    /// channels and quiet hours of some of their addresses `(address id, channels, quiet hours)`.
    pub async fn update_self_service(
        &self,
        id: i64,
        language: &str,
        topics: i64,
        paused: bool,
        addresses: &[(i64, i64, String)],
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE participants SET language = $1, topics = $2, paused = $3, updated_at = $4, paused_reason = NULL WHERE id = $5")
                .bind(language)
                .bind(topics)
                .bind(paused)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            for (address_id, channels, quiet_hours) in addresses {
                sqlx::query("UPDATE addresses SET channels = $1, quiet_hours = $2 WHERE id = $3 AND participant_id = $4")
                    .bind(channels)
                    .bind(quiet_hours)
                    .bind(address_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            // The addresses carry copies of topics and paused for targeting.
            sqlx::query(crate::targeting::REFRESH_FLAGS).bind(id).execute(&mut *tx).await?;
            record_change!(tx, id, id, now);
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        })?;
        Ok(done == 1)
    }

    /// Hard delete: the participant, contacts, addresses and devices (`now` in Unix milliseconds,
    /// for the change feed).
    pub async fn delete_participant(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            // The alerts of their emergency presses name them and their address.
            sqlx::query(crate::alarm_neighbours::DELETE_PRESS_DELIVERIES).bind(id).execute(&mut *tx).await?;
            sqlx::query(crate::alarm_neighbours::DELETE_PRESS_MESSAGES).bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM devices WHERE participant_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM addresses WHERE participant_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM contacts WHERE participant_id = $1").bind(id).execute(&mut *tx).await?;
            let r = sqlx::query("DELETE FROM participants WHERE id = $1").bind(id).execute(&mut *tx).await?;
            record_change!(tx, id, id, now);
            tx.commit().await?;
            Ok::<_, sqlx::Error>(r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Stores a new SMS code for a phone (its tries start again), unless the phone's 24-hour
    /// budget of sent codes is used up. Returns whether the code may be sent.
    pub async fn set_verification_code(
        &self,
        contact_id: i64,
        code_hash: &str,
        expires_at: i64,
        now: i64,
        max_sends_per_day: i64,
    ) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "UPDATE contacts SET code_hash = $1, code_expires_at = $2, code_attempts = 0,
                   code_budget_used = CASE WHEN code_budget_since <= $3 - 86400000 THEN 0 ELSE code_budget_used END,
                   code_sends = CASE WHEN code_budget_since <= $3 - 86400000 THEN 1 ELSE code_sends + 1 END,
                   code_budget_since = CASE WHEN code_budget_since <= $3 - 86400000 THEN $3 ELSE code_budget_since END
                 WHERE id = $4 AND verified_at IS NULL AND (code_budget_since <= $3 - 86400000 OR code_sends < $5)",
            )
            .bind(code_hash)
            .bind(expires_at)
            .bind(now)
            .bind(contact_id)
            .bind(max_sends_per_day)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Spends one try of the current SMS code, in one conditional statement (so parallel
    /// guesses cannot all pass the check): only while the code is unexpired, has tries left
    /// (`max_per_code`) and the phone's 24-hour budget (`daily_budget`) is not used up.
    /// Returns the stored code hash to compare with, or `None` when no try is allowed.
    pub async fn spend_code_attempt(
        &self,
        contact_id: i64,
        now: i64,
        max_per_code: i64,
        daily_budget: i64,
    ) -> Result<Option<String>, StoreError> {
        let hash: Option<Option<String>> = with_pool!(self, |p| {
            sqlx::query_scalar(
                "UPDATE contacts SET code_attempts = code_attempts + 1,
                   code_budget_used = CASE WHEN code_budget_since <= $1 - 86400000 THEN 1 ELSE code_budget_used + 1 END,
                   code_budget_since = CASE WHEN code_budget_since <= $1 - 86400000 THEN $1 ELSE code_budget_since END
                 WHERE id = $2 AND verified_at IS NULL AND code_hash IS NOT NULL AND code_expires_at >= $1
                   AND code_attempts < $3 AND (code_budget_since <= $1 - 86400000 OR code_budget_used < $4)
                 RETURNING code_hash",
            )
            .bind(now)
            .bind(contact_id)
            .bind(max_per_code)
            .bind(daily_budget)
            .fetch_optional(p)
            .await
        })?;
        Ok(hash.flatten())
    }

    pub async fn mark_contact_verified(&self, contact_id: i64, at: i64) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let participant: Option<i64> = sqlx::query_scalar(
                "UPDATE contacts SET verified_at = COALESCE(verified_at, $1), code_hash = NULL, code_expires_at = NULL WHERE id = $2 RETURNING participant_id",
            )
            .bind(at)
            .bind(contact_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(pid) = participant {
                sqlx::query(crate::targeting::REFRESH_FLAGS).bind(pid).execute(&mut *tx).await?;
                record_change!(tx, pid, pid, at);
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// Registers a push device for a participant (push becomes reachable on their addresses).
    pub async fn add_participant_device(&self, participant_id: i64, now: i64) -> Result<i64, StoreError> {
        let ids = self.add_participant_devices(&[participant_id], now).await?;
        ids.first().copied().ok_or_else(|| StoreError::Config("no device id was allocated".into()))
    }

    /// Registers one push device for each participant, in one transaction.
    pub async fn add_participant_devices(&self, participants: &[i64], now: i64) -> Result<Vec<i64>, StoreError> {
        let (Some(lo), Some(hi)) = (participants.iter().min().copied(), participants.iter().max().copied()) else {
            return Ok(Vec::new());
        };
        let first = self.allocate_ids("devices", participants.len() as i64).await?;
        let ids: Vec<i64> = (0..participants.len() as i64).map(|i| first + i).collect();
        let rows: Vec<(i64, i64)> = ids.iter().copied().zip(participants.iter().copied()).collect();
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            for part in rows.chunks(BATCH) {
                let mut qb = QueryBuilder::new("INSERT INTO devices (id, participant_id, created_at) ");
                qb.push_values(part, |mut b, (id, pid)| {
                    b.push_bind(*id).push_bind(*pid).push_bind(now);
                });
                qb.build().execute(&mut *tx).await?;
            }
            // A device makes push reachable: the push bit of every address of these people.
            sqlx::query(
                "UPDATE addresses SET verified_channels = verified_channels | 1 WHERE participant_id BETWEEN $1 AND $2
                 AND participant_id IN (SELECT participant_id FROM devices WHERE participant_id BETWEEN $1 AND $2)",
            )
            .bind(lo)
            .bind(hi)
            .execute(&mut *tx)
            .await?;
            record_change!(tx, lo, hi, now);
            tx.commit().await
        })?;
        Ok(ids)
    }

    /// Removes a push device (push is no longer reachable without another one).
    pub async fn remove_device(&self, device_id: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let owner: Option<Option<i64>> = sqlx::query_scalar("DELETE FROM devices WHERE id = $1 RETURNING participant_id")
                .bind(device_id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(Some(pid)) = owner {
                sqlx::query(crate::targeting::REFRESH_FLAGS).bind(pid).execute(&mut *tx).await?;
                record_change!(tx, pid, pid, now);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(u64::from(owner.is_some()))
        })?;
        Ok(n == 1)
    }

    pub async fn count_participants(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_scalar("SELECT COUNT(*) FROM participants").fetch_one(p).await)?)
    }

    /// Participants, addresses and addresses per channel within an area filter (by the
    /// addresses' municipality or police unit).
    pub async fn participant_counts(&self, filter: &AreaFilter) -> Result<ParticipantCounts, StoreError> {
        let (column, code) = match filter {
            AreaFilter::All => ("'NL'", None),
            AreaFilter::Municipality(c) => ("municipality_code", Some(c.as_str())),
            AreaFilter::PoliceUnit(c) => ("police_unit_code", Some(c.as_str())),
        };
        let sql = format!(
            "SELECT COUNT(DISTINCT participant_id), COUNT(*),
                    COALESCE(SUM(CASE WHEN (channels & 1) <> 0 THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN (channels & 2) <> 0 THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN (channels & 4) <> 0 THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN (channels & 8) <> 0 THEN 1 ELSE 0 END), 0)
             FROM addresses WHERE ($1 IS NULL OR {column} = $1)"
        );
        let row: (i64, i64, i64, i64, i64, i64) =
            with_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(code).fetch_one(p).await)?;
        Ok(ParticipantCounts { participants: row.0, addresses: row.1, push: row.2, sms: row.3, voice: row.4, email: row.5 })
    }

    /// Participants (distinct people) per neighbourhood of one municipality: counts only.
    pub async fn participants_per_neighbourhood(&self, municipality: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT neighbourhood_code, COUNT(DISTINCT participant_id) FROM addresses
                 WHERE municipality_code = $1 AND neighbourhood_code IS NOT NULL
                 GROUP BY neighbourhood_code ORDER BY neighbourhood_code",
            )
            .bind(municipality)
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }
}
