//! After each quarter's end the quarterly report is announced by e-mail to the officers of
//! each municipality (every enabled account whose role may read reports and whose scope is that
//! municipality), with a link to it in the console: once per municipality and quarter, claimed
//! in the database so that several processes never send it twice.

use super::quarterly::last_ended;
use crate::state::AppState;
use buurtnet_domain::Operation;
use buurtnet_domain::reports::{Month, Quarter};
use buurtnet_domain::staff::{Role, Scope};
use std::collections::BTreeMap;

/// Subject and text of the announcement (Dutch, then English).
pub fn text(name: &str, quarter: Quarter, link: &str) -> (String, String) {
    (
        format!("buurtnet: kwartaalrapportage {name} {quarter}"),
        format!(
            "De kwartaalrapportage van {name} over {quarter} staat klaar: {link}\n\nJe vindt er de acties en hun resultaat, de buurtonderzoeken, de dekking per buurt en de kosten, met een samenvatting, als pagina, PDF en CSV.\n\n---\n\nThe quarterly report of {name} for {quarter} is ready: {link}"
        ),
    )
}

/// Announces the last ended quarter's reports not announced yet; the number of mails sent.
pub async fn send_due(state: &AppState) -> anyhow::Result<usize> {
    let now = super::month_of(state.now_ms());
    let quarter = last_ended(Month { year: now.year, month: now.month });
    let mut by_municipality: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for role in Role::ALL.iter().filter(|r| Operation::ReadReports.allows(**r)) {
        for u in state.store.staff_with_role(role.as_str()).await? {
            if let Some(Scope::Municipality(gm)) = Scope::parse(&u.scope) {
                by_municipality.entry(gm).or_default().push(u.email);
            }
        }
    }
    let index = state.areas.current();
    let mut sent = 0;
    for (gm, emails) in by_municipality {
        let Some(area) = index.get(&gm) else { continue };
        let key = format!("reports.quarterly_announced:{gm}:{quarter}");
        let claim = format!("{}", rand::random::<u64>());
        if state.store.get_or_init_meta(&key, &claim).await? != claim {
            continue;
        }
        let link = format!("{}/console/rapportages/kwartaal/{gm}/{quarter}", state.config.public_url());
        let (subject, body) = text(&area.name, quarter, &link);
        for to in emails {
            match state.notifier.send_email(&to, &subject, &body).await {
                Ok(_) => sent += 1,
                Err(e) => tracing::error!(error = %e, municipality = %gm, "a quarterly report announcement could not be sent"),
            }
        }
        state
            .store
            .audit(
                state.now_ms(),
                "system",
                "report.quarterly_announced",
                Some(&format!("area:{gm}")),
                &serde_json::json!({"quarter": quarter.to_string()}),
            )
            .await?;
    }
    Ok(sent)
}
