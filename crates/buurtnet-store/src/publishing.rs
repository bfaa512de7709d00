//! Publishing as CAP 1.2: the action messages the public feed lists, and the alerts imported as
//! draft actions (`cap_imports`: each sender's identifier once, with the action it made or
//! changed). Every import writes its record and its action change in one transaction, and the
//! record's key refuses a second import of the same alert (the first one's action is answered).

use crate::actions::{ActionRow, INSERT_ACTION, MessageRow, NewAction, bind_action};
use crate::{Store, StoreError};

/// The new content of an imported draft (an `Update`).
#[derive(Debug, Clone)]
pub struct DraftChange {
    pub kind: String,
    pub level: String,
    pub status: String,
    pub area: String,
    pub content: String,
}

/// One imported alert: who sent it, its identifier and message type.
#[derive(Debug, Clone)]
pub struct CapImport {
    pub sender: String,
    pub identifier: String,
    pub msg_type: String,
    pub imported_by: i64,
    pub now: i64,
}

/// What an import of an `Update` or `Cancel` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftOutcome {
    Changed,
    /// This alert was imported before (nothing changed again).
    AlreadyImported,
    /// The action is no longer a draft: nothing was written.
    NotDraft,
}

const INSERT_IMPORT: &str = "INSERT INTO cap_imports (sender, identifier, msg_type, action_id, imported_by, created_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sender, identifier) DO NOTHING";

macro_rules! bind_import {
    ($q:expr, $i:expr, $action:expr) => {
        $q.bind(&$i.sender).bind(&$i.identifier).bind(&$i.msg_type).bind($action).bind($i.imported_by).bind($i.now)
    };
}

impl Store {
    /// The action an imported alert made or changed, and the alert's message type.
    pub async fn cap_import(&self, sender: &str, identifier: &str) -> Result<Option<(i64, String)>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT action_id, msg_type FROM cap_imports WHERE sender = $1 AND identifier = $2")
                .bind(sender)
                .bind(identifier)
                .fetch_optional(p)
                .await
        })?)
    }

    /// A draft action made from an imported alert, with its import record; `(id, false)` when
    /// the alert was imported before (its draft's id, nothing written).
    pub async fn insert_cap_draft(&self, a: &NewAction, import: &CapImport) -> Result<(i64, bool), StoreError> {
        let id = self.allocate_ids("actions", 1).await?;
        let created = with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let n = bind_import!(sqlx::query(INSERT_IMPORT), import, id).execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    return Ok::<_, sqlx::Error>(false);
                }
                bind_action!(sqlx::query(INSERT_ACTION), id, a).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        if created {
            return Ok((id, true));
        }
        let (existing, _) = self
            .cap_import(&import.sender, &import.identifier)
            .await?
            .ok_or_else(|| StoreError::Conflict("the CAP import record vanished".into()))?;
        Ok((existing, false))
    }

    /// Changes draft `action_id` as an imported `Update` says (its approval, if any, lapses),
    /// or cancels it (`change` `None`), with the import record; nothing when it is no longer
    /// a draft or the alert was imported before.
    pub async fn change_cap_draft(
        &self,
        action_id: i64,
        change: Option<&DraftChange>,
        import: &CapImport,
    ) -> Result<DraftOutcome, StoreError> {
        Ok(with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let n = bind_import!(sqlx::query(INSERT_IMPORT), import, action_id).execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    return Ok::<_, sqlx::Error>(DraftOutcome::AlreadyImported);
                }
                let n = match change {
                    Some(c) => sqlx::query(
                        "UPDATE actions SET kind = $1, level = $2, status = $3, area = $4, content = $5, version = version + 1,
                            approved_by = NULL, approved_at = NULL, updated_at = $6
                         WHERE id = $7 AND state = 'draft'",
                    )
                    .bind(&c.kind)
                    .bind(&c.level)
                    .bind(&c.status)
                    .bind(&c.area)
                    .bind(&c.content)
                    .bind(import.now)
                    .bind(action_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                    None => sqlx::query(
                        "UPDATE actions SET state = 'cancelled', closed_at = $1, updated_at = $1 WHERE id = $2 AND state = 'draft'",
                    )
                    .bind(import.now)
                    .bind(action_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                };
                if n == 0 {
                    tx.rollback().await?;
                    return Ok(DraftOutcome::NotDraft);
                }
                tx.commit().await?;
                Ok(DraftOutcome::Changed)
            }
            .await
        })?)
    }

    /// The messages of actions with `status` (`actual`, `exercise`, `test`) that are running
    /// or ended at or after `ended_since`, newest first, with their actions. The caller keeps
    /// those of kinds that may be published.
    pub async fn feed_messages(
        &self,
        status: &str,
        ended_since: i64,
        limit: i64,
    ) -> Result<Vec<(MessageRow, ActionRow)>, StoreError> {
        let messages: Vec<MessageRow> = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT m.* FROM messages m JOIN actions a ON a.id = m.action_id
                 WHERE a.status = $1 AND (a.state = 'active' OR (a.state IN ('closed', 'cancelled') AND a.closed_at >= $2))
                 ORDER BY m.id DESC LIMIT $3",
            )
            .bind(status)
            .bind(ended_since)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        let mut out = Vec::with_capacity(messages.len());
        let mut actions: Vec<ActionRow> = Vec::new();
        for m in messages {
            let Some(action_id) = m.action_id else { continue };
            let action = match actions.iter().find(|a| a.id == action_id) {
                Some(a) => a.clone(),
                None => match self.action(action_id).await? {
                    Some(a) => {
                        actions.push(a.clone());
                        a
                    }
                    None => continue,
                },
            };
            out.push((m, action));
        }
        Ok(out)
    }
}
