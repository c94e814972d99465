//! Throughput and latency measurement of the real pipeline, for `scamstage bench`:
//! the encoder alone, end to end (read → tokenize → encode → head → JSON), per-conversation
//! latency, peak memory and scaling with input size. Each figure is the median of several
//! runs after a warm-up; nothing here asserts a time.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::chat::{parse_str, InputFormat};
use crate::classifier::{Classifier, ScoreOptions};
use crate::score::{score_stream, OutputFormat, CHUNK};

/// Timings of repeated runs over the same input.
#[derive(Debug, Clone, Serialize)]
pub struct RunStats {
    /// Seconds of each run.
    pub runs_s: Vec<f64>,
    /// Median seconds.
    pub median_s: f64,
    /// Messages per second at the median.
    pub messages_per_s: f64,
    /// Tokens (special tokens included, padding excluded) per second at the median.
    pub tokens_per_s: f64,
}

/// A benchmark result.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Compute device.
    pub device: String,
    /// Arithmetic of the encoder's linear layers.
    pub precision: &'static str,
    /// CPU threads candle and rayon use.
    pub threads: usize,
    /// Messages in the input.
    pub messages: usize,
    /// Tokens in the input.
    pub tokens: usize,
    /// Encoder alone over all messages.
    pub encoder: RunStats,
    /// JSONL conversations of 20 messages in, score JSON out.
    pub end_to_end: RunStats,
    /// Milliseconds to score one 20-message conversation on its own: p50.
    pub conversation_p50_ms: f64,
    /// Same, p95.
    pub conversation_p95_ms: f64,
    /// Messages per second end to end at each input multiple (copies made distinct so
    /// they are really encoded).
    pub scaling: Vec<(usize, f64)>,
    /// Peak resident memory of the process so far, MiB (Linux `VmHWM`).
    pub peak_rss_mib: Option<f64>,
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(xs: &[f64], q: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Peak resident set size of this process in MiB, where the OS reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The messages as JSONL conversations of `per` messages, alternating senders.
pub fn as_jsonl(texts: &[String], per: usize) -> String {
    texts
        .chunks(per)
        .enumerate()
        .map(|(i, chunk)| {
            let messages: Vec<serde_json::Value> = chunk
                .iter()
                .enumerate()
                .map(|(j, t)| serde_json::json!({"sender": if j % 2 == 0 { "them" } else { "me" }, "text": t}))
                .collect();
            serde_json::json!({"id": format!("bench-{i}"), "messages": messages}).to_string() + "\n"
        })
        .collect()
}

/// What `score --format jsonl` does: streams the JSONL through the classifier in chunks
/// and writes JSON lines (here to a sink).
fn end_to_end(classifier: &Classifier, jsonl: &str) -> Result<()> {
    let items = crate::chat::read(Box::new(std::io::Cursor::new(jsonl.as_bytes().to_vec())), "bench", InputFormat::Jsonl, &Default::default());
    let summary =
        score_stream(classifier, items, &ScoreOptions::default(), OutputFormat::Jsonl, CHUNK, &mut std::io::sink(), &mut |_| {})?;
    anyhow::ensure!(summary.errors == 0, "{} benchmark conversations were rejected", summary.errors);
    Ok(())
}

fn timed(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    f()?; // warm-up
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f()?;
            Ok(t.elapsed().as_secs_f64())
        })
        .collect()
}

fn stats(runs_s: Vec<f64>, messages: usize, tokens: usize) -> RunStats {
    let m = median(&runs_s);
    RunStats { runs_s, median_s: m, messages_per_s: messages as f64 / m, tokens_per_s: tokens as f64 / m }
}

/// Benchmarks `classifier` on `texts` with `runs` timed runs (after one warm-up) and the
/// given input multiples for the scaling check.
pub fn run(classifier: &Classifier, texts: &[String], runs: usize, scales: &[usize]) -> Result<BenchReport> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens: usize = classifier.encoder().tokenize(&refs)?.iter().flatten().map(Vec::len).sum();
    let encoder = stats(timed(runs, || classifier.encoder().embed(&refs).map(|_| ()))?, texts.len(), tokens);
    let jsonl = as_jsonl(texts, 20);
    let e2e = stats(timed(runs, || end_to_end(classifier, &jsonl))?, texts.len(), tokens);

    let convs: Vec<_> = parse_str(&jsonl, "bench", InputFormat::Jsonl).into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut latencies = Vec::with_capacity(convs.len());
    for c in &convs {
        let t = Instant::now();
        classifier.score(std::slice::from_ref(c), &ScoreOptions::default())?;
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }

    let mut scaling = Vec::new();
    for &k in scales {
        let copies: Vec<String> =
            (0..k).flat_map(|c| texts.iter().map(move |t| if c == 0 { t.clone() } else { format!("{t} #{c}") })).collect();
        let jsonl = as_jsonl(&copies, 20);
        let t = Instant::now();
        end_to_end(classifier, &jsonl)?;
        scaling.push((k, copies.len() as f64 / t.elapsed().as_secs_f64()));
    }
    Ok(BenchReport {
        device: crate::device::describe(classifier.encoder().device()),
        precision: classifier.encoder().precision().as_str(),
        threads: candle_core::utils::get_num_threads(),
        messages: texts.len(),
        tokens,
        encoder,
        end_to_end: e2e,
        conversation_p50_ms: percentile(&latencies, 0.5),
        conversation_p95_ms: percentile(&latencies, 0.95),
        scaling,
        peak_rss_mib: peak_rss_mib(),
    })
}
