//! Shared application state, handed to every handler as `State<AppState>`.

use crate::config::Config;
use crate::services::geocode::Geocoder;
use crate::services::geography::AreaCache;
use crate::services::live_index::LiveIndex;
use crate::services::notify::Notifier;
use crate::signing::Signer;
use buurtnet_domain::Clock;
use buurtnet_store::Store;
use std::ops::Deref;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub areas: AreaCache,
    /// The in-memory targeting replica (counts while drawing).
    pub live: LiveIndex,
    pub geocoder: Geocoder,
    pub notifier: Notifier,
    pub signer: Signer,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl App {
    /// Builds the state: loads the shared link secret (created once, kept in the database so
    /// every process signs alike) and the area index.
    pub async fn new(
        config: Config,
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> anyhow::Result<App> {
        let fresh: String = {
            use rand::Rng;
            let bytes: [u8; 32] = rand::rng().random();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        };
        let secret = store.get_or_init_meta("link_secret", &fresh).await?;
        // The identity of this database, stamped into replica snapshot files.
        let fresh_id: String = {
            use rand::Rng;
            let bytes: [u8; 16] = rand::rng().random();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        };
        let database_id = store.get_or_init_meta("database_id", &fresh_id).await?;
        let live = if config.replica.snapshot_file {
            LiveIndex::with_file(config.data_dir.join("replica.snapshot"), database_id)
        } else {
            LiveIndex::default()
        };
        let areas = AreaCache::default();
        areas.refresh(&store).await?;
        let geocoder = Geocoder::from_config(&config.geocoder)?;
        let notifier = Notifier::from_config(&config.providers);
        Ok(App { config, store, clock, areas, live, geocoder, notifier, signer: Signer::new(secret.as_bytes()), metrics })
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
