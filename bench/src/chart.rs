//! The SVG chart: on the left each figure with a goal as its margin over the goal (a bar
//! past the line at 1 is met); on the right the latency percentiles of each load run.

use std::path::Path;

use anyhow::Context as _;
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::Results;

const MET: RGBColor = RGBColor(46, 125, 50);
const MISSED: RGBColor = RGBColor(198, 40, 40);
const SERIES: [RGBColor; 5] = [
    RGBColor(21, 101, 192),
    RGBColor(239, 108, 0),
    RGBColor(106, 27, 154),
    RGBColor(0, 131, 143),
    RGBColor(93, 64, 55),
];

/// Margins are drawn on a log axis between these bounds; larger ones stop at the edge.
const MARGIN_MIN: f64 = 0.1;
const MARGIN_MAX: f64 = 1000.0;

/// Writes the chart of `results` to `path`.
pub(crate) fn draw(results: &Results, path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (1280, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "TaskFlow benchmark · {} · commit {}{}",
        results.date,
        results.commit,
        if results.quick { " · quick run" } else { "" }
    );
    let root = root.titled(&title, ("sans-serif", 20))?;
    let (left, right) = root.split_horizontally(700);
    margins(results, &left).context("drawing the figures")?;
    latencies(results, &right).context("drawing the latencies")?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn margins(results: &Results, area: &DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()> {
    let bars: Vec<(String, f64, bool)> = results
        .figures
        .iter()
        .filter_map(|figure| {
            let goal = figure.goal.as_ref()?;
            let value = figure.value?;
            let margin = goal.margin(value).clamp(MARGIN_MIN, MARGIN_MAX);
            Some((figure.name.clone(), margin, figure.met == Some(true)))
        })
        .collect();
    let count = bars.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Each figure ÷ its goal (right of 1 = goal met)",
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(360)
        .build_cartesian_2d(
            (MARGIN_MIN..MARGIN_MAX).log_scale(),
            (0..count).into_segmented(),
        )?;
    let names: Vec<String> = bars.iter().map(|(name, _, _)| name.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(count)
        .y_label_formatter(&|value| match value {
            SegmentValue::CenterOf(index) | SegmentValue::Exact(index) => {
                names.get(*index).cloned().unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        })
        .y_label_style(("sans-serif", 12))
        .x_desc("margin over the goal (log scale)")
        .x_label_formatter(&|x| format!("{x}×"))
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(index, (_, margin, met))| {
        let color = if *met { MET } else { MISSED };
        Rectangle::new(
            [
                (MARGIN_MIN, SegmentValue::Exact(index)),
                (*margin, SegmentValue::Exact(index + 1)),
            ],
            color.mix(0.8).filled(),
        )
    }))?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Last)],
        BLACK.stroke_width(2),
    )))?;
    Ok(())
}

/// Percentile → position on a "nines" axis: 90 → 1, 99 → 2, 99.9 → 3.
fn nines(percentile: f64) -> f64 {
    -(1.0 - (percentile / 100.0).min(0.999_999)).log10()
}

/// The percentiles named on the latency chart's axis (wrk --latency reports these).
const PERCENTILE_TICKS: [f64; 6] = [50.0, 75.0, 90.0, 99.0, 99.9, 99.99];

/// Milliseconds with as many digits as a log axis needs: 0.25, 2.5, 4, 25, 250.
fn millis_label(ms: f64) -> String {
    if ms >= 10.0 || (ms >= 1.0 && ms.fract() == 0.0) {
        format!("{ms:.0}")
    } else if ms >= 1.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

fn percentile_label(position: f64) -> String {
    let percentile = 100.0 * (1.0 - 10f64.powf(-position));
    let text = format!("{percentile:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("p{text}")
}

fn latencies(results: &Results, area: &DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()> {
    let points = results
        .latency
        .iter()
        .flat_map(|series| series.percentiles.iter().map(|(_, ms)| *ms));
    let (low, high) = points.fold((f64::MAX, f64::MIN), |(lo, hi), ms| {
        (lo.min(ms), hi.max(ms))
    });
    let (low, high) = if low <= high {
        ((low * 0.8).max(0.01), high * 1.25)
    } else {
        (0.1, 10.0)
    };
    let mut chart = ChartBuilder::on(area)
        .caption("Latency by percentile (wrk --latency)", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(nines(50.0)..nines(99.99), (low..high).log_scale().base(2.0))?;
    // The percentile axis is labelled by hand: plotters' own labels would fall between the
    // percentiles wrk reports.
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_desc("percentile")
        .y_labels(16)
        .y_desc("milliseconds (log scale)")
        .y_label_formatter(&|y| millis_label(*y))
        .draw()?;
    chart.draw_series(PERCENTILE_TICKS.iter().map(|percentile| {
        PathElement::new(
            vec![(nines(*percentile), low), (nines(*percentile), high)],
            BLACK.mix(0.15),
        )
    }))?;
    let tick_style = TextStyle::from(("sans-serif", 12)).pos(Pos::new(HPos::Center, VPos::Bottom));
    chart.draw_series(PERCENTILE_TICKS.iter().map(|percentile| {
        Text::new(
            percentile_label(nines(*percentile)),
            (nines(*percentile), low),
            tick_style.clone(),
        )
    }))?;
    for (index, series) in results.latency.iter().enumerate() {
        let color = SERIES[index % SERIES.len()];
        let line: Vec<(f64, f64)> = series
            .percentiles
            .iter()
            .map(|(percentile, ms)| (nines(*percentile), ms.max(low)))
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(series.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart.draw_series(
            line.into_iter()
                .map(|point| Circle::new(point, 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_labels_keep_the_digits_a_log_axis_needs() {
        assert_eq!(millis_label(0.25), "0.25");
        assert_eq!(millis_label(2.5), "2.5");
        assert_eq!(millis_label(4.0), "4");
        assert_eq!(millis_label(25.0), "25");
    }

    #[test]
    fn the_nines_axis_spaces_percentiles_by_their_nines() {
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert_eq!(percentile_label(nines(99.0)), "p99");
        assert_eq!(percentile_label(nines(99.9)), "p99.9");
        assert_eq!(percentile_label(nines(50.0)), "p50");
        assert_eq!(percentile_label(nines(75.0)), "p75");
        assert_eq!(percentile_label(nines(99.99)), "p99.99");
    }

    #[test]
    fn the_chart_is_an_svg_naming_every_figure_with_a_goal_and_every_latency_series() {
        let results = crate::report::tests::sample();
        let path = std::env::temp_dir().join(format!("taskflow-bench-{}.svg", std::process::id()));
        draw(&results, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.contains("list 100 tasks at 16 connections"));
        assert!(svg.contains("list p99 at 64 connections"));
        assert!(svg.contains("list, 16 connections"));
        assert!(
            !svg.contains("tasks page"),
            "figures without a goal have no bar"
        );
    }
}
