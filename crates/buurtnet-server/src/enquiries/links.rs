//! The one-click unsubscribe from enquiries (RFC 8058) behind the link each enquiry carries
//! (signed in [`crate::replies::links`] with the recipient's reply link).

use crate::replies::links::UNSUBSCRIBE_PURPOSE;
use crate::state::AppState;

/// Stops enquiries for the participant of a valid unsubscribe token (other topics stay).
/// `Ok(false)`: the token is not valid or has expired.
pub async fn unsubscribe(state: &AppState, token: &str) -> anyhow::Result<bool> {
    let Ok(claims) = state.signer.verify(token, UNSUBSCRIBE_PURPOSE, state.now_ms()) else {
        return Ok(false);
    };
    let Some(p) = state.store.participant(claims.id).await? else {
        // Deleted meanwhile: nothing left to send to.
        return Ok(true);
    };
    let bit = buurtnet_domain::TopicSet::from_iter([buurtnet_domain::Topic::Enquiry]).bits();
    let participant = &p.participant;
    if participant.topics & bit != 0 {
        state
            .store
            .update_participant(claims.id, &participant.language, participant.topics & !bit, participant.paused, state.now_ms())
            .await?;
    }
    state
        .store
        .audit(
            state.now_ms(),
            "resident",
            "enquiry.unsubscribe",
            Some(&format!("participant:{}", claims.id)),
            &serde_json::json!({}),
        )
        .await?;
    Ok(true)
}
