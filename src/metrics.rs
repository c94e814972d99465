//! Classification metrics: per-class precision / recall / F1, macro and weighted F1,
//! confusion matrices, binary metrics at a threshold, ROC-AUC, average precision and
//! expected calibration error. Undefined quantities are `None`, never NaN.

use serde::Serialize;

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Class name.
    pub label: String,
    /// Precision (`None` when the class is never predicted).
    pub precision: Option<f64>,
    /// Recall (`None` when the class has no support).
    pub recall: Option<f64>,
    /// F1 (0 when either is undefined but the class occurs in gold or predictions).
    pub f1: f64,
    /// Gold occurrences.
    pub support: usize,
}

/// A multi-class report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    /// Items scored.
    pub count: usize,
    /// Fraction predicted correctly.
    pub accuracy: Option<f64>,
    /// Mean F1 over the classes that occur in gold or predictions.
    pub macro_f1: Option<f64>,
    /// Support-weighted mean F1.
    pub weighted_f1: Option<f64>,
    /// Per-class metrics, in label order (all labels, occurring or not).
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[gold][pred]` counts in label order.
    pub confusion: Vec<Vec<usize>>,
}

/// Builds a report of `pred` against `gold` over `labels` (indices into `labels`).
pub fn class_report(gold: &[usize], pred: &[usize], labels: &[&str]) -> ClassReport {
    let k = labels.len();
    let mut confusion = vec![vec![0usize; k]; k];
    for (&g, &p) in gold.iter().zip(pred) {
        confusion[g][p] += 1;
    }
    let n = gold.len();
    let mut per_class = Vec::with_capacity(k);
    let (mut macro_sum, mut macro_n, mut weighted) = (0.0, 0usize, 0.0);
    for c in 0..k {
        let tp = confusion[c][c] as f64;
        let support: usize = confusion[c].iter().sum();
        let predicted: usize = confusion.iter().map(|r| r[c]).sum();
        let precision = (predicted > 0).then(|| tp / predicted as f64);
        let recall = (support > 0).then(|| tp / support as f64);
        let f1 = match (precision, recall) {
            (Some(p), Some(r)) if p + r > 0.0 => 2.0 * p * r / (p + r),
            _ => 0.0,
        };
        if support > 0 || predicted > 0 {
            macro_sum += f1;
            macro_n += 1;
        }
        weighted += f1 * support as f64;
        per_class.push(ClassMetrics { label: labels[c].to_string(), precision, recall, f1, support });
    }
    let correct: usize = (0..k).map(|c| confusion[c][c]).sum();
    ClassReport {
        count: n,
        accuracy: (n > 0).then(|| correct as f64 / n as f64),
        macro_f1: (macro_n > 0).then(|| macro_sum / macro_n as f64),
        weighted_f1: (n > 0).then(|| weighted / n as f64),
        per_class,
        confusion,
    }
}

/// Binary detection metrics at a fixed threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BinaryMetrics {
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// True negatives.
    pub tn: usize,
    /// False negatives.
    pub fn_: usize,
    /// Precision (`None` with no positive prediction).
    pub precision: Option<f64>,
    /// Recall (`None` with no positive item).
    pub recall: Option<f64>,
    /// F1 (`None` when there is neither a positive item nor a positive prediction).
    pub f1: Option<f64>,
    /// False-positive rate on negatives (`None` with no negative item).
    pub fpr: Option<f64>,
}

/// Binary metrics of `predicted` against `gold`.
pub fn binary_metrics(gold: &[bool], predicted: &[bool]) -> BinaryMetrics {
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (&g, &p) in gold.iter().zip(predicted) {
        match (g, p) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
            (true, false) => fn_ += 1,
        }
    }
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    BinaryMetrics {
        tp,
        fp,
        tn,
        fn_,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        f1: ratio(2 * tp, 2 * tp + fp + fn_),
        fpr: ratio(fp, fp + tn),
    }
}

/// Area under the ROC curve (ties count one half); `None` unless both classes occur.
pub fn roc_auc(scores: &[f32], gold: &[bool]) -> Option<f64> {
    let pos: Vec<f32> = scores.iter().zip(gold).filter(|(_, &g)| g).map(|(&s, _)| s).collect();
    let neg: Vec<f32> = scores.iter().zip(gold).filter(|(_, &g)| !g).map(|(&s, _)| s).collect();
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    // Rank-sum (Mann–Whitney U) with average ranks for ties.
    let mut all: Vec<(f32, bool)> = scores.iter().copied().zip(gold.iter().copied()).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // ranks are 1-based
        rank_sum_pos += avg_rank * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    Some((rank_sum_pos - np * (np + 1.0) / 2.0) / (np * nn))
}

/// Average precision (area under the precision–recall curve, step-wise); `None` without
/// positives.
pub fn average_precision(scores: &[f32], gold: &[bool]) -> Option<f64> {
    let positives = gold.iter().filter(|&&g| g).count();
    if positives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut ap) = (0usize, 0usize, 0.0);
    let mut i = 0;
    while i < order.len() {
        // Items with equal scores enter together.
        let mut j = i;
        let mut new_tp = 0;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            if gold[order[j]] { new_tp += 1 } else { fp += 1 }
            j += 1;
        }
        tp += new_tp;
        ap += (new_tp as f64 / positives as f64) * (tp as f64 / (tp + fp) as f64);
        i = j;
    }
    Some(ap)
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Items in the bin.
    pub count: usize,
    /// Mean predicted probability (`None` when empty).
    pub mean_predicted: Option<f64>,
    /// Observed positive fraction (`None` when empty).
    pub observed: Option<f64>,
}

/// Expected calibration error over `bins` equal-width bins, with the bins themselves;
/// `None` for no items.
pub fn calibration_error(probs: &[f32], gold: &[bool], bins: usize) -> (Option<f64>, Vec<ReliabilityBin>) {
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
    for (&p, &g) in probs.iter().zip(gold) {
        let b = ((p as f64 * bins as f64) as usize).min(bins - 1);
        sums[b].0 += 1;
        sums[b].1 += p as f64;
        sums[b].2 += g as usize;
    }
    let n = probs.len();
    let mut ece = 0.0;
    let table = sums
        .iter()
        .enumerate()
        .map(|(i, &(count, psum, pos))| {
            let (mean, obs) = if count > 0 {
                let (m, o) = (psum / count as f64, pos as f64 / count as f64);
                ece += count as f64 / n as f64 * (m - o).abs();
                (Some(m), Some(o))
            } else {
                (None, None)
            };
            ReliabilityBin { lo: i as f64 / bins as f64, hi: (i + 1) as f64 / bins as f64, count, mean_predicted: mean, observed: obs }
        })
        .collect();
    ((n > 0).then_some(ece), table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_report_matches_hand_computed_values() {
        // gold: a a b b c ; pred: a b b b a  (class d never occurs)
        let r = class_report(&[0, 0, 1, 1, 2], &[0, 1, 1, 1, 0], &["a", "b", "c", "d"]);
        assert_eq!(r.confusion, vec![vec![1, 1, 0, 0], vec![0, 2, 0, 0], vec![1, 0, 0, 0], vec![0, 0, 0, 0]]);
        assert_eq!(r.accuracy, Some(0.6));
        let f = |i: usize| r.per_class[i].f1;
        assert!((f(0) - 0.5).abs() < 1e-12); // p 1/2, r 1/2
        assert!((f(1) - 0.8).abs() < 1e-12); // p 2/3, r 1
        assert_eq!(f(2), 0.0);
        assert_eq!(r.per_class[3].recall, None);
        assert!((r.macro_f1.unwrap() - 1.3 / 3.0).abs() < 1e-12, "d is excluded from the macro mean");
        assert!((r.weighted_f1.unwrap() - (0.5 * 2.0 + 0.8 * 2.0) / 5.0).abs() < 1e-12);
    }

    #[test]
    fn auc_and_ap_handle_ties_and_single_class() {
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
        assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(roc_auc(&[0.2, 0.9], &[true, true]), None);
        let ap = average_precision(&[0.9, 0.8, 0.7, 0.6], &[true, false, true, false]).unwrap();
        assert!((ap - (0.5 * 1.0 + 0.5 * 2.0 / 3.0)).abs() < 1e-12);
        assert_eq!(average_precision(&[0.3], &[false]), None);
    }

    #[test]
    fn binary_metrics_and_ece() {
        let m = binary_metrics(&[true, true, false, false], &[true, false, true, false]);
        assert_eq!((m.tp, m.fp, m.tn, m.fn_), (1, 1, 1, 1));
        assert_eq!(m.fpr, Some(0.5));
        let (ece, bins) = calibration_error(&[0.05, 0.95, 0.95, 0.95], &[false, true, true, false], 10);
        assert_eq!(bins[9].count, 3);
        assert!((ece.unwrap() - 0.75 * (0.95 - 2.0 / 3.0) - 0.25 * 0.05).abs() < 1e-6);
        assert_eq!(calibration_error(&[], &[], 10).0, None);
    }
}
