//! Conversation risk: the head's scam probability calibrated with Platt scaling fitted on
//! a dev split, and the decision threshold chosen there.

use serde::{Deserialize, Serialize};

/// Platt scaling `risk = σ(a · logit(s) + b)` of a raw score `s` in (0, 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Slope.
    pub a: f32,
    /// Intercept.
    pub b: f32,
}

impl Default for Calibration {
    fn default() -> Self {
        Self { a: 1.0, b: 0.0 }
    }
}

fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Calibration {
    /// Calibrated probability for raw score `s`.
    pub fn apply(&self, s: f32) -> f32 {
        sigmoid(self.a * logit(s) + self.b)
    }

    /// Fits `a`, `b` by minimising the log-loss plus a unit Gaussian prior towards the
    /// identity (`a = 1`, `b = 0`) over a grid (`a` in [0.05, 20], log-spaced; `b` in
    /// [-10, 10]). The grid keeps the fit finite and stable where Newton steps diverge: on
    /// a small or perfectly separated dev split the unpenalised slope goes to infinity.
    pub fn fit(scores: &[f32], labels: &[bool]) -> Self {
        let xs: Vec<f64> = scores.iter().map(|&s| logit(s) as f64).collect();
        let loss = |a: f64, b: f64| {
            let data: f64 = xs
                .iter()
                .zip(labels)
                .map(|(&x, &y)| {
                    let z = a * x + b;
                    // log(1 + e^z) - y z, computed stably.
                    let softplus = if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() };
                    softplus - if y { z } else { 0.0 }
                })
                .sum();
            data + 0.5 * ((a - 1.0).powi(2) + b.powi(2))
        };
        let mut best = (f64::INFINITY, 1.0, 0.0);
        for i in 0..=80 {
            let a = 0.05f64 * (20.0f64 / 0.05).powf(i as f64 / 80.0);
            for j in 0..=80 {
                let b = -10.0 + 0.25 * j as f64;
                let l = loss(a, b);
                if l < best.0 {
                    best = (l, a, b);
                }
            }
        }
        Self { a: best.1 as f32, b: best.2 as f32 }
    }
}

/// A cap on the false-positive rate among some of the benign conversations.
#[derive(Debug, Clone)]
pub struct FprLimit {
    /// Which conversations the cap is about (the benign ones among them count).
    pub members: Vec<bool>,
    /// Largest false-positive rate allowed among them.
    pub max_fpr: f64,
}

/// The decision threshold on calibrated risk: the one with the best F1 among those that
/// keep every limit's false-positive rate within its cap (the highest candidate when none
/// does).
pub fn choose_threshold(risks: &[f32], labels: &[bool], limits: &[FprLimit]) -> f32 {
    let mut candidates: Vec<f32> = risks.to_vec();
    candidates.push(0.5);
    candidates.sort_by(f32::total_cmp);
    let within = |t: f32| {
        limits.iter().all(|limit| {
            let (mut negatives, mut fp) = (0usize, 0usize);
            for ((&r, &y), &m) in risks.iter().zip(labels).zip(&limit.members) {
                if m && !y {
                    negatives += 1;
                    fp += usize::from(r >= t);
                }
            }
            negatives == 0 || fp as f64 / negatives as f64 <= limit.max_fpr
        })
    };
    let mut best = (f64::NEG_INFINITY, candidates.last().map_or(0.5, |&t| t.max(0.5)));
    for &t in &candidates {
        if !within(t) {
            continue;
        }
        let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
        for (&r, &y) in risks.iter().zip(labels) {
            match (r >= t, y) {
                (true, true) => tp += 1.0,
                (true, false) => fp += 1.0,
                (false, true) => fn_ += 1.0,
                _ => {}
            }
        }
        let f1 = if tp > 0.0 { 2.0 * tp / (2.0 * tp + fp + fn_) } else { 0.0 };
        if f1 > best.0 {
            best = (f1, t);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_is_monotone_and_fits_separable_data() {
        let scores = [0.05, 0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.95];
        let labels = [false, false, false, false, true, true, true, true];
        let c = Calibration::fit(&scores, &labels);
        assert!(c.a > 0.0);
        assert!(c.apply(0.1) < 0.2 && c.apply(0.9) > 0.8, "{c:?}");
        assert!(c.apply(0.4) < c.apply(0.6));
    }

    #[test]
    fn threshold_respects_the_false_positive_budget() {
        let risks = [0.1, 0.2, 0.6, 0.65, 0.7, 0.9, 0.95];
        let labels = [false, false, false, true, true, true, true];
        let all = FprLimit { members: vec![true; 7], max_fpr: 0.0 };
        let t = choose_threshold(&risks, &labels, &[all.clone()]);
        assert!(t > 0.6 && t <= 0.65, "{t}");
        // A loose cap lets the best-F1 threshold flag one benign conversation; a second,
        // zero cap on a group holding that conversation moves the threshold above it.
        let (risks, labels) = ([0.3, 0.5, 0.6, 0.7], [false, true, false, true]);
        let loose = FprLimit { members: vec![true; 4], max_fpr: 0.5 };
        assert_eq!(choose_threshold(&risks, &labels, &[loose.clone()]), 0.5);
        let strict_group = FprLimit { members: vec![false, false, true, false], max_fpr: 0.0 };
        assert_eq!(choose_threshold(&risks, &labels, &[loose, strict_group]), 0.7);
    }
}
