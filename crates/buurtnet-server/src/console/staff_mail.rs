//! Security notices to staff by e-mail (Dutch, or English when the page was in English):
//! a second factor was set up, or locked after too many wrong codes (to the account and to
//! the admins whose scope covers it). Sent through the ordinary mail path (the sandbox in
//! tests and demos); a failure is logged without the address and never blocks the sign-in.

use crate::state::App;
use buurtnet_domain::Language;
use buurtnet_domain::staff::{Role, Scope};
use buurtnet_store::StaffUserRow;

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The account's own second factor was set up just now.
    Enrolled,
    /// The account's second factor was locked (to the account).
    Locked,
    /// An account's second factor was locked (to an admin; the id of that account).
    LockedForAdmin(i64),
}

/// Subject and body of a notice.
pub fn text(notice: Notice, lang: Language, public_url: &str) -> (String, String) {
    match (notice, lang) {
        (Notice::Enrolled, Language::Nl) => (
            "buurtnet: tweede stap ingesteld".into(),
            format!(
                "Voor je buurtnet-account is zojuist een tweede stap (een app met inlogcodes) ingesteld. Alle andere sessies van je account zijn beëindigd.\n\nWas jij dit niet? Meld het dan meteen bij een beheerder: iemand kent je wachtwoord. Kies daarna een nieuw wachtwoord via {public_url}/console/wachtwoord-vergeten."
            ),
        ),
        (Notice::Enrolled, Language::En) => (
            "buurtnet: second step set up".into(),
            format!(
                "A second step (an app with sign-in codes) was just set up for your buurtnet account. Every other session of your account has ended.\n\nWas this not you? Tell an administrator at once: someone knows your password. Then choose a new password at {public_url}/console/wachtwoord-vergeten."
            ),
        ),
        (Notice::Locked, Language::Nl) => (
            "buurtnet: tweede stap geblokkeerd".into(),
            "Op je buurtnet-account zijn vandaag te vaak verkeerde inlogcodes ingevuld. Je tweede stap is daarom geblokkeerd en al je sessies zijn beëindigd. Een beheerder kan hem opnieuw laten instellen.\n\nWas jij dit niet? Dan kent iemand misschien je wachtwoord: kies een nieuw en meld het bij een beheerder.".into(),
        ),
        (Notice::Locked, Language::En) => (
            "buurtnet: second step locked".into(),
            "Too many wrong sign-in codes were given for your buurtnet account today. Its second step is locked and all its sessions have ended. An administrator can have it set up again.\n\nWas this not you? Then someone may know your password: choose a new one and tell an administrator.".into(),
        ),
        (Notice::LockedForAdmin(id), Language::Nl) => (
            "buurtnet: tweede stap van een medewerker geblokkeerd".into(),
            format!(
                "Op het buurtnet-account staff:{id} zijn vandaag te vaak verkeerde inlogcodes ingevuld (iemand kent mogelijk het wachtwoord). De tweede stap is geblokkeerd. Ga na of de medewerker dit zelf was en laat de tweede stap dan opnieuw instellen: {public_url}/console/beheer/medewerkers/{id}"
            ),
        ),
        (Notice::LockedForAdmin(id), Language::En) => (
            "buurtnet: a staff member's second step locked".into(),
            format!(
                "Too many wrong sign-in codes were given today for the buurtnet account staff:{id} (someone may know its password). Its second step is locked. Check with the staff member, then have the second step set up again: {public_url}/console/beheer/medewerkers/{id}"
            ),
        ),
    }
}

/// Sends one notice (subject to the daily cap per recipient); failures are logged.
pub async fn send(app: &App, to: &str, notice: Notice, lang: Language) {
    match crate::abuse::may_send_to(app, to).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::error!(error = %e, "a staff security notice could not be counted; not sent");
            return;
        }
    }
    let (subject, body) = text(notice, lang, &app.config.public_url());
    if let Err(e) = app.notifier.send_email(to, &subject, &body).await {
        tracing::error!(error = %e, "a staff security notice could not be sent");
    }
}

/// Tells the account and every enabled admin whose scope covers it that its second factor was
/// locked.
pub async fn locked(app: &App, user: &StaffUserRow, lang: Language) {
    send(app, &user.email, Notice::Locked, lang).await;
    let admins = match app.store.staff_with_role(Role::Admin.as_str()).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "reading the admins to tell of a locked second factor failed");
            return;
        }
    };
    let scope = Scope::parse(&user.scope);
    for admin in admins.iter().filter(|a| a.id != user.id) {
        let covers = match (Scope::parse(&admin.scope), &scope) {
            (Some(outer), Some(inner)) => super::staff_admin::scope_within(app, &outer, inner),
            _ => false,
        };
        if covers {
            send(app, &admin.email, Notice::LockedForAdmin(user.id), Language::Nl).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_in_both_languages() {
        for n in [Notice::Enrolled, Notice::Locked, Notice::LockedForAdmin(7)] {
            let (nl, en) = (text(n, Language::Nl, "https://x.example"), text(n, Language::En, "https://x.example"));
            assert!(nl.0.starts_with("buurtnet: ") && en.0.starts_with("buurtnet: "));
            assert_ne!(nl, en);
        }
        assert!(text(Notice::LockedForAdmin(7), Language::En, "https://x.example").1.contains("staff:7"));
    }
}
