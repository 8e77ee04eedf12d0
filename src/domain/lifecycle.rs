//! A consultation's life, in one place:
//!
//! ```text
//! pending_payment ──pay──> scheduled ──start──> in_progress ──complete──> completed
//!        │                    │  └──no-show──> no_show
//!        └──cancel/expire──> cancelled <──cancel──┘
//! ```
//!
//! `completed`, `cancelled` and `no_show` are final. The database refuses
//! any other change of status too (trigger `consultations_guard_lifecycle`,
//! kept equal to [`may_change`] by a test).

use chrono::{DateTime, Duration, Utc};

use super::ConsultationStatus as S;

/// What happens to a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The payment succeeded.
    Pay,
    /// The patient or the doctor cancelled.
    Cancel,
    /// The unpaid hold ran out.
    ExpireHold,
    /// The doctor started the visit.
    Start,
    /// The doctor ended the visit.
    Complete,
    /// Nobody started the visit in time, or the patient did not come.
    NoShow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAllowed {
    pub from: S,
    pub event: Event,
}

impl std::fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.event {
            Event::Pay => "paid for",
            Event::Cancel => "cancelled",
            Event::ExpireHold => "released",
            Event::Start => "started",
            Event::Complete => "completed",
            Event::NoShow => "marked as a no-show",
        };
        let state = match self.from {
            S::PendingPayment => "waiting for payment",
            S::Scheduled => "scheduled",
            S::InProgress => "under way",
            S::Completed => "completed",
            S::Cancelled => "cancelled",
            S::NoShow => "a no-show",
        };
        write!(f, "This consultation is {state}: it cannot be {what}.")
    }
}

impl std::error::Error for NotAllowed {}

/// The status after `event`, or why it cannot happen.
pub fn next(from: S, event: Event) -> Result<S, NotAllowed> {
    let to = match (from, event) {
        (S::PendingPayment, Event::Pay) => S::Scheduled,
        (S::PendingPayment, Event::Cancel | Event::ExpireHold) => S::Cancelled,
        (S::Scheduled, Event::Cancel) => S::Cancelled,
        (S::Scheduled, Event::Start) => S::InProgress,
        (S::Scheduled, Event::NoShow) => S::NoShow,
        (S::InProgress, Event::Complete) => S::Completed,
        _ => return Err(NotAllowed { from, event }),
    };
    Ok(to)
}

/// Whether the status may go from `from` to `to` at all (what the database
/// trigger allows).
pub fn may_change(from: S, to: S) -> bool {
    from == to || EVENTS.into_iter().any(|e| next(from, e) == Ok(to))
}

/// Every event, for questions asked of all of them.
const EVENTS: [Event; 6] = [Event::Pay, Event::Cancel, Event::ExpireHold, Event::Start, Event::Complete, Event::NoShow];

/// Whether nothing can happen to a consultation any more (completed,
/// cancelled, no-show).
pub fn is_final(status: S) -> bool {
    EVENTS.into_iter().all(|e| next(status, e).is_err())
}

/// Why a consultation cannot be paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayRefused {
    /// Scheduled, under way or completed: it was paid.
    AlreadyPaid,
    /// Cancelled (or a no-show): there is nothing to pay for any more.
    NoLongerBooked,
}

/// Whether a consultation may be paid for (the hold aside: see [`is_held`]).
pub fn may_pay(status: S) -> Result<(), PayRefused> {
    match next(status, Event::Pay) {
        Ok(_) => Ok(()),
        Err(_) if matches!(status, S::Scheduled | S::InProgress | S::Completed) => Err(PayRefused::AlreadyPaid),
        Err(_) => Err(PayRefused::NoLongerBooked),
    }
}

/// Whether the time is still held for the patient at `now`: the
/// consultation waits for payment and its hold has not run out. A hold that
/// ran out is released ([`Event::ExpireHold`]), never paid.
pub fn is_held(status: S, hold_expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    next(status, Event::Pay).is_ok() && hold_expires_at.is_some_and(|t| t > now)
}

/// Whether the patient or the doctor may cancel at `now`: held or booked,
/// and not yet begun.
pub fn may_cancel(status: S, scheduled_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    next(status, Event::Cancel).is_ok() && scheduled_at > now
}

/// Whether a booking may move to another time at `now`: exactly when it may
/// still be cancelled (the policy's notice is the caller's).
pub fn may_move(status: S, scheduled_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    may_cancel(status, scheduled_at, now)
}

/// When the room may be entered and until when a visit may still start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomRules {
    /// Minutes before the start from which the patient may wait in the room.
    pub open_minutes_before: i64,
    /// Minutes after the booked end after which a visit nobody started is a no-show.
    pub no_show_grace_minutes: i64,
}

impl Default for RoomRules {
    fn default() -> Self {
        RoomRules { open_minutes_before: 10, no_show_grace_minutes: 15 }
    }
}

/// Where a consultation's room stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomState {
    /// Too early: the room opens at this instant.
    OpensAt(DateTime<Utc>),
    /// The room is open; the visit has not started.
    Waiting,
    /// The doctor started the visit.
    InProgress,
    /// The visit is over (completed, a no-show, or cancelled) or was never booked.
    Closed,
}

impl RoomRules {
    pub fn state(
        &self,
        status: S,
        scheduled_at: DateTime<Utc>,
        scheduled_end_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> RoomState {
        match status {
            S::InProgress => RoomState::InProgress,
            S::Scheduled => {
                let opens = scheduled_at - Duration::minutes(self.open_minutes_before);
                if now < opens {
                    RoomState::OpensAt(opens)
                } else if now > self.no_show_after(scheduled_end_at) {
                    RoomState::Closed
                } else {
                    RoomState::Waiting
                }
            }
            _ => RoomState::Closed,
        }
    }

    /// A scheduled visit nobody started by this instant is a no-show.
    pub fn no_show_after(&self, scheduled_end_at: DateTime<Utc>) -> DateTime<Utc> {
        scheduled_end_at + Duration::minutes(self.no_show_grace_minutes)
    }
}

/// The length of a visit in whole minutes, rounded up (a visit that started
/// counts at least one minute).
pub fn duration_minutes(started_at: DateTime<Utc>, ended_at: DateTime<Utc>) -> i32 {
    let seconds = (ended_at - started_at).num_seconds().max(0);
    (((seconds + 59) / 60).max(1)).min(i32::MAX as i64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap()
    }

    #[test]
    fn a_paid_consultation_is_scheduled_and_a_started_one_can_only_be_completed() {
        assert_eq!(next(S::PendingPayment, Event::Pay), Ok(S::Scheduled));
        assert_eq!(next(S::Scheduled, Event::Start), Ok(S::InProgress));
        assert_eq!(next(S::InProgress, Event::Complete), Ok(S::Completed));
        assert!(next(S::InProgress, Event::Cancel).is_err());
        assert!(next(S::InProgress, Event::NoShow).is_err());
    }

    #[test]
    fn final_states_accept_nothing() {
        for from in [S::Completed, S::Cancelled, S::NoShow] {
            for e in [Event::Pay, Event::Cancel, Event::ExpireHold, Event::Start, Event::Complete, Event::NoShow] {
                let refused = next(from, e).unwrap_err();
                assert_eq!(refused, NotAllowed { from, event: e });
            }
        }
    }

    #[test]
    fn an_unpaid_consultation_cannot_start() {
        let refused = next(S::PendingPayment, Event::Start).unwrap_err();
        assert_eq!(refused.to_string(), "This consultation is waiting for payment: it cannot be started.");
    }

    #[test]
    fn may_change_lists_exactly_the_transitions() {
        let allowed: Vec<(S, S)> = S::ALL
            .iter()
            .flat_map(|&a| S::ALL.iter().map(move |&b| (a, b)))
            .filter(|&(a, b)| a != b && may_change(a, b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (S::PendingPayment, S::Scheduled),
                (S::PendingPayment, S::Cancelled),
                (S::Scheduled, S::InProgress),
                (S::Scheduled, S::Cancelled),
                (S::Scheduled, S::NoShow),
                (S::InProgress, S::Completed),
            ]
        );
    }

    #[test]
    fn the_room_opens_ten_minutes_before_and_closes_after_the_grace_period() {
        let rules = RoomRules::default();
        let (start, end) = (at(10, 0), at(10, 30));
        assert_eq!(rules.state(S::Scheduled, start, end, at(9, 49)), RoomState::OpensAt(at(9, 50)));
        assert_eq!(rules.state(S::Scheduled, start, end, at(9, 50)), RoomState::Waiting);
        assert_eq!(rules.state(S::Scheduled, start, end, at(10, 45)), RoomState::Waiting);
        assert_eq!(rules.state(S::Scheduled, start, end, at(10, 46)), RoomState::Closed);
        assert_eq!(rules.state(S::InProgress, start, end, at(11, 30)), RoomState::InProgress);
        assert_eq!(rules.state(S::PendingPayment, start, end, at(10, 0)), RoomState::Closed);
        assert_eq!(rules.state(S::Completed, start, end, at(10, 0)), RoomState::Closed);
    }

    #[test]
    fn a_visit_lasts_whole_minutes_rounded_up() {
        assert_eq!(duration_minutes(at(10, 0), at(10, 0)), 1);
        assert_eq!(duration_minutes(at(10, 0), at(10, 20)), 20);
        assert_eq!(duration_minutes(at(10, 0), at(10, 20) + Duration::seconds(1)), 21);
        assert_eq!(duration_minutes(at(10, 20), at(10, 0)), 1);
    }

    #[test]
    fn completed_cancelled_and_no_show_are_the_final_states() {
        let finals: Vec<S> = S::ALL.iter().copied().filter(|&s| is_final(s)).collect();
        assert_eq!(finals, vec![S::Completed, S::Cancelled, S::NoShow]);
    }

    #[test]
    fn only_a_consultation_waiting_for_payment_may_be_paid_and_the_refusal_says_why() {
        assert_eq!(may_pay(S::PendingPayment), Ok(()));
        for paid in [S::Scheduled, S::InProgress, S::Completed] {
            assert_eq!(may_pay(paid), Err(PayRefused::AlreadyPaid), "{paid}");
        }
        for over in [S::Cancelled, S::NoShow] {
            assert_eq!(may_pay(over), Err(PayRefused::NoLongerBooked), "{over}");
        }
    }

    #[test]
    fn a_hold_lasts_until_its_expiry_and_only_while_waiting_for_payment() {
        let expiry = Some(at(10, 15));
        assert!(is_held(S::PendingPayment, expiry, at(10, 14)));
        assert!(!is_held(S::PendingPayment, expiry, at(10, 15)), "expired at its instant");
        assert!(!is_held(S::PendingPayment, None, at(10, 0)), "no expiry: nothing is held");
        assert!(!is_held(S::Scheduled, expiry, at(10, 0)), "paid: no longer a hold");
        assert!(!is_held(S::Cancelled, expiry, at(10, 0)));
    }

    #[test]
    fn held_and_booked_consultations_may_be_cancelled_or_moved_until_they_begin() {
        let start = at(10, 0);
        for status in S::ALL.iter().copied() {
            let open = matches!(status, S::PendingPayment | S::Scheduled);
            assert_eq!(may_cancel(status, start, at(9, 59)), open, "{status}");
            assert_eq!(may_move(status, start, at(9, 59)), open, "{status}");
            assert!(!may_cancel(status, start, at(10, 0)), "{status} at its start");
            assert!(!may_move(status, start, at(10, 1)), "{status} after its start");
        }
    }
}
