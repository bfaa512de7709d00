//! The test harness: fresh databases (cloned from a migrated template that already holds the
//! geography), a real server, a real HTTP client and a clock the test controls.

use buurtnet_domain::ManualClock;
use buurtnet_server::{App, AppState, Config};
use buurtnet_store::{AreaRow, ConnectOptions, Store};
use buurtnet_targeting::geography;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares `mod NAME { sqlite(); postgres(); }` for each `async fn NAME(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name($crate::common::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name($crate::common::Backend::Postgres).await }
        }
    )*};
}

pub fn geodata() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/nl");
    assert!(p.is_dir(), "the CBS geodata folder {} is missing (it sits beside the checkout)", p.display());
    p
}

/// The areas, parsed once per test process.
fn area_rows() -> &'static Vec<AreaRow> {
    static ROWS: OnceLock<Vec<AreaRow>> = OnceLock::new();
    ROWS.get_or_init(|| {
        let records = buurtnet_geo::load_folder(&geodata()).expect("geodata loads");
        geography::rows_from_records(&records)
    })
}

/// The areas as an index of their own, for oracles (the same outlines the server loads).
pub fn oracle_index() -> &'static buurtnet_geo::AreaIndex {
    static INDEX: OnceLock<buurtnet_geo::AreaIndex> = OnceLock::new();
    INDEX.get_or_init(|| buurtnet_geo::AreaIndex::new(geography::records_from_rows(area_rows()).expect("areas parse")))
}

pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

pub fn pg_admin_url() -> String {
    std::env::var("PG_TEST_URL").expect("PG_TEST_URL is not set: run the tests with scripts/test, which starts PostgreSQL")
}

fn pg_url(db: &str) -> String {
    let admin = pg_admin_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin);
    format!("{base}/{db}")
}

/// Runs `f` on a fresh runtime in its own thread (for one-time set-up shared by tests that
/// each have their own runtime).
fn blocking<T: Send + 'static>(f: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f))
        .join()
        .unwrap()
}

async fn fill_template(store: &Store) {
    store.migrate().await.unwrap();
    store.replace_areas(area_rows(), "test").await.unwrap();
    let points = geography::read_address_points(&geodata().join(geography::ADDRESS_POINTS_FILE)).unwrap();
    store.replace_address_points(&points).await.unwrap();
}

fn sqlite_template() -> &'static PathBuf {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        // Folders earlier test runs left behind.
        for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("buurtnet_") && left_by_a_dead_process(&name) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = std::env::temp_dir().join(unique("buurtnet_tpl"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("template.db");
        let url = format!("sqlite://{}", path.display());
        blocking(async move {
            let store = Store::connect(&url, &ConnectOptions::default()).await.unwrap();
            fill_template(&store).await;
            // Fold the WAL into the main file so a plain copy is complete.
            store.close().await;
        });
        path
    })
}

/// Whether the test process that made a `prefix_<pid>_<n>` database or folder is gone.
fn left_by_a_dead_process(name: &str) -> bool {
    let pid = name.split('_').rev().nth(1).and_then(|p| p.parse::<u32>().ok());
    pid.is_some_and(|pid| pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists())
}

fn pg_template() -> &'static String {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| {
        let name = unique("bn_tpl");
        let name2 = name.clone();
        blocking(async move {
            let admin = Store::connect(&pg_admin_url(), &ConnectOptions::default()).await.unwrap();
            // Databases earlier test runs left behind (a test that fails keeps its database).
            let names = admin.admin_strings("SELECT datname FROM pg_database WHERE datname LIKE 'bn\\_%'").await.unwrap();
            for old in names.iter().filter(|n| left_by_a_dead_process(n)) {
                let _ = admin.execute_admin(&format!("DROP DATABASE IF EXISTS \"{old}\" WITH (FORCE)")).await;
            }
            admin.execute_admin(&format!("CREATE DATABASE {name2}")).await.unwrap();
            admin.close().await;
            let store = Store::connect(&pg_url(&name2), &ConnectOptions::default()).await.unwrap();
            fill_template(&store).await;
            store.close().await;
        });
        name
    })
}

/// A fresh, migrated database URL holding the geography.
pub async fn fresh_database(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let template = sqlite_template();
            let dir = std::env::temp_dir().join(unique("buurtnet_test"));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("test.db");
            std::fs::copy(template, &path).unwrap();
            for suffix in ["-wal", "-shm"] {
                let side = PathBuf::from(format!("{}{suffix}", template.display()));
                if side.exists() {
                    std::fs::copy(&side, format!("{}{suffix}", path.display())).unwrap();
                }
            }
            format!("sqlite://{}", path.display())
        }
        Backend::Postgres => {
            let template = pg_template().clone();
            let name = unique("bn_test");
            let admin = Store::connect(&pg_admin_url(), &ConnectOptions { max_connections: 1, ..ConnectOptions::default() })
                .await
                .unwrap();
            admin.execute_admin(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await.unwrap();
            admin.close().await;
            pg_url(&name)
        }
    }
}

/// An empty (unmigrated) database URL.
pub async fn empty_database(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(unique("buurtnet_empty"));
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}", dir.join("empty.db").display())
        }
        Backend::Postgres => {
            let name = unique("bn_empty");
            let admin = Store::connect(&pg_admin_url(), &ConnectOptions { max_connections: 1, ..ConnectOptions::default() })
                .await
                .unwrap();
            admin.execute_admin(&format!("CREATE DATABASE {name}")).await.unwrap();
            admin.close().await;
            pg_url(&name)
        }
    }
}

pub struct TestApp {
    /// The secrets file this server reads (share it to make servers sign alike).
    pub secrets_file: PathBuf,
    pub url: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Whether this app made its own database (then it is removed with the app).
    owns_database: bool,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let database_url = fresh_database(backend).await;
        let mut app = TestApp::spawn_on(&database_url).await;
        app.owns_database = true;
        app
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        let database_url = fresh_database(backend).await;
        let mut app = TestApp::spawn_configured(&database_url, configure).await;
        app.owns_database = true;
        app
    }

    pub async fn spawn_on(database_url: &str) -> TestApp {
        TestApp::spawn_configured(database_url, |_| {}).await
    }

    pub async fn spawn_configured(database_url: &str, configure: impl FnOnce(&mut Config)) -> TestApp {
        capture_logs();
        let store =
            Store::connect(database_url, &ConnectOptions { max_connections: 5, ..ConnectOptions::default() }).await.unwrap();
        store.migrate().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let data_dir = std::env::temp_dir().join(unique("buurtnet_data"));
        let mut config = Config {
            database_url: database_url.to_string(),
            bind: addr,
            geodata: Some(geodata()),
            secure_cookies: false,
            local_operator_access: true,
            data_dir,
            // Tests run the jobs when they mean to (`run_jobs`, after moving the clock): a
            // runner polling in the background would race their checks.
            jobs: buurtnet_server::jobs::JobsConfig { enabled: false, ..Default::default() },
            ..Config::default()
        };
        configure(&mut config);
        let secrets_file = config.secrets_path();
        let clock = Arc::new(ManualClock::new(chrono::DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z").unwrap().to_utc()));
        let app = App::new(config, store.clone(), clock.clone(), buurtnet_server::telemetry::prometheus()).await.unwrap();
        let state = AppState(Arc::new(app));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(buurtnet_server::serve(state.clone(), listener, async move {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let app = TestApp {
            secrets_file,
            url: format!("http://{addr}"),
            client,
            store,
            clock,
            state,
            shutdown: Some(tx),
            owns_database: false,
        };
        // Wait for readiness rather than sleeping.
        for _ in 0..200 {
            if app.client.get(app.at("/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
                return app;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the test server did not become ready");
    }

    /// The test clock's time, Unix milliseconds.
    pub fn clock_ms(&self) -> i64 {
        use buurtnet_domain::Clock;
        self.clock.now().timestamp_millis()
    }

    /// Runs the due jobs through the job runner, as this process's runner would after the
    /// clock moved, until no job is due or running (here or in another app on the database).
    pub async fn run_jobs(&self) {
        use buurtnet_server::jobs::runner;
        runner::schedule(&self.state).await.unwrap();
        for _ in 0..1000 {
            runner::run_due(&self.state).await.unwrap();
            let now = self.clock_ms();
            let busy = self
                .store
                .jobs(false)
                .await
                .unwrap()
                .iter()
                .any(|j| j.failed_at.is_none() && (j.due_at <= now || j.lease_until.is_some_and(|l| l >= now)));
            if !busy {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("jobs are still due or running after 10 s");
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.client.get(self.at(path)).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let r = self.client.post(self.at(path)).json(body).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Messages the sandbox recorded for one recipient, oldest first.
    pub async fn sandbox(&self, recipient: &str) -> Vec<serde_json::Value> {
        let (s, v) = self.get_json(&format!("/sandbox/api/messages?recipient={}", urlencode(recipient))).await;
        assert_eq!(s, 200);
        let mut list = v.as_array().cloned().unwrap_or_default();
        list.reverse();
        list
    }

    /// A staff account with a token.
    pub async fn staff_token(&self, role: &str, scope: &str) -> String {
        let email = format!("{}@test.example.org", unique(role));
        let hash = buurtnet_server::auth::hash_password("a long test password").unwrap();
        let id = self.store.create_staff_user(&email, &hash, role, scope, 0).await.unwrap();
        let (token, token_hash) = buurtnet_server::auth::generate_token();
        self.store.create_api_token(id, &token_hash, 0, i64::MAX).await.unwrap();
        token
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // A test's own SQLite copy goes with it (a full run would otherwise leave gigabytes
        // in the temporary folder; the small data folder with its secrets file stays, as other
        // apps may share it); open files are fine to unlink on Unix.
        let config = &self.state.config;
        if self.owns_database
            && let Some(path) = config.database_url.strip_prefix("sqlite://")
            && let Some(dir) = std::path::Path::new(path).parent()
            && dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with("buurtnet_test_"))
        {
            let _ = std::fs::remove_dir_all(dir);
        }
        // A handler that panicked fails the test that caused it, even where its client got an
        // answer (the server answers 500 and counts it; the panic itself is in the log above).
        let panics = self.state.handler_panics.count();
        if panics > 0 && !std::thread::panicking() {
            panic!("{panics} request handler(s) of this test's server panicked; see the panic message(s) above");
        }
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The last path segment of the first link in a text that starts with `prefix`.
pub fn link_token(text: &str, prefix: &str) -> String {
    let start = text.find(prefix).unwrap_or_else(|| panic!("no link {prefix} in: {text}"));
    let rest = &text[start + prefix.len()..];
    rest.split(|c: char| c.is_whitespace()).next().unwrap().to_string()
}

/// The 6-digit code in an SMS.
pub fn sms_code(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap_or_else(|| panic!("no code in {text}")).to_string()
}

/// The example registration body of the issue.
pub fn example_registration(email: &str, phone: &str) -> serde_json::Value {
    serde_json::json!({"email": email, "phone": phone, "language": "nl", "age_confirmed": true,
        "topics": ["urgent", "enquiry"], "addresses": [{"kind": "home", "postcode": "3522 HG",
        "house_number": "70", "channels": ["email", "sms"], "quiet_hours": [{"channels": ["voice", "sms"],
        "from": "23:00", "to": "07:00"}]}, {"kind": "work", "lat": 52.09, "lon": 5.12, "channels": ["email"]}]})
}

/// Reads Server-Sent Events from an open response until `n` events named `name` arrived or
/// `wait` passed; returns their JSON data.
pub async fn sse_named(mut resp: reqwest::Response, name: &str, n: usize, wait: std::time::Duration) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while out.len() < n {
        let chunk = match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => c,
            _ => break,
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let event = block.lines().find_map(|l| l.strip_prefix("event:")).map(str::trim).unwrap_or("message");
            let data = block.lines().find_map(|l| l.strip_prefix("data:")).map(str::trim);
            if let (true, Some(data)) = (event == name, data) {
                out.push(serde_json::from_str(data).expect("SSE data is JSON"));
            }
        }
    }
    out
}

/// Every log line the test servers of this process wrote (all tests: one global subscriber),
/// as the server prints them by default (info and above).
fn log_buffer() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOGS: OnceLock<std::sync::Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| std::sync::Mutex::new(Vec::new()))
}

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log_buffer().lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once per test process.
fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::new("info");
        let _ = tracing_subscriber::fmt().with_ansi(false).with_env_filter(filter).with_writer(|| LogWriter).try_init();
    });
}

/// The log lines captured so far.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
}
