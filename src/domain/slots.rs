//! The slot engine: a doctor's availability windows, expanded into the
//! instants a patient can book. Pure and WebAssembly-safe, so the browser
//! shows exactly the slots the server will accept.
//!
//! # Rules
//!
//! * **Windows are wall-clock time** in their own IANA zone: a 09:00–12:00
//!   window is 09:00–12:00 local on both sides of a DST change. Its length in
//!   real time changes only on a day when the clocks change inside it.
//! * **Dates.** A recurring window applies on every date with its
//!   `day_of_week` (0 = Sunday … 6 = Saturday, like PostgreSQL's `DOW`)
//!   from `valid_from` through `valid_until`, both inclusive and optional. A
//!   one-off window applies on `valid_from` only. Dates are read in the
//!   window's own zone.
//! * **A window's real interval** runs from the moment the wall clock first
//!   reaches its start to the moment it first reaches its end. An end of 00:00
//!   is the midnight that ends the day: PostgreSQL allows `24:00` (so
//!   `end_time > start_time` holds for a shift until midnight) and sqlx
//!   decodes it as 00:00.
//! * **The grid.** Slots start at the window's start and step by `length +
//!   buffer` minutes of wall-clock time, so two neighbouring slots can both be
//!   booked with the buffer between them. A slot lasts `length` minutes of real
//!   time and must end within the window's real interval.
//! * **Clock changes.** A start time the clock skips (the spring-forward gap)
//!   is not offered. A start time the clock shows twice (the hour repeated when
//!   clocks go back) means its *earlier* instant, so the repeated hour is
//!   offered once, at its first occurrence. A window boundary inside a gap is
//!   the moment the gap ends.
//! * **Time off** removes every slot that overlaps it.
//! * **Busy** intervals (booked and held consultations) remove every slot
//!   that comes within `buffer` minutes of them: the slot widened by the buffer
//!   on both sides must not overlap one.
//! * **Notice.** Slots starting before `now + min_notice` are not offered.
//! * **No two offered slots collide.** Overlapping windows, or a grid squeezed
//!   by a spring-forward gap, can produce candidates that overlap. Going by
//!   start time, a candidate is kept only if it starts at least `buffer` after
//!   the previous kept slot ends: the earlier-starting slot wins, and any two
//!   offered slots can both be booked. This is decided after the rules above,
//!   so a slot that is busy or too soon never hides a free one.
//! * **`from` and `to` only select** slots by start time: paging through
//!   weeks never changes which slots are offered. For that, the engine looks
//!   back before `from` to where a chain of collisions starts (or to `now +
//!   min_notice`), at most 32 days: only windows colliding around the clock
//!   for longer than that could page differently.
//!
//! All intervals are half-open, as in the consultations table's exclusion
//! constraint: [10:00, 10:30) and [10:30, 11:00) do not overlap.
//!
//! The work is proportional to the number of window-dates in range times the
//! slots per window, plus a binary search per slot over busy intervals and
//! time off; callers should bound `from..to` (weeks, not years).

use std::fmt;

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How far ahead overlaps between windows in different zones are checked.
/// Two years include every combination of both zones' DST seasons.
pub const CROSS_ZONE_HORIZON_DAYS: u64 = 731;

/// The longest look-back before `from` when settling collisions.
const MAX_LOOK_BACK: TimeDelta = TimeDelta::days(32);

const WEEKDAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// One row of `availability_slots`: a span of local wall-clock time in which
/// a doctor takes consultations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    /// 0 = Sunday … 6 = Saturday.
    pub day_of_week: u8,
    pub start: NaiveTime,
    /// After `start`, or 00:00 for the midnight that ends the day.
    pub end: NaiveTime,
    /// Serialized as its IANA name.
    #[serde(with = "tz_name")]
    pub tz: Tz,
    pub recurring: bool,
    /// First date (inclusive); for a one-off window, its only date.
    pub valid_from: Option<NaiveDate>,
    /// Last date (inclusive); for a one-off window, empty or `valid_from`.
    pub valid_until: Option<NaiveDate>,
}

/// A half-open span of real time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// How a doctor's consultations are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rules {
    /// Length of a consultation. Zero offers nothing.
    pub length_minutes: u32,
    /// Free time kept before and after every consultation.
    pub buffer_minutes: u32,
    /// How long before its start a slot can still be booked.
    pub min_notice_minutes: u32,
}

/// Why a window (or a set of them) cannot be saved. `Display` gives a
/// sentence a form can show next to the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowError {
    /// `day_of_week` is not 0–6.
    NoSuchDay,
    EndNotAfterStart,
    ValidUntilBeforeValidFrom,
    OneOffWithoutDate,
    /// A one-off window whose `valid_until` is not its date.
    OneOffOverSeveralDates,
    /// A one-off window whose `day_of_week` is not its date's weekday.
    WrongWeekday {
        date: NaiveDate,
        day_of_week: u8,
    },
    /// Overlaps the window at index `other` (which is `with`) on `date`, a
    /// date in this window's zone.
    Overlaps {
        other: usize,
        with: Window,
        date: NaiveDate,
    },
}

/// A problem with the window at `index` of the slice given to
/// [`validate_windows`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowIssue {
    pub index: usize,
    pub error: WindowError,
}

impl Interval {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Interval {
        Interval { start, end }
    }

    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    /// Whether the two share an instant. Empty intervals overlap nothing.
    pub fn overlaps(&self, other: &Interval) -> bool {
        !self.is_empty() && !other.is_empty() && self.start < other.end && other.start < self.end
    }

    pub fn contains(&self, other: &Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

impl Window {
    /// A window every week on `day_of_week`, with no date limits.
    pub fn weekly(day_of_week: u8, start: NaiveTime, end: NaiveTime, tz: Tz) -> Window {
        Window { day_of_week, start, end, tz, recurring: true, valid_from: None, valid_until: None }
    }

    /// A window on one date only; its `day_of_week` is that date's.
    pub fn one_off(date: NaiveDate, start: NaiveTime, end: NaiveTime, tz: Tz) -> Window {
        Window {
            day_of_week: weekday_number(date),
            start,
            end,
            tz,
            recurring: false,
            valid_from: Some(date),
            valid_until: None,
        }
    }

    /// Whether the window applies on `date`, a date in its own zone.
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        weekday_number(date) == self.day_of_week
            && self.valid_from.is_none_or(|first| first <= date)
            && self.valid_until.is_none_or(|last| date <= last)
            && (self.recurring || self.valid_from == Some(date))
    }

    /// The window's real interval on `date`, if it applies then and the
    /// interval is not empty.
    pub fn interval_on(&self, date: NaiveDate) -> Option<Interval> {
        if !self.applies_on(date) {
            return None;
        }
        let (start, end) = self.local_bounds(date)?;
        let interval = Interval { start: first_reaches(self.tz, start), end: first_reaches(self.tz, end) };
        (!interval.is_empty()).then_some(interval)
    }

    /// Checks the window on its own, reporting the first problem found.
    pub fn validate(&self) -> Result<(), WindowError> {
        if self.day_of_week > 6 {
            return Err(WindowError::NoSuchDay);
        }
        if !self.ends_at_midnight() && self.end <= self.start {
            return Err(WindowError::EndNotAfterStart);
        }
        if !self.recurring {
            let Some(date) = self.valid_from else {
                return Err(WindowError::OneOffWithoutDate);
            };
            if self.valid_until.is_some_and(|last| last != date) {
                return Err(WindowError::OneOffOverSeveralDates);
            }
            if weekday_number(date) != self.day_of_week {
                return Err(WindowError::WrongWeekday { date, day_of_week: self.day_of_week });
            }
        }
        if let (Some(first), Some(last)) = (self.valid_from, self.valid_until) {
            if last < first {
                return Err(WindowError::ValidUntilBeforeValidFrom);
            }
        }
        Ok(())
    }

    fn ends_at_midnight(&self) -> bool {
        self.end == NaiveTime::MIN
    }

    /// Local start and end on `date`; the end may be the next midnight.
    fn local_bounds(&self, date: NaiveDate) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let end =
            if self.ends_at_midnight() { date.succ_opt()?.and_time(NaiveTime::MIN) } else { date.and_time(self.end) };
        Some((date.and_time(self.start), end))
    }

    /// The dates in `first..=last` on which the window applies, in order.
    fn dates_between(&self, first: NaiveDate, last: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        let first = self.valid_from.map_or(first, |from| first.max(from));
        let mut last = self.valid_until.map_or(last, |until| last.min(until));
        if !self.recurring {
            last = last.min(self.valid_from.unwrap_or(NaiveDate::MIN));
        }
        let ahead = (7 + u32::from(self.day_of_week % 7) - u32::from(weekday_number(first))) % 7;
        std::iter::successors(first.checked_add_days(Days::new(ahead.into())), |d| d.checked_add_days(Days::new(7)))
            .take_while(move |d| *d <= last)
            .filter(|d| self.applies_on(*d))
    }

    /// For messages: "the Monday 09:00–12:00 window (Europe/London)".
    fn describe(&self) -> String {
        let end = if self.ends_at_midnight() { "24:00".to_owned() } else { clock(self.end) };
        let kind = if self.recurring { weekday_name(self.day_of_week) } else { "one-off" };
        format!("the {kind} {}–{end} window ({})", clock(self.start), self.tz.name())
    }
}

/// The slots a patient can book whose start lies in `[from, to)`, sorted by
/// start, none overlapping, following the rules in the module documentation.
pub fn bookable_slots(
    windows: &[Window],
    time_off: &[Interval],
    busy: &[Interval],
    rules: &Rules,
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Interval> {
    let earliest = plus(now, minutes(rules.min_notice_minutes));
    if rules.length_minutes == 0 || from >= to || earliest >= to {
        return Vec::new();
    }
    let expander = Expander {
        windows,
        time_off: Blocks::new(time_off),
        busy: Blocks::new(busy),
        length: minutes(rules.length_minutes),
        buffer: minutes(rules.buffer_minutes),
    };
    let reach = expander.length + expander.buffer;
    let mut look_back = TimeDelta::days(1).max(reach + reach);
    loop {
        let lower = earliest.max(plus(from, -look_back));
        let candidates = expander.candidates(lower, to);
        if lower == earliest
            || look_back >= MAX_LOOK_BACK
            || settled(&candidates, expander.buffer, plus(lower, reach), from)
        {
            let mut slots = keep_apart(candidates, expander.buffer);
            slots.retain(|slot| slot.start >= from);
            return slots;
        }
        look_back = look_back + look_back;
    }
}

/// Time off for whole local days, `first` through `last`: from the start of
/// `first` to the start of the day after `last`, in `tz`. A day is 23 or 25
/// hours long when the clocks change in it. Empty if `last` is before `first`.
pub fn time_off_for_dates(first: NaiveDate, last: NaiveDate, tz: Tz) -> Interval {
    let start = first_reaches(tz, first.and_time(NaiveTime::MIN));
    let end = if last < first {
        start
    } else {
        last.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, |next| first_reaches(tz, next.and_time(NaiveTime::MIN)))
    };
    Interval { start, end }
}

/// Checks one doctor's windows: each on its own ([`Window::validate`]), then
/// every pair of valid windows for overlaps on dates from `today` on, where
/// both apply. Windows in one zone are compared on the wall clock, for every
/// date. Windows in different zones are compared in real time, DST included,
/// on each date of the next [`CROSS_ZONE_HORIZON_DAYS`]. An overlap is
/// reported once, on the later window of the pair.
pub fn validate_windows(windows: &[Window], today: NaiveDate) -> Result<(), Vec<WindowIssue>> {
    let mut issues = Vec::new();
    let mut valid = Vec::new();
    for (index, window) in windows.iter().enumerate() {
        match window.validate() {
            Ok(()) => valid.push(index),
            Err(error) => issues.push(WindowIssue { index, error }),
        }
    }
    for (n, &later) in valid.iter().enumerate() {
        for &earlier in &valid[..n] {
            if let Some(date) = first_overlap(&windows[earlier], &windows[later], today) {
                let error = WindowError::Overlaps { other: earlier, with: windows[earlier], date };
                issues.push(WindowIssue { index: later, error });
            }
        }
    }
    issues.sort_by_key(|issue| issue.index);
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// The first date from `today` (in `b`'s zone) on which `a` and `b` overlap.
fn first_overlap(a: &Window, b: &Window, today: NaiveDate) -> Option<NaiveDate> {
    if a.tz == b.tz {
        if a.day_of_week != b.day_of_week {
            return None;
        }
        // Clamped to both windows' dates, every date of `b` is one of `a`'s.
        let first = a.valid_from.map_or(today, |from| today.max(from));
        let last = if a.recurring { a.valid_until } else { a.valid_from }.unwrap_or(NaiveDate::MAX);
        let date = b.dates_between(first, last).find(|date| a.applies_on(*date))?;
        let ((a_start, a_end), (b_start, b_end)) = (a.local_bounds(date)?, b.local_bounds(date)?);
        return (a_start < b_end && b_start < a_end).then_some(date);
    }
    let horizon = today.checked_add_days(Days::new(CROSS_ZONE_HORIZON_DAYS)).unwrap_or(NaiveDate::MAX);
    b.dates_between(today, horizon).find(|date| {
        let Some(b_interval) = b.interval_on(*date) else {
            return false;
        };
        // Zones are at most 26 hours apart, so only `a`'s dates two days
        // either side can meet this one.
        let first = date.checked_sub_days(Days::new(2)).unwrap_or(NaiveDate::MIN);
        let last = date.checked_add_days(Days::new(2)).unwrap_or(NaiveDate::MAX);
        a.dates_between(first, last)
            .any(|d| a.interval_on(d).is_some_and(|a_interval| a_interval.overlaps(&b_interval)))
    })
}

/// Expands windows into candidate slots, filtered by everything but
/// collisions among themselves.
struct Expander<'a> {
    windows: &'a [Window],
    time_off: Blocks,
    busy: Blocks,
    length: TimeDelta,
    buffer: TimeDelta,
}

impl Expander<'_> {
    /// Candidates starting in `[lower, to)`, sorted.
    fn candidates(&self, lower: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Interval> {
        let mut out = Vec::new();
        for window in self.windows {
            // A day of margin: local dates are not quite monotonic in time
            // where clocks go back across midnight.
            let first = local_date(lower, window.tz).pred_opt().unwrap_or(NaiveDate::MIN);
            let last = local_date(to, window.tz).succ_opt().unwrap_or(NaiveDate::MAX);
            for date in window.dates_between(first, last) {
                self.expand(window, date, lower, to, &mut out);
            }
        }
        out.sort_unstable();
        out
    }

    fn expand(
        &self,
        window: &Window,
        date: NaiveDate,
        lower: DateTime<Utc>,
        to: DateTime<Utc>,
        out: &mut Vec<Interval>,
    ) {
        let (Some(real), Some((mut local, local_end))) = (window.interval_on(date), window.local_bounds(date)) else {
            return;
        };
        if plus(real.end, -self.length) < lower || real.start >= to {
            return;
        }
        let step = self.length + self.buffer;
        while local < local_end {
            // `earliest` is the earlier instant of a repeated time, none in a gap.
            if let Some(start) = window.tz.from_local_datetime(&local).earliest() {
                let start = start.with_timezone(&Utc);
                let slot = Interval { start, end: plus(start, self.length) };
                // Later grid times are later instants, so nothing further fits.
                if slot.end > real.end || slot.start >= to {
                    return;
                }
                if slot.start >= lower
                    && !self.time_off.overlaps(slot.start, slot.end)
                    && !self.busy.overlaps(plus(slot.start, -self.buffer), plus(slot.end, self.buffer))
                {
                    out.push(slot);
                }
            }
            match local.checked_add_signed(step) {
                Some(next) => local = next,
                None => return,
            }
        }
    }
}

/// Whether, among sorted `candidates` generated from some lower bound, the
/// fate of those starting at or after `from` is settled: some candidate
/// starting at or after `safe` (where nothing before the lower bound can
/// reach), and no later than the first at or after `from`, starts clear of
/// all before it, so the greedy choice restarts there.
fn settled(candidates: &[Interval], buffer: TimeDelta, safe: DateTime<Utc>, from: DateTime<Utc>) -> bool {
    let mut reach: Option<DateTime<Utc>> = None;
    for candidate in candidates {
        if candidate.start >= safe && reach.is_none_or(|r| candidate.start >= r) {
            return true;
        }
        if candidate.start >= from {
            return false;
        }
        let end = plus(candidate.end, buffer);
        reach = Some(reach.map_or(end, |r| r.max(end)));
    }
    true
}

/// Keeps sorted candidates that start at least `buffer` after the previous
/// kept one ends.
fn keep_apart(candidates: Vec<Interval>, buffer: TimeDelta) -> Vec<Interval> {
    let mut kept: Vec<Interval> = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        if kept.last().is_none_or(|last| candidate.start >= plus(last.end, buffer)) {
            kept.push(candidate);
        }
    }
    kept
}

/// Sorted, disjoint intervals, for overlap queries by binary search.
struct Blocks(Vec<Interval>);

impl Blocks {
    fn new(intervals: &[Interval]) -> Blocks {
        let mut sorted: Vec<Interval> = intervals.iter().copied().filter(|i| !i.is_empty()).collect();
        sorted.sort_unstable();
        let mut merged: Vec<Interval> = Vec::with_capacity(sorted.len());
        for interval in sorted {
            match merged.last_mut() {
                Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
                _ => merged.push(interval),
            }
        }
        Blocks(merged)
    }

    /// Whether any block overlaps `[start, end)`.
    fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        // Disjoint and sorted by start, so sorted by end too.
        let first_ending_after = self.0.partition_point(|block| block.end <= start);
        self.0.get(first_ending_after).is_some_and(|block| block.start < end)
    }
}

/// The moment the wall clock in `tz` first reads `local` or later: the
/// earlier instant of a repeated time, the end of the gap for a skipped one.
fn first_reaches(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(instant) = tz.from_local_datetime(&local).earliest() {
        return instant.with_timezone(&Utc);
    }
    // In a gap. The offsets a day either side are those before and after the
    // jump; between the instants `local` means under each, the wall clock
    // reads earlier than `local` until the jump and later from it on.
    let seconds = local.and_utc().timestamp();
    let offset_at = |at: i64| i64::from(tz.offset_from_utc_datetime(&instant(at).naive_utc()).fix().local_minus_utc());
    let (before, after) = (offset_at(seconds - 86_400), offset_at(seconds + 86_400));
    let (mut earlier, mut later) = (seconds - after, seconds - before);
    while later - earlier > 1 {
        let middle = earlier + (later - earlier) / 2;
        if instant(middle).with_timezone(&tz).naive_local() >= local {
            later = middle;
        } else {
            earlier = middle;
        }
    }
    instant(later)
}

fn instant(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or(if seconds < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// `at + delta`, saturating at the ends of time instead of panicking.
fn plus(at: DateTime<Utc>, delta: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(delta).unwrap_or(if delta < TimeDelta::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

fn minutes(n: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(n))
}

fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

fn weekday_number(date: NaiveDate) -> u8 {
    // 0..=6 always fits.
    date.weekday().num_days_from_sunday() as u8
}

fn weekday_name(day_of_week: u8) -> &'static str {
    WEEKDAYS.get(usize::from(day_of_week)).copied().unwrap_or("?")
}

fn clock(time: NaiveTime) -> String {
    time.format(if time.second() == 0 { "%H:%M" } else { "%H:%M:%S" }).to_string()
}

fn long_date(date: NaiveDate) -> String {
    date.format("%A %-d %B %Y").to_string()
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowError::NoSuchDay => f.write_str("Choose a day from Sunday to Saturday."),
            WindowError::EndNotAfterStart => f.write_str("The end time must be after the start time."),
            WindowError::ValidUntilBeforeValidFrom => f.write_str("The last date must be on or after the first date."),
            WindowError::OneOffWithoutDate => f.write_str("Choose the date of this one-off window."),
            WindowError::OneOffOverSeveralDates => f.write_str(
                "A one-off window is for a single date: leave the last date empty or make it the same date.",
            ),
            WindowError::WrongWeekday { date, day_of_week } => write!(
                f,
                "{} is a {}, not a {}.",
                date.format("%-d %B %Y"),
                weekday_name(weekday_number(*date)),
                weekday_name(*day_of_week)
            ),
            WindowError::Overlaps { with, date, .. } => {
                write!(f, "This overlaps {} on {}.", with.describe(), long_date(*date))
            }
        }
    }
}

impl std::error::Error for WindowError {}

impl fmt::Display for WindowIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

/// Serde for [`Tz`] as its IANA name (chrono-tz's own serde feature is off).
mod tz_name {
    use chrono_tz::Tz;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tz: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(|_| D::Error::custom(format!("unknown timezone {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Asia, Australia, Europe, Pacific};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn hm(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
    }

    fn day(year: i32, month: u32, date: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, date).unwrap()
    }

    fn rules(length_minutes: u32, buffer_minutes: u32) -> Rules {
        Rules { length_minutes, buffer_minutes, min_notice_minutes: 0 }
    }

    fn long_ago() -> DateTime<Utc> {
        at("2000-01-01T00:00:00Z")
    }

    fn starts(slots: &[Interval]) -> Vec<String> {
        slots.iter().map(|slot| slot.start.format("%Y-%m-%dT%H:%MZ").to_string()).collect()
    }

    /// The slots on local dates `first..=last` of `tz`, with nothing busy.
    fn slots_between(windows: &[Window], rules: &Rules, tz: Tz, first: NaiveDate, last: NaiveDate) -> Vec<Interval> {
        let days = time_off_for_dates(first, last, tz);
        bookable_slots(windows, &[], &[], rules, long_ago(), days.start, days.end)
    }

    /// Hour-long slots of a 09:00–12:00 window on each date's weekday.
    fn morning_slots(tz: Tz, dates: &[NaiveDate]) -> Vec<String> {
        dates
            .iter()
            .flat_map(|&date| {
                let window = Window::weekly(weekday_number(date), hm(9, 0), hm(12, 0), tz);
                let slots = slots_between(&[window], &rules(60, 0), tz, date, date);
                for slot in &slots {
                    assert_eq!(slot.start.with_timezone(&tz).date_naive(), date);
                }
                let local: Vec<_> =
                    slots.iter().map(|slot| slot.start.with_timezone(&tz).format("%H:%M").to_string()).collect();
                assert_eq!(local, ["09:00", "10:00", "11:00"], "{date} in {tz}");
                starts(&slots)
            })
            .collect()
    }

    const MONDAY: u8 = 1;
    const WEDNESDAY: u8 = 3;
    const SUNDAY: u8 = 0;

    // --- Clock changes -----------------------------------------------------

    #[test]
    fn a_morning_window_stays_at_nine_local_across_new_yorks_changes() {
        let dates = [day(2026, 3, 1), day(2026, 3, 8), day(2026, 10, 25), day(2026, 11, 1)];
        assert_eq!(
            morning_slots(America::New_York, &dates),
            [
                "2026-03-01T14:00Z",
                "2026-03-01T15:00Z",
                "2026-03-01T16:00Z",
                "2026-03-08T13:00Z",
                "2026-03-08T14:00Z",
                "2026-03-08T15:00Z",
                "2026-10-25T13:00Z",
                "2026-10-25T14:00Z",
                "2026-10-25T15:00Z",
                "2026-11-01T14:00Z",
                "2026-11-01T15:00Z",
                "2026-11-01T16:00Z",
            ]
        );
    }

    #[test]
    fn a_morning_window_stays_at_nine_local_across_londons_changes() {
        let dates = [day(2026, 3, 22), day(2026, 3, 29), day(2026, 10, 18), day(2026, 10, 25)];
        assert_eq!(
            morning_slots(Europe::London, &dates),
            [
                "2026-03-22T09:00Z",
                "2026-03-22T10:00Z",
                "2026-03-22T11:00Z",
                "2026-03-29T08:00Z",
                "2026-03-29T09:00Z",
                "2026-03-29T10:00Z",
                "2026-10-18T08:00Z",
                "2026-10-18T09:00Z",
                "2026-10-18T10:00Z",
                "2026-10-25T09:00Z",
                "2026-10-25T10:00Z",
                "2026-10-25T11:00Z",
            ]
        );
    }

    #[test]
    fn a_morning_window_stays_at_nine_local_across_sydneys_changes() {
        let dates = [day(2026, 3, 29), day(2026, 4, 5), day(2026, 9, 27), day(2026, 10, 4)];
        assert_eq!(
            morning_slots(Australia::Sydney, &dates),
            [
                "2026-03-28T22:00Z",
                "2026-03-28T23:00Z",
                "2026-03-29T00:00Z",
                "2026-04-04T23:00Z",
                "2026-04-05T00:00Z",
                "2026-04-05T01:00Z",
                "2026-09-26T23:00Z",
                "2026-09-27T00:00Z",
                "2026-09-27T01:00Z",
                "2026-10-03T22:00Z",
                "2026-10-03T23:00Z",
                "2026-10-04T00:00Z",
            ]
        );
    }

    #[test]
    fn kolkata_mornings_start_at_half_past_three_utc_all_year() {
        let dates = [day(2026, 3, 8), day(2026, 6, 15), day(2026, 11, 1)];
        assert_eq!(
            morning_slots(Asia::Kolkata, &dates),
            [
                "2026-03-08T03:30Z",
                "2026-03-08T04:30Z",
                "2026-03-08T05:30Z",
                "2026-06-15T03:30Z",
                "2026-06-15T04:30Z",
                "2026-06-15T05:30Z",
                "2026-11-01T03:30Z",
                "2026-11-01T04:30Z",
                "2026-11-01T05:30Z",
            ]
        );
    }

    #[test]
    fn new_yorks_skipped_hour_offers_no_slots() {
        let tz = America::New_York;
        let window = Window::weekly(SUNDAY, hm(1, 0), hm(4, 0), tz);
        let date = day(2026, 3, 8);
        // 01:00 and 01:30 EST, then 03:00 and 03:30 EDT; 02:00 and 02:30 never happen.
        assert_eq!(
            starts(&slots_between(&[window], &rules(30, 0), tz, date, date)),
            ["2026-03-08T06:00Z", "2026-03-08T06:30Z", "2026-03-08T07:00Z", "2026-03-08T07:30Z"]
        );
        assert_eq!(
            starts(&slots_between(&[window], &rules(60, 0), tz, date, date)),
            ["2026-03-08T06:00Z", "2026-03-08T07:00Z"]
        );
    }

    #[test]
    fn a_grid_squeezed_by_the_spring_gap_keeps_the_earlier_slot() {
        let tz = America::New_York;
        let window = Window::weekly(SUNDAY, hm(0, 0), hm(5, 0), tz);
        let date = day(2026, 3, 8);
        // 01:30 EST to 02:30 EST is 06:30Z to 07:30Z; 03:00 EDT is 07:00Z and
        // would overlap it. 04:30 EDT would end after 05:00 EDT.
        let slots = slots_between(&[window], &rules(60, 30), tz, date, date);
        assert_eq!(starts(&slots), ["2026-03-08T05:00Z", "2026-03-08T06:30Z"]);
    }

    #[test]
    fn new_yorks_repeated_hour_is_offered_once_at_its_first_occurrence() {
        let tz = America::New_York;
        let window = Window::weekly(SUNDAY, hm(0, 0), hm(3, 0), tz);
        let date = day(2026, 11, 1);
        // 01:00 and 01:30 are EDT (05:00Z, 05:30Z), not EST (06:00Z, 06:30Z).
        assert_eq!(
            starts(&slots_between(&[window], &rules(30, 0), tz, date, date)),
            [
                "2026-11-01T04:00Z",
                "2026-11-01T04:30Z",
                "2026-11-01T05:00Z",
                "2026-11-01T05:30Z",
                "2026-11-01T07:00Z",
                "2026-11-01T07:30Z",
            ]
        );
        assert_eq!(
            window.interval_on(date),
            Some(Interval::new(at("2026-11-01T04:00:00Z"), at("2026-11-01T08:00:00Z")))
        );
    }

    #[test]
    fn londons_skipped_and_repeated_hours() {
        let tz = Europe::London;
        let spring = day(2026, 3, 29);
        let window = Window::weekly(SUNDAY, hm(0, 30), hm(3, 0), tz);
        // 00:30 GMT, then 02:00 and 02:30 BST.
        assert_eq!(
            starts(&slots_between(&[window], &rules(30, 0), tz, spring, spring)),
            ["2026-03-29T00:30Z", "2026-03-29T01:00Z", "2026-03-29T01:30Z"]
        );
        let autumn = day(2026, 10, 25);
        let window = Window::weekly(SUNDAY, hm(0, 30), hm(2, 30), tz);
        // 00:30, 01:00 and 01:30 BST, then 02:00 GMT.
        assert_eq!(
            starts(&slots_between(&[window], &rules(30, 0), tz, autumn, autumn)),
            ["2026-10-24T23:30Z", "2026-10-25T00:00Z", "2026-10-25T00:30Z", "2026-10-25T02:00Z"]
        );
    }

    #[test]
    fn sydneys_repeated_and_skipped_hours() {
        let tz = Australia::Sydney;
        let window = Window::weekly(SUNDAY, hm(1, 0), hm(4, 0), tz);
        let autumn = day(2026, 4, 5);
        // 01:00 and 02:00 AEDT (02:00 is the earlier of two), then 03:00 AEST.
        assert_eq!(
            starts(&slots_between(&[window], &rules(60, 0), tz, autumn, autumn)),
            ["2026-04-04T14:00Z", "2026-04-04T15:00Z", "2026-04-04T17:00Z"]
        );
        let spring = day(2026, 10, 4);
        // 01:00 AEST, then 03:00 AEDT; 02:00 never happens.
        assert_eq!(
            starts(&slots_between(&[window], &rules(60, 0), tz, spring, spring)),
            ["2026-10-03T15:00Z", "2026-10-03T16:00Z"]
        );
    }

    #[test]
    fn a_window_boundary_in_the_gap_is_the_moment_the_clock_jumps() {
        let tz = America::New_York;
        let date = day(2026, 3, 8);
        let starts_in_gap = Window::weekly(SUNDAY, hm(2, 30), hm(4, 0), tz);
        assert_eq!(
            starts_in_gap.interval_on(date),
            Some(Interval::new(at("2026-03-08T07:00:00Z"), at("2026-03-08T08:00:00Z")))
        );
        assert_eq!(
            starts(&slots_between(&[starts_in_gap], &rules(30, 0), tz, date, date)),
            ["2026-03-08T07:00Z", "2026-03-08T07:30Z"]
        );
        let ends_in_gap = Window::weekly(SUNDAY, hm(1, 0), hm(2, 30), tz);
        assert_eq!(
            ends_in_gap.interval_on(date),
            Some(Interval::new(at("2026-03-08T06:00:00Z"), at("2026-03-08T07:00:00Z")))
        );
        let inside_gap = Window::weekly(SUNDAY, hm(2, 10), hm(2, 50), tz);
        assert_eq!(inside_gap.interval_on(date), None);
    }

    #[test]
    fn a_window_may_run_until_midnight() {
        let tz = Europe::London;
        let window = Window::weekly(MONDAY, hm(22, 0), hm(0, 0), tz);
        let date = day(2026, 1, 5);
        assert_eq!(window.validate(), Ok(()));
        assert_eq!(
            starts(&slots_between(&[window], &rules(60, 0), tz, date, date)),
            ["2026-01-05T22:00Z", "2026-01-05T23:00Z"]
        );
    }

    // --- Whole days off ----------------------------------------------------

    #[test]
    fn a_day_off_lasts_as_long_as_the_local_day() {
        let london = Europe::London;
        let spring = time_off_for_dates(day(2026, 3, 29), day(2026, 3, 29), london);
        assert_eq!(spring, Interval::new(at("2026-03-29T00:00:00Z"), at("2026-03-29T23:00:00Z")));
        let autumn = time_off_for_dates(day(2026, 10, 25), day(2026, 10, 25), london);
        assert_eq!(autumn, Interval::new(at("2026-10-24T23:00:00Z"), at("2026-10-26T00:00:00Z")));
        let sydney = time_off_for_dates(day(2026, 4, 5), day(2026, 4, 5), Australia::Sydney);
        assert_eq!(sydney.end - sydney.start, TimeDelta::hours(25));
        let new_york = time_off_for_dates(day(2026, 3, 8), day(2026, 3, 9), America::New_York);
        assert_eq!(new_york, Interval::new(at("2026-03-08T05:00:00Z"), at("2026-03-10T04:00:00Z")));
        let kolkata = time_off_for_dates(day(2026, 3, 29), day(2026, 3, 29), Asia::Kolkata);
        assert_eq!(kolkata, Interval::new(at("2026-03-28T18:30:00Z"), at("2026-03-29T18:30:00Z")));
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_when_the_clock_jumps() {
        // Chile springs forward from 00:00 to 01:00 on 6 September 2026.
        let santiago = time_off_for_dates(day(2026, 9, 6), day(2026, 9, 6), America::Santiago);
        assert_eq!(santiago, Interval::new(at("2026-09-06T04:00:00Z"), at("2026-09-07T03:00:00Z")));
    }

    #[test]
    fn days_off_ending_before_they_start_are_empty() {
        let none = time_off_for_dates(day(2026, 3, 9), day(2026, 3, 8), Europe::London);
        assert!(none.is_empty());
    }

    // --- Buffers, notice, time off ------------------------------------------

    fn london_monday_morning(
        rules: &Rules,
        busy: &[Interval],
        time_off: &[Interval],
        now: DateTime<Utc>,
    ) -> Vec<String> {
        let window = Window::weekly(MONDAY, hm(9, 0), hm(12, 0), Europe::London);
        let slots = bookable_slots(
            &[window],
            time_off,
            busy,
            rules,
            now,
            at("2026-01-05T00:00:00Z"),
            at("2026-01-06T00:00:00Z"),
        );
        slots.iter().map(|slot| slot.start.format("%H:%M").to_string()).collect()
    }

    fn between(start: &str, end: &str) -> Interval {
        Interval::new(at(&format!("2026-01-05T{start}:00Z")), at(&format!("2026-01-05T{end}:00Z")))
    }

    #[test]
    fn slots_step_by_length_plus_buffer_and_end_by_the_windows_end() {
        assert_eq!(london_monday_morning(&rules(30, 10), &[], &[], long_ago()), ["09:00", "09:40", "10:20", "11:00"]);
        assert_eq!(london_monday_morning(&rules(45, 0), &[], &[], long_ago()), ["09:00", "09:45", "10:30", "11:15"]);
    }

    #[test]
    fn a_consultation_keeps_its_buffer_clear_on_both_sides() {
        let busy = [between("10:00", "10:15")];
        assert_eq!(london_monday_morning(&rules(30, 10), &busy, &[], long_ago()), ["09:00", "11:00"]);
    }

    #[test]
    fn a_slot_may_start_exactly_one_buffer_after_a_consultation_ends() {
        let busy = [between("09:50", "10:10")];
        assert_eq!(london_monday_morning(&rules(30, 10), &busy, &[], long_ago()), ["09:00", "10:20", "11:00"]);
    }

    #[test]
    fn unsorted_and_overlapping_busy_intervals_are_all_respected() {
        let busy = [between("11:00", "11:10"), between("09:00", "09:20"), between("09:10", "09:25")];
        assert_eq!(london_monday_morning(&rules(30, 0), &busy, &[], long_ago()), ["09:30", "10:00", "10:30", "11:30"]);
    }

    #[test]
    fn slots_sooner_than_the_notice_are_not_offered() {
        let notice = Rules { min_notice_minutes: 60, ..rules(30, 0) };
        let now = at("2026-01-05T08:30:00Z");
        assert_eq!(london_monday_morning(&notice, &[], &[], now), ["09:30", "10:00", "10:30", "11:00", "11:30"]);
        let now = at("2026-01-05T08:31:00Z");
        assert_eq!(london_monday_morning(&notice, &[], &[], now), ["10:00", "10:30", "11:00", "11:30"]);
    }

    #[test]
    fn time_off_removes_only_the_slots_it_overlaps() {
        let time_off = [between("10:30", "11:00")];
        assert_eq!(
            london_monday_morning(&rules(30, 0), &[], &time_off, long_ago()),
            ["09:00", "09:30", "10:00", "11:00", "11:30"]
        );
        let time_off = [between("10:15", "10:45")];
        assert_eq!(
            london_monday_morning(&rules(30, 0), &[], &time_off, long_ago()),
            ["09:00", "09:30", "11:00", "11:30"]
        );
    }

    #[test]
    fn a_day_off_removes_that_day_and_no_other() {
        let tz = Europe::London;
        let window = Window::weekly(MONDAY, hm(9, 0), hm(10, 0), tz);
        let time_off = [time_off_for_dates(day(2026, 1, 5), day(2026, 1, 5), tz)];
        let slots = bookable_slots(
            &[window],
            &time_off,
            &[],
            &rules(60, 0),
            long_ago(),
            at("2026-01-01T00:00:00Z"),
            at("2026-01-20T00:00:00Z"),
        );
        assert_eq!(starts(&slots), ["2026-01-12T09:00Z", "2026-01-19T09:00Z"]);
    }

    #[test]
    fn zero_length_or_an_empty_range_offers_nothing() {
        let window = Window::weekly(MONDAY, hm(9, 0), hm(12, 0), Europe::London);
        let (from, to) = (at("2026-01-05T00:00:00Z"), at("2026-01-06T00:00:00Z"));
        assert!(bookable_slots(&[window], &[], &[], &rules(0, 0), long_ago(), from, to).is_empty());
        assert!(bookable_slots(&[window], &[], &[], &rules(30, 0), long_ago(), to, from).is_empty());
    }

    // --- Dates ---------------------------------------------------------------

    #[test]
    fn a_recurring_window_applies_from_its_first_through_its_last_date() {
        let tz = Europe::London;
        let window = Window {
            valid_from: Some(day(2026, 1, 12)),
            valid_until: Some(day(2026, 1, 26)),
            ..Window::weekly(MONDAY, hm(9, 0), hm(10, 0), tz)
        };
        let slots = slots_between(&[window], &rules(60, 0), tz, day(2026, 1, 1), day(2026, 2, 28));
        assert_eq!(starts(&slots), ["2026-01-12T09:00Z", "2026-01-19T09:00Z", "2026-01-26T09:00Z"]);
    }

    #[test]
    fn validity_dates_are_read_in_the_windows_own_zone() {
        // 09:00 on Monday 2 March in Sydney is still Sunday 1 March in UTC.
        let monday = day(2026, 3, 2);
        let window = Window {
            valid_from: Some(monday),
            valid_until: Some(monday),
            ..Window::weekly(MONDAY, hm(9, 0), hm(10, 0), Australia::Sydney)
        };
        let slots = bookable_slots(
            &[window],
            &[],
            &[],
            &rules(60, 0),
            long_ago(),
            at("2026-02-20T00:00:00Z"),
            at("2026-03-10T00:00:00Z"),
        );
        assert_eq!(starts(&slots), ["2026-03-01T22:00Z"]);
    }

    #[test]
    fn a_one_off_window_applies_on_its_date_only() {
        let tz = Europe::London;
        let wednesday = Window::one_off(day(2026, 1, 7), hm(14, 0), hm(16, 0), tz);
        let slots = slots_between(&[wednesday], &rules(60, 0), tz, day(2026, 1, 1), day(2026, 1, 31));
        assert_eq!(starts(&slots), ["2026-01-07T14:00Z", "2026-01-07T15:00Z"]);
        let wrong_day = Window { day_of_week: MONDAY, ..wednesday };
        assert!(slots_between(&[wrong_day], &rules(60, 0), tz, day(2026, 1, 1), day(2026, 1, 31)).is_empty());
    }

    // --- Overlapping windows -----------------------------------------------

    #[test]
    fn overlapping_windows_keep_the_earlier_starting_slot() {
        let tz = Europe::London;
        let windows =
            [Window::weekly(MONDAY, hm(9, 0), hm(12, 0), tz), Window::weekly(MONDAY, hm(9, 15), hm(11, 0), tz)];
        let date = day(2026, 1, 5);
        let slots = slots_between(&windows, &rules(30, 0), tz, date, date);
        assert_eq!(
            starts(&slots),
            [
                "2026-01-05T09:00Z",
                "2026-01-05T09:30Z",
                "2026-01-05T10:00Z",
                "2026-01-05T10:30Z",
                "2026-01-05T11:00Z",
                "2026-01-05T11:30Z"
            ]
        );
        // And whichever order the windows come in.
        let reversed = [windows[1], windows[0]];
        assert_eq!(slots_between(&reversed, &rules(30, 0), tz, date, date), slots);
    }

    #[test]
    fn offered_slots_keep_the_buffer_between_them_across_windows() {
        let tz = Europe::London;
        let windows =
            [Window::weekly(MONDAY, hm(9, 0), hm(10, 0), tz), Window::weekly(MONDAY, hm(10, 0), hm(11, 0), tz)];
        let date = day(2026, 1, 5);
        // Booking 09:00 would block 10:00 with a buffer, so only 09:00 is offered.
        assert_eq!(starts(&slots_between(&windows, &rules(60, 10), tz, date, date)), ["2026-01-05T09:00Z"]);
        assert_eq!(
            starts(&slots_between(&windows, &rules(60, 0), tz, date, date)),
            ["2026-01-05T09:00Z", "2026-01-05T10:00Z"]
        );
    }

    #[test]
    fn a_busy_slot_does_not_hide_a_free_one_from_an_overlapping_window() {
        let tz = Europe::London;
        let windows =
            [Window::weekly(MONDAY, hm(9, 0), hm(10, 0), tz), Window::weekly(MONDAY, hm(9, 20), hm(10, 20), tz)];
        let (from, to) = (at("2026-01-05T00:00:00Z"), at("2026-01-06T00:00:00Z"));
        assert_eq!(
            starts(&bookable_slots(&windows, &[], &[], &rules(60, 0), long_ago(), from, to)),
            ["2026-01-05T09:00Z"]
        );
        let busy = [between("09:00", "09:10")];
        assert_eq!(
            starts(&bookable_slots(&windows, &[], &busy, &rules(60, 0), long_ago(), from, to)),
            ["2026-01-05T09:20Z"]
        );
    }

    #[test]
    fn windows_in_two_zones_giving_the_same_instants_offer_each_once() {
        let windows = [
            Window::weekly(MONDAY, hm(9, 0), hm(11, 0), Europe::London),
            Window::weekly(MONDAY, hm(10, 0), hm(12, 0), Europe::Berlin),
        ];
        let date = day(2026, 1, 5);
        assert_eq!(
            starts(&slots_between(&windows, &rules(60, 0), Europe::London, date, date)),
            ["2026-01-05T09:00Z", "2026-01-05T10:00Z"]
        );
    }

    #[test]
    fn paging_from_the_middle_of_a_morning_offers_the_same_slots() {
        let tz = Europe::London;
        let windows =
            [Window::weekly(MONDAY, hm(9, 0), hm(12, 0), tz), Window::weekly(MONDAY, hm(9, 20), hm(12, 0), tz)];
        let to = at("2026-01-06T00:00:00Z");
        let whole_day = bookable_slots(&windows, &[], &[], &rules(60, 0), long_ago(), at("2026-01-05T00:00:00Z"), to);
        assert_eq!(starts(&whole_day), ["2026-01-05T09:00Z", "2026-01-05T10:00Z", "2026-01-05T11:00Z"]);
        // From 09:10 the 09:20 slot is the first candidate, but 09:00 still wins it.
        let later = bookable_slots(&windows, &[], &[], &rules(60, 0), long_ago(), at("2026-01-05T09:10:00Z"), to);
        assert_eq!(later, whole_day[1..]);
    }

    #[test]
    fn a_chain_of_collisions_is_settled_from_its_start_however_far_back() {
        // Whole days in London and in Kolkata: two hourly grids half an hour
        // apart that never pause, so which grid wins is decided where the
        // chain of collisions starts, at `now`, nine days before `from`.
        let windows: Vec<Window> = (0..7)
            .flat_map(|day| {
                [
                    Window::weekly(day, hm(0, 0), hm(0, 0), Europe::London),
                    Window::weekly(day, hm(0, 0), hm(0, 0), Asia::Kolkata),
                ]
            })
            .collect();
        let now = at("2026-01-05T00:00:00Z");
        let (from, to) = (at("2026-01-14T12:10:00Z"), at("2026-01-14T15:00:00Z"));
        let slots = bookable_slots(&windows, &[], &[], &rules(60, 0), now, from, to);
        assert_eq!(starts(&slots), ["2026-01-14T13:00Z", "2026-01-14T14:00Z"]);
    }

    // --- Validation ----------------------------------------------------------

    fn message(window: Window) -> String {
        window.validate().unwrap_err().to_string()
    }

    fn messages(windows: &[Window]) -> Vec<(usize, String)> {
        let issues = validate_windows(windows, day(2026, 1, 1)).unwrap_err();
        issues.iter().map(|issue| (issue.index, issue.to_string())).collect()
    }

    #[test]
    fn a_window_needs_a_real_day_and_an_end_after_its_start() {
        let tz = Europe::London;
        assert_eq!(
            message(Window::weekly(MONDAY, hm(12, 0), hm(9, 0), tz)),
            "The end time must be after the start time."
        );
        assert_eq!(
            message(Window::weekly(MONDAY, hm(9, 0), hm(9, 0), tz)),
            "The end time must be after the start time."
        );
        assert_eq!(message(Window::weekly(7, hm(9, 0), hm(12, 0), tz)), "Choose a day from Sunday to Saturday.");
        assert_eq!(Window::weekly(MONDAY, hm(0, 0), hm(0, 0), tz).validate(), Ok(()));
    }

    #[test]
    fn the_last_date_may_not_come_before_the_first() {
        let window = Window {
            valid_from: Some(day(2026, 3, 1)),
            valid_until: Some(day(2026, 2, 28)),
            ..Window::weekly(MONDAY, hm(9, 0), hm(12, 0), Europe::London)
        };
        assert_eq!(message(window), "The last date must be on or after the first date.");
        assert_eq!(Window { valid_until: Some(day(2026, 3, 1)), ..window }.validate(), Ok(()));
    }

    #[test]
    fn a_one_off_window_needs_one_date_on_its_weekday() {
        let one_off = Window::one_off(day(2026, 3, 2), hm(9, 0), hm(12, 0), Europe::London);
        assert_eq!(one_off.validate(), Ok(()));
        assert_eq!(Window { valid_until: Some(day(2026, 3, 2)), ..one_off }.validate(), Ok(()));
        assert_eq!(message(Window { valid_from: None, ..one_off }), "Choose the date of this one-off window.");
        assert_eq!(
            message(Window { valid_until: Some(day(2026, 3, 9)), ..one_off }),
            "A one-off window is for a single date: leave the last date empty or make it the same date."
        );
        assert_eq!(message(Window { day_of_week: SUNDAY, ..one_off }), "2 March 2026 is a Monday, not a Sunday.");
    }

    #[test]
    fn two_windows_on_the_same_day_may_not_overlap() {
        let tz = Europe::London;
        let windows =
            [Window::weekly(MONDAY, hm(9, 0), hm(12, 0), tz), Window::weekly(MONDAY, hm(11, 0), hm(13, 0), tz)];
        assert_eq!(
            messages(&windows),
            [(1, "This overlaps the Monday 09:00–12:00 window (Europe/London) on Monday 5 January 2026.".to_owned())]
        );
        let issues = validate_windows(&windows, day(2026, 1, 1)).unwrap_err();
        assert_eq!(issues[0].error, WindowError::Overlaps { other: 0, with: windows[0], date: day(2026, 1, 5) });
    }

    #[test]
    fn windows_that_only_touch_or_never_share_a_date_are_fine() {
        let tz = Europe::London;
        let touching =
            [Window::weekly(MONDAY, hm(9, 0), hm(12, 0), tz), Window::weekly(MONDAY, hm(12, 0), hm(0, 0), tz)];
        assert_eq!(validate_windows(&touching, day(2026, 1, 1)), Ok(()));
        let other_days =
            [Window::weekly(MONDAY, hm(9, 0), hm(12, 0), tz), Window::weekly(WEDNESDAY, hm(9, 0), hm(12, 0), tz)];
        assert_eq!(validate_windows(&other_days, day(2026, 1, 1)), Ok(()));
        let before = Window { valid_until: Some(day(2026, 1, 31)), ..Window::weekly(MONDAY, hm(9, 0), hm(12, 0), tz) };
        let after = Window { valid_from: Some(day(2026, 2, 1)), ..Window::weekly(MONDAY, hm(10, 0), hm(11, 0), tz) };
        assert_eq!(validate_windows(&[before, after], day(2026, 1, 1)), Ok(()));
    }

    #[test]
    fn overlaps_that_are_over_before_today_do_not_count() {
        let tz = Europe::London;
        let old = Window { valid_until: Some(day(2025, 12, 29)), ..Window::weekly(MONDAY, hm(9, 0), hm(12, 0), tz) };
        let new = Window::weekly(MONDAY, hm(10, 0), hm(11, 0), tz);
        assert_eq!(validate_windows(&[old, new], day(2026, 1, 1)), Ok(()));
        assert!(validate_windows(&[old, new], day(2025, 12, 1)).is_err());
    }

    #[test]
    fn a_one_off_window_may_not_overlap_a_weekly_one_on_its_date() {
        let tz = Europe::London;
        let weekly = Window::weekly(WEDNESDAY, hm(9, 0), hm(12, 0), tz);
        let one_off = Window::one_off(day(2026, 1, 14), hm(11, 30), hm(12, 30), tz);
        assert_eq!(
            messages(&[weekly, one_off]),
            [(
                1,
                "This overlaps the Wednesday 09:00–12:00 window (Europe/London) on Wednesday 14 January 2026."
                    .to_owned()
            )]
        );
        assert_eq!(
            messages(&[one_off, weekly]),
            [(
                1,
                "This overlaps the one-off 11:30–12:30 window (Europe/London) on Wednesday 14 January 2026.".to_owned()
            )]
        );
        let later_one_off = Window::one_off(day(2026, 1, 14), hm(12, 0), hm(13, 0), tz);
        assert_eq!(validate_windows(&[weekly, later_one_off], day(2026, 1, 1)), Ok(()));
    }

    #[test]
    fn windows_in_two_zones_clash_only_in_the_weeks_their_clocks_change_apart() {
        // 09:00 London and 05:00 New York meet only while New York is on
        // summer time and London is not: from 8 to 29 March, and 25 October to
        // 1 November.
        let london = Window::weekly(MONDAY, hm(9, 0), hm(10, 0), Europe::London);
        let new_york = Window::weekly(MONDAY, hm(5, 0), hm(6, 0), America::New_York);
        assert_eq!(
            messages(&[london, new_york]),
            [(1, "This overlaps the Monday 09:00–10:00 window (Europe/London) on Monday 9 March 2026.".to_owned())]
        );
        let winter_only = Window { valid_until: Some(day(2026, 3, 1)), ..new_york };
        assert_eq!(validate_windows(&[london, winter_only], day(2026, 1, 1)), Ok(()));
        let autumn = Window { valid_from: Some(day(2026, 4, 1)), ..new_york };
        let issues = validate_windows(&[london, autumn], day(2026, 1, 1)).unwrap_err();
        assert_eq!(issues[0].error, WindowError::Overlaps { other: 0, with: london, date: day(2026, 10, 26) });
    }

    #[test]
    fn every_problem_is_reported_against_its_window() {
        let tz = Europe::London;
        let windows = [
            Window::weekly(MONDAY, hm(9, 0), hm(12, 0), tz),
            Window::weekly(MONDAY, hm(12, 0), hm(11, 0), tz),
            Window::weekly(MONDAY, hm(11, 0), hm(13, 0), tz),
            Window::weekly(MONDAY, hm(10, 0), hm(10, 30), tz),
        ];
        let found: Vec<(usize, String)> = messages(&windows);
        assert_eq!(
            found,
            [
                (1, "The end time must be after the start time.".to_owned()),
                (2, "This overlaps the Monday 09:00–12:00 window (Europe/London) on Monday 5 January 2026.".to_owned()),
                (3, "This overlaps the Monday 09:00–12:00 window (Europe/London) on Monday 5 January 2026.".to_owned()),
            ]
        );
    }

    #[test]
    fn zones_travel_as_their_iana_names() {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let kolkata: StrDeserializer<Error> = "Asia/Kolkata".into_deserializer();
        assert_eq!(tz_name::deserialize(kolkata), Ok(Asia::Kolkata));
        let mars: StrDeserializer<Error> = "Mars/Olympus_Mons".into_deserializer();
        assert_eq!(tz_name::deserialize(mars).unwrap_err().to_string(), "unknown timezone \"Mars/Olympus_Mons\"");
    }

    // --- Properties ------------------------------------------------------------

    const ZONES: [Tz; 10] = [
        America::New_York,
        Europe::London,
        Australia::Sydney,
        Asia::Kolkata,
        America::St_Johns,
        Asia::Kathmandu,
        Pacific::Chatham,
        Europe::Berlin,
        America::Santiago,
        Australia::Lord_Howe,
    ];

    /// Each case centres on a zone and a date in 2026: mostly the zone's clock
    /// changes, and a few dates on which nothing changes (Kolkata and
    /// Kathmandu never change).
    const CHANGES: [(Tz, u32, u32); 20] = [
        (America::New_York, 3, 8),
        (America::New_York, 11, 1),
        (Europe::London, 3, 29),
        (Europe::London, 10, 25),
        (Australia::Sydney, 4, 5),
        (Australia::Sydney, 10, 4),
        (Asia::Kolkata, 6, 15),
        (America::St_Johns, 3, 8),
        (America::St_Johns, 11, 1),
        (Asia::Kathmandu, 3, 29),
        (Pacific::Chatham, 4, 5),
        (Pacific::Chatham, 9, 27),
        (Europe::Berlin, 3, 29),
        (Europe::Berlin, 10, 25),
        (America::Santiago, 4, 5),
        (America::Santiago, 9, 6),
        (Australia::Lord_Howe, 4, 5),
        (Australia::Lord_Howe, 10, 4),
        (Europe::London, 6, 15),
        (America::New_York, 1, 5),
    ];

    fn time_of_day(minute: u32) -> NaiveTime {
        NaiveTime::from_num_seconds_from_midnight_opt(minute % 1440 * 60, 0).unwrap()
    }

    fn plus_days(date: NaiveDate, days: i64) -> NaiveDate {
        date + TimeDelta::days(days)
    }

    prop_compose! {
        fn a_window(changing: Tz, base: NaiveDate)(
            tz in prop_oneof![Just(changing), select(ZONES.to_vec())],
            // Mostly on or near the day of the change, so that windows meet
            // the change, the range and each other.
            day_offset in prop_oneof![2 => Just(0i64), 3 => -1i64..3, 1 => 0i64..7],
            start in 0u32..1440,
            length in 15u32..720,
            recurring in prop::bool::weighted(0.8),
            valid_from in prop::option::weighted(0.3, -10i64..4),
            valid_until in prop::option::weighted(0.3, -4i64..14),
            one_off in -4i64..5,
        ) -> Window {
            // An end past midnight is cut to midnight, written 00:00.
            let end = time_of_day((start + length).min(1440));
            if recurring {
                Window {
                    valid_from: valid_from.map(|days| plus_days(base, days)),
                    valid_until: valid_until.map(|days| plus_days(base, days)),
                    ..Window::weekly(weekday_number(plus_days(base, day_offset)), time_of_day(start), end, tz)
                }
            } else {
                Window::one_off(plus_days(base, one_off), time_of_day(start), end, tz)
            }
        }
    }

    #[derive(Debug, Clone)]
    struct Case {
        windows: Vec<Window>,
        time_off: Vec<Interval>,
        busy: Vec<Interval>,
        rules: Rules,
        now: DateTime<Utc>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    }

    prop_compose! {
        fn a_case()(change in select(CHANGES.to_vec()))(
            windows in vec(a_window(change.0, day(2026, change.1, change.2)), 1..7),
            length in 1u32..150,
            buffer in 0u32..40,
            notice in prop_oneof![Just(0u32), 0u32..600, 0u32..3000],
            from in -48i64 * 60..24 * 60,
            span in prop_oneof![1 => 1i64..600, 4 => 600i64..10 * 24 * 60],
            now in -6i64 * 24 * 60..24 * 60,
            busy in vec((-4i64 * 24 * 60..14 * 24 * 60, 1i64..300), 0..25),
            time_off in vec((-4i64 * 24 * 60..14 * 24 * 60, 1i64..3000), 0..4),
            change in Just(change),
        ) -> Case {
            let base = day(2026, change.1, change.2).and_time(NaiveTime::MIN).and_utc();
            let minute = |m: i64| base + TimeDelta::minutes(m);
            let intervals = |list: Vec<(i64, i64)>| -> Vec<Interval> {
                list.into_iter().map(|(start, length)| Interval::new(minute(start), minute(start + length))).collect()
            };
            Case {
                windows,
                time_off: intervals(time_off),
                busy: intervals(busy),
                rules: Rules { length_minutes: length, buffer_minutes: buffer, min_notice_minutes: notice },
                now: minute(now),
                from: minute(from),
                to: minute(from + span),
            }
        }
    }

    impl Case {
        fn slots(&self) -> Vec<Interval> {
            self.slots_in(self.from, self.to)
        }

        fn slots_in(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Interval> {
            bookable_slots(&self.windows, &self.time_off, &self.busy, &self.rules, self.now, from, to)
        }

        fn buffer(&self) -> TimeDelta {
            minutes(self.rules.buffer_minutes)
        }

        fn length(&self) -> TimeDelta {
            minutes(self.rules.length_minutes)
        }

        /// The same rules the plain way: every date, linear scans, greedy
        /// choice from the earliest bookable instant.
        fn reference(&self) -> Vec<Interval> {
            let earliest = self.now + minutes(self.rules.min_notice_minutes);
            let step = self.length() + self.buffer();
            let mut candidates = Vec::new();
            for window in &self.windows {
                let mut date = local_date(earliest.min(self.from), window.tz) - TimeDelta::days(2);
                while date <= local_date(self.to, window.tz) + TimeDelta::days(2) {
                    if let (Some(real), Some((mut local, end))) = (window.interval_on(date), window.local_bounds(date))
                    {
                        while local < end {
                            if let Some(start) = window.tz.from_local_datetime(&local).earliest() {
                                let slot =
                                    Interval::new(start.with_timezone(&Utc), start.with_timezone(&Utc) + self.length());
                                let widened = Interval::new(slot.start - self.buffer(), slot.end + self.buffer());
                                if real.contains(&slot)
                                    && slot.start >= earliest
                                    && slot.start < self.to
                                    && !self.time_off.iter().any(|off| off.overlaps(&slot))
                                    && !self.busy.iter().any(|busy| busy.overlaps(&widened))
                                {
                                    candidates.push(slot);
                                }
                            }
                            local += step;
                        }
                    }
                    date = date.succ_opt().unwrap();
                }
            }
            candidates.sort();
            let mut kept: Vec<Interval> = Vec::new();
            for candidate in candidates {
                if kept.last().is_none_or(|last| candidate.start >= last.end + self.buffer()) {
                    kept.push(candidate);
                }
            }
            kept.retain(|slot| slot.start >= self.from);
            kept
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn every_slot_obeys_every_rule(case in a_case()) {
            let slots = case.slots();
            for pair in slots.windows(2) {
                prop_assert!(pair[1].start >= pair[0].end + case.buffer(), "too close: {pair:?}");
            }
            for slot in &slots {
                prop_assert_eq!(slot.end - slot.start, case.length());
                prop_assert!(case.from <= slot.start && slot.start < case.to);
                prop_assert!(slot.start >= case.now + minutes(case.rules.min_notice_minutes));
                let widened = Interval::new(slot.start - case.buffer(), slot.end + case.buffer());
                prop_assert!(!case.busy.iter().any(|busy| busy.overlaps(&widened)), "near busy: {slot:?}");
                prop_assert!(!case.time_off.iter().any(|off| off.overlaps(slot)), "in time off: {slot:?}");
                let step = case.length() + case.buffer();
                let from_a_window = case.windows.iter().any(|window| {
                    let local = slot.start.with_timezone(&window.tz).naive_local();
                    let date = local.date();
                    let on_grid = (local - date.and_time(window.start)).num_seconds() % step.num_seconds() == 0;
                    let earliest = window.tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc));
                    window.applies_on(date)
                        && window.valid_from.is_none_or(|first| first <= date)
                        && window.valid_until.is_none_or(|last| date <= last)
                        && window.interval_on(date).is_some_and(|real| real.contains(slot))
                        && local.time() >= window.start
                        && on_grid
                        && earliest == Some(slot.start)
                });
                prop_assert!(from_a_window, "from no window: {slot:?}");
            }
        }

        #[test]
        fn slots_match_a_plain_reference(case in a_case()) {
            prop_assert_eq!(case.slots(), case.reference());
        }

        #[test]
        fn paging_never_changes_which_slots_are_offered(case in a_case(), cut in 0.0f64..1.0) {
            let span = (case.to - case.from).num_minutes();
            let middle = case.from + TimeDelta::minutes((span as f64 * cut) as i64);
            let mut paged = case.slots_in(case.from, middle);
            paged.extend(case.slots_in(middle, case.to));
            prop_assert_eq!(paged, case.slots());
        }

        #[test]
        fn every_day_off_is_one_local_day_long(tz in select(ZONES.to_vec()), days in 0i64..366) {
            let date = plus_days(day(2026, 1, 1), days);
            let off = time_off_for_dates(date, date, tz);
            prop_assert_eq!(off.start.with_timezone(&tz).date_naive(), date);
            prop_assert_eq!(off.end.with_timezone(&tz).date_naive(), date.succ_opt().unwrap());
            prop_assert!(off.start.with_timezone(&tz).time() <= hm(1, 0));
            prop_assert!((off.end - off.start - TimeDelta::hours(24)).num_minutes().abs() <= 60);
        }
    }
}
