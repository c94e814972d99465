//! Leave-one-corpus-out evaluation: every real corpus is scored by a head that never saw
//! it. The corpora are split into folds; for each fold a head is trained on the base data
//! (the authored corpus) plus the training part of every corpus outside the fold, and
//! evaluated on the test part of each corpus inside it. With as many folds as corpora this
//! is plain leave-one-out; fewer folds hold out more at once (cheaper, and never kinder).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Result};
use candle_core::Device;
use serde::Serialize;

use crate::chat::Conversation;
use crate::classifier::{predict, ScoreOptions};
use crate::eval::{evaluate, Estimate, EvalReport, SliceMetrics};
use crate::head::StageHead;
use crate::train::{describe_data, train, with_shapes, TrainOptions, Trained};

/// One real corpus, already split (by speaker or source dialogue where those recur).
pub struct Corpus {
    /// Its name (the importer's kind).
    pub name: String,
    /// Conversations a head may train on when the corpus is not held out.
    pub train: Vec<Conversation>,
    /// Conversations it is evaluated on when held out.
    pub test: Vec<Conversation>,
}

/// Splits corpus names into `k` folds, round-robin in the given order (each fold holds
/// at least one corpus; `k` is capped at the number of corpora).
pub fn folds(names: &[String], k: usize) -> Vec<Vec<String>> {
    let k = k.clamp(1, names.len().max(1));
    let mut out = vec![Vec::new(); k];
    for (i, name) in names.iter().enumerate() {
        out[i % k].push(name.clone());
    }
    out
}

/// The conversations a fold's head trains on: `base` plus the training part of every
/// corpus not in `held_out`. Fails if a held-out corpus's conversation id would leak in.
pub fn training_set(base: &[Conversation], corpora: &[Corpus], held_out: &[String]) -> Result<Vec<Conversation>> {
    let mut out: Vec<Conversation> = base.to_vec();
    for c in corpora.iter().filter(|c| !held_out.contains(&c.name)) {
        out.extend(c.train.iter().cloned());
    }
    let unseen: BTreeSet<&str> =
        corpora.iter().filter(|c| held_out.contains(&c.name)).flat_map(|c| c.train.iter().chain(&c.test)).map(|c| c.id.as_str()).collect();
    if let Some(leak) = out.iter().find(|c| unseen.contains(c.id.as_str())) {
        bail!("conversation {:?} of a held-out corpus is also in the training data", leak.id);
    }
    Ok(out)
}

/// One line of the summary: a held-out corpus (or one language of it).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The corpus.
    pub corpus: String,
    /// `all`, or a language code.
    pub lang: String,
    /// Scam conversations.
    pub scams: usize,
    /// Benign conversations.
    pub benign: usize,
    /// ROC-AUC of risk, scams against benign (null with one class).
    pub roc_auc: Estimate,
    /// Share of benign conversations flagged at the head's threshold.
    pub benign_flagged: Option<f64>,
    /// Share of scams flagged at the head's threshold.
    pub recall: Option<f64>,
}

/// Summary rows of a report: the whole corpus, then each language.
pub fn rows(corpus: &str, report: &EvalReport) -> Vec<Row> {
    let row = |lang: &str, m: &SliceMetrics| {
        let d = m.detection.as_ref();
        let at = d.map(|d| &d.at_threshold);
        Row {
            corpus: corpus.to_string(),
            lang: lang.to_string(),
            scams: at.map_or(0, |a| a.tp + a.fn_),
            benign: at.map_or(0, |a| a.tn + a.fp),
            roc_auc: d.map_or_else(|| Estimate { value: None, reason: Some("no labels".into()), ci95: None }, |d| d.roc_auc.clone()),
            benign_flagged: at.and_then(|a| a.fpr),
            recall: at.and_then(|a| a.recall),
        }
    };
    let mut out = vec![row("all", &report.overall)];
    out.extend(report.by_lang.iter().map(|(lang, m)| row(lang, m)));
    out
}

/// The result for one held-out corpus.
#[derive(Debug)]
pub struct HeldOut {
    /// The corpus.
    pub corpus: String,
    /// Index of the fold that held it out.
    pub fold: usize,
    /// Corpora the fold's head was trained on (besides the base data).
    pub trained_on: Vec<String>,
    /// Conversations the fold's head was trained on (base included; their shape variants
    /// not counted).
    pub training_conversations: usize,
    /// The evaluation of its test part.
    pub report: EvalReport,
}

/// Settings of a leave-one-corpus-out run.
pub struct LocoOptions {
    /// Number of folds (the number of corpora for plain leave-one-out).
    pub folds: usize,
    /// Run only this fold (so that folds can run as separate processes).
    pub only_fold: Option<usize>,
    /// Training settings of every fold's head.
    pub train: TrainOptions,
    /// Bootstrap resamples for the intervals.
    pub bootstrap: usize,
}

/// Runs the protocol, fold heads on `device`. `embed` gives message embeddings (through a
/// cache, typically); `log` receives progress lines.
pub fn run(
    base: &[Conversation],
    corpora: &[Corpus],
    device: &Device,
    options: &LocoOptions,
    embed: &dyn Fn(&[Conversation]) -> Result<Vec<Vec<Vec<f32>>>>,
    log: &dyn Fn(&str),
) -> Result<Vec<HeldOut>> {
    // Corpora with scams first, so that round-robin spreads them over the folds and no
    // fold's head trains without any real scams.
    let mut order: Vec<&Corpus> = corpora.iter().collect();
    order.sort_by_key(|c| (!c.train.iter().any(|x| x.label == Some(crate::taxonomy::Label::Scam)), c.name.clone()));
    let names: Vec<String> = order.iter().map(|c| c.name.clone()).collect();
    let mut results = Vec::new();
    let all = folds(&names, options.folds);
    if let Some(k) = options.only_fold.filter(|&k| k >= all.len()) {
        bail!("fold {k} does not exist: {} corpora make {} folds", names.len(), all.len());
    }
    for (k, held_out) in all.into_iter().enumerate().filter(|(k, _)| options.only_fold.is_none_or(|f| f == *k)) {
        let originals = training_set(base, corpora, &held_out)?;
        let training = with_shapes(&originals, options.train.shape_share, options.train.seed);
        log(&format!("fold {k}: holding out {}; training on {} conversations ({} with shape variants)", held_out.join(", "), originals.len(), training.len()));
        let embedded = embed(&training)?;
        let trained_on: Vec<String> = names.iter().filter(|n| !held_out.contains(n)).cloned().collect();
        let description = describe_data(&trained_on, &training)?;
        let trained = train(&training, &embedded, crate::model::DEFAULT_MODEL, description, &options.train, &|line| log(&format!("fold {k}: {line}")))?;
        for corpus in corpora.iter().filter(|c| held_out.contains(&c.name)) {
            let report = score_held_out(&trained, corpus, device, embed, options.bootstrap, options.train.seed)?;
            results.push(HeldOut { corpus: corpus.name.clone(), fold: k, trained_on: trained_on.clone(), training_conversations: originals.len(), report });
        }
    }
    Ok(results)
}

fn score_held_out(
    trained: &Trained,
    corpus: &Corpus,
    device: &Device,
    embed: &dyn Fn(&[Conversation]) -> Result<Vec<Vec<Vec<f32>>>>,
    bootstrap: usize,
    seed: u64,
) -> Result<EvalReport> {
    let head = StageHead::from_bytes(trained.weights.clone(), trained.card.head, device)?;
    let embedded = embed(&corpus.test)?;
    let scores = predict(&head, &trained.card, &corpus.test, &embedded, &ScoreOptions::default(), device)?;
    Ok(evaluate(&corpus.test, &scores, bootstrap, seed))
}

/// Writes `dir/<corpus>/metrics.json`, `report.md` and `rows.json` (its summary rows) for
/// every held-out corpus.
pub fn write(results: &[HeldOut], dir: &Path) -> Result<()> {
    use crate::model::convert::write_atomic;
    for r in results {
        let out = dir.join(&r.corpus);
        std::fs::create_dir_all(&out)?;
        let metrics = serde_json::json!({
            "corpus": r.corpus, "fold": r.fold, "trained_on": r.trained_on,
            "training_conversations": r.training_conversations, "report": r.report,
        });
        write_atomic(&out, "metrics.json", |p| Ok(std::fs::write(p, serde_json::to_vec_pretty(&metrics)?)?))?;
        let context = format!("Held out of training (fold {}); the head trained on the authored corpus and {}.", r.fold, r.trained_on.join(", "));
        let md = crate::report::markdown(&r.report, &format!("{} — leave-one-corpus-out", r.corpus), &context);
        write_atomic(&out, "report.md", |p| Ok(std::fs::write(p, &md)?))?;
        let summary = rows(&r.corpus, &r.report);
        write_atomic(&out, "rows.json", |p| Ok(std::fs::write(p, serde_json::to_vec_pretty(&summary)?)?))?;
    }
    Ok(())
}

/// Reads the corpora of `dir`: every `<name>.train.jsonl` with its `<name>.test.jsonl`
/// (as `datasets/real.sh` writes them), sorted by name.
pub fn read_corpora(dir: &Path, format: crate::chat::InputFormat, on_error: &mut dyn FnMut(&crate::chat::ParseError)) -> Result<Vec<Corpus>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot list: {e}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".train.jsonl").map(str::to_string))
        .collect();
    names.sort();
    if names.is_empty() {
        bail!("{}: no <name>.train.jsonl files", dir.display());
    }
    let mut out = Vec::new();
    for name in names {
        let path = |part: &str| dir.join(format!("{name}.{part}.jsonl")).display().to_string();
        let train = crate::corpus::read_labelled(&[path("train")], format, on_error)?;
        let test = crate::corpus::read_labelled(&[path("test")], format, on_error)?;
        out.push(Corpus { name, train, test });
    }
    Ok(out)
}
