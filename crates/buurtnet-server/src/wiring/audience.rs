//! The fan-out's [`Audience`], from this process's targeting: the area index (`state.areas`)
//! and the live replica (`state.live`) of `buurtnet-targeting`, so that the delivery crate never
//! depends on them.

use crate::state::AppState;
use buurtnet_delivery::fanout::{AreaAudience, Audience, People};
use buurtnet_domain::Topic;
use buurtnet_domain::staff::Scope;
use buurtnet_geo::target_area::parse_area;
use buurtnet_store::Store;
use buurtnet_store::actions::MessageRow;
use buurtnet_targeting::reach::{self, Plan, Request};
use buurtnet_targeting::replica::LiveIndex;
use chrono::NaiveTime;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use std::sync::{Arc, Mutex};

/// Who messages reach, by this process's targeting.
pub struct Targeting(pub AppState);

impl Audience for Targeting {
    fn of_message<'a>(&'a self, msg: &'a MessageRow) -> BoxFuture<'a, anyhow::Result<Option<Box<dyn AreaAudience + 'a>>>> {
        Box::pin(async move {
            let state = &self.0;
            let index = state.areas.current();
            let area_json: serde_json::Value = serde_json::from_str(msg.area.as_deref().unwrap_or("null"))?;
            // Two plans of the same area: the people's is used up by their stream.
            let (area, device_area) = match (parse_area(&area_json, &index), parse_area(&area_json, &index)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(message.id = msg.id, errors = ?e, "a message's area does not parse");
                    return Ok(None);
                }
            };
            let topic = Topic::parse(&msg.topic).unwrap_or(Topic::Urgent);
            let scope = Scope::parse(&msg.scope).unwrap_or(Scope::Municipality(String::new()));
            let at = state.clock.now();
            let request = |area| Request { area, topic, at, override_time_windows: msg.override_quiet };
            let plan = Plan::new(request(area), scope.clone(), &index);
            let device_plan = Arc::new(Plan::new(request(device_area), scope, &index));
            let audience: Box<dyn AreaAudience + 'a> = Box::new(TargetedArea {
                store: &state.store,
                live: &state.live,
                quiet_ends: plan.quiet_ends(),
                plan: Mutex::new(Some(plan)),
                device_plan,
            });
            Ok(Some(audience))
        })
    }
}

/// One message's area, planned.
struct TargetedArea<'a> {
    store: &'a Store,
    live: &'a LiveIndex,
    /// The people's plan, until their stream takes it.
    plan: Mutex<Option<Plan>>,
    quiet_ends: Arc<Mutex<std::collections::BTreeSet<NaiveTime>>>,
    device_plan: Arc<Plan>,
}

impl AreaAudience for TargetedArea<'_> {
    fn people(&self) -> BoxFuture<'_, anyhow::Result<People<'_>>> {
        Box::pin(async move {
            let plan = self.plan.lock().ok().and_then(|mut p| p.take());
            let Some(plan) = plan else {
                anyhow::bail!("the people of an area are read once");
            };
            let stream = reach::resolve(self.store, self.live, plan).await?;
            Ok(stream.map_ok(|r| (r.participant_id, r.channel)).map_err(anyhow::Error::from).boxed())
        })
    }

    fn quiet_ends(&self) -> Vec<NaiveTime> {
        self.quiet_ends.lock().map(|e| e.iter().copied().collect()).unwrap_or_default()
    }

    fn devices(&self) -> BoxStream<'_, anyhow::Result<i64>> {
        reach::anonymous_devices(self.store, self.device_plan.clone()).map_err(anyhow::Error::from).boxed()
    }

    fn more_devices(&self, now: i64) -> BoxFuture<'_, anyhow::Result<Vec<i64>>> {
        Box::pin(async move {
            let mut more = reach::devices_by_further_places(self.store, &self.device_plan).await?;
            more.extend(reach::coarse_devices(self.store, &self.device_plan, now).await?);
            Ok(more)
        })
    }

    fn everywhere_only(&self) -> bool {
        reach::everywhere_only(&self.device_plan)
    }
}
