//! The stage head: a small causal sequence model over a conversation's message embeddings.
//!
//! Each message becomes `[embedding ‖ sender is the other party]`, is projected, and runs
//! through a GRU so that its stage sees every earlier message and who sent what; the
//! stage logits read the GRU state and the projected message. A second output reads the
//! running mean and maximum of those states over the conversation so far and says whether
//! the conversation, up to that message, is a scam and of which type. Both are causal, so
//! every prefix of a conversation gets its own verdict. Cost is linear in its length.

use std::path::Path;

use anyhow::{Context, Result};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::rnn::{gru, GRUConfig, GRU, RNN};
use candle_nn::{linear, Linear, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::taxonomy::{ScamType, Stage};

/// Conversation classes of the conversation output, in logit order (`None` = benign).
pub const CONVERSATION_CLASSES: [ScamType; 9] = ScamType::ALL;

/// Shape of the head.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeadConfig {
    /// Width of the message embeddings.
    pub embed_dim: usize,
    /// Width of the projection and the GRU state.
    pub hidden: usize,
    /// Conversation classes (benign first); heads from before the wider taxonomy have 4.
    #[serde(default = "legacy_classes")]
    pub classes: usize,
}

fn legacy_classes() -> usize {
    4
}

impl HeadConfig {
    /// Features per message: the embedding plus the sender flag.
    pub fn features(&self) -> usize {
        self.embed_dim + 1
    }
}

/// Outputs of a forward pass over a padded batch.
pub struct HeadOutput {
    /// Stage logits `[batch, len, 7]`.
    pub stage_logits: Tensor,
    /// Conversation-class logits of every prefix `[batch, len, classes]`.
    pub conversation_logits: Tensor,
}

/// The stage head's layers.
pub struct StageHead {
    input: Linear,
    gru: GRU,
    stage_out: Linear,
    conversation_out: Linear,
    config: HeadConfig,
}

/// Inverted dropout with a seeded generator (candle's CPU RNG cannot be seeded).
pub fn dropout(x: &Tensor, p: f32, rng: &mut impl Rng) -> Result<Tensor> {
    let keep: Vec<f32> = (0..x.elem_count())
        .map(|_| if rng.random::<f32>() < p { 0.0 } else { 1.0 / (1.0 - p) })
        .collect();
    Ok((x * Tensor::from_vec(keep, x.shape(), x.device())?)?)
}

impl StageHead {
    /// Builds the layers from `vb` (a var map while training, saved weights otherwise).
    pub fn new(vb: VarBuilder, config: HeadConfig) -> Result<Self> {
        let h = config.hidden;
        Ok(Self {
            input: linear(config.features(), h, vb.pp("input"))?,
            gru: gru(h, h, GRUConfig::default(), vb.pp("gru"))?,
            stage_out: linear(2 * h, Stage::ALL.len(), vb.pp("stage_out"))?,
            conversation_out: linear(4 * h, config.classes, vb.pp("conversation_out"))?,
            config,
        })
    }

    /// Loads trained weights from safetensors bytes.
    pub fn from_bytes(bytes: Vec<u8>, config: HeadConfig, device: &Device) -> Result<Self> {
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, device)?;
        Self::new(vb, config).context("loading the stage head weights")
    }

    /// Loads trained weights from a safetensors file.
    pub fn load(path: &Path, config: HeadConfig, device: &Device) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_bytes(bytes, config, device)
    }

    /// The head's shape.
    pub fn config(&self) -> HeadConfig {
        self.config
    }

    /// Runs a padded batch `x` `[batch, len, features]` (padding after the real
    /// messages). `drop` applies dropout while training.
    pub fn forward(&self, x: &Tensor, drop: Option<(f32, &mut rand::rngs::StdRng)>) -> Result<HeadOutput> {
        let mut proj = self.input.forward(x)?.gelu_erf()?;
        let mut rng = drop;
        if let Some((p, r)) = rng.as_mut() {
            proj = dropout(&proj, *p, *r)?;
        }
        let states = self.gru.seq(&proj)?;
        // Stacked by hand: candle's GRU::states_to_tensor concatenates along time.
        let mut hidden = Tensor::stack(&states.iter().map(|s| s.h().clone()).collect::<Vec<_>>(), 1)?;
        if let Some((p, r)) = rng.as_mut() {
            hidden = dropout(&hidden, *p, *r)?;
        }
        let joint = Tensor::cat(&[&hidden, &proj], D::Minus1)?;
        let stage_logits = self.stage_out.forward(&joint)?;

        // Running mean and maximum over each prefix (padding comes last, so real
        // positions never see it). Step by step rather than `cumsum`, whose n×n
        // triangular matrix made memory grow with the square of the length.
        let len = joint.dim(1)?;
        let first = joint.narrow(1, 0, 1)?;
        let (mut sum, mut running) = (first.clone(), first.clone());
        let (mut means, mut maxes) = (vec![first.clone()], vec![first]);
        for t in 1..len {
            let step = joint.narrow(1, t, 1)?;
            sum = (sum + &step)?;
            running = running.maximum(&step)?;
            means.push((&sum / (t + 1) as f64)?);
            maxes.push(running.clone());
        }
        let mean = Tensor::cat(&means, 1)?;
        let max = Tensor::cat(&maxes, 1)?;
        let conversation_logits = self.conversation_out.forward(&Tensor::cat(&[&mean, &max], D::Minus1)?)?;
        Ok(HeadOutput { stage_logits, conversation_logits })
    }
}

/// Re-initialises every variable of `varmap` from a seeded generator so that training is
/// reproducible: weights uniform in ±1/√fan_in, biases zero.
pub fn seeded_init(varmap: &VarMap, seed: u64) -> Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let data = varmap.data().lock().expect("var map lock");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        let dims = var.dims().to_vec();
        let values: Vec<f32> = if name.contains("bias") {
            vec![0.0; var.elem_count()]
        } else {
            let fan_in = *dims.last().unwrap_or(&1) as f32;
            let bound = 1.0 / fan_in.sqrt();
            (0..var.elem_count()).map(|_| rng.random_range(-bound..bound)).collect()
        };
        var.set(&Tensor::from_vec(values, dims, var.device())?)?;
    }
    Ok(())
}

/// Everything besides the weights that a trained head needs and reports: written next to
/// `head.safetensors` as `card.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeadCard {
    /// Stage labels in logit order.
    pub labels: Vec<Stage>,
    /// Conversation classes in logit order.
    pub conversation_classes: Vec<ScamType>,
    /// Encoder the head was trained on.
    pub encoder: String,
    /// Head shape.
    pub head: HeadConfig,
    /// Calibration of the raw scam score into a probability.
    pub calibration: crate::risk::Calibration,
    /// Default decision threshold on the calibrated risk.
    pub threshold: f32,
    /// Timeline decoding scores.
    pub transitions: crate::decode::Transitions,
    /// Training settings and data description (seed, epochs, files, sha256, counts).
    pub training: serde_json::Value,
    /// Metrics measured on the dev split at training time.
    pub dev_metrics: serde_json::Value,
}

/// File name of the head weights.
pub const HEAD_WEIGHTS: &str = "head.safetensors";
/// File name of the head card.
pub const HEAD_CARD: &str = "card.json";
/// Folder of the default head under `models/`.
pub const DEFAULT_HEAD: &str = "stage-head";

/// The default head: `<models_dir>/stage-head` when present, else the one committed in
/// this project's `models/`.
pub fn default_head_dir(models_dir: &Path) -> std::path::PathBuf {
    let candidate = models_dir.join(DEFAULT_HEAD);
    if candidate.join(HEAD_CARD).is_file() {
        candidate
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(DEFAULT_HEAD)
    }
}

impl HeadCard {
    /// Reads `dir/card.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(HEAD_CARD);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}
