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

    /// Fits `a`, `b` by Newton's method on the log-loss (with a weak prior towards the
    /// identity so that tiny or separable dev sets stay well behaved).
    pub fn fit(scores: &[f32], labels: &[bool]) -> Self {
        let xs: Vec<f64> = scores.iter().map(|&s| logit(s) as f64).collect();
        let (mut a, mut b) = (1.0f64, 0.0f64);
        let prior = 1e-2;
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (prior * (a - 1.0), prior * b, prior, 0.0, prior);
            for (&x, &y) in xs.iter().zip(labels) {
                let p = 1.0 / (1.0 + (-(a * x + b)).exp());
                let r = p - if y { 1.0 } else { 0.0 };
                let w = (p * (1.0 - p)).max(1e-9);
                ga += r * x;
                gb += r;
                haa += w * x * x;
                hab += w * x;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-12 {
                break;
            }
            let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
            a -= da;
            b -= db;
            if da.abs() + db.abs() < 1e-9 {
                break;
            }
        }
        Self { a: a as f32, b: b as f32 }
    }
}

/// The decision threshold on calibrated risk: the one with the best F1 among those whose
/// false-positive rate on benign conversations is at most `max_fpr`.
pub fn choose_threshold(risks: &[f32], labels: &[bool], max_fpr: f64) -> f32 {
    let negatives = labels.iter().filter(|&&y| !y).count().max(1) as f64;
    let mut candidates: Vec<f32> = risks.to_vec();
    candidates.push(0.5);
    candidates.sort_by(f32::total_cmp);
    let mut best = (f64::NEG_INFINITY, 0.5f32);
    for &t in &candidates {
        let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
        for (&r, &y) in risks.iter().zip(labels) {
            match (r >= t, y) {
                (true, true) => tp += 1.0,
                (true, false) => fp += 1.0,
                (false, true) => fn_ += 1.0,
                _ => {}
            }
        }
        if fp / negatives > max_fpr {
            continue;
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
        let t = choose_threshold(&risks, &labels, 0.0);
        assert!(t > 0.6 && t <= 0.65, "{t}");
    }
}
