//! Local stand-ins for the outside providers, for tests:
//!
//! - [`FakeCm`]: an HTTP server on 127.0.0.1 speaking CM.com's SMS (`POST /v1.0/message`) and
//!   voice (`POST /voiceapi/v2/Notification`) endpoints; it records what it received and can
//!   be told to fail, rate-limit, answer slowly or go down.
//! - [`SmtpServer`]: a real SMTP server (Debian's `python3-aiosmtpd`) writing a Maildir, and
//!   the received mails parsed ([`ReceivedMail`]).
//!
//! Every waiting helper polls against a deadline: no fixed sleeps.
#![allow(dead_code)] // a toolbox: not every test uses every tool

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use buurtnet_delivery::{SmsHttpConfig, VoiceHttpConfig};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

/// How long the waiting helpers wait by default.
pub const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// CM.com (SMS and voice)

/// One SMS the fake gateway accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSms {
    pub from: String,
    /// As the gateway got it: `00` + country code + number.
    pub number: String,
    /// `allowedChannels`, e.g. `["SMS"]`.
    pub allowed_channels: Vec<String>,
    pub text: String,
    pub reference: String,
    /// `body.type` (`auto`).
    pub body_type: String,
    pub min_parts: Option<u64>,
    pub max_parts: Option<u64>,
    /// The token in the `X-CM-PRODUCTTOKEN` header.
    pub header_token: Option<String>,
    /// The token in `messages.authentication.productToken`.
    pub body_token: Option<String>,
}

/// One call the fake voice API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCall {
    pub instruction_id: String,
    pub callee: String,
    pub caller: String,
    pub prompt: String,
    pub prompt_type: String,
    /// `voice.language` (`nl-NL`, `en-GB`).
    pub language: String,
    pub max_replays: u64,
    pub auto_replay: bool,
    pub header_token: Option<String>,
}

#[derive(Default)]
struct Faults {
    /// Answer the next n requests with this status (no message is recorded).
    fail: Option<(usize, StatusCode)>,
    /// Answer the next n requests with 429 and `Retry-After: secs`.
    rate_limit: Option<(usize, u64)>,
    /// Wait this long before answering each request.
    delay: Duration,
}

#[derive(Default)]
struct CmState {
    sms: Mutex<Vec<ReceivedSms>>,
    calls: Mutex<Vec<ReceivedCall>>,
    faults: Mutex<Faults>,
    /// Every request that reached a handler, answered or not.
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    changed: Notify,
}

/// A fake CM.com gateway. Dropping it stops the server.
pub struct FakeCm {
    /// `http://127.0.0.1:PORT`: the base URL for both adapters.
    pub url: String,
    addr: SocketAddr,
    state: Arc<CmState>,
    server: Mutex<Option<Running>>,
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl FakeCm {
    /// The product token the fake expects (header or body); others get 401.
    pub const TOKEN: &'static str = "00000000-0000-4000-8000-000000000000";

    pub async fn start() -> FakeCm {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake CM");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(CmState::default());
        let running = serve(listener, state.clone());
        FakeCm { url: format!("http://{addr}"), addr, state, server: Mutex::new(Some(running)) }
    }

    /// Settings for the SMS adapter pointing here (50 messages/s, 2 s time-out).
    pub fn sms_config(&self) -> SmsHttpConfig {
        SmsHttpConfig {
            url: self.url.clone(),
            product_token: Self::TOKEN.into(),
            sender: "Buurtnet".into(),
            messages_per_second: 50,
            timeout: Duration::from_secs(2),
        }
    }

    /// Settings for the voice adapter pointing here (10 concurrent calls, 2 s time-out).
    pub fn voice_config(&self) -> VoiceHttpConfig {
        VoiceHttpConfig {
            url: self.url.clone(),
            product_token: Self::TOKEN.into(),
            caller: "+3188000000".into(),
            max_concurrent_calls: 10,
            timeout: Duration::from_secs(2),
        }
    }

    /// Every SMS accepted so far, in order.
    pub fn sms(&self) -> Vec<ReceivedSms> {
        self.state.sms.lock().unwrap().clone()
    }

    /// Every call accepted so far, in order.
    pub fn calls(&self) -> Vec<ReceivedCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// Requests that reached the fake (accepted, failed or rate-limited).
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// The most requests the fake was answering at one time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// Requests being answered right now.
    pub fn in_flight(&self) -> usize {
        self.state.in_flight.load(Ordering::SeqCst)
    }

    /// The next `n` requests are answered with `status` (e.g. 500) and not recorded.
    pub fn fail_next(&self, n: usize, status: u16) {
        let status = StatusCode::from_u16(status).expect("a valid HTTP status");
        self.state.faults.lock().unwrap().fail = Some((n, status));
    }

    /// The next `n` requests are answered `429 Too Many Requests` with `Retry-After`.
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.state.faults.lock().unwrap().rate_limit = Some((n, retry_after_secs));
    }

    /// Every request waits this long before it is answered (0 = none).
    pub fn delay(&self, ms: u64) {
        self.state.faults.lock().unwrap().delay = Duration::from_millis(ms);
    }

    /// Stops listening: new connections are refused and idle ones closed, until [`FakeCm::up`].
    pub async fn down(&self) {
        let running = self.server.lock().unwrap().take();
        if let Some(Running { stop, mut task }) = running {
            let _ = stop.send(());
            if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
                task.abort();
            }
        }
    }

    /// Listens again on the same port.
    pub async fn up(&self) {
        if self.server.lock().unwrap().is_some() {
            return;
        }
        let deadline = Instant::now() + WAIT;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("cannot listen again on {}: {e}", self.addr),
            }
        };
        *self.server.lock().unwrap() = Some(serve(listener, self.state.clone()));
    }

    /// Waits until at least `n` SMS were accepted; returns them all.
    pub async fn wait_for_sms(&self, n: usize, timeout: Duration) -> Vec<ReceivedSms> {
        wait_until(&self.state.changed, timeout, || {
            let got = self.sms();
            (got.len() >= n).then_some(got)
        })
        .await
        .unwrap_or_else(|| panic!("the fake CM did not receive {n} SMS within {timeout:?} (got {})", self.sms().len()))
    }

    /// Waits until at least `n` calls were accepted; returns them all.
    pub async fn wait_for_calls(&self, n: usize, timeout: Duration) -> Vec<ReceivedCall> {
        wait_until(&self.state.changed, timeout, || {
            let got = self.calls();
            (got.len() >= n).then_some(got)
        })
        .await
        .unwrap_or_else(|| panic!("the fake CM did not receive {n} calls within {timeout:?} (got {})", self.calls().len()))
    }

    /// Waits until `n` requests are being answered at once (with a [`FakeCm::delay`]).
    pub async fn wait_for_in_flight(&self, n: usize, timeout: Duration) {
        wait_until(&self.state.changed, timeout, || (self.in_flight() >= n).then_some(()))
            .await
            .unwrap_or_else(|| panic!("never {n} requests in flight within {timeout:?} (now {})", self.in_flight()))
    }
}

impl Drop for FakeCm {
    fn drop(&mut self) {
        if let Some(r) = self.server.lock().unwrap().take() {
            let _ = r.stop.send(());
            r.task.abort();
        }
    }
}

fn serve(listener: tokio::net::TcpListener, state: Arc<CmState>) -> Running {
    let app = Router::new()
        .route("/v1.0/message", post(sms_endpoint))
        .route("/voiceapi/v2/Notification", post(voice_endpoint))
        .with_state(state);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Running { stop, task }
}

/// Counts a request in flight for as long as it lives.
struct InFlight(Arc<CmState>);

impl InFlight {
    fn enter(state: &Arc<CmState>) -> InFlight {
        state.requests.fetch_add(1, Ordering::SeqCst);
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        state.changed.notify_waiters();
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

/// Delay, then the injected faults; `None` when the request should be handled normally.
async fn faults(state: &CmState) -> Option<Response> {
    let delay = state.faults.lock().unwrap().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut f = state.faults.lock().unwrap();
    if let Some((n, status)) = f.fail.as_mut()
        && *n > 0
    {
        *n -= 1;
        let status = *status;
        return Some((status, axum::Json(json!({"details": "injected failure"}))).into_response());
    }
    if let Some((n, secs)) = f.rate_limit.as_mut()
        && *n > 0
    {
        *n -= 1;
        let retry_after = secs.to_string();
        return Some(
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", retry_after)], axum::Json(json!({"details": "too many requests"})))
                .into_response(),
        );
    }
    None
}

fn header_token(headers: &HeaderMap) -> Option<String> {
    headers.get("x-cm-producttoken").and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// E.164 digits after `prefix`: 8 to 15 of them.
fn valid_number(n: &str, prefix: &str) -> bool {
    n.strip_prefix(prefix).is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter().try_fold(v, |v, k| v.get(*k)).and_then(Value::as_str).unwrap_or("")
}

async fn sms_endpoint(State(state): State<Arc<CmState>>, headers: HeaderMap, body: Bytes) -> Response {
    let _in_flight = InFlight::enter(&state);
    if let Some(r) = faults(&state).await {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"details": "invalid JSON"}))).into_response();
    };
    let header_token = header_token(&headers);
    let body_token = v
        .pointer("/messages/authentication/productToken")
        .or_else(|| v.pointer("/messages/authentication/producttoken"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if header_token.as_deref() != Some(FakeCm::TOKEN) && body_token.as_deref() != Some(FakeCm::TOKEN) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"details": "Invalid product token."}))).into_response();
    }
    let msgs = v.pointer("/messages/msg").and_then(Value::as_array).cloned().unwrap_or_default();
    if msgs.is_empty() {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"details": "A MESSAGES node requires at least one MSG node"})))
            .into_response();
    }
    let mut answers = Vec::new();
    let mut accepted = Vec::new();
    let mut rejected = false;
    for m in &msgs {
        let reference = str_at(m, &["reference"]).to_string();
        for to in m.get("to").and_then(Value::as_array).cloned().unwrap_or_default() {
            let number = str_at(&to, &["number"]).to_string();
            if !valid_number(&number, "00") {
                rejected = true;
                answers.push(json!({"to": number, "status": "Rejected", "reference": reference, "parts": 0,
                    "messageDetails": format!("Gsm '{number}' is not a number.")}));
                continue;
            }
            let text = str_at(m, &["body", "content"]).to_string();
            let parts = buurtnet_domain::sms_text::measure(&text).segments;
            answers.push(
                json!({"to": number, "status": "Accepted", "reference": reference, "parts": parts, "messageDetails": null}),
            );
            accepted.push(ReceivedSms {
                from: str_at(m, &["from"]).to_string(),
                number,
                allowed_channels: m
                    .get("allowedChannels")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default(),
                text,
                reference: reference.clone(),
                body_type: str_at(m, &["body", "type"]).to_string(),
                min_parts: m.get("minimumNumberOfMessageParts").and_then(Value::as_u64),
                max_parts: m.get("maximumNumberOfMessageParts").and_then(Value::as_u64),
                header_token: header_token.clone(),
                body_token: body_token.clone(),
            });
        }
    }
    if rejected {
        // CM refuses the whole request when one part of it is invalid.
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"details": "Not all messages were accepted", "messages": answers})))
            .into_response();
    }
    let n = accepted.len();
    state.sms.lock().unwrap().extend(accepted);
    state.changed.notify_waiters();
    (StatusCode::OK, axum::Json(json!({"details": format!("Created {n} message(s)"), "errorCode": 0, "messages": answers})))
        .into_response()
}

async fn voice_endpoint(State(state): State<Arc<CmState>>, headers: HeaderMap, body: Bytes) -> Response {
    let _in_flight = InFlight::enter(&state);
    if let Some(r) = faults(&state).await {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"message": "invalid JSON"}))).into_response();
    };
    let header_token = header_token(&headers);
    if header_token.as_deref() != Some(FakeCm::TOKEN) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"message": "Invalid product token"}))).into_response();
    }
    let callee = str_at(&v, &["callee"]).to_string();
    if !valid_number(&callee, "+") {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"message": "The callee is not a valid number: invalid callee"})))
            .into_response();
    }
    let call = ReceivedCall {
        instruction_id: str_at(&v, &["instruction-id"]).to_string(),
        callee,
        caller: str_at(&v, &["caller"]).to_string(),
        prompt: str_at(&v, &["prompt"]).to_string(),
        prompt_type: str_at(&v, &["prompt-type"]).to_string(),
        language: str_at(&v, &["voice", "language"]).to_string(),
        max_replays: v.get("max-replays").and_then(Value::as_u64).unwrap_or(0),
        auto_replay: v.get("auto-replay").and_then(Value::as_bool).unwrap_or(false),
        header_token,
    };
    let id = format!("call-{}", call.instruction_id);
    state.calls.lock().unwrap().push(call);
    state.changed.notify_waiters();
    (StatusCode::OK, axum::Json(json!({"call-id": id}))).into_response()
}

/// Polls `check` until it gives a value, waking on `changed` (and at least every 50 ms).
async fn wait_until<T>(changed: &Notify, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let notified = changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(v) = check() {
            return Some(v);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return None;
        }
        let slice = (deadline - now).min(Duration::from_millis(50));
        let _ = tokio::time::timeout(slice, notified).await;
    }
}

// ---------------------------------------------------------------------------------------------
// SMTP

/// A mail the SMTP server received, parsed.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub raw: Vec<u8>,
    /// Every header, RFC 2047-decoded, in order.
    pub headers: Vec<(String, String)>,
    pub subject: String,
    pub from: String,
    pub to: String,
    /// The envelope recipients (aiosmtpd's `X-RcptTo`).
    pub rcpt_to: String,
    /// The top-level content type (`multipart/alternative`, `text/plain`).
    pub content_type: String,
    /// The first `text/plain` part, decoded.
    pub text: Option<String>,
    /// The first `text/html` part, decoded.
    pub html: Option<String>,
}

impl ReceivedMail {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn parse(raw: Vec<u8>) -> ReceivedMail {
        let parsed = mailparse::parse_mail(&raw).expect("a received mail parses");
        let headers: Vec<(String, String)> = parsed.headers.iter().map(|h| (h.get_key(), h.get_value())).collect();
        let get =
            |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).unwrap_or_default();
        let (mut text, mut html) = (None, None);
        find_parts(&parsed, &mut text, &mut html);
        ReceivedMail {
            subject: get("Subject"),
            from: get("From"),
            to: get("To"),
            rcpt_to: get("X-RcptTo"),
            content_type: parsed.ctype.mimetype.clone(),
            text,
            html,
            headers,
            raw,
        }
    }
}

fn find_parts(part: &mailparse::ParsedMail<'_>, text: &mut Option<String>, html: &mut Option<String>) {
    if part.subparts.is_empty() {
        let slot = match part.ctype.mimetype.as_str() {
            "text/plain" => text,
            "text/html" => html,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(part.get_body().expect("a body decodes"));
        }
    } else {
        for sub in &part.subparts {
            find_parts(sub, text, html);
        }
    }
}

/// A real SMTP server on 127.0.0.1 (Debian's `python3-aiosmtpd` with its Maildir handler).
/// Killed on drop.
pub struct SmtpServer {
    pub port: u16,
    /// `smtp://127.0.0.1:PORT`.
    pub url: String,
    maildir: PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let maildir = dir.path().join("Maildir");
        // Debian's interpreter, where python3-aiosmtpd is installed (PATH may hold another one).
        let python = if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
        let deadline = Instant::now() + WAIT;
        loop {
            let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
            let mut child = std::process::Command::new(python)
                .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
                .arg(&maildir)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("python3 runs (install python3-aiosmtpd)");
            // Ready when it accepts connections; a port taken meanwhile makes it exit: try another.
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut err);
                    }
                    assert!(Instant::now() < deadline, "aiosmtpd exited ({status}): {err} (is python3-aiosmtpd installed?)");
                    break;
                }
                if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return SmtpServer { port, url: format!("smtp://127.0.0.1:{port}"), maildir, child, _dir: dir };
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("aiosmtpd did not listen on port {port} within {WAIT:?}");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// The mails received so far (Maildir `new/` and `cur/`), in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else { continue };
            for e in entries.flatten() {
                let modified = e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
                files.push((modified, e.path()));
            }
        }
        files.sort();
        files.into_iter().filter_map(|(_, p)| std::fs::read(p).ok()).map(ReceivedMail::parse).collect()
    }

    /// Waits until at least `n` mails arrived; returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP server did not receive {n} mails within {timeout:?} (got {})",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal SMTP server that answers every `RCPT TO` with one scripted reply (e.g.
/// `550 5.1.1 <x@y>: user unknown`), to see how the adapter maps refusals. Stops on drop.
pub struct ScriptedSmtp {
    /// `smtp://127.0.0.1:PORT`.
    pub url: String,
    task: JoinHandle<()>,
}

impl ScriptedSmtp {
    pub async fn start(rcpt_reply: &str) -> ScriptedSmtp {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the scripted SMTP server");
        let url = format!("smtp://{}", listener.local_addr().expect("local addr"));
        let rcpt_reply = format!("{}\r\n", rcpt_reply.trim_end());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let rcpt_reply = rcpt_reply.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    if write.write_all(b"220 scripted ESMTP\r\n").await.is_err() {
                        return;
                    }
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                        let reply = match verb.as_str() {
                            "EHLO" | "HELO" => "250 scripted\r\n".to_string(),
                            "RCPT" => rcpt_reply.clone(),
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => "250 ok\r\n".to_string(),
                        };
                        if write.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        ScriptedSmtp { url, task }
    }
}

impl Drop for ScriptedSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}
