//! The HTTP service: `POST /v1/score`, `POST /v1/score/messages`, `GET /health`, `GET /info`
//! and `GET /metrics`, plus the review page at `/` and `POST /v1/parse` ([`review`]).
//!
//! A request's headers and body must arrive within `read_timeout` (else the connection is
//! closed, or 408). A scoring request is then admitted against `--max-concurrent` (429
//! above) before its body is parsed, off the async workers, and waits in a bounded queue
//! for the inference thread, which batches the messages of every waiting request together
//! ([`batcher`]). Every refusal is a JSON error with the right status. The model loads in the
//! background (`/health` says when it is ready); on shutdown the server stops accepting,
//! answers everything already accepted, gives other connections `shutdown_timeout` to
//! finish, then closes them and returns.

mod batcher;
mod metrics;
mod review;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, MatchedPath, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::chat::{self, Conversation};
use crate::classifier::{Classifier, ScoreOptions};
use batcher::{Queue, Refused, Scored};
pub use metrics::Metrics;
pub use review::STYLE;

/// Deepest nesting of arrays and objects accepted in a request body (a conversation
/// batch needs 5); deeper bodies are refused before they are parsed.
pub const MAX_JSON_DEPTH: usize = 16;

/// Limits and access control of the service.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Largest request body, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Most conversations in one request (422 above).
    pub max_conversations: usize,
    /// Most messages in one conversation (422 above).
    pub max_messages: usize,
    /// Most scoring requests admitted (being parsed, queued or scored) at once (429 above).
    pub max_concurrent: usize,
    /// Bearer token every endpoint but `/health` requires, when set.
    pub api_key: Option<String>,
    /// Longest wait for a request's headers (the connection is then closed) and, once they
    /// are in, for its body (408).
    pub read_timeout: Duration,
    /// After shutdown is asked, how long connections may take to finish before those with
    /// no request being scored are closed.
    pub shutdown_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 2 << 20,
            max_conversations: 256,
            max_messages: 2000,
            max_concurrent: 256,
            api_key: None,
            read_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Loads the classifier; run on its own thread while the server already answers.
pub type Loader = Box<dyn FnOnce() -> Result<Classifier> + Send>;

/// What exists once the model is loaded.
struct Ready {
    queue: Queue,
    info: Value,
}

struct AppState {
    options: ServeOptions,
    api_key_digest: Option<[u8; 32]>,
    ready: OnceLock<Ready>,
    metrics: Metrics,
}

/// Runs `load` on its own thread; its error (or panic) is left in `error` and announced on
/// `failed`.
fn start_loading(state: Arc<AppState>, load: Loader, failed: Arc<tokio::sync::Notify>, error: Arc<Mutex<Option<anyhow::Error>>>) -> Result<()> {
    std::thread::Builder::new().name("scamstage-load".into()).spawn(move || {
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(load))
            .unwrap_or_else(|panic| {
                let what = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                Err(anyhow::anyhow!("the model loader panicked: {}", what.unwrap_or_default()))
            })
            .and_then(|classifier| {
                let info = info(&classifier, &state.options);
                Ok(Ready { queue: Queue::start(classifier, state.options.max_concurrent, state.metrics.clone())?, info })
            });
        match loaded {
            Ok(ready) => {
                let _ = state.ready.set(ready);
            }
            Err(e) => {
                *error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                failed.notify_one();
            }
        }
    })?;
    Ok(())
}

/// Serves on `listener` until `shutdown` completes, then drains: the listener closes,
/// requests already accepted are answered, other connections get `shutdown_timeout` to
/// finish, and the inference thread stops. Fails when the model cannot be loaded.
pub async fn serve(
    listener: tokio::net::TcpListener,
    options: ServeOptions,
    load: Loader,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let state = Arc::new(AppState {
        api_key_digest: options.api_key.as_deref().map(digest),
        options,
        ready: OnceLock::new(),
        metrics: Metrics::new()?,
    });
    let load_failed = Arc::new(tokio::sync::Notify::new());
    let load_error: Arc<Mutex<Option<anyhow::Error>>> = Arc::default();
    start_loading(state.clone(), load, load_failed.clone(), load_error.clone())?;
    let app = router(state.clone());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, app.clone(), state.options.clone(), stopping.clone()));
                }
                // Out of file descriptors and the like: wait for connections to close.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next() => {}
            _ = &mut shutdown => break,
            _ = load_failed.notified() => break,
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    if let Some(e) = load_error.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(e.context("loading the model"));
    }
    tokio::task::spawn_blocking(move || {
        if let Some(ready) = state.ready.get() {
            ready.queue.close();
        }
    })
    .await?;
    Ok(())
}

/// Binds `addr`, tells `on_listening` where it listens, and serves (on a runtime of its
/// own) until SIGTERM or Ctrl-C, then drains as [`serve`] does.
pub fn run(addr: &str, options: ServeOptions, load: Loader, on_listening: impl FnOnce(SocketAddr)) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        on_listening(listener.local_addr()?);
        serve(listener, options, load, shutdown_signal()).await
    })
}

/// Counts a request being handled on a connection, from its headers to its response.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves one connection (HTTP/1.1, headers within `read_timeout`). Once `stopping` turns
/// true it finishes its request in progress and closes; after `shutdown_timeout` it is
/// closed as soon as no request of it is being handled.
async fn connection(stream: tokio::net::TcpStream, app: Router, options: ServeOptions, mut stopping: tokio::sync::watch::Receiver<bool>) {
    let busy = Arc::new(AtomicUsize::new(0));
    let counted = busy.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let (app, guard) = (app.clone(), Busy::new(&counted));
        async move {
            let response = app.oneshot(request.map(Body::new)).await;
            drop(guard);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(options.read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    let deadline = tokio::time::Instant::now() + options.shutdown_timeout;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tokio::time::sleep_until(deadline.max(tokio::time::Instant::now() + Duration::from_millis(20))) => {
                if busy.load(Ordering::SeqCst) == 0 {
                    // Nothing of it is being handled: a response already handed over gets a
                    // moment to be written, then the connection is closed.
                    let _ = tokio::time::timeout(Duration::from_millis(500), conn.as_mut()).await;
                    return;
                }
            }
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// `route` answering other methods with a JSON 405 naming `allowed`.
fn only(route: MethodRouter<Arc<AppState>>, allowed: &'static str) -> MethodRouter<Arc<AppState>> {
    route.fallback(move |method: Method, uri: Uri| async move {
        let mut response = ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{method} {} is not supported; use {allowed}", uri.path())).into_response();
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allowed));
        response
    })
}

fn router(state: Arc<AppState>) -> Router {
    let guarded = Router::new()
        .route("/v1/score", only(post(score), "POST"))
        .route("/v1/score/messages", only(post(score_messages), "POST"))
        .route("/info", only(get(info_handler), "GET"))
        .route("/metrics", only(get(metrics_handler), "GET"))
        .merge(review::guarded_routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/health", only(get(health), "GET"))
        .merge(review::public_routes())
        .merge(guarded)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// A refusal: its status and a JSON body `{"status", "error", "field"?, "line"?, "column"?}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), field: None, line: None, column: None, retry_after: None }
    }

    fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"status": self.status.as_u16(), "error": self.message});
        if let Some(field) = self.field {
            body["field"] = field.into();
        }
        if let Some(line) = self.line {
            body["line"] = line.into();
        }
        if let Some(column) = self.column {
            body["column"] = column.into();
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<chat::ParseError> for ApiError {
    fn from(e: chat::ParseError) -> Self {
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.message);
        error.line = e.line;
        match e.field {
            Some(f) => error.field(f),
            None => error,
        }
    }
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Full { retry_after } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "the scoring queue is full; retry later").retry_after(retry_after)
            }
            Refused::Closed => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down").retry_after(1),
            Refused::Failed(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("inference failed: {e}")),
        }
    }
}

fn too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body is over the byte limit (--max-body-bytes)")
}

/// A request body received whole within the read timeout. A `Content-Length` over the
/// limit is refused before anything is read when the client waits for `100 Continue`;
/// otherwise the client is already sending, so up to [`LINGER_BYTES`] past the limit are
/// read and discarded before the 413, which the client then reads instead of a reset
/// connection (bodies larger still are cut off, as any server must).
struct TimedBody(Bytes);

/// How much of an over-limit body is read and discarded so that its sender sees the 413.
const LINGER_BYTES: usize = 16 << 20;

impl FromRequest<Arc<AppState>> for TimedBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let options = &state.options;
        let headers = request.headers();
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let waits = headers.get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let limit = options.max_body_bytes;
        if declared.is_some_and(|n| n > limit as u64) && (waits || declared > Some(limit.saturating_add(LINGER_BYTES) as u64)) {
            return Err(too_large());
        }
        match tokio::time::timeout(options.read_timeout, receive(request.into_body(), limit)).await {
            Ok(body) => Ok(Self(body?)),
            Err(_) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("the request body did not arrive within {} s", options.read_timeout.as_secs_f64()),
            )),
        }
    }
}

/// Reads `body` whole if it is at most `limit` bytes; past that, keeps only a count while
/// up to [`LINGER_BYTES`] more are read, then refuses it with 413.
async fn receive(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("reading the request body: {e}")))?;
        let Ok(data) = frame.into_data() else { continue };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            kept.extend_from_slice(&data);
        } else if seen > limit.saturating_add(LINGER_BYTES) {
            return Err(too_large());
        } else {
            kept = Vec::new();
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(Bytes::from(kept))
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Requires `Authorization: Bearer <key>` when an API key is configured. Digests are
/// compared, so the time taken says nothing about the key.
async fn authorize(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(expected) = state.api_key_digest else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| digest(key.trim()));
    if given == Some(expected) {
        return next.run(request).await;
    }
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, "missing or wrong bearer token").into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Counts a request whose client went away before it was answered as status 499.
struct Unanswered<'a> {
    metrics: &'a Metrics,
    endpoint: &'a str,
    answered: bool,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.metrics.requests.with_label_values(&[self.endpoint, "499"]).inc();
        }
    }
}

/// Counts every response by endpoint and status (499: the client went away first), and
/// times it.
async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let endpoint = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "other".into());
    let started = Instant::now();
    let metrics = &state.metrics;
    let mut pending = Unanswered { metrics, endpoint: &endpoint, answered: false };
    let response = next.run(request).await;
    pending.answered = true;
    metrics.requests.with_label_values(&[endpoint.as_str(), response.status().as_str()]).inc();
    metrics.latency.with_label_values(&[endpoint.as_str()]).observe(started.elapsed().as_secs_f64());
    response
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no endpoint {method} {}", uri.path()))
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    match state.ready.get() {
        Some(_) => Json(json!({"status": "ready"})).into_response(),
        None => {
            let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "loading"}))).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
            response
        }
    }
}

impl AppState {
    fn ready(&self) -> Result<&Ready, ApiError> {
        self.ready.get().ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the model is still loading").retry_after(1))
    }
}

async fn info_handler(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.ready()?.info.clone()))
}

async fn metrics_handler(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// `/info`: versions, model, labels, threshold, device and limits.
fn info(classifier: &Classifier, options: &ServeOptions) -> Value {
    let card = classifier.card();
    let encoder = classifier.encoder();
    json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "schema_version": crate::classifier::SCHEMA_VERSION,
        "model": {"encoder": card.encoder, "dim": encoder.dim(), "fingerprint": encoder.fingerprint()},
        "labels": {"stages": crate::taxonomy::Stage::names(), "scam_types": card.conversation_classes.iter().map(|t| t.as_str()).collect::<Vec<_>>()},
        "threshold": card.threshold,
        "device": crate::device::describe(encoder.device()),
        "precision": encoder.precision().as_str(),
        "limits": {
            "max_body_bytes": options.max_body_bytes,
            "max_conversations": options.max_conversations,
            "max_messages": options.max_messages,
            "max_message_bytes": chat::MAX_MESSAGE_BYTES,
            "max_concurrent": options.max_concurrent,
            "max_json_depth": MAX_JSON_DEPTH,
            "read_timeout_s": options.read_timeout.as_secs_f64(),
        },
    })
}

/// Query parameters of the scoring endpoints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreParams {
    /// Decision threshold on risk (default: the head's).
    threshold: Option<f32>,
    /// Sender name of the user.
    me: Option<String>,
}

fn score_options(query: Result<Query<ScoreParams>, QueryRejection>) -> Result<ScoreOptions, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    if let Some(t) = params.threshold {
        if !(0.0..=1.0).contains(&t) {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("threshold {t} is outside [0, 1]")).field("threshold"));
        }
    }
    Ok(ScoreOptions { threshold: params.threshold, me: params.me })
}

/// Whether a JSON text nests arrays and objects deeper than `max` (strings skipped); a
/// linear scan, so hostile nesting is refused before any parsing.
fn nested_deeper_than(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parses a JSON body; syntax errors are 400 with the parser's line and column.
fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    if nested_deeper_than(body, MAX_JSON_DEPTH) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, format!("JSON nested deeper than {MAX_JSON_DEPTH} levels")));
    }
    serde_json::from_slice(body).map_err(|e| {
        let mut error = ApiError::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}"));
        (error.line, error.column) = (Some(e.line()), Some(e.column()));
        error
    })
}

/// The conversations of a parsed body, checked against the limits.
fn conversations(options: &ServeOptions, value: &Value) -> Result<Vec<Conversation>, ApiError> {
    let convs = chat::conversations_from_value(value, "request", "request").into_iter().collect::<Result<Vec<_>, _>>()?;
    let batch = convs.len() > 1 || value.is_array() || value.get("conversations").is_some();
    check_limits(options, &convs, batch)?;
    Ok(convs)
}

/// Refuses no conversations, or more conversations per request or messages per conversation
/// than the limits; `batch` names fields `conversations[i].messages` rather than `messages`.
fn check_limits(limits: &ServeOptions, convs: &[Conversation], batch: bool) -> Result<(), ApiError> {
    if convs.is_empty() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no conversations to score").field("conversations"));
    }
    if convs.len() > limits.max_conversations {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{} conversations, over the limit of {} per request", convs.len(), limits.max_conversations),
        )
        .field("conversations"));
    }
    for (i, c) in convs.iter().enumerate() {
        if c.messages.len() > limits.max_messages {
            let field = if batch { format!("conversations[{i}].messages") } else { "messages".into() };
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{} messages, over the limit of {} per conversation", c.messages.len(), limits.max_messages),
            )
            .field(field));
        }
    }
    Ok(())
}

/// Verdicts with `Server-Timing` (queue, tokenize, inference in milliseconds).
fn scored_response(state: &AppState, scored: Scored, body: Value) -> Response {
    let t = scored.timings;
    for (phase, d) in [("queue", t.queue), ("tokenize", t.tokenize), ("inference", t.inference)] {
        state.metrics.phases.with_label_values(&[phase]).observe(d.as_secs_f64());
    }
    let timing = format!(
        "queue;dur={:.1}, tokenize;dur={:.1}, inference;dur={:.1}",
        t.queue.as_secs_f64() * 1e3,
        t.tokenize.as_secs_f64() * 1e3,
        t.inference.as_secs_f64() * 1e3
    );
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&timing) {
        headers.insert("server-timing", v);
    }
    (headers, Json(body)).into_response()
}

/// The two request shapes.
#[derive(Clone, Copy)]
enum Shape {
    /// `POST /v1/score`: a conversation, an array of them or `{"conversations": [...]}`.
    Conversations,
    /// `POST /v1/score/messages`: an array of messages.
    Messages,
}

/// Parses and checks a body on a blocking thread (never on the async workers); answers
/// whether the request was a single conversation, and its conversations.
async fn parse(options: &ServeOptions, body: Bytes, shape: Shape) -> Result<(bool, Vec<Conversation>), ApiError> {
    let options = options.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        let value = json_body(&body)?;
        match shape {
            Shape::Conversations => {
                let single = value.is_object() && value.get("conversations").is_none();
                Ok((single, conversations(&options, &value)?))
            }
            Shape::Messages if !value.is_array() => {
                Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "expected an array of messages").field("messages"))
            }
            Shape::Messages => Ok((true, conversations(&options, &json!({"id": "messages", "messages": value}))?)),
        }
    });
    parsed.await.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("parsing failed: {e}")))?
}

/// Scores one request: the body must be complete, the model loaded and the query valid;
/// the request is then admitted (429 when full) before its body is parsed.
async fn score_request(
    state: &AppState,
    query: Result<Query<ScoreParams>, QueryRejection>,
    body: Result<TimedBody, ApiError>,
    shape: Shape,
) -> Result<Response, ApiError> {
    let TimedBody(body) = body?;
    let ready = state.ready()?;
    let options = score_options(query)?;
    let permit = ready.queue.admit()?;
    let (single, convs) = parse(&state.options, body, shape).await?;
    let scored = ready.queue.score(permit, convs, options).await?;
    let body = if single { json!(scored.scores[0]) } else { json!({"conversations": scored.scores}) };
    Ok(scored_response(state, scored, body))
}

/// `POST /v1/score`: one conversation (answered with its verdict), or an array /
/// `{"conversations": [...]}` (answered with `{"conversations": [verdicts]}`, in order).
async fn score(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ScoreParams>, QueryRejection>,
    body: Result<TimedBody, ApiError>,
) -> Result<Response, ApiError> {
    score_request(&state, query, body, Shape::Conversations).await
}

/// `POST /v1/score/messages`: a bare array of messages, scored as one conversation with
/// id `messages`.
async fn score_messages(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ScoreParams>, QueryRejection>,
    body: Result<TimedBody, ApiError>,
) -> Result<Response, ApiError> {
    score_request(&state, query, body, Shape::Messages).await
}
