//! `[reports]`: the targets and rates reports measure against.

use buurtnet_domain::reports::{RECRUITMENT_THRESHOLD_PCT, RatePerInhabitant};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Figures that reports compare with.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsConfig {
    /// The direct success percentage a police unit aims for (the seeds: from 7 % to 8 %).
    /// Default 8.0.
    pub success_target_pct: f64,
    /// Per police unit (`RE09 = 9.0`), a target of its own instead of `success_target_pct`.
    pub success_targets: BTreeMap<String, f64>,
    /// Areas where fewer than this percentage of the inhabitants take part are flagged for
    /// recruitment. Default 10.0.
    pub recruitment_threshold_pct: f64,
    /// The cost per inhabitant of each party, in euro with at most four decimals. Default
    /// municipality "0.04" and police "0.04" (the Midden-Nederland budget of the seeds).
    pub cost_per_inhabitant: CostRates,
    /// Per police unit (`[reports.cost_per_region.RE05]`), rates of its own (Twente asked
    /// € 0.08 in all).
    pub cost_per_region: BTreeMap<String, CostRates>,
    /// A participant is asked whether they still take part this many days after they signed up
    /// or last confirmed. Default 365.
    pub confirm_after_days: i64,
    /// Without an answer this many days after being asked, they are paused (with that reason,
    /// on their own page). Default 30.
    pub confirm_grace_days: i64,
}

/// What each party pays per inhabitant.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostRates {
    #[serde(deserialize_with = "euro")]
    pub municipality: RatePerInhabitant,
    #[serde(deserialize_with = "euro")]
    pub police: RatePerInhabitant,
}

fn euro<'de, D: serde::Deserializer<'de>>(d: D) -> Result<RatePerInhabitant, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Amount {
        Text(String),
        Number(f64),
    }
    let text = match Amount::deserialize(d)? {
        Amount::Text(t) => t,
        Amount::Number(n) => format!("{n}"),
    };
    RatePerInhabitant::parse_euro(&text).ok_or_else(|| {
        serde::de::Error::custom(format!("'{text}' is not an amount in euro with at most four decimals (e.g. 0.04)"))
    })
}

impl Default for CostRates {
    fn default() -> Self {
        CostRates { municipality: RatePerInhabitant(400), police: RatePerInhabitant(400) }
    }
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            success_target_pct: 8.0,
            success_targets: BTreeMap::new(),
            recruitment_threshold_pct: RECRUITMENT_THRESHOLD_PCT,
            cost_per_inhabitant: CostRates::default(),
            cost_per_region: BTreeMap::new(),
            confirm_after_days: 365,
            confirm_grace_days: 30,
        }
    }
}

impl ReportsConfig {
    /// The success target of a police unit (or the default one).
    pub fn success_target(&self, police_unit: Option<&str>) -> f64 {
        police_unit.and_then(|u| self.success_targets.get(u)).copied().unwrap_or(self.success_target_pct)
    }

    /// The rates of a police unit (or the default ones).
    pub fn cost_rates(&self, police_unit: Option<&str>) -> &CostRates {
        police_unit.and_then(|u| self.cost_per_region.get(u)).unwrap_or(&self.cost_per_inhabitant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c: ReportsConfig = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(c.success_target(Some("RE09")), 8.0);
        assert_eq!(c.cost_rates(None).municipality, RatePerInhabitant(400));
        let c: ReportsConfig = serde_json::from_value(serde_json::json!({
            "success_targets": {"RE09": 9.5},
            "cost_per_region": {"RE05": {"municipality": "0.05", "police": 0.03}}
        }))
        .unwrap();
        assert_eq!(c.success_target(Some("RE09")), 9.5);
        assert_eq!(c.success_target(Some("RE01")), 8.0);
        assert_eq!(c.cost_rates(Some("RE05")).police, RatePerInhabitant(300));
        let err = serde_json::from_value::<ReportsConfig>(
            serde_json::json!({"cost_per_inhabitant": {"municipality": "-1", "police": "0.04"}}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not an amount"), "{err}");
    }
}
