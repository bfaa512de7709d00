//! Web Push set-up shared by the devices API and the delivery worker: this server's VAPID key
//! pair (from the secrets file), its contact (`sub`) and the allow-list of push services.

use crate::config::Config;
use crate::state::App;
use buurtnet_delivery::webpush::{SharedAllowList, WebPushSettings};
use buurtnet_delivery::{PushAllowList, VapidKey, WebPush};
use std::sync::{Arc, RwLock};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct PushSetup {
    pub vapid: VapidKey,
    /// The VAPID `sub` (`push.vapid_subject`, or derived from `public_url`).
    pub subject: String,
    /// Time-out of one push request.
    pub timeout: Duration,
    /// The push services endpoints may point at; the provider made by
    /// [`web_push_provider`] shares it and checks it before every send, so
    /// [`PushSetup::set_allow_list`] takes effect at once.
    pub allow_list: SharedAllowList,
}

impl PushSetup {
    pub fn new(config: &Config, vapid: VapidKey) -> Result<PushSetup, String> {
        Ok(PushSetup {
            vapid,
            subject: config.vapid_subject(),
            timeout: Duration::from_millis(config.push.timeout_ms),
            allow_list: Arc::new(RwLock::new(config.push.allow_list()?)),
        })
    }

    /// The allow-list as it is now.
    pub fn allow_list(&self) -> PushAllowList {
        match self.allow_list.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replaces the allow-list (for this process and every provider made from it).
    pub fn set_allow_list(&self, list: PushAllowList) {
        match self.allow_list.write() {
            Ok(mut g) => *g = list,
            Err(p) => *p.into_inner() = list,
        }
    }

    /// The Web Push provider for these settings (sharing the allow-list). Make one and keep it:
    /// it pools connections. Usable while `App` is being built (e.g. next to the other
    /// channel adapters in `wiring::engine::providers`).
    pub fn provider(&self, clock: Arc<dyn buurtnet_domain::Clock>) -> anyhow::Result<WebPush> {
        WebPush::new(WebPushSettings {
            vapid: self.vapid.clone(),
            subject: self.subject.clone(),
            timeout: self.timeout,
            allow_list: self.allow_list.clone(),
            clock,
        })
        .map_err(anyhow::Error::msg)
    }

    /// The public key browsers subscribe with (`applicationServerKey`), base64url.
    pub fn public_key(&self) -> String {
        self.vapid.public_key_base64url()
    }
}

/// The Web Push provider for this server: its VAPID key, contact, time-out, clock and the
/// shared allow-list. Make one and keep it (it pools connections).
pub fn web_push_provider(app: &App) -> anyhow::Result<WebPush> {
    app.push.provider(app.clock.clone())
}
