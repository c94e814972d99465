//! The `scamstage` binary end to end: output schema, streaming with bad lines, devices,
//! and error reporting.

mod common;

use std::process::{Command, Output};

fn scamstage(args: &[&str], stdin: Option<&str>) -> Output {
    common::model_files();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scamstage"));
    cmd.args(args).arg("--quiet");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        return child.wait_with_output().unwrap();
    }
    cmd.output().unwrap()
}

#[test]
fn score_jsonl_has_the_documented_schema_for_every_example() {
    let out = scamstage(&["score", "examples", "--format", "jsonl"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5, "one line per example conversation");
    let stages = ["none", "contact", "rapport", "isolation", "pitch", "extraction", "recruitment"];
    for v in &lines {
        for key in ["id", "risk", "scam", "stage", "scam_type", "first_flag", "messages", "evidence"] {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
        assert!(stages.contains(&v["stage"].as_str().unwrap()));
        assert!(["romance_investment", "romance_money", "job_recruitment", "none"].contains(&v["scam_type"].as_str().unwrap()));
        for (i, m) in v["messages"].as_array().unwrap().iter().enumerate() {
            assert_eq!(m["index"], i);
            assert!(m["sender"].is_string() && stages.contains(&m["stage"].as_str().unwrap()));
            let probs = m["probs"].as_object().unwrap();
            assert_eq!(probs.keys().cloned().collect::<Vec<_>>(), stages, "probs keys in taxonomy order");
        }
        for e in v["evidence"].as_array().unwrap() {
            for key in ["index", "stage", "score", "text"] {
                assert!(e.get(key).is_some(), "evidence lacks {key}");
            }
        }
    }
    let by_id = |id: &str| lines.iter().find(|v| v["id"] == id).unwrap();
    assert_eq!(by_id("th-line-job-offer")["scam"], true);
    assert_eq!(by_id("Sam")["scam"], false);
}

#[test]
fn streaming_stdin_keeps_good_lines_and_reports_bad_ones() {
    let input = concat!(
        r#"{"id":"a","messages":[{"sender":"them","text":"hi dear, add me on telegram, this app is not safe"}]}"#, "\n",
        "{broken\n",
        r#"{"id":"c","messages":[{"sender":"me","text":"see you at lunch"}]}"#, "\n",
    );
    let out = scamstage(&["score", "-", "--format", "jsonl"], Some(input));
    assert_eq!(out.status.code(), Some(1), "bad input makes the exit status non-zero");
    let ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["a", "c"], "results come back in input order");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("<stdin>:2:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn cuda_on_a_cpu_build_says_how_to_rebuild() {
    if cfg!(feature = "cuda") {
        return;
    }
    let out = scamstage(&["score", "examples", "--device", "cuda"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cargo build --release --features cuda"), "{err}");
}

#[test]
fn missing_inputs_and_models_are_one_line_errors() {
    let out = scamstage(&["score", "no/such/file.jsonl"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("scamstage: skipped no/such/file.jsonl: cannot open"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let out = scamstage(&["embed", "examples", "--model", empty.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("missing") && err.contains("config.json"), "{err}");

    // A config with no attention heads is refused with its reason, not a panic.
    let files = common::model_files();
    let broken = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(&files.config).unwrap().replace("\"num_attention_heads\": 12", "\"num_attention_heads\": 0");
    assert!(config.contains("\"num_attention_heads\": 0"), "the fixture edit applies");
    std::fs::write(broken.path().join("config.json"), config).unwrap();
    for f in [&files.tokenizer, &files.weights] {
        std::os::unix::fs::symlink(f.canonicalize().unwrap(), broken.path().join(f.file_name().unwrap())).unwrap();
    }
    let out = scamstage(&["score", "examples", "--model", broken.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("num_attention_heads 0") && err.lines().count() == 1, "{err}");
}

#[test]
fn text_view_shows_verdict_timeline_and_evidence() {
    let out = scamstage(&["score", "examples/th-line-job-offer.txt", "--format", "text"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("SCAM") && text.contains("timeline:") && text.contains("evidence:"), "{text}");
    assert!(text.contains("recruitment"), "{text}");
}

#[test]
fn shards_score_every_conversation_exactly_once() {
    let ids = |shard: &str| -> Vec<String> {
        let out = scamstage(&["score", "examples", "--format", "jsonl", "--shard", shard], None);
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (a, b) = (ids("0/2"), ids("1/2"));
    assert_eq!((a.len(), b.len()), (3, 2));
    let mut all: Vec<String> = a.into_iter().chain(b).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 5);
    let out = scamstage(&["score", "examples", "--shard", "2/2"], None);
    assert_eq!(out.status.code(), Some(2), "an invalid shard is a usage error");
}

#[test]
fn empty_input_scores_nothing_and_succeeds() {
    let out = scamstage(&["score", "-", "--format", "jsonl"], Some(""));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
}

#[test]
fn thresholds_outside_zero_to_one_are_usage_errors() {
    for bad in ["nan", "2", "-1", "inf", "high"] {
        let out = scamstage(&["score", "examples", &format!("--threshold={bad}")], None);
        assert_eq!(out.status.code(), Some(2), "--threshold {bad}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("is not a number in [0, 1]"), "{err}");
    }
}

#[test]
fn a_bad_first_line_and_a_closed_pipe() {
    let mut input = String::from("{\"id\":\"bad\",\"messages\":[{\"sender\":\"them\",\"text\":\"a\tb\"}]}\n");
    for i in 0..40 {
        input.push_str(&format!("{{\"id\":\"c{i}\",\"messages\":[{{\"sender\":\"them\",\"text\":\"hello {i}\"}}]}}\n"));
    }
    let out = scamstage(&["score", "-", "--format", "jsonl"], Some(&input));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 40, "every good line scored");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("scamstage: skipped <stdin>:1: ") && err.lines().count() == 1, "{err}");

    // `score … | head -1`: the reader goes away; a quiet exit.
    common::model_files();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scamstage"))
        .args(["score", "--quiet", "--format", "jsonl", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let many = input.repeat(20);
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(many.as_bytes());
    });
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Broken pipe"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn embed_writes_one_row_per_message_equal_to_the_encoders() {
    // Two conversations and a bad line between them: both are embedded, the bad one named.
    let input = "{\"id\":\"a\",\"messages\":[{\"sender\":\"them\",\"text\":\"hi, is this Anna?\"},{\"sender\":\"me\",\"text\":\"wrong number\"}]}\n\
                 {\"id\":\"bad\"}\n\
                 {\"id\":\"b\",\"messages\":[{\"sender\":\"them\",\"text\":\"我在做黄金交易\"}]}\n";
    let out = scamstage(&["embed", "-"], Some(input));
    assert_eq!(out.status.code(), Some(1), "a rejected input is a non-zero exit");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("<stdin>:2") && err.lines().count() == 1, "{err}");
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let keys: Vec<(&str, u64)> = rows.iter().map(|r| (r["id"].as_str().unwrap(), r["index"].as_u64().unwrap())).collect();
    assert_eq!(keys, [("a", 0), ("a", 1), ("b", 0)]);
    let expected = common::encoder().embed(&["hi, is this Anna?", "wrong number", "我在做黄金交易"]).unwrap();
    for (row, want) in rows.iter().zip(&expected.vectors) {
        let got: Vec<f32> = serde_json::from_value(row["embedding"].clone()).unwrap();
        assert_eq!(got.len(), want.len());
        assert!(got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-5), "{}", row["id"]);
    }
}
