//! Human-readable evaluation reports: Markdown tables of an [`EvalReport`].

use std::fmt::Write;

use crate::eval::{Estimate, EvalReport, SliceMetrics};

fn num(e: &Estimate) -> String {
    match (e.value, e.ci95) {
        (Some(v), Some([lo, hi])) => format!("{v:.3} [{lo:.3}, {hi:.3}]"),
        (Some(v), None) => format!("{v:.3}"),
        (None, _) => "n/a".into(),
    }
}

fn row(name: &str, m: &SliceMetrics) -> String {
    let d = m.detection.as_ref();
    let get = |f: fn(&crate::eval::ConversationMetrics) -> &Estimate| d.map(|d| num(f(d))).unwrap_or_else(|| "n/a".into());
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} |\n",
        m.conversations,
        m.messages,
        num(&m.stage_macro_f1),
        get(|d| &d.scam_f1),
        get(|d| &d.benign_fpr),
        get(|d| &d.roc_auc),
        get(|d| &d.furthest_stage_accuracy),
    )
}

/// Renders the report as Markdown.
pub fn markdown(r: &EvalReport, title: &str, context: &str) -> String {
    let mut s = format!("# {title}\n\n{context}\n\n");
    let header = "| slice | conversations | messages | stage macro-F1 | scam F1 | benign FPR | ROC-AUC | furthest-stage acc. |\n|---|---|---|---|---|---|---|---|\n";
    s += "## Headline\n\n";
    s += header;
    s += &row("all", &r.overall);
    let _ = writeln!(s, "\nIntervals are bootstrap 95 % ({} resamples of conversations, seed {}).\n", r.bootstrap_resamples, r.seed);
    s += "## Per language\n\n";
    s += header;
    for (lang, m) in &r.by_lang {
        s += &row(lang, m);
    }
    if !r.by_scam_type.is_empty() {
        s += "\n## Per scam type\n\n";
        s += header;
        for (t, m) in &r.by_scam_type {
            s += &row(t, m);
        }
    }
    if let Some(rep) = &r.overall.stages {
        s += "\n## Stages (all messages)\n\n| stage | precision | recall | F1 | support |\n|---|---|---|---|---|\n";
        let f = |x: Option<f64>| x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "n/a".into());
        for c in &rep.per_class {
            let _ = writeln!(s, "| {} | {} | {} | {:.3} | {} |", c.label, f(c.precision), f(c.recall), c.f1, c.support);
        }
        s += "\nConfusion matrix (rows gold, columns predicted):\n\n| |";
        for c in &rep.per_class {
            let _ = write!(s, " {} |", c.label);
        }
        s += "\n|---|";
        s += &"---|".repeat(rep.per_class.len());
        s += "\n";
        for (c, counts) in rep.per_class.iter().zip(&rep.confusion) {
            let _ = write!(s, "| {} |", c.label);
            for n in counts {
                let _ = write!(s, " {n} |");
            }
            s += "\n";
        }
    }
    if let Some(d) = &r.overall.detection {
        let _ = write!(
            s,
            "\n## Detection\n\nAt the threshold: TP {} · FP {} · TN {} · FN {}. PR-AUC {}. ECE {}. \
             Mean messages from the first scam message to the first flag: {} ({} scams never flagged).\n",
            d.at_threshold.tp, d.at_threshold.fp, d.at_threshold.tn, d.at_threshold.fn_,
            num(&d.pr_auc), num(&d.ece), num(&d.flag_delay_mean), d.scams_missed
        );
    }
    s
}
