//! The overview's charts as inline SVG, drawn on the server: no chart library to vendor, and a
//! page that reads the same without JavaScript. Each bar has a `<title>` (its tooltip) and the
//! chart a `data-total`, which the browser tests read.

use std::fmt::Write;

use super::recent::{Minute, DURATION_BOUNDS};

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;

/// Runs per minute over the last hour, completed (below) and failed (above) stacked.
pub fn runs_per_minute(minutes: &[Minute; 60]) -> String {
    let top = minutes
        .iter()
        .map(|m| m.completed + m.failed)
        .max()
        .unwrap_or(0)
        .max(1);
    let total: u32 = minutes.iter().map(|m| m.completed + m.failed).sum();
    let bar = WIDTH / 60.0;
    let mut svg = open("runs per minute", total);
    for (i, m) in minutes.iter().enumerate() {
        let x = i as f64 * bar;
        let ok = f64::from(m.completed) / f64::from(top) * HEIGHT;
        let bad = f64::from(m.failed) / f64::from(top) * HEIGHT;
        let ago = 59 - i;
        let _ = write!(
            svg,
            r#"<g><title>{ago} min ago: {} completed, {} failed</title><rect class="ok" x="{x:.1}" y="{:.1}" width="{:.1}" height="{ok:.1}"/><rect class="bad" x="{x:.1}" y="{:.1}" width="{:.1}" height="{bad:.1}"/></g>"#,
            m.completed,
            m.failed,
            HEIGHT - ok,
            bar - 1.0,
            HEIGHT - ok - bad,
            bar - 1.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// How many runs of the last hour took how long, one bar per bucket.
pub fn durations(buckets: &[u32; DURATION_BOUNDS.len()]) -> String {
    let top = buckets.iter().copied().max().unwrap_or(0).max(1);
    let total: u32 = buckets.iter().sum();
    let bar = WIDTH / buckets.len() as f64;
    let mut svg = open("run durations", total);
    for (i, (count, (_, label))) in buckets.iter().zip(DURATION_BOUNDS).enumerate() {
        let x = i as f64 * bar;
        let h = f64::from(*count) / f64::from(top) * (HEIGHT - 16.0);
        let _ = write!(
            svg,
            r#"<g><title>{label}: {count} runs</title><rect class="ok" x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"/><text x="{:.1}" y="{HEIGHT}">{label} ({count})</text></g>"#,
            HEIGHT - 16.0 - h,
            bar - 4.0,
            x + 2.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn open(label: &str, total: u32) -> String {
    format!(
        r#"<svg class="chart" role="img" aria-label="{label}" data-total="{total}" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none">"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_a_bar_per_minute_and_says_its_total() {
        let mut minutes = [Minute::default(); 60];
        minutes[59] = Minute {
            completed: 3,
            failed: 1,
        };
        let svg = runs_per_minute(&minutes);
        assert_eq!(svg.matches("<g>").count(), 60);
        assert!(svg.contains(r#"data-total="4""#));
        assert!(svg.contains("0 min ago: 3 completed, 1 failed"));
        let svg = durations(&[0, 2, 0, 0, 0, 1]);
        assert!(svg.contains("under 1 s: 2 runs"));
        assert!(svg.contains(r#"data-total="3""#));
    }
}
