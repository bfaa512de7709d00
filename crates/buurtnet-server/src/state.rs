//! Shared application state, handed to every handler as `State<AppState>`.

use crate::config::Config;
use crate::services::notify::Notifier;
use crate::signing::Signer;
use buurtnet_domain::Clock;
use buurtnet_store::Store;
use buurtnet_targeting::geocode::Geocoder;
use buurtnet_targeting::geography::AreaCache;
use buurtnet_targeting::replica::LiveIndex;
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
    /// Seals staff TOTP secrets in the database (key from the secrets file).
    pub totp_seal: crate::console::totp_seal::TotpSeal,
    /// Web Push: the VAPID key pair, its contact and the push-service allow-list.
    pub push: crate::push::PushSetup,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The channel adapters (the sandbox, or the real providers), shared by account messages
    /// and the delivery workers of this process.
    pub providers: buurtnet_delivery::worker::Providers,
    /// Wake-ups for this process's fan-out and delivery loops.
    pub engine: crate::wiring::engine::Engine,
    /// Action messages for the live feed (Server-Sent Events) of this process.
    pub live_feed: crate::alerting::live::Feed,
    /// Photos decoded at once in this process (one per core): a burst of uploads queues
    /// instead of holding many decoded images in memory.
    pub photo_slots: Arc<tokio::sync::Semaphore>,
    /// Forms with photos read at once in this process (`enquiries.max_concurrent_uploads`).
    pub upload_slots: Arc<tokio::sync::Semaphore>,
    /// The host names requests may name (see `http::host_check`).
    pub allowed_hosts: crate::http::host_check::AllowedHosts,
    /// Request handlers of this process that panicked (each answered 500).
    pub handler_panics: crate::http::panics::HandlerPanics,
}

impl App {
    /// Builds the state: reads (or makes) the secrets file with the link-signing keys, which
    /// never live in the database, and loads the area index.
    pub async fn new(
        config: Config,
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> anyhow::Result<App> {
        let secrets_path = config.secrets_path();
        let now = clock.now().timestamp_millis();
        let secrets = tokio::task::spawn_blocking(move || crate::secrets::load_or_create(&secrets_path, now)).await??;
        let signer = secrets.signer();
        let totp_seal = secrets.totp_seal()?;
        // Secrets stored before encryption are sealed now (until then they still work in clear).
        let sealed = crate::console::totp_seal::seal_clear_secrets(&store, &totp_seal).await?;
        if sealed > 0 {
            tracing::info!(totp.sealed = sealed, "encrypted staff TOTP secrets stored in clear");
        }
        let push = crate::push::PushSetup::new(&config, secrets.vapid_key()?).map_err(anyhow::Error::msg)?;
        // Every process serving this database must sign alike: notice a different secrets file.
        let stored = store.get_or_init_meta("keys_fingerprint", &signer.fingerprint()).await?;
        if stored != signer.fingerprint() {
            tracing::error!(
                secrets.file = %config.secrets_path().display(),
                "this database was used with another secrets file: links signed elsewhere will not work here and abuse limits are counted apart; give every process the same secrets file"
            );
        }
        let live = if config.replica.snapshot_file {
            let identity = buurtnet_targeting::replica::snapshot_identity(&store).await?;
            LiveIndex::with_file(config.data_dir.join("replica.snapshot"), identity)
        } else {
            LiveIndex::default()
        };
        let areas = AreaCache::default();
        areas.refresh(&store).await?;
        let geocoder = Geocoder::from_config(&config.geocoder)?;
        let providers = crate::wiring::engine::providers(&config, &store, &clock, &push)?;
        let notifier = Notifier::new(providers.clone());
        let engine = crate::wiring::engine::Engine::default();
        let live_feed = crate::alerting::live::Feed::default();
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let photo_slots = Arc::new(tokio::sync::Semaphore::new(cores));
        let allowed_hosts = crate::http::host_check::AllowedHosts::from_config(&config);
        let upload_slots = Arc::new(tokio::sync::Semaphore::new(config.enquiries.max_concurrent_uploads.max(1)));
        Ok(App {
            allowed_hosts,
            upload_slots,
            config,
            store,
            clock,
            areas,
            live,
            geocoder,
            notifier,
            signer,
            totp_seal,
            push,
            metrics,
            providers,
            engine,
            live_feed,
            photo_slots,
            handler_panics: Default::default(),
        })
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
