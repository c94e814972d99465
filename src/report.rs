//! Human-readable evaluation reports of an [`EvalReport`]: Markdown tables and a
//! self-contained HTML page (HTML tables, SVG charts, the review page's stylesheet).

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
    use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
    use plotters::prelude::*;

    use crate::eval::{ConversationMetrics, Estimate, SliceMetrics};

    type Draw = Result<(), Box<dyn std::error::Error>>;

    /// The review page's accent and muted greys.
    const ACCENT: RGBColor = RGBColor(29, 78, 216);
    const GREY: RGBColor = RGBColor(150, 156, 168);
    const INK: RGBColor = RGBColor(22, 24, 29);

    /// A tick label of a 0..1 axis: none outside 0..1 (the room left around the data), and
    /// no "-0.0".
    fn tick(v: &f64) -> String {
        match *v {
            v if !(-1e-9..=1.0 + 1e-9).contains(&v) => String::new(),
            v if v.abs() < 1e-9 => "0.0".into(),
            v => format!("{v:.1}"),
        }
    }

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

    /// A 440 × 380 chart of two 0..1 quantities over `x` × `y` (a little wider than 0..1),
    /// its axes described and ticked with [`tick`].
    fn unit_chart<'a, 'b>(
        area: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
        title: &str,
        (x_desc, y_desc): (&str, &str),
        (x, y): (std::ops::Range<f64>, std::ops::Range<f64>),
    ) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>, Box<dyn std::error::Error>> {
        let mut chart =
            ChartBuilder::on(area).caption(title, ("sans-serif", 16)).margin(12).x_label_area_size(45).y_label_area_size(55).build_cartesian_2d(x, y)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style(("sans-serif", 13))
            .draw()?;
        Ok(chart)
    }

    fn curve(title: &str, x_desc: &str, y_desc: &str, points: &[[f64; 2]], diagonal: bool) -> String {
        render(440, 380, |area| {
            // A little room outside 0..1 on both axes, so that a curve along an edge (a ROC
            // curve up the y-axis, a PR curve down at recall 1) is not drawn over the axis line.
            let mut chart = unit_chart(area, title, (x_desc, y_desc), (-0.02..1.02, -0.02..1.02))?;
            if diagonal {
                chart.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], GREY))?;
            }
            chart.draw_series(LineSeries::new(points.iter().map(|p| (p[0], p[1])), ACCENT.stroke_width(2)))?;
            chart.draw_series(points.iter().map(|p| Circle::new((p[0], p[1]), 2, ACCENT.filled())))?;
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

    /// Wilson 95 % interval of a proportion `p` observed over `n` trials.
    fn wilson(p: f64, n: usize) -> (f64, f64) {
        let (n, z) = (n as f64, 1.96f64);
        let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
        let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
        ((centre - half).max(0.0), (centre + half).min(1.0))
    }

    /// Reliability diagram of risk: one point per non-empty bin at (mean predicted risk,
    /// observed scam fraction) with its Wilson 95 % interval and its count written above,
    /// so that a bin of two conversations reads as what it is.
    pub fn reliability(d: &ConversationMetrics) -> String {
        let bins: Vec<(f64, f64, usize)> =
            d.reliability.iter().filter_map(|b| Some((b.mean_predicted?, b.observed?, b.count))).filter(|b| b.2 > 0).collect();
        render(440, 380, |area| {
            // Room outside 0..1 for points at risk or rate 0 or 1, and above 1 for the counts.
            let mut chart = unit_chart(
                area,
                "Reliability (risk vs observed scam rate)",
                ("mean predicted risk in the bin", "observed scam fraction"),
                (-0.02..1.02, -0.03..1.1),
            )?;
            chart.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], GREY))?;
            chart.draw_series(bins.iter().map(|&(x, y, n)| {
                let (lo, hi) = wilson(y, n);
                ErrorBar::new_vertical(x, lo, y, hi, ACCENT.stroke_width(1), 6)
            }))?;
            chart.draw_series(bins.iter().map(|&(x, y, _)| Circle::new((x, y), 4, ACCENT.filled())))?;
            // Each count sits just above its whisker, centred on it but moved inwards where it
            // would cross the plot's edges (a bin near risk 0 or 1), placed in pixels on the plot
            // area so that no label reaches an axis or the frame.
            let plot = chart.plotting_area();
            let (xs, ys) = plot.get_pixel_range();
            let pixels = plot.strip_coord_spec();
            let font = ("sans-serif", 11).into_font().color(&INK);
            for &(x, y, n) in &bins {
                let (_, hi) = wilson(y, n);
                let label = format!("n={n}");
                let (w, h) = pixels.estimate_text_size(&label, &font)?;
                let (w, h) = (w as i32, h as i32);
                let (px, py) = chart.backend_coord(&(x, hi));
                let left = (px - w / 2).min(xs.end - 3 - w).max(xs.start + 4);
                let top = (py - 4 - h).max(ys.start + 2);
                pixels.draw(&Text::new(label, (left - xs.start, top - ys.start), font.clone()))?;
            }
            Ok(())
        })
    }

    /// `n` slots of a bar chart on a continuous axis: slot `i` spans `i..i + 1` and its key
    /// point (its label) is its centre.
    struct Slots(u32);

    impl Ranged for Slots {
        type FormatOption = DefaultFormatting;
        type ValueType = f64;

        fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
            limit.0 + (f64::from(limit.1 - limit.0) * v / f64::from(self.0.max(1))).round() as i32
        }

        fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
            if hint.weight().allow_light_points() {
                Vec::new()
            } else {
                (0..self.0).map(|i| f64::from(i) + 0.5).collect()
            }
        }

        fn range(&self) -> std::ops::Range<f64> {
            0.0..f64::from(self.0)
        }
    }

    /// Bars of one estimate per slice with their 95 % interval as whiskers; labels centred
    /// under their bars, the value's name on the axis.
    ///
    /// The slots are [`Slots`] rather than plotters' segmented integer axis, which counts
    /// `0..n` inclusively and so drew an empty slot after the last slice (and maps the lone
    /// slot of a one-slice axis off the plot).
    pub fn bars(title: &str, y_desc: &str, slices: &[(String, &SliceMetrics)], metric: fn(&SliceMetrics) -> Option<&Estimate>) -> String {
        let n = slices.len().max(1) as u32;
        let width = (120 + 44 * n).clamp(420, 900);
        render(width, 330, |area| {
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 16))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(Slots(n), 0f64..1.05f64)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_desc("language")
                .y_desc(y_desc)
                .y_labels(6)
                .y_label_formatter(&tick)
                .x_label_formatter(&|v| slices.get(v.floor().max(0.0) as usize).map(|s| s.0.clone()).unwrap_or_default())
                .label_style(("sans-serif", 13))
                .draw()?;
            let estimates: Vec<(f64, &Estimate)> =
                slices.iter().enumerate().filter_map(|(i, (_, m))| metric(m).map(|e| (i as f64, e))).collect();
            chart.draw_series(estimates.iter().filter_map(|&(i, e)| {
                let v = e.value?;
                let mut bar = Rectangle::new([(i, 0.0), (i + 1.0, v)], ACCENT.mix(0.75).filled());
                bar.set_margin(0, 0, 6, 6);
                Some(bar)
            }))?;
            chart.draw_series(estimates.iter().filter_map(|&(i, e)| {
                let [lo, hi] = e.ci95?;
                Some(ErrorBar::new_vertical(i + 0.5, lo, e.value?, hi, INK.stroke_width(1), 8))
            }))?;
            Ok(())
        })
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A table cell of an estimate: the value and, when known, its interval.
fn cell(e: &Estimate) -> String {
    match (e.value, e.ci95) {
        (Some(v), Some([lo, hi])) => format!("<td>{v:.3} <span class=\"ci\">[{lo:.3}, {hi:.3}]</span></td>"),
        (Some(v), None) => format!("<td>{v:.3}</td>"),
        (None, _) => format!("<td title=\"{}\">n/a</td>", escape(e.reason.as_deref().unwrap_or("undefined"))),
    }
}

/// One HTML table of slices: counts and the headline estimates with their intervals.
fn slice_table(caption: &str, first: &str, rows: &[(String, &SliceMetrics)]) -> String {
    let mut s = format!(
        "<table class=\"data\"><caption>{}</caption><thead><tr><th scope=\"col\">{first}</th><th scope=\"col\">conversations</th>\
         <th scope=\"col\">messages</th><th scope=\"col\">stage macro-F1</th><th scope=\"col\">scam F1</th><th scope=\"col\">benign FPR</th>\
         <th scope=\"col\">ROC-AUC</th><th scope=\"col\">furthest-stage acc.</th></tr></thead><tbody>",
        escape(caption)
    );
    let na = "<td>n/a</td>";
    for (name, m) in rows {
        let d = m.detection.as_ref();
        let get = |f: fn(&crate::eval::ConversationMetrics) -> &Estimate| d.map(|d| cell(f(d))).unwrap_or_else(|| na.into());
        let _ = write!(
            s,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td>{}{}{}{}{}</tr>",
            escape(name),
            m.conversations,
            m.messages,
            cell(&m.stage_macro_f1),
            get(|d| &d.scam_f1),
            get(|d| &d.benign_fpr),
            get(|d| &d.roc_auc),
            get(|d| &d.furthest_stage_accuracy),
        );
    }
    s + "</tbody></table>"
}

/// Per-stage precision / recall / F1 and the confusion matrix as a table whose cells are
/// shaded by their share of the gold row.
fn stage_tables(rep: &crate::metrics::ClassReport) -> String {
    let f = |x: Option<f64>| x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "n/a".into());
    let mut s = String::from(
        "<table class=\"data\"><caption>Stages (all messages)</caption><thead><tr><th scope=\"col\">stage</th><th scope=\"col\">precision</th>\
         <th scope=\"col\">recall</th><th scope=\"col\">F1</th><th scope=\"col\">support</th></tr></thead><tbody>",
    );
    for c in &rep.per_class {
        let _ = write!(s, "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td></tr>", escape(&c.label), f(c.precision), f(c.recall), c.f1, c.support);
    }
    s += "</tbody></table>\n<table class=\"data confusion\"><caption>Confusion matrix: rows gold, columns predicted; \
          cells shaded by their share of the gold row</caption><thead><tr><th scope=\"col\">gold \\ predicted</th>";
    for c in &rep.per_class {
        let _ = write!(s, "<th scope=\"col\">{}</th>", escape(&c.label));
    }
    s += "</tr></thead><tbody>";
    for (g, (c, counts)) in rep.per_class.iter().zip(&rep.confusion).enumerate() {
        let total = counts.iter().sum::<usize>().max(1) as f64;
        let _ = write!(s, "<tr><th scope=\"row\">{}</th>", escape(&c.label));
        for (p, n) in counts.iter().enumerate() {
            let share = *n as f64 / total;
            let (bg, fg) = (format!("rgba(29,78,216,{:.2})", share * 0.85), if share > 0.55 { "#fff" } else { "#16181d" });
            let diag = if g == p { " class=\"diag\"" } else { "" };
            let _ = write!(s, "<td{diag} style=\"background:{bg};color:{fg}\" title=\"{:.0} % of gold {}\">{n}</td>", share * 100.0, escape(&c.label));
        }
        s += "</tr>";
    }
    s + "</tbody></table>"
}

/// Renders the report as one self-contained HTML page in the review page's style: real
/// tables (values with their bootstrap intervals, the confusion matrix shaded), bars per
/// language with interval whiskers, the reliability diagram with bin counts and intervals,
/// ROC and PR curves.
pub fn html(r: &EvalReport, title: &str, context: &str) -> String {
    let mut body = String::new();
    let langs: Vec<(String, &SliceMetrics)> = r.by_lang.iter().map(|(k, v)| (k.clone(), v)).collect();
    let _ = write!(
        body,
        "<section><h2>Headline</h2>{}<p class=\"hint\">Brackets: bootstrap 95 % intervals ({} resamples of conversations, seed {}).</p></section>",
        slice_table("All conversations", "slice", &[("all".into(), &r.overall)]),
        r.bootstrap_resamples,
        r.seed
    );
    body += "<section><h2>Per language</h2>";
    body += &slice_table("Per language", "language", &langs);
    body += "<div class=\"charts\">";
    if r.overall.stages.is_some() {
        body += &format!("<figure>{}</figure>", charts::bars("Stage macro-F1 per language", "stage macro-F1", &langs, |m| Some(&m.stage_macro_f1)));
    }
    if r.overall.detection.is_some() {
        body += &format!("<figure>{}</figure>", charts::bars("Scam ROC-AUC per language", "ROC-AUC", &langs, |m| m.detection.as_ref().map(|d| &d.roc_auc)));
    }
    body += "</div><p class=\"hint\">Whiskers: bootstrap 95 % intervals.</p></section>";
    if !r.by_scam_type.is_empty() {
        let types: Vec<(String, &SliceMetrics)> = r.by_scam_type.iter().map(|(k, v)| (k.clone(), v)).collect();
        let _ = write!(body, "<section><h2>Per scam type</h2>{}</section>", slice_table("Per gold scam type", "scam type", &types));
    }
    if let Some(rep) = &r.overall.stages {
        let _ = write!(body, "<section><h2>Stages</h2>{}</section>", stage_tables(rep));
    }
    if let Some(d) = &r.overall.detection {
        let t = &d.at_threshold;
        let _ = write!(
            body,
            "<section><h2>Detection</h2><table class=\"data\"><caption>At the threshold</caption><thead><tr><th scope=\"col\">TP</th>\
             <th scope=\"col\">FP</th><th scope=\"col\">TN</th><th scope=\"col\">FN</th><th scope=\"col\">PR-AUC</th><th scope=\"col\">ECE</th>\
             <th scope=\"col\">mean flag delay (messages)</th><th scope=\"col\">scams never flagged</th></tr></thead><tbody><tr>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}{}{}<td>{}</td></tr></tbody></table>\
             <div class=\"charts\"><figure>{}<figcaption>Each point is a bin of conversations by predicted risk; the bar is the \
             Wilson 95 % interval of its observed scam fraction, n its size.</figcaption></figure><figure>{}</figure><figure>{}</figure></div></section>",
            t.tp,
            t.fp,
            t.tn,
            t.fn_,
            cell(&d.pr_auc),
            cell(&d.ece),
            cell(&d.flag_delay_mean),
            d.scams_missed,
            charts::reliability(d),
            charts::roc(d),
            charts::pr(d),
        );
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title>\n<style>\n{style}</style></head>\n\
         <body><header class=\"top\"><h1>{t}</h1><p class=\"muted\">{c}</p></header>\n<main class=\"report\">\n{body}\n</main></body></html>\n",
        t = escape(title),
        c = escape(context),
        style = crate::serve::STYLE,
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
