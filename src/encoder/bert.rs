//! BERT encoders (multilingual-e5-small is a 12-layer, 384-wide BERT with an XLM-R
//! vocabulary), written against candle's ops so that the pieces that matter on a CPU can
//! be chosen: query/key/value fused into one matmul, and the 250k-row word-embedding
//! table kept in its 4-bit Q4_0 blocks (rows are dequantised on lookup) when the model
//! directory has `model-q4_0.gguf` — 54 MB instead of 384 MB of f32, for the same values.
//! On the CPU the linear layers can run in int8 ([`Precision::Int8`]) and GELU / softmax use
//! the vectorised kernels of [`super::cpu`].

use std::path::Path;

use anyhow::{Context, Result};
use candle_core::quantized::{gguf_file, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{layer_norm, LayerNorm, LayerNormConfig, Linear, VarBuilder};
use serde::Deserialize;

use super::cpu::{self, Epilogue, Int8Linear};
use super::{mean_pool, EmbeddingModel, Precision};

/// The config.json fields this implementation reads.
#[derive(Debug, Clone, Deserialize)]
struct Config {
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    layer_norm_eps: f64,
    #[serde(default = "gelu")]
    hidden_act: String,
}

fn gelu() -> String {
    "gelu".into()
}

/// Name of the word-embedding table in both weight files.
const WORD_EMBEDDINGS: &str = "embeddings.word_embeddings.weight";

enum WordEmbeddings {
    Dense(candle_nn::Embedding),
    Q4(QTensor),
}

impl WordEmbeddings {
    fn lookup(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Dense(e) => e.forward(ids),
            Self::Q4(q) => q.embedding(ids),
        }
    }
}

/// A linear layer in f32 (any device) or int8 (CPU with AVX-512 VNNI).
enum Dense {
    F32(Linear),
    Int8(Int8Linear),
}

impl Dense {
    fn new(weight: Tensor, bias: Tensor, precision: Precision) -> candle_core::Result<Self> {
        if precision == Precision::Int8 {
            if let Some(layer) = Int8Linear::new(&weight, &bias)? {
                return Ok(Self::Int8(layer));
            }
        }
        Ok(Self::F32(Linear::new(weight, Some(bias))))
    }

    fn load(vb: VarBuilder, inputs: usize, outputs: usize, precision: Precision) -> candle_core::Result<Self> {
        Self::new(vb.get((outputs, inputs), "weight")?, vb.get(outputs, "bias")?, precision)
    }

    fn forward(&self, x: &Tensor, epilogue: Epilogue, residual: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let y = match self {
            Self::Int8(layer) => return layer.forward(x, epilogue, residual),
            Self::F32(layer) => layer.forward(x)?,
        };
        match (epilogue, residual) {
            (Epilogue::None, _) => Ok(y),
            (Epilogue::Gelu, _) if y.device().is_cpu() => cpu::gelu(&y),
            (Epilogue::Gelu, _) => y.gelu_erf(),
            (Epilogue::Residual, Some(r)) => y + r,
            (Epilogue::Residual, None) => candle_core::bail!("residual epilogue without a residual"),
        }
    }
}

struct Layer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    intermediate: Dense,
    output: Dense,
    output_norm: LayerNorm,
}

/// A BERT encoder with mean pooling.
pub struct Bert {
    words: WordEmbeddings,
    positions: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    dim: usize,
}

fn norm(size: usize, eps: f64, vb: VarBuilder) -> candle_core::Result<LayerNorm> {
    layer_norm(size, LayerNormConfig { eps, ..Default::default() }, vb)
}

impl Layer {
    fn load(vb: VarBuilder, c: &Config, precision: Precision) -> candle_core::Result<Self> {
        let h = c.hidden_size;
        let attn = vb.pp("attention");
        let part = |name: &str| -> candle_core::Result<(Tensor, Tensor)> {
            let p = attn.pp("self").pp(name);
            Ok((p.get((h, h), "weight")?, p.get(h, "bias")?))
        };
        // The attention scale 1/√d is folded into the query projection.
        let scale = 1.0 / ((h / c.num_attention_heads) as f64).sqrt();
        let (q, k, v) = (part("query")?, part("key")?, part("value")?);
        let q = ((q.0 * scale)?, (q.1 * scale)?);
        let qkv = Dense::new(Tensor::cat(&[&q.0, &k.0, &v.0], 0)?, Tensor::cat(&[&q.1, &k.1, &v.1], 0)?, precision)?;
        Ok(Self {
            qkv,
            attention_out: Dense::load(attn.pp("output").pp("dense"), h, h, precision)?,
            attention_norm: norm(h, c.layer_norm_eps, attn.pp("output").pp("LayerNorm"))?,
            intermediate: Dense::load(vb.pp("intermediate").pp("dense"), h, c.intermediate_size, precision)?,
            output: Dense::load(vb.pp("output").pp("dense"), c.intermediate_size, h, precision)?,
            output_norm: norm(h, c.layer_norm_eps, vb.pp("output").pp("LayerNorm"))?,
        })
    }

    /// One transformer layer.
    fn forward(&self, x: &Tensor, mask: &Mask, heads: usize) -> candle_core::Result<Tensor> {
        let (b, l, h) = x.dims3()?;
        let qkv = self.qkv.forward(x, Epilogue::None, None)?;
        let context = if x.device().is_cpu() {
            cpu::attention(&qkv, &mask.lengths, heads)?
        } else {
            let qkv = qkv.reshape((b, l, 3, heads, h / heads))?.permute((2, 0, 3, 1, 4))?;
            let (q, k, v) = (qkv.get(0)?.contiguous()?, qkv.get(1)?.contiguous()?, qkv.get(2)?.contiguous()?);
            let scores = q.matmul(&k.t()?)?.broadcast_add(&mask.bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            probs.matmul(&v)?.transpose(1, 2)?.reshape((b, l, h))?
        };
        let x = self.attention_norm.forward(&self.attention_out.forward(&context, Epilogue::Residual, Some(x))?)?;
        let inner = self.intermediate.forward(&x, Epilogue::Gelu, None)?;
        self.output_norm.forward(&self.output.forward(&inner, Epilogue::Residual, Some(&x))?)
    }
}

/// Which tokens are padding, in the forms the two attention paths need.
struct Mask {
    /// Real tokens of each sequence (padding comes last).
    lengths: Vec<usize>,
    /// `[batch, 1, 1, len]`: 0 for tokens, very negative for padding.
    bias: Tensor,
}

impl Bert {
    /// Loads `weights` (safetensors) for the configuration `config_json`; the word
    /// embeddings come from `gguf` in Q4_0 when given.
    pub fn load(config_json: &str, weights: &Path, gguf: Option<&Path>, device: &Device, precision: Precision) -> Result<Self> {
        let c: Config = serde_json::from_str(config_json).context("parsing the BERT config")?;
        anyhow::ensure!(
            c.hidden_size > 0 && c.num_attention_heads > 0 && c.hidden_size.is_multiple_of(c.num_attention_heads),
            "config: hidden_size {} is not a positive multiple of num_attention_heads {}",
            c.hidden_size,
            c.num_attention_heads
        );
        anyhow::ensure!(
            c.num_hidden_layers > 0 && c.intermediate_size > 0 && c.max_position_embeddings > 0,
            "config: num_hidden_layers, intermediate_size and max_position_embeddings must be above 0"
        );
        anyhow::ensure!(
            matches!(c.hidden_act.as_str(), "gelu" | "gelu_python"),
            "unsupported hidden_act {:?} (supported: gelu)",
            c.hidden_act
        );
        // Each part gets its own short-lived mapping, so the pages of the f32 weights already
        // converted leave memory before the next part is read.
        let open = || -> Result<VarBuilder<'static>> {
            // SAFETY: the weights file is memory-mapped read-only and not modified while mapped.
            let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, device) }
                .with_context(|| format!("mapping {}", weights.display()))?;
            Ok(if vb.contains_tensor("bert.embeddings.LayerNorm.weight") { vb.pp("bert") } else { vb })
        };
        let h = c.hidden_size;
        let emb = open()?.pp("embeddings");
        let words = match gguf {
            Some(path) => {
                let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
                let content = gguf_file::Content::read(&mut file).with_context(|| format!("reading {}", path.display()))?;
                let table = content.tensor(&mut file, WORD_EMBEDDINGS, device).with_context(|| format!("reading {WORD_EMBEDDINGS} from {} (truncated or damaged?)", path.display()))?;
                WordEmbeddings::Q4(table)
            }
            None => WordEmbeddings::Dense(candle_nn::Embedding::new(emb.pp("word_embeddings").get_unchecked("weight")?, h)),
        };
        let positions = emb.pp("position_embeddings").get((c.max_position_embeddings, h), "weight")?;
        let token_type = emb.pp("token_type_embeddings").get_unchecked("weight")?.get(0)?;
        let embedding_norm = norm(h, c.layer_norm_eps, emb.pp("LayerNorm"))?;
        drop(emb);
        let layers = (0..c.num_hidden_layers)
            .map(|i| Ok(Layer::load(open()?.pp(format!("encoder.layer.{i}")), &c, precision)?))
            .collect::<Result<Vec<_>>>()
            .with_context(|| format!("loading {}", weights.display()))?;
        Ok(Self { words, positions, token_type, embedding_norm, layers, heads: c.num_attention_heads, dim: h })
    }
}

impl EmbeddingModel for Bert {
    fn pooled(&self, input_ids: &Tensor, attention_mask: &Tensor) -> candle_core::Result<Tensor> {
        let (_, len) = input_ids.dims2()?;
        let x = self
            .words
            .lookup(input_ids)?
            .broadcast_add(&self.positions.narrow(0, 0, len)?)?
            .broadcast_add(&self.token_type)?;
        let mut x = self.embedding_norm.forward(&x)?;
        let mask = Mask {
            lengths: attention_mask.sum(1)?.to_vec1::<u32>()?.into_iter().map(|l| l as usize).collect(),
            bias: ((attention_mask.to_dtype(DType::F32)? - 1.0)? * 1e4)?.unsqueeze(1)?.unsqueeze(1)?,
        };
        for layer in &self.layers {
            x = layer.forward(&x, &mask, self.heads)?;
        }
        mean_pool(&x, attention_mask)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn precision(&self) -> Precision {
        match self.layers.first().map(|l| &l.qkv) {
            Some(Dense::Int8(_)) => Precision::Int8,
            _ => Precision::F32,
        }
    }
}
