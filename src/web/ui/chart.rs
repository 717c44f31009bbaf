//! Line-chart geometry for server-rendered SVG (the trends page): scales, axis ticks with their
//! labels, one polyline path per series (broken where a bucket has no value) and a dot with a
//! text title per point. Templates only emit what is computed here, so a chart reads without
//! JavaScript, and every value is also given as text (titles, and the table beside the chart).

use chrono::{DateTime, Utc};

use crate::store::trends::Series;

/// Colour-blind-safe palette (Okabe–Ito), each dark enough on white for a 2 px line.
const PALETTE: &[&str] =
    &["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C564B"];

/// Chart size in SVG user units (the SVG scales to its container).
pub const WIDTH: f64 = 900.0;
pub const HEIGHT: f64 = 320.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 48.0;

/// An axis tick: where, and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub pos: f64,
    pub label: String,
}

/// One point drawn as a dot, with its value in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub title: String,
}

/// One series: its path (`d` attribute), dots and colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub colour: &'static str,
    /// SVG path data; empty when the series has no value at all.
    pub path: String,
    pub dots: Vec<Dot>,
}

/// A whole chart, ready for the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// The plot area: left, top, right, bottom.
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    pub y_label: String,
    pub lines: Vec<Line>,
    /// No series has any value.
    pub empty: bool,
}

/// A "nice" upper bound for a value axis: 1, 2 or 5 times a power of ten, at least `max`.
pub fn nice_ceiling(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|v| *v >= max).unwrap_or(10.0 * mag)
}

fn fmt_value(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Lay out `series` over their buckets. `fixed_max` fixes the value axis (a score's 100);
/// otherwise it fits the largest value. `unit` follows values in dot titles (`%` or ``).
pub fn line_chart(series: &[Series], fixed_max: Option<f64>, y_label: &str, unit: &str) -> Chart {
    let (right, bottom) = (WIDTH - RIGHT, HEIGHT - BOTTOM);
    let times: Vec<DateTime<Utc>> =
        series.first().map(|s| s.points.iter().map(|p| p.t).collect()).unwrap_or_default();
    let n = times.len();
    let max_value =
        series.iter().flat_map(|s| s.points.iter().filter_map(|p| p.value)).fold(f64::NAN, f64::max);
    let empty = max_value.is_nan();
    let top_value = fixed_max.unwrap_or_else(|| nice_ceiling(if empty { 0.0 } else { max_value }));
    let x = |i: usize| -> f64 {
        if n <= 1 {
            (LEFT + right) / 2.0
        } else {
            LEFT + (right - LEFT) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| -> f64 { bottom - (bottom - TOP) * (v / top_value).clamp(0.0, 1.0) };
    let round = |v: f64| (v * 10.0).round() / 10.0;

    let y_ticks = (0..=4)
        .map(|k| {
            let v = top_value * k as f64 / 4.0;
            Tick { pos: round(y(v)), label: fmt_value(v) }
        })
        .collect();
    // At most ~8 date labels, evenly spaced, always the first and the last (a regular one too
    // close to the last is left out so labels never overlap).
    let every = n.div_ceil(8).max(1);
    let x_ticks = (0..n)
        .filter(|i| (i % every == 0 && (n - 1 - i) * 2 >= every) || *i + 1 == n)
        .map(|i| Tick { pos: round(x(i)), label: times[i].format("%m-%d").to_string() })
        .collect();

    let lines = series
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let mut path = String::new();
            let mut pen_down = false;
            let mut dots = Vec::new();
            for (i, p) in s.points.iter().enumerate() {
                match p.value {
                    Some(v) => {
                        let (px, py) = (round(x(i)), round(y(v)));
                        path.push_str(&format!("{}{px} {py} ", if pen_down { "L" } else { "M" }));
                        pen_down = true;
                        dots.push(Dot {
                            x: px,
                            y: py,
                            title: format!(
                                "{} {}: {}{unit}",
                                s.label,
                                p.t.format("%Y-%m-%d %H:%M"),
                                fmt_value(v)
                            ),
                        });
                    }
                    None => pen_down = false,
                }
            }
            Line {
                label: s.label.clone(),
                colour: PALETTE[si % PALETTE.len()],
                path: path.trim_end().to_string(),
                dots,
            }
        })
        .collect();
    Chart {
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        top: TOP,
        right,
        bottom,
        x_ticks,
        y_ticks,
        y_label: y_label.to_string(),
        lines,
        empty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::trends::Point;
    use chrono::TimeZone;

    fn series(label: &str, values: &[Option<f64>]) -> Series {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        Series {
            key: label.into(),
            label: label.into(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| Point { t: t0 + chrono::Duration::days(i as i64), value: *v })
                .collect(),
        }
    }

    #[test]
    fn a_score_line_spans_the_plot_and_breaks_at_gaps() {
        let chart = line_chart(
            &[series("prod", &[Some(100.0), Some(50.0), None, Some(0.0)])],
            Some(100.0),
            "score",
            "%",
        );
        let line = &chart.lines[0];
        // 100 at the top, 50 halfway, 0 at the bottom; the gap starts a new sub-path.
        assert_eq!(line.path, "M60 16 L333.3 144 M880 272");
        assert_eq!(line.dots.len(), 3);
        assert_eq!(line.dots[1].title, "prod 2026-11-02 00:00: 50%");
        assert_eq!(chart.y_ticks.first().unwrap().label, "0");
        assert_eq!(chart.y_ticks.last().unwrap().label, "100");
        assert_eq!(chart.x_ticks.first().unwrap().label, "11-01");
        assert_eq!(chart.x_ticks.last().unwrap().label, "11-04");
        assert!(!chart.empty);
    }

    #[test]
    fn failures_get_a_nice_axis_and_no_data_says_empty() {
        let chart = line_chart(&[series("fleet", &[Some(3.0), Some(37.0)])], None, "failures", "");
        assert_eq!(chart.y_ticks.last().unwrap().label, "50");
        assert_eq!(nice_ceiling(0.3), 0.5);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
        let none = line_chart(&[series("fleet", &[None, None])], None, "failures", "");
        assert!(none.empty);
        assert!(none.lines[0].path.is_empty());
    }

    #[test]
    fn at_most_nine_date_labels_are_drawn_for_a_year() {
        let year: Vec<Option<f64>> = (0..365).map(|i| Some(i as f64)).collect();
        let chart = line_chart(&[series("fleet", &year)], None, "failures", "");
        assert!(chart.x_ticks.len() <= 9, "{}", chart.x_ticks.len());
        let month: Vec<Option<f64>> = (0..30).map(|i| Some(i as f64)).collect();
        let ticks = line_chart(&[series("fleet", &month)], None, "failures", "").x_ticks;
        let gaps: Vec<f64> = ticks.windows(2).map(|w| w[1].pos - w[0].pos).collect();
        assert!(gaps.iter().all(|g| *g >= 50.0), "labels never crowd the last one: {gaps:?}");
        assert_eq!(chart.lines[0].colour, PALETTE[0]);
    }
}
