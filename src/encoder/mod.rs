//! The sentence encoder: tokenises messages in parallel, batches them by a token budget,
//! runs a transformer and mean-pools the last hidden states into L2-normalised embeddings.
//!
//! The architecture is chosen from the model's `config.json` (`model_type`); each one lives
//! in its own file and implements [`EmbeddingModel`]. XLM-R's `tokenizer.json` is read by the
//! lean [`Unigram`]; any other goes through the `tokenizers` crate.

mod bert;
mod cache;
mod cpu;
mod unigram;

pub use cache::EmbeddingCache;
pub use unigram::Unigram;

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;

use crate::model::ModelFiles;

/// The seam between batching and a concrete transformer.
pub trait EmbeddingModel: Send + Sync {
    /// Mean-pooled, un-normalised embeddings `[batch, dim]` of a padded batch of token ids
    /// `[batch, len]` with attention mask `[batch, len]` (1 for real tokens).
    fn pooled(&self, input_ids: &Tensor, attention_mask: &Tensor) -> candle_core::Result<Tensor>;
    /// Embedding width.
    fn dim(&self) -> usize;
    /// The arithmetic the linear layers actually use (int8 falls back to f32 where the
    /// hardware lacks it).
    fn precision(&self) -> Precision;
}

/// Arithmetic of the encoder's linear layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Precision {
    /// f32 everywhere.
    F32,
    /// int8 weights and activations (AVX-512 VNNI CPUs; f32 elsewhere).
    #[default]
    Int8,
}

impl Precision {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Int8 => "int8",
        }
    }
}

/// Encoder settings.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// Upper bound on padded tokens (batch size × longest sequence) per forward pass.
    pub max_batch_tokens: usize,
    /// Longest sequence, special tokens included; a longer message is read in
    /// overlapping windows of this length whose embeddings are pooled.
    pub max_len: usize,
    /// Text prepended to every message (the e5 model card asks for `"query: "`).
    pub prefix: String,
    /// Arithmetic of the linear layers.
    pub precision: Precision,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        Self { max_batch_tokens: 2048, max_len: 512, prefix: "query: ".into(), precision: Precision::default() }
    }
}

/// Embeddings of a list of texts, in input order.
#[derive(Debug, Clone, Default)]
pub struct Embeddings {
    /// One L2-normalised vector per text.
    pub vectors: Vec<Vec<f32>>,
    /// Texts longer than `max_len` tokens, read in several windows.
    pub windowed: usize,
    /// Tokens fed to the model (special tokens included, padding excluded).
    pub tokens: usize,
    /// Wall time spent tokenising (the rest of the call is the transformer).
    pub tokenize_time: std::time::Duration,
}

struct UniqueEmbeddings {
    vectors: Vec<Vec<f32>>,
    windows: Vec<usize>,
    lens: Vec<usize>,
    tokenize_time: std::time::Duration,
}

fn fingerprint(config_text: &str, files: &ModelFiles, options: &EncoderOptions) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(config_text.as_bytes());
    for path in [&files.tokenizer, &files.weights] {
        let len = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
        h.update(len.to_le_bytes());
    }
    h.update(options.prefix.as_bytes());
    h.update(options.precision.as_str().as_bytes());
    h.update((options.max_len as u64).to_le_bytes());
    // Long texts are pooled over windows (they were truncated before): a new cache key.
    h.update(b"windows-v1");
    // Attention tiled with fused multiply-adds: int8 rounding moves some embeddings by ~1e-3.
    h.update(b"attention-v2");
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The lean [`Unigram`] tokenizer where it recognises the `tokenizer.json`, else the
/// `tokenizers` crate.
enum Tokenizer {
    Lean(Unigram),
    Hf(Box<tokenizers::Tokenizer>),
}

impl Tokenizer {
    /// Loads `tokenizer.json`, lean where recognised.
    fn load(path: &std::path::Path) -> Result<Self> {
        if let Some(lean) = Unigram::from_tokenizer_json(path)? {
            return Ok(Self::Lean(lean));
        }
        let hf = tokenizers::Tokenizer::from_file(path).map_err(|e| anyhow!("loading {}: {e}", path.display()))?;
        Ok(Self::Hf(Box::new(hf)))
    }

    /// Ids of `text` with special tokens.
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match self {
            Self::Lean(t) => Ok(t.encode(text)),
            Self::Hf(t) => Ok(t.encode(text, true).map_err(|e| anyhow!("tokenizing: {e}"))?.get_ids().to_vec()),
        }
    }

    /// The id of `piece`, if it is in the vocabulary.
    fn token_to_id(&self, piece: &str) -> Option<u32> {
        match self {
            Self::Lean(t) => t.token_to_id(piece),
            Self::Hf(t) => t.token_to_id(piece),
        }
    }
}

/// A loaded tokenizer and transformer on a device.
pub struct Encoder {
    tokenizer: Tokenizer,
    model: Box<dyn EmbeddingModel>,
    device: Device,
    options: EncoderOptions,
    eos: u32,
    /// Token ids of the prefix alone (no special tokens), repeated at the start of every window.
    prefix_ids: Vec<u32>,
    fingerprint: String,
    windowed: std::sync::atomic::AtomicUsize,
}

/// Tokens shared by consecutive windows of a long text, so no sentence is only ever seen
/// cut at a window's edge.
const WINDOW_OVERLAP: usize = 64;

#[derive(serde::Deserialize)]
struct ModelType {
    model_type: String,
}

impl Encoder {
    /// Loads the model described by `files` onto `device`.
    pub fn load(files: &ModelFiles, device: &Device, options: EncoderOptions) -> Result<Self> {
        if options.max_len < 2 || options.max_batch_tokens < options.max_len {
            bail!("max_batch_tokens ({}) must be at least max_len ({})", options.max_batch_tokens, options.max_len);
        }
        let tokenizer = Tokenizer::load(&files.tokenizer)?;
        let config_text = std::fs::read_to_string(&files.config)
            .with_context(|| format!("reading {}", files.config.display()))?;
        let kind: ModelType = serde_json::from_str(&config_text)
            .with_context(|| format!("{}: no model_type", files.config.display()))?;
        let model: Box<dyn EmbeddingModel> = match kind.model_type.as_str() {
            "bert" => Box::new(bert::Bert::load(&config_text, &files.weights, files.gguf.as_deref(), device, options.precision)?),
            other => bail!("{}: unsupported model_type {other:?} (supported: bert)", files.config.display()),
        };
        let eos = tokenizer
            .token_to_id("</s>")
            .or_else(|| tokenizer.token_to_id("[SEP]"))
            .ok_or_else(|| anyhow!("{}: no end-of-sequence token", files.tokenizer.display()))?;
        let fingerprint = fingerprint(&config_text, files, &options)?;
        // The prefix's own tokens, without the trailing space ("query: " alone encodes a
        // lone "▁" that "query: text" does not have).
        let prefix_ids = match tokenizer.encode(options.prefix.trim_end())?.as_slice() {
            [_, inner @ .., _] => inner.to_vec(),
            _ => Vec::new(),
        };
        if options.max_len < prefix_ids.len() + 2 + 2 * WINDOW_OVERLAP {
            bail!("max_len ({}) leaves no room for windows after the prefix and overlap", options.max_len);
        }
        Ok(Self { tokenizer, model, device: device.clone(), options, eos, prefix_ids, fingerprint, windowed: Default::default() })
    }

    /// A hex digest identifying the model files and options, for caches.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Messages longer than `max_len` tokens (read in windows) so far by this encoder.
    pub fn windowed_total(&self) -> usize {
        self.windowed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Embedding width.
    pub fn dim(&self) -> usize {
        self.model.dim()
    }

    /// The arithmetic the linear layers actually use.
    pub fn precision(&self) -> Precision {
        self.model.precision()
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The windows of each text, tokenised in parallel: one sequence (prefix and special
    /// tokens included) when it fits in `max_len`, else overlapping windows of at most
    /// `max_len` tokens, each starting with the start token and the prefix. Nothing is cut.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<Vec<u32>>>> {
        texts
            .par_iter()
            .map(|text| Ok(self.windows(self.tokenizer.encode(&format!("{}{}", self.options.prefix, text))?)))
            .collect()
    }

    /// Splits a tokenised text into windows (see [`Encoder::tokenize`]).
    fn windows(&self, ids: Vec<u32>) -> Vec<Vec<u32>> {
        let max = self.options.max_len;
        if ids.len() <= max {
            return vec![ids];
        }
        // [start] prefix… content… [end]; the prefix is repeated only where the text's
        // own tokens begin with it (they always do for a prefix ending in a space).
        let p = if ids[1..].starts_with(&self.prefix_ids) { self.prefix_ids.len() } else { 0 };
        let content = &ids[1 + p..ids.len() - 1];
        let body = max - 2 - p;
        let stride = body - WINDOW_OVERLAP;
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            let end = (start + body).min(content.len());
            let mut w = Vec::with_capacity(end - start + 2 + p);
            w.extend_from_slice(&ids[..1 + p]);
            w.extend_from_slice(&content[start..end]);
            w.push(self.eos);
            out.push(w);
            if end == content.len() {
                return out;
            }
            start += stride;
        }
    }

    /// Embeds `texts`; messages from many conversations can be passed together.
    pub fn embed(&self, texts: &[&str]) -> Result<Embeddings> {
        self.embed_with_progress(texts, &|_| {})
    }

    /// Like [`Encoder::embed`], calling `done(n)` after each batch of `n` texts.
    /// Identical texts (greetings, templates) are encoded once.
    pub fn embed_with_progress(&self, texts: &[&str], done: &dyn Fn(usize)) -> Result<Embeddings> {
        let mut slot_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut unique: Vec<&str> = Vec::new();
        let slots: Vec<usize> = texts
            .iter()
            .map(|t| {
                *slot_of.entry(t).or_insert_with(|| {
                    unique.push(t);
                    unique.len() - 1
                })
            })
            .collect();
        let emb = self.embed_unique(&unique, done)?;
        done(texts.len() - unique.len());
        Ok(Embeddings {
            vectors: slots.iter().map(|&s| emb.vectors[s].clone()).collect(),
            windowed: slots.iter().filter(|&&s| emb.windows[s] > 1).count(),
            tokens: slots.iter().map(|&s| emb.lens[s]).sum(),
            tokenize_time: emb.tokenize_time,
        })
    }

    fn embed_unique(&self, texts: &[&str], done: &dyn Fn(usize)) -> Result<UniqueEmbeddings> {
        let started = std::time::Instant::now();
        let windows = self.tokenize(texts)?;
        let tokenize_time = started.elapsed();
        let long = windows.iter().filter(|w| w.len() > 1).count();
        self.windowed.fetch_add(long, std::sync::atomic::Ordering::Relaxed);
        // Every window of every text is one sequence; `owner` maps it back to its text.
        let seqs: Vec<&[u32]> = windows.iter().flatten().map(Vec::as_slice).collect();
        let owner: Vec<usize> = windows.iter().enumerate().flat_map(|(i, w)| std::iter::repeat_n(i, w.len())).collect();
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let mut rows: Vec<Vec<f32>> = vec![Vec::new(); seqs.len()];
        let mut remaining: Vec<usize> = windows.iter().map(Vec::len).collect();
        for batch in length_batches(&lens, self.options.max_batch_tokens) {
            for (&i, row) in batch.iter().zip(self.forward(batch.iter().map(|&i| seqs[i]))?) {
                rows[i] = row;
            }
            let mut finished = 0;
            for &i in &batch {
                remaining[owner[i]] -= 1;
                finished += usize::from(remaining[owner[i]] == 0);
            }
            done(finished);
        }
        let mut vectors = Vec::with_capacity(texts.len());
        let mut next = 0;
        for w in &windows {
            let span = next..next + w.len();
            next = span.end;
            vectors.push(if w.len() == 1 { std::mem::take(&mut rows[span.start]) } else { pool_windows(&rows[span.clone()], &lens[span]) });
        }
        Ok(UniqueEmbeddings {
            vectors,
            windows: windows.iter().map(Vec::len).collect(),
            lens: windows.iter().map(|w| w.iter().map(Vec::len).sum()).collect(),
            tokenize_time,
        })
    }

    fn forward<'a>(&self, seqs: impl Iterator<Item = &'a [u32]> + Clone) -> Result<Vec<Vec<f32>>> {
        let n = seqs.clone().count();
        let len = seqs.clone().map(<[u32]>::len).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for s in seqs {
            ids.extend_from_slice(s);
            ids.extend(std::iter::repeat_n(0u32, len - s.len()));
            mask.extend(std::iter::repeat_n(1u32, s.len()));
            mask.extend(std::iter::repeat_n(0u32, len - s.len()));
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        let pooled = self.model.pooled(&ids, &mask)?;
        let norm = pooled.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::INFINITY)?;
        let normed = pooled.broadcast_div(&norm)?.to_dtype(DType::F32)?;
        Ok(normed.to_vec2()?)
    }
}

/// The embedding of a text read in windows: the mean of its windows' L2-normalised
/// embeddings weighted by their token counts, L2-normalised again.
pub fn pool_windows(rows: &[Vec<f32>], lens: &[usize]) -> Vec<f32> {
    let mut pooled = vec![0f32; rows.first().map_or(0, Vec::len)];
    for (row, &n) in rows.iter().zip(lens) {
        for (p, x) in pooled.iter_mut().zip(row) {
            *p += x * n as f32;
        }
    }
    let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    pooled.iter_mut().for_each(|x| *x /= norm);
    pooled
}

/// Groups sequence indices (given their lengths) into batches of similar length, longest
/// first, so that `batch size × longest sequence` stays within `max_tokens` and padding
/// stays small.
pub fn length_batches(lens: &[usize], max_tokens: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lens[i]));
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut longest = 0;
    for i in order {
        let len = lens[i].max(1);
        let width = longest.max(len);
        if !current.is_empty() && width * (current.len() + 1) > max_tokens {
            batches.push(std::mem::take(&mut current));
            longest = 0;
        }
        longest = longest.max(len);
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Mean of `hidden` `[batch, len, dim]` over the positions where `mask` `[batch, len]` is 1.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(hidden.dtype())?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1.0, f64::INFINITY)?;
    summed.broadcast_div(&counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_token_budget_and_cover_every_sequence() {
        let lens = [5usize, 40, 3, 17, 17, 2, 60, 9];
        let batches = length_batches(&lens, 64);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..lens.len()).collect::<Vec<_>>());
        for b in &batches {
            let longest = b.iter().map(|&i| lens[i]).max().unwrap();
            assert!(longest * b.len() <= 64 || b.len() == 1, "{b:?}");
        }
        assert_eq!(batches[0], vec![6], "longest sequence alone first");
    }

    #[test]
    fn other_tokenizers_fall_back_to_the_tokenizers_crate() {
        let json = r#"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
            "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
            "decoder": null, "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "world": 2},
            "unk_token": "[UNK]"}}"#;
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), json).unwrap();
        let tokenizer = Tokenizer::load(file.path()).unwrap();
        assert!(matches!(tokenizer, Tokenizer::Hf(_)));
        assert_eq!(tokenizer.encode("hello there world").unwrap(), vec![1, 0, 2]);
        assert_eq!(tokenizer.token_to_id("world"), Some(2));
    }

    #[test]
    fn mean_pool_ignores_padding() -> candle_core::Result<()> {
        let hidden = Tensor::new(&[[[1f32, 2.], [3., 4.], [100., 100.]]], &Device::Cpu)?;
        let mask = Tensor::new(&[[1u32, 1, 0]], &Device::Cpu)?;
        assert_eq!(mean_pool(&hidden, &mask)?.to_vec2::<f32>()?, vec![vec![2., 3.]]);
        Ok(())
    }
}
