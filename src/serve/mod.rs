//! The HTTP service: `POST /v1/score`, `POST /v1/score/messages`, `GET /health`, `GET /info`
//! and `GET /metrics`, plus the review page at `/` and `POST /v1/parse` ([`review`]).
//!
//! Requests are parsed and checked on the async runtime; valid ones wait in a bounded queue
//! for the inference thread, which batches the messages of every waiting request together
//! ([`batcher`]). Every refusal is a JSON error with the right status. The model loads in the
//! background (`/health` says when it is ready); on shutdown the server stops accepting,
//! answers everything already accepted, then returns.

mod batcher;
mod metrics;
mod review;

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use anyhow::Result;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::chat::{self, Conversation};
use crate::classifier::{Classifier, ScoreOptions};
use batcher::{Queue, Refused, Scored};
pub use metrics::Metrics;
pub use review::STYLE;

/// Limits and access control of the service.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Largest request body, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Most conversations in one request (422 above).
    pub max_conversations: usize,
    /// Most messages in one conversation (422 above).
    pub max_messages: usize,
    /// Most scoring requests queued or being scored at once (429 above).
    pub max_concurrent: usize,
    /// Bearer token every endpoint but `/health` requires, when set.
    pub api_key: Option<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self { max_body_bytes: 2 << 20, max_conversations: 256, max_messages: 2000, max_concurrent: 256, api_key: None }
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

/// Serves on `listener` until `shutdown` completes, then drains: the listener closes,
/// requests already accepted are answered, and the inference thread stops. Fails when the
/// model cannot be loaded.
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
    {
        let (state, load_failed, load_error) = (state.clone(), load_failed.clone(), load_error.clone());
        std::thread::Builder::new().name("scamstage-load".into()).spawn(move || {
            let loaded = load().and_then(|classifier| {
                let info = info(&classifier, &state.options);
                Ok(Ready { queue: Queue::start(classifier, state.options.max_concurrent, state.metrics.clone())?, info })
            });
            match loaded {
                Ok(ready) => {
                    let _ = state.ready.set(ready);
                }
                Err(e) => {
                    *load_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                    load_failed.notify_one();
                }
            }
        })?;
    }
    let stop = async move {
        tokio::select! {
            _ = shutdown => {}
            _ = load_failed.notified() => {}
        }
    };
    axum::serve(listener, router(state.clone())).with_graceful_shutdown(stop).await?;
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

fn router(state: Arc<AppState>) -> Router {
    let guarded = Router::new()
        .route("/v1/score", post(score))
        .route("/v1/score/messages", post(score_messages))
        .route("/info", get(info_handler))
        .route("/metrics", get(metrics_handler))
        .merge(review::guarded_routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/health", get(health))
        .merge(review::public_routes())
        .merge(guarded)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(DefaultBodyLimit::max(state.options.max_body_bytes))
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

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(status, "request body is over the byte limit (--max-body-bytes)");
        }
        ApiError::new(status, r.body_text())
    }
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
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|key| digest(key.trim()));
    if given == Some(expected) {
        return next.run(request).await;
    }
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, "missing or wrong bearer token").into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Counts every response by endpoint and status, and times it.
async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let endpoint = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "other".into());
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &state.metrics;
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

/// Parses a JSON body; syntax errors are 400 with the parser's line and column.
fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let body = body?;
    serde_json::from_slice(&body).map_err(|e| {
        let mut error = ApiError::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}"));
        (error.line, error.column) = (Some(e.line()), Some(e.column()));
        error
    })
}

/// The conversations of a parsed body, checked against the limits.
fn conversations(state: &AppState, value: &Value) -> Result<Vec<Conversation>, ApiError> {
    let convs = chat::conversations_from_value(value, "request", "request").into_iter().collect::<Result<Vec<_>, _>>()?;
    let batch = convs.len() > 1 || value.is_array() || value.get("conversations").is_some();
    check_limits(state, &convs, batch)?;
    Ok(convs)
}

/// Refuses no conversations, or more conversations per request or messages per conversation
/// than the limits; `batch` names fields `conversations[i].messages` rather than `messages`.
fn check_limits(state: &AppState, convs: &[Conversation], batch: bool) -> Result<(), ApiError> {
    let limits = &state.options;
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

/// What every scoring request starts from: the loaded model, the options from the query
/// string and the parsed JSON body.
fn scoring_request(
    state: &AppState,
    query: Result<Query<ScoreParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(&Ready, ScoreOptions, Value), ApiError> {
    Ok((state.ready()?, score_options(query)?, json_body(body)?))
}

/// `POST /v1/score`: one conversation (answered with its verdict), or an array /
/// `{"conversations": [...]}` (answered with `{"conversations": [verdicts]}`, in order).
async fn score(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ScoreParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (ready, options, value) = scoring_request(&state, query, body)?;
    let single = value.is_object() && value.get("conversations").is_none();
    let convs = conversations(&state, &value)?;
    let scored = ready.queue.score(convs, options).await?;
    let body = if single { json!(scored.scores[0]) } else { json!({"conversations": scored.scores}) };
    Ok(scored_response(&state, scored, body))
}

/// `POST /v1/score/messages`: a bare array of messages, scored as one conversation with
/// id `messages`.
async fn score_messages(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ScoreParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (ready, options, value) = scoring_request(&state, query, body)?;
    if !value.is_array() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "expected an array of messages").field("messages"));
    }
    let convs = conversations(&state, &json!({"id": "messages", "messages": value}))?;
    let scored = ready.queue.score(convs, options).await?;
    let body = json!(scored.scores[0]);
    Ok(scored_response(&state, scored, body))
}
