//! The review page for moderators: `GET /` serves a self-contained page (markup, script and
//! stylesheet embedded in the binary, no other origin), and `POST /v1/parse` reads a raw
//! chat in any input format with the CLI's readers so the page can show and score it.
//!
//! The page is public; `/v1/parse`, like scoring, sits behind the API key when one is set.

use std::io::Cursor;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, AppState};
use crate::chat::{self, Conversation, InputFormat};
use crate::classifier::sender_roles;

/// The page's markup.
const PAGE: &str = include_str!("assets/review.html");
/// The page's script.
const SCRIPT: &str = include_str!("assets/review.js");
/// The stylesheet shared by the review page and `eval`'s `report.html`.
pub const STYLE: &str = include_str!("assets/scamstage.css");

/// Only this server's own resources; no inline script or style, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Routes anyone may fetch: the page and its assets.
pub(super) fn public_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", PAGE) }))
        .route("/review.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/scamstage.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
}

/// Routes behind the API key: `POST /v1/parse`.
pub(super) fn guarded_routes() -> Router<Arc<AppState>> {
    Router::new().route("/v1/parse", post(parse))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Query parameters of `POST /v1/parse`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParseParams {
    /// Source name used in errors and to derive ids (a file name; default `pasted`).
    name: Option<String>,
    /// Input format (default: detected from the content).
    format: Option<String>,
    /// Sender name of the user, for the `senders` roles.
    me: Option<String>,
}

/// One sender of a parsed conversation.
#[derive(Debug, Serialize)]
struct Sender {
    name: String,
    /// Whether `/v1/score` with the same `me` treats this sender as the user.
    user: bool,
    /// Messages sent.
    messages: usize,
}

/// Senders in order of first appearance, with their role under `me`.
fn senders(conv: &Conversation, me: Option<&str>) -> Vec<Sender> {
    let roles = sender_roles(conv, me);
    let mut out: Vec<Sender> = Vec::new();
    for (m, role) in conv.messages.iter().zip(roles) {
        match out.iter_mut().find(|s| s.name == m.sender) {
            Some(s) => s.messages += 1,
            None => out.push(Sender { name: m.sender.clone(), user: role == 0.0, messages: 1 }),
        }
    }
    out
}

fn input_format(name: &str) -> Result<InputFormat, ApiError> {
    use clap::ValueEnum;
    InputFormat::from_str(name, true).map_err(|_| {
        let known: Vec<String> =
            InputFormat::value_variants().iter().filter_map(|f| f.to_possible_value()).map(|v| v.get_name().to_string()).collect();
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("unknown format {name:?}; expected one of {}", known.join(", ")))
            .field("format")
    })
}

/// `POST /v1/parse?name=&format=&me=`: a raw chat (dataset JSON/JSONL, transcript, WhatsApp
/// or Telegram export) as the body; answers `{"conversations": [dataset-shaped conversations],
/// "senders": [[{"name", "user", "messages"}] per conversation], "warnings": [messages of an
/// export truncated or skipped]}`, the conversations ready for `POST /v1/score`. The first input problem is a 422 naming its `line` and `field`.
async fn parse(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ParseParams>, QueryRejection>,
    body: Result<super::TimedBody, ApiError>,
) -> Result<Response, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let super::TimedBody(body) = body?;
    let format = input_format(params.format.as_deref().unwrap_or("auto"))?;
    let name = params.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "pasted".into());
    let max_conversations = state.options.max_conversations;
    let items = tokio::task::spawn_blocking(move || {
        let warnings = chat::Warnings::default();
        let mut convs = Vec::new();
        for item in chat::read(Box::new(Cursor::new(body)), &name, format, &warnings) {
            convs.push(item?);
            if convs.len() > max_conversations {
                break;
            }
        }
        let warnings: Vec<String> = warnings.take().iter().map(ToString::to_string).collect();
        Ok::<_, chat::ParseError>((convs, warnings))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("parsing failed: {e}")))?;
    let (convs, warnings) = items?;
    super::check_limits(&state.options, &convs, true)?;
    let senders: Vec<Vec<Sender>> = convs.iter().map(|c| senders(c, params.me.as_deref())).collect();
    Ok(Json(json!({"conversations": convs, "senders": senders, "warnings": warnings})).into_response())
}
