//! BERT encoders (multilingual-e5-small is a 12-layer, 384-wide BERT with an XLM-R vocabulary).

use std::path::Path;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};

use super::{mean_pool, EmbeddingModel};

/// A BERT encoder with mean pooling.
pub struct Bert {
    model: BertModel,
    dim: usize,
}

impl Bert {
    /// Loads the weights at `weights` for the configuration `config_json`.
    pub fn load(config_json: &str, weights: &Path, device: &Device) -> Result<Self> {
        let config: Config = serde_json::from_str(config_json).context("parsing the BERT config")?;
        // SAFETY: the weights file is memory-mapped read-only and not modified while mapped.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DTYPE, device) }
            .with_context(|| format!("mapping {}", weights.display()))?;
        let model = BertModel::load(vb, &config).with_context(|| format!("loading {}", weights.display()))?;
        Ok(Self { model, dim: config.hidden_size })
    }
}

impl EmbeddingModel for Bert {
    fn pooled(&self, input_ids: &Tensor, attention_mask: &Tensor) -> candle_core::Result<Tensor> {
        let token_types = input_ids.zeros_like()?;
        let hidden = self.model.forward(input_ids, &token_types, Some(attention_mask))?;
        mean_pool(&hidden, attention_mask)
    }

    fn dim(&self) -> usize {
        self.dim
    }
}
