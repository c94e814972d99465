//! The stage classifier: message embeddings from the encoder, the stage head over each
//! conversation, Viterbi decoding and calibrated risk, producing the stable `score` JSON.

use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use candle_nn::ops::softmax_last_dim;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::chat::shape::UNKNOWN;
use crate::chat::Conversation;
use crate::encoder::Encoder;
use crate::head::{HeadCard, StageHead, HEAD_WEIGHTS};
use crate::taxonomy::{ScamType, Stage};

/// Probability of every stage, serialised as an object in taxonomy order.
#[derive(Debug, Clone, PartialEq)]
pub struct StageProbs(pub [f32; 7]);

impl Serialize for StageProbs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(7))?;
        for (stage, p) in Stage::ALL.iter().zip(self.0) {
            map.serialize_entry(stage.as_str(), &round4(p))?;
        }
        map.end()
    }
}

fn round4(p: f32) -> f64 {
    (p as f64 * 1e4).round() / 1e4
}

fn ser_round4<S: Serializer>(p: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round4(*p))
}

/// One message's decoded stage.
#[derive(Debug, Clone, Serialize)]
pub struct MessageScore {
    /// Position in the conversation (0-based).
    pub index: usize,
    /// Sender as given.
    pub sender: String,
    /// Decoded stage.
    pub stage: Stage,
    /// Head probability of every stage.
    pub probs: StageProbs,
}

/// A message that shows a stage, for a moderator to verify.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// Position in the conversation.
    pub index: usize,
    /// The stage it shows.
    pub stage: Stage,
    /// Probability of that stage.
    #[serde(serialize_with = "ser_round4")]
    pub score: f32,
    /// Sender as given.
    pub sender: String,
    /// The message text.
    pub text: String,
}

/// Version of the verdict schema (README "Output schema"): 2 since `scam_type` took the
/// values beyond romance and job lures.
pub const SCHEMA_VERSION: u32 = 2;

/// The verdict on one conversation (the `score` JSON schema).
#[derive(Debug, Clone, Serialize)]
pub struct ConversationScore {
    /// Conversation id.
    pub id: String,
    /// Language, when the input gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Calibrated probability that the conversation is a scam.
    #[serde(serialize_with = "ser_round4")]
    pub risk: f32,
    /// `risk >= threshold`.
    pub scam: bool,
    /// How far the scam has progressed (`none` when not flagged).
    pub stage: Stage,
    /// Kind of scam (`none` when not flagged).
    pub scam_type: ScamType,
    /// First message at which the conversation, read up to there, crosses the threshold.
    pub first_flag: Option<usize>,
    /// Per-message stages.
    pub messages: Vec<MessageScore>,
    /// Messages that show the decoded stages, in conversation order.
    pub evidence: Vec<Evidence>,
}

/// Scoring settings.
#[derive(Debug, Clone, Default)]
pub struct ScoreOptions {
    /// Decision threshold on risk (default: the head card's).
    pub threshold: Option<f32>,
    /// Sender name of the user; every other sender is the other party (see [`sender_roles`]).
    pub me: Option<String>,
}

/// 1.0 for messages from the other party (the possible scammer), 0.0 for the user's,
/// 0.5 for a sender called [`UNKNOWN`] (turns of a pasted block without names). The user is `me` when given, else a sender
/// called me/you/user/victim/self, else — when a sender is called `them` — everyone else;
/// failing all that, whoever did not send the first (known) message.
pub fn sender_roles(conv: &Conversation, me: Option<&str>) -> Vec<f32> {
    let norm = |s: &str| s.trim().to_lowercase();
    let is_user: Box<dyn Fn(&str) -> bool> = if let Some(me) = me {
        let me = norm(me);
        Box::new(move |s| norm(s) == me)
    } else if conv.messages.iter().any(|m| matches!(norm(&m.sender).as_str(), "me" | "you" | "user" | "victim" | "self")) {
        Box::new(|s| matches!(norm(s).as_str(), "me" | "you" | "user" | "victim" | "self"))
    } else if conv.messages.iter().any(|m| norm(&m.sender) == "them") {
        Box::new(|s| norm(s) != "them")
    } else {
        let first = conv.messages.iter().map(|m| norm(&m.sender)).find(|s| s != UNKNOWN).unwrap_or_default();
        Box::new(move |s| norm(s) != first)
    };
    conv.messages
        .iter()
        .map(|m| match () {
            _ if norm(&m.sender) == UNKNOWN => 0.5,
            _ if is_user(&m.sender) => 0.0,
            _ => 1.0,
        })
        .collect()
}

/// Head input rows `[embedding ‖ role]` of one conversation.
pub fn features(roles: &[f32], embeddings: &[Vec<f32>]) -> Vec<Vec<f32>> {
    embeddings
        .iter()
        .zip(roles)
        .map(|(e, &r)| {
            let mut row = e.clone();
            row.push(r);
            row
        })
        .collect()
}

/// Pads a batch of feature sequences into `[batch, len, features]` plus a mask.
pub fn pad_batch(seqs: &[Vec<Vec<f32>>], width: usize, device: &Device) -> Result<(Tensor, Tensor)> {
    let len = seqs.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut x = Vec::with_capacity(seqs.len() * len * width);
    let mut mask = Vec::with_capacity(seqs.len() * len);
    for s in seqs {
        for row in s {
            x.extend_from_slice(row);
        }
        x.extend(std::iter::repeat_n(0.0, (len - s.len()) * width));
        mask.extend(std::iter::repeat_n(1.0f32, s.len()));
        mask.extend(std::iter::repeat_n(0.0f32, len - s.len()));
    }
    Ok((
        Tensor::from_vec(x, (seqs.len(), len, width), device)?,
        Tensor::from_vec(mask, (seqs.len(), len), device)?,
    ))
}

/// Per-message head probabilities of one conversation.
#[derive(Debug, Clone)]
pub struct HeadProbs {
    /// Stage probabilities of each message.
    pub stages: Vec<[f32; 7]>,
    /// Conversation-class probabilities of each prefix (ending at that message).
    pub conversation: Vec<Vec<f32>>,
}

/// Head probabilities of a batch of conversations.
pub fn head_probs(head: &StageHead, seqs: &[Vec<Vec<f32>>], device: &Device) -> Result<Vec<HeadProbs>> {
    let (x, _) = pad_batch(seqs, head.config().features(), device)?;
    let out = head.forward(&x, None)?;
    let stage: Vec<Vec<Vec<f32>>> = softmax_last_dim(&out.stage_logits)?.to_vec3()?;
    let conv: Vec<Vec<Vec<f32>>> = softmax_last_dim(&out.conversation_logits)?.to_vec3()?;
    Ok(seqs
        .iter()
        .zip(stage.into_iter().zip(conv))
        .map(|(s, (st, cv))| HeadProbs {
            stages: st.into_iter().take(s.len()).map(|r| r.try_into().expect("7 stages")).collect(),
            conversation: cv.into_iter().take(s.len()).collect(),
        })
        .collect())
}

/// Turns head probabilities into the verdict on `conv`.
pub fn verdict(conv: &Conversation, roles: &[f32], head: &HeadProbs, card: &HeadCard, threshold: f32) -> ConversationScore {
    let probs = &head.stages;
    let log_probs: Vec<Vec<f32>> = probs.iter().map(|p| p.iter().map(|x| x.max(1e-9).ln()).collect()).collect();
    let path = card.transitions.viterbi(&log_probs);
    let prefix_risk: Vec<f32> = head.conversation.iter().map(|c| card.calibration.apply(1.0 - c[0])).collect();
    let risk = prefix_risk.last().copied().unwrap_or(0.0);
    let scam = risk >= threshold;
    let stage = if !scam {
        Stage::None
    } else {
        match path.last() {
            Some(&s) if s != Stage::None => s,
            // Flagged although the timeline stayed `none`: report the strongest signal.
            _ => {
                let strongest = |i: usize| (1..7).max_by(|&a, &b| probs[i][a].total_cmp(&probs[i][b])).unwrap_or(1);
                let i = (0..probs.len()).max_by(|&a, &b| probs[b][0].total_cmp(&probs[a][0])).unwrap_or(0);
                Stage::ALL[strongest(i)]
            }
        }
    };
    let scam_type = match head.conversation.last() {
        Some(c) if scam => card.conversation_classes[(1..c.len()).max_by(|&a, &b| c[a].total_cmp(&c[b])).unwrap_or(1)],
        _ => ScamType::None,
    };
    let first_flag = if scam { prefix_risk.iter().position(|&r| r >= threshold) } else { None };
    let messages = conv
        .messages
        .iter()
        .zip(probs)
        .zip(&path)
        .enumerate()
        .map(|(index, ((m, p), &stage))| MessageScore { index, sender: m.sender.clone(), stage, probs: StageProbs(*p) })
        .collect();
    ConversationScore {
        id: conv.id.clone(),
        lang: conv.lang.clone(),
        risk,
        scam,
        stage,
        scam_type,
        first_flag,
        messages,
        evidence: evidence(conv, roles, probs, &path),
    }
}

/// Smallest stage probability for a message to be shown as evidence.
const EVIDENCE_MIN: f32 = 0.5;

/// Up to two strongest messages for each stage on the decoded timeline (with at least
/// [`EVIDENCE_MIN`] probability of it), preferring the other party's messages over the
/// user's replies.
fn evidence(conv: &Conversation, roles: &[f32], probs: &[[f32; 7]], path: &[Stage]) -> Vec<Evidence> {
    let mut picked: Vec<Evidence> = Vec::new();
    for stage in Stage::ALL.into_iter().filter(|s| s.is_scam()) {
        let mut candidates: Vec<usize> =
            (0..path.len()).filter(|&i| path[i] == stage && probs[i][stage.index()] >= EVIDENCE_MIN).collect();
        let key = |i: usize| (roles[i], probs[i][stage.index()]);
        candidates.sort_by(|&a, &b| key(b).partial_cmp(&key(a)).unwrap_or(std::cmp::Ordering::Equal));
        for &i in candidates.iter().take(2) {
            picked.push(Evidence {
                index: i,
                stage,
                score: probs[i][stage.index()],
                sender: conv.messages[i].sender.clone(),
                text: conv.messages[i].text.clone(),
            });
        }
    }
    picked.sort_by_key(|e| e.index);
    picked
}

/// The encoder and a trained stage head.
pub struct Classifier {
    encoder: Encoder,
    head: StageHead,
    card: HeadCard,
}

/// Conversations per head batch: one, so that a verdict is the same to the last digit
/// whatever it is scored with (batched, padding changed matrix shapes and so the rounding;
/// measured cost ≈ 8 % of end-to-end throughput).
const HEAD_BATCH: usize = 1;

impl Classifier {
    /// Loads the head in `head_dir` (`head.safetensors` + `card.json`) on the encoder's device.
    pub fn load(encoder: Encoder, head_dir: &Path) -> Result<Self> {
        let card = HeadCard::load(head_dir)?;
        if card.head.embed_dim != encoder.dim() {
            bail!("{}: head expects {}-dim embeddings, encoder gives {}", head_dir.display(), card.head.embed_dim, encoder.dim());
        }
        if card.conversation_classes.len() != card.head.classes {
            bail!("{}: card lists {} conversation classes, the head has {}", head_dir.display(), card.conversation_classes.len(), card.head.classes);
        }
        let head = StageHead::load(&head_dir.join(HEAD_WEIGHTS), card.head, encoder.device())
            .with_context(|| format!("loading the stage head from {}", head_dir.display()))?;
        Ok(Self { encoder, head, card })
    }

    /// The head's card.
    pub fn card(&self) -> &HeadCard {
        &self.card
    }

    /// The encoder.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Scores conversations; all their messages are embedded together, each once.
    pub fn score(&self, convs: &[Conversation], options: &ScoreOptions) -> Result<Vec<ConversationScore>> {
        let vectors = self.encoder.embed(&crate::chat::message_texts(convs))?.vectors;
        let embedded = crate::chat::split_by_conversation(convs, vectors);
        self.score_embedded(convs, &embedded, options)
    }

    /// Scores conversations whose message embeddings are already known.
    pub fn score_embedded(&self, convs: &[Conversation], embedded: &[Vec<Vec<f32>>], options: &ScoreOptions) -> Result<Vec<ConversationScore>> {
        predict(&self.head, &self.card, convs, embedded, options, self.encoder.device())
    }
}

/// Head inference and decoding for conversations with known embeddings.
pub fn predict(
    head: &StageHead,
    card: &HeadCard,
    convs: &[Conversation],
    embedded: &[Vec<Vec<f32>>],
    options: &ScoreOptions,
    device: &Device,
) -> Result<Vec<ConversationScore>> {
    let threshold = options.threshold.unwrap_or(card.threshold);
    let mut out = Vec::with_capacity(convs.len());
    for (cs, es) in convs.chunks(HEAD_BATCH).zip(embedded.chunks(HEAD_BATCH)) {
        let roles: Vec<Vec<f32>> = cs.iter().map(|c| sender_roles(c, options.me.as_deref())).collect();
        let seqs: Vec<Vec<Vec<f32>>> = roles.iter().zip(es).map(|(r, e)| features(r, e)).collect();
        for ((c, r), probs) in cs.iter().zip(&roles).zip(head_probs(head, &seqs, device)?) {
            out.push(verdict(c, r, &probs, card, threshold));
        }
    }
    Ok(out)
}
