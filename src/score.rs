//! Streaming scoring and embedding: reads conversations from any chat input in chunks,
//! scores (or embeds) each chunk together (so messages of many conversations share encoder
//! batches) and writes results in input order, flushing after every chunk. Bad inputs are
//! reported and skipped; nothing already written is lost.

use std::io::Write;

use anyhow::{Context, Result};

use crate::chat::{message_texts, ChatItem, Conversation, ParseError};
use crate::classifier::{Classifier, ScoreOptions};
use crate::encoder::Encoder;
use crate::render::render;

/// Conversations scored together when streaming: large enough to fill encoder batches
/// across conversations, small enough to bound memory.
pub const CHUNK: usize = 256;

/// Output formats of `score`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// The moderator's view.
    Text,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
}

/// Counts from a scoring run.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScoreSummary {
    /// Conversations scored.
    pub conversations: usize,
    /// Messages scored.
    pub messages: usize,
    /// Inputs rejected.
    pub errors: usize,
}

/// Scores every item of `items`, writing results to `out` and problems to `on_error`.
pub fn score_stream(
    classifier: &Classifier,
    items: impl Iterator<Item = ChatItem>,
    options: &ScoreOptions,
    format: OutputFormat,
    chunk: usize,
    out: &mut dyn Write,
    on_error: &mut dyn FnMut(&ParseError),
) -> Result<ScoreSummary> {
    let mut summary = ScoreSummary::default();
    if format == OutputFormat::Json {
        write!(out, "[")?;
    }
    for_each_chunk(items, chunk, &mut summary, on_error, &mut |pending, summary| {
        for result in classifier.score(pending, options)? {
            match format {
                OutputFormat::Jsonl => writeln!(out, "{}", serde_json::to_string(&result)?)?,
                OutputFormat::Json => {
                    let sep = if summary.conversations == 0 { "\n" } else { ",\n" };
                    write!(out, "{sep}{}", serde_json::to_string_pretty(&result)?)?;
                }
                OutputFormat::Text => writeln!(out, "{}", render(&result))?,
            }
            summary.conversations += 1;
            summary.messages += result.messages.len();
        }
        Ok(out.flush()?)
    })?;
    if format == OutputFormat::Json {
        writeln!(out, "\n]")?;
    }
    out.flush()?;
    Ok(summary)
}

/// Embeds every message of `items`, writing one JSON line per message
/// (`{"id", "index", "sender", "embedding"}`) to `out` and problems to `on_error`.
pub fn embed_stream(
    encoder: &Encoder,
    items: impl Iterator<Item = ChatItem>,
    chunk: usize,
    out: &mut dyn Write,
    on_error: &mut dyn FnMut(&ParseError),
) -> Result<ScoreSummary> {
    let mut summary = ScoreSummary::default();
    for_each_chunk(items, chunk, &mut summary, on_error, &mut |pending, summary| {
        let embedded = encoder.embed(&message_texts(pending))?;
        let mut rows = embedded.vectors.iter();
        for conv in pending {
            for (index, m) in conv.messages.iter().enumerate() {
                let row = rows.next().context("the encoder returned fewer embeddings than messages")?;
                let line = serde_json::json!({"id": conv.id, "index": index, "sender": m.sender, "embedding": row});
                writeln!(out, "{line}")?;
            }
            summary.conversations += 1;
            summary.messages += conv.messages.len();
        }
        Ok(out.flush()?)
    })?;
    out.flush()?;
    Ok(summary)
}

/// Hands the valid conversations of `items` to `each` in chunks of up to `chunk`, in input
/// order; invalid ones go to `on_error` and are counted.
fn for_each_chunk(
    items: impl Iterator<Item = ChatItem>,
    chunk: usize,
    summary: &mut ScoreSummary,
    on_error: &mut dyn FnMut(&ParseError),
    each: &mut dyn FnMut(&[Conversation], &mut ScoreSummary) -> Result<()>,
) -> Result<()> {
    let mut pending = Vec::with_capacity(chunk);
    let mut items = items.peekable();
    while items.peek().is_some() {
        pending.clear();
        for item in items.by_ref() {
            match item {
                Ok(conv) => pending.push(conv),
                Err(e) => {
                    summary.errors += 1;
                    on_error(&e);
                }
            }
            if pending.len() == chunk {
                break;
            }
        }
        if !pending.is_empty() {
            each(&pending, summary)?;
        }
    }
    Ok(())
}
