//! Keeping the participant file healthy (the seeds: "no longer actively maintained"): once a
//! year everyone is asked by e-mail (or SMS) whether they still take part, with a link to their
//! own page; who does not answer within the grace period is paused, with the reason shown on
//! that page. Confirming, or resuming, ends it. A job (`participants.confirmation`) does both.

use crate::services::participants::SELF_SERVICE;
use crate::signing::LinkClaims;
use crate::state::AppState;
use buurtnet_domain::Language;

const DAY_MS: i64 = 86_400_000;

/// The question in the participant's language: (subject, e-mail text, SMS).
pub fn question(lang: Language, link: &str, grace_days: i64) -> (String, String, String) {
    match lang {
        Language::Nl => (
            "buurtnet: doet u nog mee?".into(),
            format!(
                "U doet al een jaar mee met buurtnet. Doet u nog mee? Bevestig het op uw eigen pagina: {link}\n\nZonder antwoord binnen {grace_days} dagen pauzeren we uw aanmelding: u krijgt dan geen berichten meer tot u zelf weer aanzet. Wilt u stoppen? Op dezelfde pagina verwijdert u al uw gegevens."
            ),
            format!("buurtnet: doet u nog mee? Bevestig binnen {grace_days} dagen: {link}"),
        ),
        Language::En => (
            "buurtnet: still with us?".into(),
            format!(
                "You have taken part in buurtnet for a year. Are you still with us? Confirm on your own page: {link}\n\nWithout an answer within {grace_days} days we pause your registration: you then get no messages until you resume. Want to stop? The same page deletes all your details."
            ),
            format!("buurtnet: still with us? Confirm within {grace_days} days: {link}"),
        ),
    }
}

/// Asks who is due (up to 500 a run) and pauses who did not answer in time; (asked, paused).
pub async fn run(state: &AppState) -> anyhow::Result<(usize, usize)> {
    let now = state.now_ms();
    let cfg = &state.config.reports;
    let mut asked = 0;
    for p in state.store.participants_to_ask(now - cfg.confirm_after_days * DAY_MS, 500).await? {
        if p.email.is_none() && p.phone.is_none() {
            continue;
        }
        // Claimed first: two runners never ask twice.
        if !state.store.mark_asked(p.id, now).await? {
            continue;
        }
        let exp = now + (cfg.confirm_grace_days + 1) * DAY_MS;
        let token = state.signer.sign(&LinkClaims { purpose: SELF_SERVICE.into(), id: p.id, exp });
        let link = format!("{}/mijn/{token}", state.config.public_url());
        let (subject, body, sms) = question(Language::parse(&p.language).unwrap_or_default(), &link, cfg.confirm_grace_days);
        let sent = match (&p.email, &p.phone) {
            (Some(email), _) => state.notifier.send_email(email, &subject, &body).await,
            (None, Some(phone)) => state.notifier.send_sms(phone, &sms).await,
            (None, None) => Ok(()),
        };
        match sent {
            Ok(()) => asked += 1,
            Err(e) => tracing::error!(error = %e, participant.id = p.id, "the yearly confirmation question could not be sent"),
        }
    }
    let paused = state.store.pause_unconfirmed(now - cfg.confirm_grace_days * DAY_MS, now).await?;
    if asked > 0 || !paused.is_empty() {
        state
            .store
            .audit(now, "system", "participants.confirmation", None, &serde_json::json!({"asked": asked, "paused": paused.len()}))
            .await?;
    }
    Ok((asked, paused.len()))
}
