//! A recipient's own links in an enquiry (or an urgent action's start, for tips), made by the
//! delivery worker when it sends (the wiring module connects them): a reply link (256 random
//! bits; only its SHA-256 is stored, bound to the person and to what it answers, valid
//! `enquiries.link_days`) and a one-click unsubscribe (RFC 8058) for enquiries only.

use crate::signing::LinkClaims;
use crate::state::AppState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use buurtnet_delivery::worker::Personal;
use buurtnet_store::replies::Answers;
use rand::Rng;

/// What a one-click unsubscribe token is signed for.
pub const UNSUBSCRIBE_PURPOSE: &str = "unsubscribe-enquiry";
/// How long an unsubscribe link in an enquiry works.
const UNSUBSCRIBE_DAYS: i64 = 365;

/// A fresh reply token and its hash.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::rng().random();
    let token = B64.encode(bytes);
    let hash = crate::auth::token_hash(&token);
    (token, hash)
}

/// The links for one recipient of a message; `None` when the message asks for no replies.
pub async fn personal(state: &AppState, message_id: i64, participant_id: i64) -> Result<Option<Personal>, String> {
    Ok(personal_many(state, &[(message_id, participant_id)]).await?.pop().flatten())
}

/// The links for many (message, participant) pairs, in their order: one lookup per message and
/// one write for all the tokens (a delivery worker's batch).
pub async fn personal_many(state: &AppState, wants: &[(i64, i64)]) -> Result<Vec<Option<Personal>>, String> {
    let mut answered = std::collections::HashMap::new();
    for (message_id, _) in wants {
        if !answered.contains_key(message_id) {
            let a = state.store.answers_of_message(*message_id).await.map_err(|e| e.to_string())?;
            answered.insert(*message_id, a);
        }
    }
    let now = state.now_ms();
    let expires = now + state.config.enquiries.link_days.max(1) * 86_400_000;
    let base = state.config.public_url();
    let mut rows = Vec::new();
    let mut out = Vec::with_capacity(wants.len());
    for (message_id, participant_id) in wants {
        let Some(Some(answers)) = answered.get(message_id) else {
            out.push(None);
            continue;
        };
        let (token, hash) = new_token();
        rows.push((hash, *answers, *participant_id));
        let unsubscribe = state.signer.sign(&LinkClaims {
            purpose: UNSUBSCRIBE_PURPOSE.into(),
            id: *participant_id,
            exp: now + UNSUBSCRIBE_DAYS * 86_400_000,
        });
        out.push(Some(Personal {
            reply_url: format!("{base}/antwoord/{token}"),
            unsubscribe_url: matches!(answers, Answers::Enquiry(_))
                .then(|| format!("{base}/afmelden/buurtonderzoek/{unsubscribe}")),
        }));
    }
    state.store.insert_reply_tokens(&rows, now, expires).await.map_err(|e| e.to_string())?;
    Ok(out)
}
