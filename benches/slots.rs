//! The slot engine over a booking page's range: 90 days of one doctor.

use std::hint::black_box;

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::Europe::London;
use criterion::{criterion_group, criterion_main, Criterion};
use telehealth::domain::slots::{bookable_slots, Interval, Rules, Window};

fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
}

fn ninety_days(c: &mut Criterion) {
    // Weekday mornings and afternoons in London: ten windows a week.
    let windows: Vec<Window> = (1..=5)
        .flat_map(|day| {
            [Window::weekly(day, hm(9, 0), hm(12, 0), London), Window::weekly(day, hm(13, 0), hm(17, 0), London)]
        })
        .collect();
    let rules = Rules { length_minutes: 30, buffer_minutes: 5, min_notice_minutes: 120 };
    // From 2 March 2026, across the change to summer time on 29 March.
    let from: DateTime<Utc> = "2026-03-02T00:00:00Z".parse().unwrap();
    let to = from + TimeDelta::days(90);
    // Four consultations a day, some on the grid and some off it: 360 in all.
    let busy: Vec<Interval> = (0..90)
        .flat_map(|day| {
            [(9, 0), (10, 20), (14, 5), (15, 50)].map(|(hour, minute)| {
                let start = from + TimeDelta::days(day) + TimeDelta::hours(hour) + TimeDelta::minutes(minute);
                Interval::new(start, start + TimeDelta::minutes(30))
            })
        })
        .collect();
    let time_off = [Interval::new(from + TimeDelta::days(30), from + TimeDelta::days(37))];
    let count = bookable_slots(&windows, &time_off, &busy, &rules, from, from, to).len();
    assert!(count > 300, "only {count} slots");

    c.bench_function("90 days, 10 weekly windows, 360 busy", |b| {
        b.iter(|| bookable_slots(black_box(&windows), &time_off, black_box(&busy), &rules, from, from, to))
    });
}

criterion_group!(benches, ninety_days);
criterion_main!(benches);
