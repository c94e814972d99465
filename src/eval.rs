//! Evaluation of verdicts against gold labels: message-level stage metrics,
//! conversation-level detection metrics, calibration and flag delay — overall, per
//! language and per scam type — with seeded bootstrap confidence intervals for the
//! headline numbers. Undefined numbers are `null` with a reason, never NaN.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use serde::Serialize;

use std::path::Path;

use anyhow::{Context, Result};

use crate::chat::Conversation;
use crate::classifier::{Classifier, ConversationScore, ScoreOptions};
use crate::model::convert::write_atomic;
use crate::metrics::{average_precision, binary_metrics, calibration_error, class_report, roc_auc, BinaryMetrics, ClassReport, ReliabilityBin};
use crate::taxonomy::{Label, Stage};

/// A number that may be undefined on the data at hand, with an optional 95 % interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The value, or `null` when undefined.
    pub value: Option<f64>,
    /// Why the value is undefined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Bootstrap 95 % interval `[low, high]`, when computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci95: Option<[f64; 2]>,
}

impl Estimate {
    fn new(value: Option<f64>, reason: &str) -> Self {
        Self { reason: value.is_none().then(|| reason.to_string()), value, ci95: None }
    }
}

/// Conversation-level detection metrics.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationMetrics {
    /// Conversations with a gold label.
    pub count: usize,
    /// Counts and rates at the model threshold.
    pub at_threshold: BinaryMetrics,
    /// Scam F1 at the threshold.
    pub scam_f1: Estimate,
    /// False-positive rate on benign conversations at the threshold.
    pub benign_fpr: Estimate,
    /// ROC-AUC of risk.
    pub roc_auc: Estimate,
    /// Average precision (PR-AUC) of risk.
    pub pr_auc: Estimate,
    /// Fraction of conversations whose reported stage equals the gold furthest stage
    /// (conversations with per-message gold stages only).
    pub furthest_stage_accuracy: Estimate,
    /// Messages between the first gold scam message and the first flag, over flagged scams.
    pub flag_delay_mean: Estimate,
    /// Gold scams never flagged.
    pub scams_missed: usize,
    /// Expected calibration error of risk (10 bins).
    pub ece: Estimate,
    /// Reliability diagram bins.
    pub reliability: Vec<ReliabilityBin>,
    /// ROC curve points `(fpr, tpr)`, for plotting.
    pub roc_curve: Vec<[f64; 2]>,
    /// Precision–recall points `(recall, precision)`, for plotting.
    pub pr_curve: Vec<[f64; 2]>,
}

/// Metrics of one slice of the data.
#[derive(Debug, Clone, Serialize)]
pub struct SliceMetrics {
    /// Conversations in the slice.
    pub conversations: usize,
    /// Messages in the slice.
    pub messages: usize,
    /// Message-level stage metrics (where messages carry gold stages).
    pub stages: Option<ClassReport>,
    /// Message-level stage macro-F1.
    pub stage_macro_f1: Estimate,
    /// Conversation-level metrics (where conversations carry a gold label).
    pub detection: Option<ConversationMetrics>,
}

/// A full evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Everything together.
    pub overall: SliceMetrics,
    /// Per language (`?` when unknown).
    pub by_lang: BTreeMap<String, SliceMetrics>,
    /// Per gold scam type, where given.
    pub by_scam_type: BTreeMap<String, SliceMetrics>,
    /// Bootstrap resamples behind the intervals.
    pub bootstrap_resamples: usize,
    /// Seed of the resampling.
    pub seed: u64,
}

fn stage_pairs(convs: &[(&Conversation, &ConversationScore)]) -> (Vec<usize>, Vec<usize>) {
    let mut g = Vec::new();
    let mut p = Vec::new();
    for (c, s) in convs {
        for (m, ms) in c.messages.iter().zip(&s.messages) {
            if let Some(stage) = m.stage {
                g.push(stage.index());
                p.push(ms.stage.index());
            }
        }
    }
    (g, p)
}

fn macro_f1(convs: &[(&Conversation, &ConversationScore)]) -> Option<f64> {
    let (g, p) = stage_pairs(convs);
    let labels = Stage::names();
    (!g.is_empty()).then(|| class_report(&g, &p, &labels).macro_f1).flatten()
}

fn detection_inputs(convs: &[(&Conversation, &ConversationScore)]) -> (Vec<bool>, Vec<f32>, Vec<bool>) {
    let labelled: Vec<_> = convs.iter().filter(|(c, _)| c.label.is_some()).collect();
    (
        labelled.iter().map(|(c, _)| c.label == Some(Label::Scam)).collect(),
        labelled.iter().map(|(_, s)| s.risk).collect(),
        labelled.iter().map(|(_, s)| s.scam).collect(),
    )
}

/// Gold furthest stage: the last labelled stage (timelines only move forward).
fn gold_furthest(c: &Conversation) -> Option<Stage> {
    if c.messages.iter().any(|m| m.stage.is_none()) {
        return None;
    }
    c.messages.iter().filter_map(|m| m.stage).rfind(|s| s.is_scam()).or(Some(Stage::None))
}

fn curve_points(scores: &[f32], gold: &[bool]) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let pos = gold.iter().filter(|&&g| g).count() as f64;
    let neg = gold.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return (Vec::new(), Vec::new());
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut roc = vec![[0.0, 0.0]];
    let mut pr = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        if gold[i] { tp += 1.0 } else { fp += 1.0 }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            roc.push([fp / neg, tp / pos]);
            pr.push([tp / pos, tp / (tp + fp)]);
        }
    }
    (roc, pr)
}

fn detection(convs: &[(&Conversation, &ConversationScore)]) -> Option<ConversationMetrics> {
    let (gold, risk, flagged) = detection_inputs(convs);
    if gold.is_empty() {
        return None;
    }
    let at = binary_metrics(&gold, &flagged);
    let (ece, reliability) = calibration_error(&risk, &gold, 10);
    let furthest: Vec<bool> = convs
        .iter()
        .filter(|(c, _)| c.label.is_some())
        .filter_map(|(c, s)| gold_furthest(c).map(|g| g == s.stage))
        .collect();
    let delays: Vec<f64> = convs
        .iter()
        .filter(|(c, _)| c.label == Some(Label::Scam))
        .filter_map(|(c, s)| {
            let first_gold = c.messages.iter().position(|m| m.stage.is_some_and(Stage::is_scam)).unwrap_or(0);
            s.first_flag.map(|f| f as f64 - first_gold as f64)
        })
        .collect();
    let scams = gold.iter().filter(|&&g| g).count();
    let (roc_curve, pr_curve) = curve_points(&risk, &gold);
    Some(ConversationMetrics {
        count: gold.len(),
        scam_f1: Estimate::new(at.f1, "no scam in gold or predictions"),
        benign_fpr: Estimate::new(at.fpr, "no benign conversation"),
        roc_auc: Estimate::new(roc_auc(&risk, &gold), "undefined: only one class present"),
        pr_auc: Estimate::new(average_precision(&risk, &gold), "undefined: no scam conversation"),
        furthest_stage_accuracy: Estimate::new(
            (!furthest.is_empty()).then(|| furthest.iter().filter(|&&x| x).count() as f64 / furthest.len() as f64),
            "no conversation with per-message gold stages",
        ),
        flag_delay_mean: Estimate::new(
            (!delays.is_empty()).then(|| delays.iter().sum::<f64>() / delays.len() as f64),
            "no flagged scam conversation",
        ),
        scams_missed: scams - delays.len(),
        ece: Estimate::new(ece, "no conversation"),
        reliability,
        roc_curve,
        pr_curve,
        at_threshold: at,
    })
}

fn slice(convs: &[(&Conversation, &ConversationScore)]) -> SliceMetrics {
    let (g, p) = stage_pairs(convs);
    let labels = Stage::names();
    let stages = (!g.is_empty()).then(|| class_report(&g, &p, &labels));
    SliceMetrics {
        conversations: convs.len(),
        messages: convs.iter().map(|(c, _)| c.messages.len()).sum(),
        stage_macro_f1: Estimate::new(stages.as_ref().and_then(|r| r.macro_f1), "no message with a gold stage"),
        stages,
        detection: detection(convs),
    }
}

fn percentile_ci(mut xs: Vec<f64>) -> Option<[f64; 2]> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let at = |q: f64| xs[((xs.len() - 1) as f64 * q).round() as usize];
    Some([at(0.025), at(0.975)])
}

/// Adds bootstrap intervals (resampling conversations) to a slice's headline numbers.
fn add_intervals(m: &mut SliceMetrics, convs: &[(&Conversation, &ConversationScore)], resamples: usize, rng: &mut rand::rngs::StdRng) {
    if resamples == 0 || convs.is_empty() {
        return;
    }
    let (mut f1s, mut scam_f1s, mut aucs, mut fprs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..resamples {
        let sample: Vec<(&Conversation, &ConversationScore)> =
            (0..convs.len()).map(|_| convs[rng.random_range(0..convs.len())]).collect();
        f1s.extend(macro_f1(&sample));
        let (gold, risk, flagged) = detection_inputs(&sample);
        let b = binary_metrics(&gold, &flagged);
        scam_f1s.extend(b.f1);
        fprs.extend(b.fpr);
        aucs.extend(roc_auc(&risk, &gold));
    }
    if m.stage_macro_f1.value.is_some() {
        m.stage_macro_f1.ci95 = percentile_ci(f1s);
    }
    if let Some(d) = m.detection.as_mut() {
        if d.scam_f1.value.is_some() {
            d.scam_f1.ci95 = percentile_ci(scam_f1s);
        }
        if d.benign_fpr.value.is_some() {
            d.benign_fpr.ci95 = percentile_ci(fprs);
        }
        if d.roc_auc.value.is_some() {
            d.roc_auc.ci95 = percentile_ci(aucs);
        }
    }
}

/// Evaluates `scores` (one per conversation, same order) against the gold labels of
/// `convs`, with `resamples` seeded bootstrap resamples for the intervals.
pub fn evaluate(convs: &[Conversation], scores: &[ConversationScore], resamples: usize, seed: u64) -> EvalReport {
    let pairs: Vec<(&Conversation, &ConversationScore)> = convs.iter().zip(scores).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut overall = slice(&pairs);
    add_intervals(&mut overall, &pairs, resamples, &mut rng);
    let mut group = |key: &dyn Fn(&Conversation) -> Option<String>| {
        let mut groups: BTreeMap<String, Vec<(&Conversation, &ConversationScore)>> = BTreeMap::new();
        for p in &pairs {
            if let Some(k) = key(p.0) {
                groups.entry(k).or_default().push(*p);
            }
        }
        groups
            .into_iter()
            .map(|(k, v)| {
                let mut m = slice(&v);
                add_intervals(&mut m, &v, resamples, &mut rng);
                (k, m)
            })
            .collect::<BTreeMap<_, _>>()
    };
    let by_lang = group(&|c| Some(c.lang.clone().unwrap_or_else(|| "?".into())));
    let by_scam_type = group(&|c| c.scam_type.map(|t| t.as_str().to_string()));
    EvalReport { overall, by_lang, by_scam_type, bootstrap_resamples: resamples, seed }
}

/// The shape conversations are evaluated in: as given, or as the same chats arrive when
/// pasted (the labels follow, see [`crate::chat::shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalShape {
    /// One message per turn, as given.
    #[default]
    Turns,
    /// The whole chat pasted as one message of `Name: text` lines (read back into turns
    /// the way any input is).
    Block,
    /// The texts joined by spaces: no names, no line breaks (OCR of a screenshot).
    Flat,
}

impl EvalShape {
    /// `convs` in this shape, normalised as input is when read.
    pub fn apply(self, convs: Vec<Conversation>, seed: u64) -> Vec<Conversation> {
        use crate::chat::shape;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        match self {
            EvalShape::Turns => convs,
            EvalShape::Block => convs.iter().map(|c| shape::normalize(shape::as_named_block(c, &mut rng))).collect(),
            EvalShape::Flat => convs.iter().map(|c| shape::normalize(shape::as_flat(c))).collect(),
        }
    }
}

/// Settings of an evaluation run, recorded in its `metrics.json`.
pub struct EvalSettings<'a> {
    /// The inputs, as named on the command line.
    pub inputs: &'a [String],
    /// The head directory, as it should appear in reports.
    pub head: &'a Path,
    /// Decision threshold (default: the head's).
    pub threshold: Option<f32>,
    /// Bootstrap resamples for the intervals.
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// The shape the conversations were evaluated in.
    pub shape: EvalShape,
    /// Embedding cache directory (throughput then measures cache hits, not the encoder).
    pub cache_dir: Option<&'a Path>,
    /// Progress bar on stderr.
    pub progress: bool,
}

/// Everything `eval` writes: `metrics.json`, `predictions.jsonl`, `report.md`, `report.html`.
pub struct EvalRun {
    /// The report with the run's settings, throughput and device.
    pub metrics: serde_json::Value,
    /// The verdict on every conversation.
    pub scores: Vec<ConversationScore>,
    /// The Markdown report.
    pub markdown: String,
    /// The self-contained HTML report.
    pub html: String,
}

/// Scores labelled `convs` with `classifier` and measures the verdicts.
pub fn run(classifier: &Classifier, convs: &[Conversation], s: &EvalSettings) -> Result<EvalRun> {
    let started = std::time::Instant::now();
    let embedded = crate::corpus::embed(classifier.encoder(), convs, s.cache_dir, s.progress)?;
    let scores = classifier.score_embedded(convs, &embedded, &ScoreOptions { threshold: s.threshold, me: None })?;
    let elapsed = started.elapsed().as_secs_f64();
    let report = evaluate(convs, &scores, s.bootstrap, s.seed);
    let messages: usize = convs.iter().map(|c| c.messages.len()).sum();
    let threshold = s.threshold.unwrap_or(classifier.card().threshold);
    let metrics = serde_json::json!({
        "inputs": s.inputs,
        "head": s.head.display().to_string(),
        "threshold": threshold,
        "shape": s.shape,
        "device": crate::device::describe(classifier.encoder().device()),
        "precision": classifier.encoder().precision().as_str(),
        "throughput": {"embedding_cache": s.cache_dir.is_some(), "seconds": elapsed, "messages_per_s": messages as f64 / elapsed, "conversations_per_s": convs.len() as f64 / elapsed},
        "report": report,
    });
    let context = format!("Inputs: {}. Shape: {:?}. Head: {}. Threshold {threshold:.3}.", s.inputs.join(", "), s.shape, s.head.display());
    let markdown = crate::report::markdown(&report, "scamstage evaluation", &context);
    let html = crate::report::html(&report, "scamstage evaluation", &context);
    Ok(EvalRun { metrics, scores, markdown, html })
}

impl EvalRun {
    /// Writes the four files into `dir` (created if needed), each atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        write_atomic(dir, "metrics.json", |p| Ok(std::fs::write(p, serde_json::to_vec_pretty(&self.metrics)?)?))?;
        let mut predictions = String::new();
        for score in &self.scores {
            predictions += &serde_json::to_string(score)?;
            predictions.push('\n');
        }
        write_atomic(dir, "predictions.jsonl", |p| Ok(std::fs::write(p, &predictions)?))?;
        write_atomic(dir, "report.md", |p| Ok(std::fs::write(p, &self.markdown)?))?;
        write_atomic(dir, "report.html", |p| Ok(std::fs::write(p, &self.html)?))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Message;
    use crate::classifier::{MessageScore, StageProbs};
    use crate::taxonomy::ScamType;

    fn conv(id: &str, lang: &str, scam: bool, gold: &[Stage]) -> Conversation {
        Conversation {
            id: id.into(),
            lang: Some(lang.into()),
            label: Some(if scam { Label::Scam } else { Label::Benign }),
            scam_type: Some(if scam { ScamType::RomanceMoney } else { ScamType::None }),
            messages: gold.iter().map(|&s| Message { sender: "them".into(), text: "x".into(), ts: None, stage: Some(s) }).collect(),
        }
    }

    fn score(id: &str, risk: f32, pred: &[Stage], first_flag: Option<usize>) -> ConversationScore {
        ConversationScore {
            id: id.into(),
            lang: None,
            risk,
            scam: risk >= 0.5,
            stage: pred.last().copied().filter(|_| risk >= 0.5).unwrap_or(Stage::None),
            scam_type: ScamType::None,
            first_flag,
            messages: pred
                .iter()
                .enumerate()
                .map(|(index, &stage)| MessageScore { index, sender: "them".into(), stage, probs: StageProbs([0.0; 7]) })
                .collect(),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn hand_computed_small_corpus() {
        use Stage::*;
        let convs = vec![
            conv("s1", "en", true, &[Contact, Rapport, Extraction]),
            conv("s2", "en", true, &[Contact, Pitch]),
            conv("b1", "zh", false, &[None, None]),
            conv("b2", "zh", false, &[None]),
        ];
        let scores = vec![
            score("s1", 0.9, &[Contact, Rapport, Pitch], Some(1)),
            score("s2", 0.4, &[Contact, Pitch], Option::None),
            score("b1", 0.6, &[None, Contact], Some(1)),
            score("b2", 0.1, &[None], Option::None),
        ];
        let r = evaluate(&convs, &scores, 0, 1);
        let d = r.overall.detection.as_ref().unwrap();
        assert_eq!((d.at_threshold.tp, d.at_threshold.fp, d.at_threshold.tn, d.at_threshold.fn_), (1, 1, 1, 1));
        assert_eq!(d.scam_f1.value, Some(0.5));
        assert_eq!(d.benign_fpr.value, Some(0.5));
        // Pairs (scam, benign): 0.9>0.6, 0.9>0.1, 0.4<0.6, 0.4>0.1 → 3/4.
        assert_eq!(d.roc_auc.value, Some(0.75));
        // Furthest stage: s1 gold extraction vs pitch ✗, s2 gold pitch vs none ✗ (not flagged), b1 ✗, b2 ✓.
        assert_eq!(d.furthest_stage_accuracy.value, Some(0.25));
        assert_eq!(d.flag_delay_mean.value, Some(1.0));
        assert_eq!(d.scams_missed, 1);
        // Messages: 8; correct 6 (s1: C,R; s2: C,P; b1: N; b2: N).
        let stages = r.overall.stages.as_ref().unwrap();
        assert_eq!(stages.accuracy, Some(0.75));
        assert_eq!(stages.per_class[Extraction.index()].support, 1);
        assert_eq!(stages.per_class[Recruitment.index()].support, 0, "a class with no support");
        assert_eq!(r.by_lang.len(), 2);
    }

    #[test]
    fn single_class_corpus_reports_null_auc_with_a_reason() {
        let convs = vec![conv("b1", "th", false, &[Stage::None]), conv("b2", "th", false, &[Stage::None])];
        let scores = vec![score("b1", 0.2, &[Stage::None], None), score("b2", 0.7, &[Stage::None], Some(0))];
        let r = evaluate(&convs, &scores, 50, 3);
        let d = r.overall.detection.as_ref().unwrap();
        assert_eq!(d.roc_auc.value, None);
        assert!(d.roc_auc.reason.as_deref().unwrap().contains("one class"));
        assert_eq!(d.pr_auc.value, None);
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("NaN") && !json.contains("nan"), "{json}");
        assert!(json.contains(r#""roc_auc":{"value":null,"reason":"undefined: only one class present"}"#), "{json}");
    }
}
