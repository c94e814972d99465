//! The leave-one-corpus-out protocol on a small fixture: three "corpora" made of authored
//! conversations under corpus ids. Every corpus is scored by a head whose training data
//! never held any of its conversations, and the summary covers each corpus once.

mod common;

use scamstage::chat::{read_inputs, Conversation, InputFormat, Warnings};
use scamstage::loco::{folds, rows, run, training_set, Corpus, LocoOptions};
use scamstage::train::TrainOptions;

fn corpus(name: &str, file: &str) -> Corpus {
    let convs: Vec<Conversation> = read_inputs(&[file.to_string()], InputFormat::Auto, &Warnings::default())
        .map(Result::unwrap)
        .map(|mut c| {
            c.id = format!("{name}:{}", c.id);
            c
        })
        .collect();
    let (train, test) = convs.split_at(convs.len() / 2);
    Corpus { name: name.to_string(), train: train.to_vec(), test: test.to_vec() }
}

#[test]
fn every_corpus_is_scored_by_a_head_that_never_saw_it() {
    let base: Vec<Conversation> =
        read_inputs(&["datasets/authored/en/train.jsonl".to_string()], InputFormat::Auto, &Warnings::default()).map(Result::unwrap).collect();
    let corpora = vec![
        corpus("alpha", "datasets/authored/th/train.jsonl"),
        corpus("beta", "datasets/authored/ko/train.jsonl"),
        corpus("gamma", "datasets/authored/vi/train.jsonl"),
    ];
    let names: Vec<String> = corpora.iter().map(|c| c.name.clone()).collect();

    // Folds partition the corpora; more folds than corpora is plain leave-one-out.
    let two = folds(&names, 2);
    assert_eq!(two.len(), 2);
    let mut seen: Vec<String> = two.concat();
    seen.sort();
    assert_eq!(seen, names);
    assert_eq!(folds(&names, 10).len(), 3);

    // A fold's training data holds the base and the other corpora's training parts only.
    let set = training_set(&base, &corpora, &["beta".to_string()]).unwrap();
    assert_eq!(set.len(), base.len() + corpora[0].train.len() + corpora[2].train.len());
    assert!(set.iter().all(|c| !c.id.starts_with("beta:")));
    // A held-out conversation that also sits in the base data is refused.
    let mut leaky = base.clone();
    leaky.push(corpora[1].test[0].clone());
    let err = training_set(&leaky, &corpora, &["beta".to_string()]).unwrap_err();
    assert!(err.to_string().contains("beta:"), "{err}");

    let encoder = common::encoder();
    let cache = tempfile::tempdir().unwrap();
    let embed = |convs: &[Conversation]| scamstage::corpus::embed(encoder, convs, Some(cache.path()), false);
    let options = LocoOptions { folds: 3, only_fold: None, train: TrainOptions { epochs: 2, ..Default::default() }, bootstrap: 20 };
    let results = run(&base, &corpora, encoder.device(), &options, &embed, &|_| {}).unwrap();

    assert_eq!(results.len(), 3, "one result per corpus");
    for r in &results {
        let corpus = corpora.iter().find(|c| c.name == r.corpus).unwrap();
        assert!(!r.trained_on.contains(&r.corpus), "{} was trained on", r.corpus);
        let others: usize = corpora.iter().filter(|c| c.name != r.corpus).map(|c| c.train.len()).sum();
        assert_eq!(r.training_conversations, base.len() + others, "{}", r.corpus);
        assert_eq!(r.report.overall.conversations, corpus.test.len());
        let summary = rows(&r.corpus, &r.report);
        assert_eq!(summary[0].lang, "all");
        assert_eq!(summary[0].scams + summary[0].benign, corpus.test.len());
        let auc = summary[0].roc_auc.value.expect("both classes present");
        assert!((0.0..=1.0).contains(&auc));
    }
    let mut held: Vec<&str> = results.iter().map(|r| r.corpus.as_str()).collect();
    held.sort();
    assert_eq!(held, ["alpha", "beta", "gamma"]);

    // One fold alone scores only its own corpora; a fold that does not exist is an error.
    let one = LocoOptions { only_fold: Some(1), ..options };
    let single = run(&base, &corpora, encoder.device(), &one, &embed, &|_| {}).unwrap();
    assert_eq!(single.len(), 1);
    assert!(single.iter().all(|r| r.fold == 1));
    let missing = LocoOptions { only_fold: Some(3), ..one };
    assert!(run(&base, &corpora, encoder.device(), &missing, &embed, &|_| {}).unwrap_err().to_string().contains("fold 3"));
}
