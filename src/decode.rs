//! Stage timeline decoding: Viterbi over the head's per-message stage probabilities with
//! transition scores estimated from labelled conversations, restricted to moves the scam
//! script allows (forward only; never from extraction back to an earlier stage), so the
//! timeline does not flicker.

use serde::{Deserialize, Serialize};

use crate::taxonomy::Stage;

const N: usize = Stage::ALL.len();
/// Log-score of a forbidden transition (finite so that it serialises as JSON).
const FORBIDDEN: f32 = -1e9;

/// Whether the script can move from `from` to `to` between consecutive messages.
pub fn allowed(from: Stage, to: Stage) -> bool {
    use Stage::*;
    match (from, to) {
        _ if from == to => true,
        (None, _) => true,
        (Recruitment, Extraction) => true,
        (Contact, Recruitment) => true,
        (_, None) | (_, Recruitment) | (Recruitment, _) | (Extraction, _) => false,
        _ => to.index() > from.index(),
    }
}

/// Log start and transition scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transitions {
    /// Log-probability of the first message's stage.
    pub start: Vec<f32>,
    /// `trans[from][to]`: log-probability of moving between consecutive messages.
    pub trans: Vec<Vec<f32>>,
}

impl Transitions {
    /// Estimates scores from gold stage sequences with add-`alpha` smoothing over the
    /// allowed moves.
    pub fn estimate<'a>(sequences: impl IntoIterator<Item = &'a [Stage]>, alpha: f32) -> Self {
        let mut start = [alpha; N];
        let mut counts = [[0f32; N]; N];
        for (i, row) in counts.iter_mut().enumerate() {
            for (j, c) in row.iter_mut().enumerate() {
                if allowed(Stage::ALL[i], Stage::ALL[j]) {
                    *c = alpha;
                }
            }
        }
        for seq in sequences {
            if let Some(first) = seq.first() {
                start[first.index()] += 1.0;
            }
            for w in seq.windows(2) {
                if allowed(w[0], w[1]) {
                    counts[w[0].index()][w[1].index()] += 1.0;
                }
            }
        }
        let log_norm = |row: &[f32]| {
            let total: f32 = row.iter().sum();
            row.iter().map(|&c| if c > 0.0 { (c / total).ln() } else { FORBIDDEN }).collect::<Vec<f32>>()
        };
        Self { start: log_norm(&start), trans: counts.iter().map(|r| log_norm(r)).collect() }
    }

    /// These scores with every allowed move's log-probability multiplied by `weight`: below 1,
    /// the messages' own stage probabilities count for more against staying in a stage.
    /// Forbidden moves stay forbidden.
    pub fn weighted(&self, weight: f32) -> Self {
        let scale = |x: f32| if x <= FORBIDDEN { x } else { x * weight };
        Self {
            start: self.start.iter().map(|&x| scale(x)).collect(),
            trans: self.trans.iter().map(|row| row.iter().map(|&x| scale(x)).collect()).collect(),
        }
    }

    /// The most likely stage sequence given per-message log-probabilities.
    pub fn viterbi(&self, log_probs: &[Vec<f32>]) -> Vec<Stage> {
        let Some(first) = log_probs.first() else { return Vec::new() };
        let mut score: Vec<f32> = (0..N).map(|s| self.start[s] + first[s]).collect();
        let mut back: Vec<[usize; N]> = Vec::with_capacity(log_probs.len());
        for lp in &log_probs[1..] {
            let mut next = vec![f32::NEG_INFINITY; N];
            let mut ptr = [0usize; N];
            for to in 0..N {
                for from in 0..N {
                    let s = score[from] + self.trans[from][to];
                    if s > next[to] {
                        next[to] = s;
                        ptr[to] = from;
                    }
                }
                next[to] += lp[to];
            }
            back.push(ptr);
            score = next;
        }
        let mut best = (0..N).max_by(|&a, &b| score[a].total_cmp(&score[b])).unwrap_or(0);
        let mut path = vec![Stage::ALL[best]];
        for ptr in back.iter().rev() {
            best = ptr[best];
            path.push(Stage::ALL[best]);
        }
        path.reverse();
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Stage::*;

    fn one_hot(stages: &[Stage], confidence: f32) -> Vec<Vec<f32>> {
        stages
            .iter()
            .map(|s| {
                let rest = (1.0 - confidence) / (N as f32 - 1.0);
                (0..N).map(|i| if i == s.index() { confidence } else { rest }.ln()).collect()
            })
            .collect()
    }

    #[test]
    fn never_moves_back_from_extraction_and_smooths_flicker() {
        let t = Transitions::estimate([&[Contact, Rapport, Rapport, Pitch, Extraction, Extraction][..]], 0.5);
        let noisy = one_hot(&[Contact, Rapport, Contact, Rapport, Pitch, Extraction, Contact], 0.6);
        let path = t.viterbi(&noisy);
        for w in path.windows(2) {
            assert!(allowed(w[0], w[1]), "{path:?}");
        }
        assert_eq!(path.last(), Some(&Extraction));
        assert_eq!(path[2], Rapport, "a lone contact inside rapport is smoothed away: {path:?}");
    }

    #[test]
    fn a_lighter_weight_lets_one_confident_message_move_on_and_keeps_moves_forbidden() {
        // Long pitches that rarely end in extraction make the move expensive.
        let mut gold = vec![Pitch; 40];
        gold.push(Extraction);
        let t = Transitions::estimate([&gold[..]], 0.5);
        let mut probs = one_hot(&[Pitch, Pitch, Pitch], 0.95);
        probs.push(one_hot(&[Extraction], 0.66).remove(0));
        assert_eq!(t.viterbi(&probs).last(), Some(&Pitch));
        let light = t.weighted(0.25);
        assert_eq!(light.viterbi(&probs).last(), Some(&Extraction));
        for from in Stage::ALL {
            for to in Stage::ALL {
                assert_eq!(allowed(from, to), light.trans[from.index()][to.index()] > FORBIDDEN, "{from:?} → {to:?}");
            }
        }
        assert_eq!(t.weighted(1.0), t);
    }

    #[test]
    fn estimated_rows_are_distributions_over_allowed_moves() {
        let t = Transitions::estimate([&[None, None][..], &[Recruitment, Extraction][..]], 1.0);
        for (i, row) in t.trans.iter().enumerate() {
            let p: f32 = row.iter().filter(|&&l| l > FORBIDDEN).map(|l| l.exp()).sum();
            assert!((p - 1.0).abs() < 1e-5, "row {i} sums to {p}");
        }
        assert!(t.trans[Extraction.index()][Contact.index()] <= FORBIDDEN);
    }
}
