//! The moderator's text view of a verdict: verdict line, stage timeline and evidence,
//! coloured when the terminal supports it.

use console::{style, Style};

use crate::classifier::ConversationScore;
use crate::taxonomy::Stage;

fn stage_style(stage: Stage) -> Style {
    match stage {
        Stage::None => Style::new().dim(),
        Stage::Contact => Style::new().cyan(),
        Stage::Rapport => Style::new().blue(),
        Stage::Isolation => Style::new().magenta(),
        Stage::Pitch => Style::new().yellow(),
        Stage::Extraction => Style::new().red().bold(),
        Stage::Recruitment => Style::new().red(),
    }
}

/// Runs of equal stages as `(stage, first index, last index)`.
pub fn timeline(score: &ConversationScore) -> Vec<(Stage, usize, usize)> {
    let mut runs: Vec<(Stage, usize, usize)> = Vec::new();
    for m in &score.messages {
        match runs.last_mut() {
            Some(run) if run.0 == m.stage => run.2 = m.index,
            _ => runs.push((m.stage, m.index, m.index)),
        }
    }
    runs
}

fn shorten(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}

/// Renders one verdict as a few lines of text.
pub fn render(score: &ConversationScore) -> String {
    let verdict = if score.scam { style("SCAM").red().bold() } else { style("no scam detected").green() };
    let lang = score.lang.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
    let mut out = format!("{}{} — {verdict}  risk {:.2}", style(&score.id).bold(), lang, score.risk);
    if score.scam {
        out += &format!("  stage {}  type {}", stage_style(score.stage).apply_to(score.stage), score.scam_type.as_str());
        if let Some(i) = score.first_flag {
            out += &format!("  first flagged at message #{i}");
        }
    }
    out.push('\n');
    let runs: Vec<String> = timeline(score)
        .into_iter()
        .map(|(s, a, b)| {
            let span = if a == b { format!("#{a}") } else { format!("#{a}-{b}") };
            format!("{} {span}", stage_style(s).apply_to(s))
        })
        .collect();
    out += &format!("  timeline: {}\n", runs.join(" ▸ "));
    if !score.evidence.is_empty() {
        out += "  evidence:\n";
        for e in &score.evidence {
            out += &format!(
                "    #{:<3} {:<12} {:.2}  {}: {}\n",
                e.index,
                stage_style(e.stage).apply_to(e.stage.as_str()),
                e.score,
                e.sender,
                shorten(&e.text, 100)
            );
        }
    }
    out
}
