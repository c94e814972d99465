//! Pasted shapes through the binary: a `.txt` without any `Name:` line is scored as one
//! conversation (split into turns when it is screenshot OCR, whole when it is an email).

mod common;

use std::process::Command;

#[test]
fn text_without_names_scores_as_a_conversation() {
    common::model_files();
    let dir = tempfile::tempdir().unwrap();
    let ocr = dir.path().join("screenshot.txt");
    std::fs::write(
        &ocr,
        "9:41\nHi dear, good morning ☀️\nwho is this?\nYesterday 9:45 PM\nI am Lily, we matched on Tinder last week\n\
         my uncle can teach you gold trading, 30% every month\nsend 500 USDT to this wallet today to start\n",
    )
    .unwrap();
    let email = dir.path().join("email.txt");
    std::fs::write(
        &email,
        "Subject: Inheritance of $4.5 million\nFrom: Mrs Grace Williams <grace.w@mail.com>\n\nDear friend,\n\n\
         I am a widow dying of cancer and I wish to transfer my late husband's fund to you for charity.\n\
         Kindly send your bank details and the release fee of $350.\n\nYours,\nGrace",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scamstage"))
        .args(["score", ocr.to_str().unwrap(), email.to_str().unwrap(), "--format", "jsonl", "--quiet"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "one verdict per file");
    let (ocr, email) = (&lines[0], &lines[1]);
    assert_eq!(ocr["id"], "screenshot");
    let senders: Vec<&str> = ocr["messages"].as_array().unwrap().iter().map(|m| m["sender"].as_str().unwrap()).collect();
    assert_eq!(senders, ["unknown"; 5], "one turn per OCR line, timestamps dropped");
    assert_eq!(email["id"], "email");
    assert_eq!(email["messages"].as_array().unwrap().len(), 1, "an email is one message");
    for v in &lines {
        let risk = v["risk"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&risk), "{v}");
    }
}
