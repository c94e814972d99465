//! Progress bars on stderr (hidden when disabled or when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn target(enabled: bool) -> ProgressDrawTarget {
    if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() }
}

/// A bar over `len` named steps.
pub fn steps(enabled: bool, len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target(enabled));
    bar.set_style(ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}").expect("valid template"));
    bar
}

/// A bar over `len` items of kind `unit` (e.g. "messages").
pub fn items(enabled: bool, len: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target(enabled));
    let template = format!("{{bar:30}} {{pos}}/{{len}} {unit} ({{per_sec}}, eta {{eta}}) {{msg}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
    bar
}
