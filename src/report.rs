//! Human-readable evaluation reports of an [`EvalReport`]: Markdown tables and a
//! self-contained HTML page with SVG charts.

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

/// Charts of a report as standalone SVG documents (plotters' SVG backend).
mod charts {
    use plotters::prelude::*;

    use crate::eval::{ConversationMetrics, SliceMetrics};
    use crate::metrics::ClassReport;

    type Draw = Result<(), Box<dyn std::error::Error>>;

    fn render(width: u32, height: u32, draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Draw) -> String {
        let mut svg = String::new();
        let result = {
            let area = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            area.fill(&WHITE).map_err(|e| e.to_string().into()).and_then(|_| draw(&area)).and_then(|_| area.present().map_err(|e| e.to_string().into()))
        };
        match result {
            Ok(()) => svg,
            Err(e) => format!("<p>chart unavailable: {e}</p>"),
        }
    }

    /// Confusion-matrix heatmap, rows gold, columns predicted, cells shaded by row share.
    pub fn confusion(rep: &ClassReport) -> String {
        let labels: Vec<&str> = rep.per_class.iter().map(|c| c.label.as_str()).collect();
        let k = labels.len();
        render(560, 500, |area| {
            let mut chart = ChartBuilder::on(area)
                .caption("Confusion matrix (rows gold, columns predicted)", ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(90)
                .build_cartesian_2d(0..k, 0..k)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(k)
                .y_labels(k)
                .x_label_formatter(&|i| labels.get(*i).map(|s| s[..s.len().min(5)].to_string()).unwrap_or_default())
                .y_label_formatter(&|i| (k - 1).checked_sub(*i).and_then(|j| labels.get(j)).map(|s| s.to_string()).unwrap_or_default())
                .draw()?;
            for (g, row) in rep.confusion.iter().enumerate() {
                let total: usize = row.iter().sum::<usize>().max(1);
                for (p, &n) in row.iter().enumerate() {
                    let share = n as f64 / total as f64;
                    let shade = RGBColor(255 - (share * 200.0) as u8, 255 - (share * 120.0) as u8, 255);
                    let y = k - 1 - g;
                    chart.draw_series(std::iter::once(Rectangle::new([(p, y), (p + 1, y + 1)], shade.filled())))?;
                    chart.draw_series(std::iter::once(Text::new(n.to_string(), (p, y + 1), ("sans-serif", 13))))?;
                }
            }
            Ok(())
        })
    }

    fn curve(title: &str, x_desc: &str, y_desc: &str, points: &[[f64; 2]], diagonal: bool) -> String {
        render(420, 360, |area| {
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(45)
                .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
            chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw()?;
            if diagonal {
                chart.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], RGBColor(180, 180, 180)))?;
            }
            chart.draw_series(LineSeries::new(points.iter().map(|p| (p[0], p[1])), BLUE.stroke_width(2)))?;
            chart.draw_series(points.iter().map(|p| Circle::new((p[0], p[1]), 2, BLUE.filled())))?;
            Ok(())
        })
    }

    /// ROC curve.
    pub fn roc(d: &ConversationMetrics) -> String {
        curve("ROC (conversations)", "false-positive rate", "true-positive rate", &d.roc_curve, true)
    }

    /// Precision–recall curve.
    pub fn pr(d: &ConversationMetrics) -> String {
        curve("Precision–recall (conversations)", "recall", "precision", &d.pr_curve, false)
    }

    /// Reliability diagram of risk.
    pub fn reliability(d: &ConversationMetrics) -> String {
        let points: Vec<[f64; 2]> =
            d.reliability.iter().filter_map(|b| Some([b.mean_predicted?, b.observed?])).collect();
        curve("Reliability (risk vs observed scam rate)", "mean predicted risk", "observed scam fraction", &points, true)
    }

    /// Bars of one metric per slice.
    pub fn bars(title: &str, slices: &[(String, &SliceMetrics)], metric: fn(&SliceMetrics) -> Option<f64>) -> String {
        let n = slices.len().max(1);
        render(640, 320, |area| {
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(0..n, 0f64..1f64)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&|i| slices.get(*i).map(|s| s.0.clone()).unwrap_or_default())
                .draw()?;
            chart.draw_series(slices.iter().enumerate().filter_map(|(i, (_, m))| {
                metric(m).map(|v| Rectangle::new([(i, 0.0), (i + 1, v)], RGBColor(70, 110, 200).filled()))
            }))?;
            Ok(())
        })
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Renders the report as one self-contained HTML page: the Markdown tables as text plus
/// inline SVG charts (confusion matrix, reliability, ROC and PR curves, per-language bars).
pub fn html(r: &EvalReport, title: &str, context: &str) -> String {
    let mut body = String::new();
    let langs: Vec<(String, &SliceMetrics)> = r.by_lang.iter().map(|(k, v)| (k.clone(), v)).collect();
    let _ = write!(body, "<section class=\"charts\">");
    if r.overall.stages.is_some() {
        body += &charts::bars("Stage macro-F1 per language", &langs, |m| m.stage_macro_f1.value);
    }
    if r.overall.detection.is_some() {
        body += &charts::bars("Scam ROC-AUC per language", &langs, |m| m.detection.as_ref().and_then(|d| d.roc_auc.value));
    }
    if let Some(rep) = &r.overall.stages {
        body += &charts::confusion(rep);
    }
    if let Some(d) = &r.overall.detection {
        body += &charts::reliability(d);
        body += &charts::roc(d);
        body += &charts::pr(d);
    }
    body += "</section>";
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\n\
         <style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}\
         .charts svg{{margin:.5em;border:1px solid #ddd}}pre{{white-space:pre-wrap}}</style></head>\n\
         <body><h1>{t}</h1>\n{body}\n<h2>Tables</h2><pre>{md}</pre></body></html>\n",
        t = escape(title),
        md = escape(&markdown(r, title, context)),
    )
}

/// Side-by-side Markdown of two `metrics.json` documents (as written by `eval`) with the
/// change in each headline number, overall and per language.
pub fn compare(a: &serde_json::Value, b: &serde_json::Value) -> String {
    let get = |v: &serde_json::Value, ptr: &str| v.pointer(ptr).and_then(serde_json::Value::as_f64);
    let mut rows: Vec<(String, String)> = vec![
        ("stage macro-F1".into(), "/report/overall/stage_macro_f1/value".into()),
        ("scam F1".into(), "/report/overall/detection/scam_f1/value".into()),
        ("benign FPR".into(), "/report/overall/detection/benign_fpr/value".into()),
        ("ROC-AUC".into(), "/report/overall/detection/roc_auc/value".into()),
        ("PR-AUC".into(), "/report/overall/detection/pr_auc/value".into()),
        ("ECE".into(), "/report/overall/detection/ece/value".into()),
        ("furthest-stage accuracy".into(), "/report/overall/detection/furthest_stage_accuracy/value".into()),
        ("messages/s".into(), "/throughput/messages_per_s".into()),
    ];
    let mut langs: Vec<String> = Vec::new();
    for v in [a, b] {
        if let Some(m) = v.pointer("/report/by_lang").and_then(|m| m.as_object()) {
            langs.extend(m.keys().filter(|k| !langs.contains(k)).cloned().collect::<Vec<_>>());
        }
    }
    langs.sort();
    for l in &langs {
        rows.push((format!("{l}: stage macro-F1"), format!("/report/by_lang/{l}/stage_macro_f1/value")));
        rows.push((format!("{l}: ROC-AUC"), format!("/report/by_lang/{l}/detection/roc_auc/value")));
    }
    let fmt = |x: Option<f64>| x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "n/a".into());
    let mut s = String::from("| metric | A | B | B − A |\n|---|---|---|---|\n");
    for (name, ptr) in rows {
        let (x, y) = (get(a, &ptr), get(b, &ptr));
        let delta = match (x, y) {
            (Some(x), Some(y)) => format!("{:+.3}", y - x),
            _ => "n/a".into(),
        };
        let _ = writeln!(s, "| {name} | {} | {} | {delta} |", fmt(x), fmt(y));
    }
    s
}
