//! Memory grows linearly with a conversation's length: the peak resident memory (VmHWM) of
//! the `scamstage score` process, measured for conversations of different lengths.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

/// One JSONL conversation of `n` messages (texts from a small pool, so that the encoder,
/// which embeds each distinct text once, stays fast and the head does the long work).
fn conversation(n: usize) -> String {
    let pool = ["hi, who is this?", "wrong number I think", "nice to meet you anyway", "I trade gold on an app", "send me the code", "ok"];
    let messages: Vec<_> = (0..n)
        .map(|i| serde_json::json!({"sender": if i % 2 == 0 { "them" } else { "me" }, "text": pool[i % pool.len()]}))
        .collect();
    serde_json::json!({"id": format!("long-{n}"), "messages": messages}).to_string() + "\n"
}

/// Peak resident memory (MiB) of `scamstage score` on one conversation of `n` messages.
fn peak_mib(n: usize) -> f64 {
    let model = common::model_files().config.parent().unwrap().to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.jsonl");
    std::fs::write(&input, conversation(n)).unwrap();
    // The child reports its own peak (VmHWM) just before exiting, through a tiny shell.
    let script = format!(
        "\"$0\" score --quiet --threads 2 --format jsonl --model '{}' '{}' > /dev/null & pid=$!; \
         peak=0; while kill -0 $pid 2>/dev/null; do v=$(awk '/VmHWM/ {{print $2}}' /proc/$pid/status 2>/dev/null); \
         [ -n \"$v\" ] && peak=$v; sleep 0.02; done; wait $pid; rc=$?; echo $peak; exit $rc",
        model.display(),
        input.display()
    );
    let out = Command::new("sh").arg("-c").arg(&script).arg(env!("CARGO_BIN_EXE_scamstage")).stderr(Stdio::piped()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kib: f64 = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
    let _ = std::io::stderr().write_all(format!("{n} messages: peak {:.0} MiB\n", kib / 1024.0).as_bytes());
    kib / 1024.0
}

/// Peak growth from 10k to 20k messages against that from 5k to 10k: about 2 when memory
/// is linear in the conversation's length, 4 when quadratic (as the old n×n running mean was).
#[test]
fn scoring_memory_grows_linearly_with_conversation_length() {
    let peaks: Vec<f64> = [5_000, 10_000, 20_000].iter().map(|&n| peak_mib(n)).collect();
    let (first, second) = (peaks[1] - peaks[0], peaks[2] - peaks[1]);
    assert!(second < 3.0 * first.max(8.0), "5k → 10k: +{first:.0} MiB, 10k → 20k: +{second:.0} MiB");
    assert!(peaks[2] < 1024.0, "20k messages peaked at {:.0} MiB", peaks[2]);
}

/// The figures the README quotes: 10k, 50k and 100k messages (slow; run with
/// `cargo test --release --test memory -- --ignored --nocapture`).
#[test]
#[ignore]
fn memory_at_10k_50k_and_100k_messages() {
    let peaks: Vec<f64> = [10_000, 50_000, 100_000].iter().map(|&n| peak_mib(n)).collect();
    eprintln!("peak: 10k {:.0}, 50k {:.0}, 100k {:.0} MiB", peaks[0], peaks[1], peaks[2]);
    // Linear: the second 50k cost about what the 40k before them cost, ×5/4 (quadratic: ×2.3).
    let (first, second) = (peaks[1] - peaks[0], peaks[2] - peaks[1]);
    assert!(second < 1.8 * first, "10k → 50k: +{first:.0} MiB, 50k → 100k: +{second:.0} MiB");
}
