//! Charts as plain SVG, drawn while the page renders (on the server, so they
//! arrive in the HTML and need no script). Each chart is a figure with a
//! caption, an SVG named by that caption, and its numbers as a table for
//! screen readers and for anyone who wants the exact values.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One coloured part of every bar (a status, a role, a currency).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub label: String,
    /// One value per category, for drawing.
    pub values: Vec<f64>,
    /// The same values as exact text (money to the cent), for the table.
    pub texts: Vec<String>,
}

/// Bars over categories (days, weeks, doctors), stacked by series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartData {
    pub id: String,
    pub title: String,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;
/// Colours with at least 3:1 contrast against the white page, told apart by
/// the legend too (style/main.css repeats them as `.swatch-N`: the page's
/// Content-Security-Policy allows no inline styles).
const PALETTE: &[&str] = &["#1f5fa8", "#2e7d32", "#b3261e", "#8a5a00", "#6a1b9a", "#00695c", "#37474f"];

/// The smallest "round" number (1, 2 or 5 times a power of ten) at or above `max`.
pub fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|v| *v >= max - 1e-9).unwrap_or(10.0 * magnitude)
}

/// One drawn rectangle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub series: usize,
    pub category: usize,
}

/// The stacked bars of `data` in the plot area, and the axis maximum.
pub fn layout(data: &ChartData) -> (Vec<Bar>, f64) {
    let n = data.categories.len().max(1);
    let totals: Vec<f64> =
        (0..n).map(|i| data.series.iter().map(|s| s.values.get(i).copied().unwrap_or(0.0).max(0.0)).sum()).collect();
    let top = nice_max(totals.iter().copied().fold(0.0, f64::max));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let width = (slot * 0.7).max(1.0);
    let mut bars = Vec::new();
    for category in 0..data.categories.len() {
        let mut base = 0.0;
        for (series, s) in data.series.iter().enumerate() {
            let value = s.values.get(category).copied().unwrap_or(0.0).max(0.0);
            if value > 0.0 {
                let height = value / top * plot_h;
                bars.push(Bar {
                    x: LEFT + slot * category as f64 + (slot - width) / 2.0,
                    y: TOP + plot_h - base - height,
                    width,
                    height,
                    series,
                    category,
                });
                base += height;
            }
        }
    }
    (bars, top)
}

/// Formats an axis value without needless decimals.
fn tick_label(value: f64) -> String {
    if value.fract().abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// A stacked bar chart with a legend and its data table.
#[component]
pub fn BarChart(data: ChartData) -> impl IntoView {
    let (bars, top) = layout(&data);
    let title_id = format!("{}-title", data.id);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let ticks: Vec<(f64, String)> =
        (0..=4).map(|i| (TOP + plot_h - plot_h * i as f64 / 4.0, tick_label(top * i as f64 / 4.0))).collect();
    let n = data.categories.len().max(1);
    let slot = (WIDTH - LEFT - RIGHT) / n as f64;
    // About eight labels along the axis, whatever the number of bars.
    let every = n.div_ceil(8).max(1);
    let labels: Vec<(f64, String)> = data
        .categories
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, c)| (LEFT + slot * (i as f64 + 0.5), c.clone()))
        .collect();
    let empty = bars.is_empty();
    let names: Vec<String> = data.series.iter().map(|s| s.label.clone()).collect();
    let tooltip = {
        let data = data.clone();
        move |b: &Bar| {
            format!(
                "{}, {}: {}",
                data.categories[b.category],
                data.series[b.series].label,
                data.series[b.series].texts.get(b.category).cloned().unwrap_or_default()
            )
        }
    };
    let drawn: Vec<_> = bars
        .iter()
        .map(|b| {
            let colour = PALETTE[b.series % PALETTE.len()];
            view! {
                <rect x=format!("{:.1}", b.x) y=format!("{:.1}", b.y) width=format!("{:.1}", b.width)
                    height=format!("{:.1}", b.height) fill=colour>
                    <title>{tooltip(b)}</title>
                </rect>
            }
        })
        .collect();
    view! {
        <figure class="chart" id=data.id.clone()>
            <figcaption id=title_id.clone()>{data.title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby=title_id
                preserveAspectRatio="xMidYMid meet" class="chart-svg">
                {ticks.into_iter().map(|(y, label)| view! {
                    <line x1=LEFT.to_string() x2=(WIDTH - RIGHT).to_string() y1=format!("{y:.1}") y2=format!("{y:.1}") class="chart-grid"/>
                    <text x=(LEFT - 6.0).to_string() y=format!("{:.1}", y + 4.0) text-anchor="end" class="chart-tick">{label}</text>
                }).collect_view()}
                {drawn}
                {labels.into_iter().map(|(x, label)| view! {
                    <text x=format!("{x:.1}") y=(HEIGHT - BOTTOM + 16.0).to_string() text-anchor="middle" class="chart-tick">{label}</text>
                }).collect_view()}
                {empty.then(|| view! {
                    <text x=(WIDTH / 2.0).to_string() y=(HEIGHT / 2.0).to_string() text-anchor="middle" class="chart-empty">"Nothing in this range"</text>
                })}
            </svg>
            <ul class="chart-legend">
                {names.iter().enumerate().map(|(i, name)| view! {
                    <li><span class=format!("swatch swatch-{}", i % PALETTE.len())></span>{name.clone()}</li>
                }).collect_view()}
            </ul>
            <details class="chart-data">
                <summary>{format!("{} as a table", data.title)}</summary>
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">""</th>
                                {names.iter().map(|n| view! { <th scope="col">{n.clone()}</th> }).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {data.categories.iter().enumerate().map(|(i, c)| view! {
                                <tr>
                                    <th scope="row">{c.clone()}</th>
                                    {data.series.iter().map(|s| view! { <td>{s.texts.get(i).cloned().unwrap_or_default()}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: &[&[f64]]) -> ChartData {
        let n = values.first().map_or(0, |v| v.len());
        ChartData {
            id: "c".into(),
            title: "t".into(),
            categories: (0..n).map(|i| format!("d{i}")).collect(),
            series: values
                .iter()
                .enumerate()
                .map(|(i, v)| Series {
                    label: format!("s{i}"),
                    values: v.to_vec(),
                    texts: v.iter().map(|x| x.to_string()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_axis_ends_on_a_round_number_at_or_above_the_tallest_bar() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(10.0), 10.0);
        assert_eq!(nice_max(11.0), 20.0);
        assert_eq!(nice_max(430.5), 500.0);
        assert_eq!(nice_max(0.03), 0.05);
    }

    #[test]
    fn stacked_parts_of_a_bar_sit_on_each_other_and_reach_the_total() {
        let (bars, top) = layout(&chart(&[&[2.0, 0.0], &[3.0, 1.0]]));
        assert_eq!(top, 5.0);
        assert_eq!(bars.len(), 3, "a zero draws nothing");
        let plot_h = HEIGHT - TOP - BOTTOM;
        let (a, b) = (&bars[0], &bars[1]);
        assert_eq!((a.category, b.category), (0, 0));
        assert!((a.y - (b.y + b.height)).abs() < 1e-9, "the second part starts where the first ends");
        assert!((a.height + b.height - plot_h).abs() < 1e-9, "5 of 5 fills the plot");
        assert!(bars[2].x > a.x, "the second day is to the right");
    }

    #[test]
    fn negative_or_missing_values_draw_nothing() {
        let mut data = chart(&[&[-4.0, 1.0]]);
        data.series[0].values.truncate(1);
        let (bars, _) = layout(&data);
        assert!(bars.is_empty());
    }
}
