//! Training the stage head on labelled conversations from cached message embeddings:
//! seeded, with a dev split per language for model selection, calibration and threshold.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use candle_core::{DType, Device, Tensor, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::chat::Conversation;
use crate::classifier::{features, head_probs, pad_batch, sender_roles, verdict};
use crate::decode::Transitions;
use crate::head::{seeded_init, HeadCard, HeadConfig, StageHead, CONVERSATION_CLASSES};
use crate::metrics::{binary_metrics, class_report, roc_auc};
use crate::risk::{choose_threshold, Calibration, FprLimit};
use crate::taxonomy::{Label, ScamType, Stage};

/// Training settings.
#[derive(Debug, Clone, Serialize)]
pub struct TrainOptions {
    /// Seed for the split, initialisation, shuffling and dropout.
    pub seed: u64,
    /// Passes over the training split.
    pub epochs: usize,
    /// AdamW learning rate of the first epoch, cosine-decayed to 5 % of it by the last.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Conversations per step.
    pub batch_size: usize,
    /// Width of the head.
    pub hidden: usize,
    /// Dropout probability.
    pub dropout: f32,
    /// Fraction of each language's conversations held out as the dev split.
    pub dev_fraction: f64,
    /// Weight of the conversation-class loss.
    pub conversation_loss_weight: f64,
    /// Largest false-positive rate on dev benign conversations for the threshold.
    pub max_fpr: f64,
    /// Largest false-positive rate on the dev benign conversations of the imported real
    /// corpora together (see [`source_of`]) for the threshold.
    pub max_real_fpr: f64,
    /// Share of conversations that also train in other input shapes (see [`with_shapes`]).
    pub shape_share: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            epochs: 24,
            learning_rate: 3e-3,
            weight_decay: 1e-2,
            batch_size: 32,
            hidden: 128,
            dropout: 0.25,
            dev_fraction: 0.2,
            conversation_loss_weight: 1.0,
            max_fpr: 0.04,
            max_real_fpr: 0.01,
            shape_share: 0.5,
        }
    }
}

/// A labelled conversation ready for training.
pub struct Example<'a> {
    /// The conversation.
    pub conv: &'a Conversation,
    /// Sender roles (1.0 for the other party).
    pub roles: Vec<f32>,
    /// Head input rows.
    pub features: Vec<Vec<f32>>,
    /// Gold stage per message; `None` where the data gives none (real scams without stage
    /// labels), masked out of the stage loss and the stage metrics.
    pub stages: Vec<Option<Stage>>,
}

impl Example<'_> {
    fn is_scam(&self) -> bool {
        self.conv.label == Some(Label::Scam)
    }
}

/// Checks that every conversation carries the labels training needs: a `label` on every
/// conversation; per-message stages may be missing (the stage loss is masked there), but a
/// stage must agree with the label (benign ⇒ `none`, scam ⇒ never `none`).
pub fn check_labelled(convs: &[Conversation]) -> Result<()> {
    for c in convs {
        let Some(label) = c.label else { bail!("conversation {:?}: missing `label`", c.id) };
        let wrong = |s: Stage| (label == Label::Benign) == s.is_scam();
        if let Some(i) = c.messages.iter().position(|m| m.stage.is_some_and(wrong)) {
            bail!("conversation {:?}: messages[{i}] has stage {:?}, which a {label:?} conversation cannot have", c.id, c.messages[i].stage);
        }
    }
    Ok(())
}

/// The source a conversation comes from: the corpus named before `:` in an imported id
/// (`byu-chitchat:…`), else `authored`.
pub fn source_of(id: &str) -> &str {
    id.split_once(':').map_or("authored", |(source, _)| source)
}

/// Builds examples from conversations and their message embeddings.
pub fn examples<'a>(convs: &'a [Conversation], embedded: &[Vec<Vec<f32>>]) -> Vec<Example<'a>> {
    convs
        .iter()
        .zip(embedded)
        .map(|(c, e)| {
            let roles = sender_roles(c, None);
            Example {
                conv: c,
                features: features(&roles, e),
                roles,
                stages: if c.label == Some(Label::Benign) && source_of(&c.id) != "authored" {
                    // Real benign chats teach the conversation output what ordinary chat
                    // looks like; their thousands of `none` messages would swamp the stage
                    // output, which only the authored chats can teach the script's stages.
                    vec![None; c.messages.len()]
                } else {
                    c.messages.iter().map(|m| m.stage.or((c.label == Some(Label::Benign)).then_some(Stage::None))).collect()
                },
            }
        })
        .collect()
}

/// Whether a conversation falls in the dev split: a seeded hash of its original's id (a
/// shape variant `id~shape` goes with `id`), so the split is stable under reordering and
/// additions and no variant of a dev conversation is trained on.
pub fn in_dev(id: &str, seed: u64, fraction: f64) -> bool {
    let original = id.split_once(VARIANT_MARK).map_or(id, |(o, _)| o);
    let h = Sha256::digest(format!("{seed}:{original}").as_bytes());
    let x = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
    (x as f64 / u64::MAX as f64) < fraction
}

/// What separates a shape variant's id from its original's.
pub const VARIANT_MARK: char = '~';

/// The conversations training sees: every conversation, plus — for a seeded `share` of
/// them — one or two variants in the shapes real input takes (pasted blocks with and
/// without names, OCR, flattened, email threads, merged turns, names dropped; see
/// [`crate::chat::shape::augment`]), each normalised as input is when scored.
/// A conversation's variants depend only on the seed and its id, so every head trained
/// with the same seed (each leave-one-out fold, the default head) sees the same ones and
/// their embeddings are computed once.
pub fn with_shapes(convs: &[Conversation], share: f64, seed: u64) -> Vec<Conversation> {
    use rand::Rng;
    let mut out = Vec::with_capacity(convs.len() * 2);
    for c in convs {
        out.push(c.clone());
        let h = Sha256::digest(format!("{seed}:shapes:{}", c.id).as_bytes());
        let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from_le_bytes(h[..8].try_into().expect("8 bytes")));
        if rng.random::<f64>() < share {
            out.extend(crate::chat::shape::augment(c, &mut rng).into_iter().map(crate::chat::shape::normalize));
        }
    }
    out
}

/// Per-stage loss weights: inverse square root of frequency, normalised to mean 1.
fn class_weights(train: &[&Example]) -> Vec<f32> {
    let mut counts = [1f32; 7];
    for e in train {
        for s in e.stages.iter().flatten() {
            counts[s.index()] += 1.0;
        }
    }
    let w: Vec<f32> = counts.iter().map(|c| 1.0 / c.sqrt()).collect();
    let mean = w.iter().sum::<f32>() / w.len() as f32;
    w.iter().map(|x| x / mean).collect()
}

struct Batch {
    x: Tensor,
    stage_targets: Tensor,
    stage_weights: Tensor,
    conversation_targets: Tensor,
    conversation_weights: Tensor,
}

/// Gold conversation class: benign, or the scam type (romance-investment when a scam
/// carries none).
fn conversation_class(e: &Example) -> usize {
    if !e.is_scam() {
        return 0;
    }
    let t = e.conv.scam_type.filter(|&t| t != ScamType::None).unwrap_or(ScamType::RomanceInvestment);
    CONVERSATION_CLASSES.iter().position(|&c| c == t).unwrap_or(1)
}

/// The first prefix of a conversation whose class can be learnt. A scam's prefixes that hold
/// only its hook (`contact`: "hi, is this Tom?") read like any first message of an ordinary
/// chat, which the real benign corpora train towards benign; so a scam trains from its first
/// message past `contact` (its last message when it never gets there; its first when it has
/// no stage labels). Benign conversations train from the first message.
fn first_telling_prefix(e: &Example) -> usize {
    if !e.is_scam() || e.stages.iter().all(Option::is_none) {
        return 0;
    }
    e.stages
        .iter()
        .position(|s| s.is_some_and(|s| s != Stage::Contact && s != Stage::None))
        .unwrap_or(e.stages.len().saturating_sub(1))
}

fn make_batch(items: &[&Example], weights: &[f32], width: usize, device: &Device) -> Result<Batch> {
    let seqs: Vec<Vec<Vec<f32>>> = items.iter().map(|e| e.features.clone()).collect();
    let (x, _) = pad_batch(&seqs, width, device)?;
    let len = x.dim(1)?;
    let mut targets = Vec::with_capacity(items.len() * len);
    let mut w = Vec::with_capacity(items.len() * len);
    for e in items {
        for i in 0..len {
            match e.stages.get(i).copied().flatten() {
                Some(s) => {
                    targets.push(s.index() as u32);
                    w.push(weights[s.index()]);
                }
                None => {
                    targets.push(0);
                    w.push(0.0);
                }
            }
        }
    }
    // Every prefix from the first one that can tell is trained towards the conversation's
    // class; each conversation weighs the same whatever its length.
    let mut conv_targets = Vec::with_capacity(items.len() * len);
    let mut conv_weights = Vec::with_capacity(items.len() * len);
    for e in items {
        let class = conversation_class(e) as u32;
        let n = e.stages.len();
        let from = first_telling_prefix(e);
        for i in 0..len {
            conv_targets.push(class);
            conv_weights.push(if (from..n).contains(&i) { 1.0 / (n - from) as f32 } else { 0.0 });
        }
    }
    Ok(Batch {
        x,
        stage_targets: Tensor::from_vec(targets, (items.len() * len,), device)?,
        stage_weights: Tensor::from_vec(w, (items.len() * len,), device)?,
        conversation_targets: Tensor::from_vec(conv_targets, (items.len() * len,), device)?,
        conversation_weights: Tensor::from_vec(conv_weights, (items.len() * len,), device)?,
    })
}

/// Shuffles `order` and cuts it into batches of conversations of similar length (sorted
/// within windows of 32 batches, then the batches shuffled), so that short conversations —
/// single messages, SMS, posts — are not padded to the longest chat in the data.
fn length_bucketed_batches<'e, 'a>(order: &'e mut [&'a Example<'a>], batch: usize, rng: &mut rand::rngs::StdRng) -> Vec<&'e [&'a Example<'a>]> {
    order.shuffle(rng);
    for window in order.chunks_mut(batch * 32) {
        window.sort_by_key(|e| e.stages.len());
    }
    let mut batches: Vec<&[&Example]> = order.chunks(batch).collect();
    batches.shuffle(rng);
    batches
}

/// Weighted mean cross-entropy of `logits` `[n, k]` against `targets` `[n]`.
fn weighted_ce(logits: &Tensor, targets: &Tensor, weights: &Tensor) -> Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let picked = logp.gather(&targets.unsqueeze(1)?, 1)?.squeeze(1)?;
    let total = weights.sum_all()?.clamp(1e-6, f64::INFINITY)?;
    Ok((picked * weights)?.sum_all()?.neg()?.broadcast_div(&total)?)
}

/// Dev-split metrics used for model selection and reported in the card.
#[derive(Debug, Clone, Serialize)]
pub struct DevMetrics {
    /// Message-level stage macro-F1.
    pub stage_macro_f1: f64,
    /// Message-level stage macro-F1 per language.
    pub stage_macro_f1_by_lang: BTreeMap<String, f64>,
    /// Conversation scam F1 at the chosen threshold.
    pub scam_f1: Option<f64>,
    /// False-positive rate on benign conversations at the chosen threshold.
    pub benign_fpr: Option<f64>,
    /// Conversations and messages in the dev split.
    pub conversations: usize,
    /// Messages in the dev split.
    pub messages: usize,
}

/// Message-level macro-F1 of decoded timelines, overall and per language.
fn stage_f1(dev: &[&Example], decoded: &[Vec<Stage>]) -> (f64, BTreeMap<String, f64>) {
    let mut by_lang: BTreeMap<String, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    let (mut g_all, mut p_all) = (Vec::new(), Vec::new());
    for (e, path) in dev.iter().zip(decoded) {
        let entry = by_lang.entry(e.conv.lang.clone().unwrap_or_else(|| "?".into())).or_default();
        for (g, p) in e.stages.iter().zip(path).filter_map(|(g, p)| g.map(|g| (g, p))) {
            entry.0.push(g.index());
            entry.1.push(p.index());
            g_all.push(g.index());
            p_all.push(p.index());
        }
    }
    let labels = Stage::names();
    let overall = class_report(&g_all, &p_all, &labels).macro_f1.unwrap_or(0.0);
    let per = by_lang.into_iter().map(|(l, (g, p))| (l, class_report(&g, &p, &labels).macro_f1.unwrap_or(0.0))).collect();
    (overall, per)
}

/// A trained head: its weights (safetensors bytes) and card.
pub struct Trained {
    /// `head.safetensors` contents.
    pub weights: Vec<u8>,
    /// `card.json` contents.
    pub card: HeadCard,
}

impl Trained {
    /// Writes `head.safetensors` and `card.json` into `dir` (created if needed), atomically.
    pub fn save(&self, dir: &std::path::Path) -> Result<()> {
        use anyhow::Context;
        use crate::head::{HEAD_CARD, HEAD_WEIGHTS};
        use crate::model::convert::write_atomic;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        write_atomic(dir, HEAD_WEIGHTS, |p| Ok(std::fs::write(p, &self.weights)?))?;
        write_atomic(dir, HEAD_CARD, |p| Ok(std::fs::write(p, serde_json::to_vec_pretty(&self.card)?)?))?;
        Ok(())
    }
}

/// Trains a head on `convs` (with message embeddings `embedded`) and returns it with its
/// card. `log` receives one line per epoch.
pub fn train(
    convs: &[Conversation],
    embedded: &[Vec<Vec<f32>>],
    encoder_name: &str,
    data_description: serde_json::Value,
    options: &TrainOptions,
    log: &dyn Fn(&str),
) -> Result<Trained> {
    check_labelled(convs)?;
    let device = Device::Cpu;
    let all = examples(convs, embedded);
    let (dev, train): (Vec<&Example>, Vec<&Example>) = all.iter().partition(|e| in_dev(&e.conv.id, options.seed, options.dev_fraction));
    if train.is_empty() || dev.is_empty() {
        bail!("need conversations in both the training and dev splits (got {} and {})", train.len(), dev.len());
    }
    let embed_dim = all[0].features[0].len() - 1;
    let config = HeadConfig { embed_dim, hidden: options.hidden, classes: CONVERSATION_CLASSES.len() };
    // Transitions from fully labelled conversations only.
    let labelled: Vec<Vec<Stage>> = train.iter().filter_map(|e| e.stages.iter().copied().collect::<Option<Vec<_>>>()).collect();
    let transitions = Transitions::estimate(labelled.iter().map(Vec::as_slice), 0.5);
    let weights = class_weights(&train);

    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let head = StageHead::new(vb, config)?;
    seeded_init(&varmap, options.seed)?;
    let mut opt = AdamW::new(
        varmap.all_vars(),
        ParamsAdamW { lr: options.learning_rate, weight_decay: options.weight_decay, ..Default::default() },
    )?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(options.seed);
    let provisional = HeadCard {
        labels: Stage::ALL.to_vec(),
        conversation_classes: CONVERSATION_CLASSES.to_vec(),
        encoder: encoder_name.to_string(),
        head: config,
        calibration: Calibration::default(),
        threshold: 0.5,
        transitions: transitions.clone(),
        training: serde_json::Value::Null,
        dev_metrics: serde_json::Value::Null,
    };
    let dev_seqs: Vec<Vec<Vec<f32>>> = dev.iter().map(|e| e.features.clone()).collect();
    let dev_gold: Vec<bool> = dev.iter().map(|e| e.is_scam()).collect();

    let mut best: Option<(f64, usize, Vec<u8>)> = None;
    let mut order: Vec<&Example> = train.clone();
    for epoch in 1..=options.epochs {
        opt.set_learning_rate(cosine_rate(options.learning_rate, epoch, options.epochs));
        let mut total = 0.0;
        for chunk in length_bucketed_batches(&mut order, options.batch_size, &mut rng) {
            let b = make_batch(chunk, &weights, config.features(), &device)?;
            let out = head.forward(&b.x, Some((options.dropout, &mut rng)))?;
            let stage_loss = weighted_ce(&out.stage_logits.flatten_to(1)?, &b.stage_targets, &b.stage_weights)?;
            let conv_loss =
                weighted_ce(&out.conversation_logits.flatten_to(1)?, &b.conversation_targets, &b.conversation_weights)?;
            let loss = (stage_loss + (conv_loss * options.conversation_loss_weight)?)?;
            opt.backward_step(&loss)?;
            total += loss.to_scalar::<f32>()? as f64 * chunk.len() as f64;
        }
        let probs = head_probs(&head, &dev_seqs, &device)?;
        let decoded: Vec<Vec<Stage>> = dev
            .iter()
            .zip(&probs)
            .map(|(e, p)| verdict(e.conv, &e.roles, p, &provisional, 0.5).messages.iter().map(|m| m.stage).collect())
            .collect();
        let (f1, _) = stage_f1(&dev, &decoded);
        let risk: Vec<f32> = probs.iter().map(|p| p.conversation.last().map_or(0.0, |c| 1.0 - c[0])).collect();
        let auc = roc_auc(&risk, &dev_gold).unwrap_or(0.0);
        // Select on both tasks: message stages and conversation ranking.
        let selection = (f1 + auc) / 2.0;
        log(&format!(
            "epoch {epoch:>3}  loss {:.4}  dev stage macro-F1 {f1:.4}  dev scam ROC-AUC {auc:.4}",
            total / train.len() as f64
        ));
        if best.as_ref().is_none_or(|b| selection > b.0) {
            let tmp = tempfile::NamedTempFile::new()?;
            varmap.save(tmp.path())?;
            best = Some((selection, epoch, std::fs::read(tmp.path())?));
        }
    }
    let (_, best_epoch, weights_bytes) = best.expect("at least one epoch");
    let head = StageHead::from_bytes(weights_bytes.clone(), config, &device)?;

    // Calibrate risk and choose the threshold on the dev split.
    let probs = head_probs(&head, &dev_seqs, &device)?;
    let raw: Vec<f32> = probs.iter().map(|p| p.conversation.last().map_or(0.0, |c| 1.0 - c[0])).collect();
    let gold = dev_gold;
    let calibration = Calibration::fit(&raw, &gold);
    let risks: Vec<f32> = raw.iter().map(|&s| calibration.apply(s)).collect();
    // One cap over every real corpus's dev part together: per corpus, a dev part of a few
    // dozen benign chats would make 1 % mean "none at all" and the threshold chase noise.
    let real = dev.iter().map(|e| source_of(&e.conv.id) != "authored").collect();
    let limits = [
        FprLimit { members: vec![true; dev.len()], max_fpr: options.max_fpr },
        FprLimit { members: real, max_fpr: options.max_real_fpr },
    ];
    let threshold = choose_threshold(&risks, &gold, &limits);

    // Weigh the transition scores against the messages' stage probabilities: the weight
    // (1 first, so ties keep the estimated scores) that decodes the dev split best.
    let decode = |card: &HeadCard| {
        let verdicts: Vec<_> = dev.iter().zip(&probs).map(|(e, p)| verdict(e.conv, &e.roles, p, card, threshold)).collect();
        let decoded: Vec<Vec<Stage>> = verdicts.iter().map(|v| v.messages.iter().map(|m| m.stage).collect()).collect();
        let (f1, by_lang) = stage_f1(&dev, &decoded);
        (f1, by_lang, verdicts)
    };
    let estimated = provisional.transitions.clone();
    let mut card = HeadCard { calibration, threshold, ..provisional };
    let (mut transition_weight, mut decoded) = (1.0, decode(&card));
    for weight in TRANSITION_WEIGHTS {
        let candidate = HeadCard { transitions: estimated.weighted(weight), ..card.clone() };
        let result = decode(&candidate);
        log(&format!("transition weight {weight}: dev stage macro-F1 {:.4} (weight {transition_weight}: {:.4})", result.0, decoded.0));
        if result.0 > decoded.0 {
            (transition_weight, decoded, card) = (weight, result, candidate);
        }
    }
    let (stage_macro_f1, by_lang, verdicts) = decoded;
    let bin = binary_metrics(&gold, &verdicts.iter().map(|v| v.scam).collect::<Vec<_>>());
    let dev_metrics = DevMetrics {
        stage_macro_f1,
        stage_macro_f1_by_lang: by_lang,
        scam_f1: bin.f1,
        benign_fpr: bin.fpr,
        conversations: dev.len(),
        messages: dev.iter().map(|e| e.stages.len()).sum(),
    };
    let training = serde_json::json!({
        "options": options,
        "best_epoch": best_epoch,
        "transition_weight": transition_weight,
        "train_conversations": train.len(),
        "train_messages": train.iter().map(|e| e.stages.len()).sum::<usize>(),
        "data": data_description,
    });
    let card = HeadCard { training, dev_metrics: serde_json::to_value(&dev_metrics)?, ..card };
    Ok(Trained { weights: weights_bytes, card })
}

/// Transition weights tried after training, besides 1 (see [`Transitions::weighted`]).
const TRANSITION_WEIGHTS: [f32; 4] = [0.75, 0.5, 0.35, 0.25];

/// The learning rate of `epoch` (1-based) of `epochs`: cosine decay from `peak` to 5 % of it,
/// so that the last epochs settle rather than jump between dev optima.
fn cosine_rate(peak: f64, epoch: usize, epochs: usize) -> f64 {
    let progress = if epochs > 1 { (epoch - 1) as f64 / (epochs - 1) as f64 } else { 0.0 };
    let floor = 0.05 * peak;
    floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// The whole `train` job on files: reads the labelled `data` (every problem reported to
/// `on_problem`, any one an error), adds the shape variants, embeds every message through the
/// cache in `cache_dir` and trains the head for the encoder `encoder_name`.
pub fn train_on_files(
    encoder: &crate::encoder::Encoder,
    encoder_name: &str,
    data: &[String],
    format: crate::chat::InputFormat,
    options: &TrainOptions,
    cache_dir: &std::path::Path,
    on_problem: &mut dyn FnMut(&crate::chat::ParseError),
    log: &dyn Fn(&str),
    progress: bool,
) -> Result<Trained> {
    let originals = crate::corpus::read_labelled(data, format, on_problem)?;
    let convs = with_shapes(&originals, options.shape_share, options.seed);
    let embedded = crate::corpus::embed(encoder, &convs, Some(cache_dir), progress)?;
    let description = describe_data(data, &convs)?;
    train(&convs, &embedded, encoder_name, description, options, log)
}

/// Describes training data for the card: the inputs, a sha256 over the conversations as
/// read, and counts per language.
pub fn describe_data(inputs: &[String], convs: &[Conversation]) -> Result<serde_json::Value> {
    let mut h = Sha256::new();
    let mut langs: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for c in convs {
        h.update(serde_json::to_vec(c)?);
        let e = langs.entry(c.lang.clone().unwrap_or_else(|| "?".into())).or_default();
        e.0 += 1;
        e.1 += c.messages.len();
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(serde_json::json!({
        "inputs": inputs,
        "sha256": digest,
        "conversations": convs.len(),
        "messages": convs.iter().map(|c| c.messages.len()).sum::<usize>(),
        "by_lang": langs.into_iter().map(|(l, (c, m))| (l, serde_json::json!({"conversations": c, "messages": m}))).collect::<serde_json::Map<_, _>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::cosine_rate;

    #[test]
    fn the_learning_rate_decays_from_its_peak_to_five_percent() {
        let rates: Vec<f64> = (1..=24).map(|e| cosine_rate(3e-3, e, 24)).collect();
        assert!((rates[0] - 3e-3).abs() < 1e-12 && (rates[23] - 1.5e-4).abs() < 1e-12, "{rates:?}");
        assert!(rates.windows(2).all(|w| w[1] < w[0]), "{rates:?}");
        assert_eq!(cosine_rate(3e-3, 1, 1), 3e-3);
    }
}
