//! Labelled corpora for training and evaluation: read whole (any invalid input is an
//! error, after every problem has been reported), and their messages embedded through
//! the persistent [`EmbeddingCache`] when one is given.

use std::path::Path;

use anyhow::{bail, Result};

use crate::chat::{self, Conversation, InputFormat, ParseError};
use crate::encoder::{EmbeddingCache, Encoder};

/// Reads every conversation of `inputs`; `on_problem` sees each invalid input — any makes
/// the whole read fail (training and evaluation must not silently drop data) — and each
/// warning (a message of an export truncated or skipped).
pub fn read_labelled(inputs: &[String], format: InputFormat, on_problem: &mut dyn FnMut(&ParseError)) -> Result<Vec<Conversation>> {
    let mut convs = Vec::new();
    let mut bad = 0;
    let warnings = chat::Warnings::default();
    for item in chat::read_inputs(inputs, format, &warnings) {
        for w in warnings.take() {
            on_problem(&w);
        }
        match item {
            Ok(c) => convs.push(c),
            Err(e) => {
                bad += 1;
                on_problem(&e);
            }
        }
    }
    if bad > 0 {
        bail!("{bad} inputs are invalid; fix them first");
    }
    Ok(convs)
}

/// Message embeddings of `convs`, one list per conversation, through the cache in
/// `cache_dir` when given; a progress bar on stderr when `progress`.
pub fn embed(encoder: &Encoder, convs: &[Conversation], cache_dir: Option<&Path>, progress: bool) -> Result<Vec<Vec<Vec<f32>>>> {
    let texts = chat::message_texts(convs);
    let bar = crate::progress::items(progress, texts.len() as u64, "messages");
    bar.set_message("embedding");
    let vectors = match cache_dir {
        Some(dir) => EmbeddingCache::open(dir, encoder)?.embed(encoder, &texts, &|n| bar.inc(n as u64))?,
        None => encoder.embed_with_progress(&texts, &|n| bar.inc(n as u64))?.vectors,
    };
    bar.finish_and_clear();
    Ok(chat::split_by_conversation(convs, vectors))
}
