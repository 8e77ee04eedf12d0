//! Calendar invitations (RFC 5545) for booked consultations. Times are in
//! UTC (`…Z`), which every calendar shows in its owner's own timezone. One
//! consultation is one event (its UID) whether booked, moved or cancelled.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One consultation as a calendar event.
pub struct Invitation<'a> {
    pub consultation_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub summary: &'a str,
    pub description: &'a str,
    pub url: &'a str,
    /// CONFIRMED, or CANCELLED to take it out of calendars.
    pub cancelled: bool,
}

/// Escapes a TEXT value: backslash, semicolon, comma and line breaks.
fn text(value: &str) -> String {
    value.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n").replace('\r', "")
}

/// Folds a content line at 75 octets (continuation lines start with a space).
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The `.ics` document.
pub fn ics(event: &Invitation<'_>, now: DateTime<Utc>) -> String {
    let (method, status) = if event.cancelled { ("CANCEL", "CANCELLED") } else { ("REQUEST", "CONFIRMED") };
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Telehealth//Consultations//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        format!("METHOD:{method}"),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}@telehealth", event.consultation_id),
        format!("DTSTAMP:{}", stamp(now)),
        // Later versions of one event (moved, cancelled) must carry a higher
        // sequence for calendars to apply them: minutes since the epoch grow.
        format!("SEQUENCE:{}", now.timestamp().max(0) / 60),
        format!("DTSTART:{}", stamp(event.starts_at)),
        format!("DTEND:{}", stamp(event.ends_at)),
        format!("SUMMARY:{}", text(event.summary)),
        format!("DESCRIPTION:{}", text(event.description)),
        format!("URL:{}", event.url),
        format!("STATUS:{status}"),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    lines.iter().map(|l| fold(l)).collect::<Vec<_>>().join("\r\n") + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(cancelled: bool) -> String {
        let start = DateTime::parse_from_rfc3339("2026-12-07T09:30:00Z").unwrap().with_timezone(&Utc);
        ics(
            &Invitation {
                consultation_id: Uuid::nil(),
                starts_at: start,
                ends_at: start + chrono::Duration::minutes(30),
                summary: "Video consultation with Dr Amara Okafor, Dermatology",
                description: "Join from My consultations; bring your questions.\nTelehealth",
                url: "https://telehealth.example/consultations",
                cancelled,
            },
            start - chrono::Duration::days(3),
        )
    }

    #[test]
    fn an_invitation_has_utc_times_escaped_text_and_crlf_lines() {
        let ics = event(false);
        assert!(ics.contains("\r\nDTSTART:20261207T093000Z\r\n"));
        assert!(ics.contains("\r\nDTEND:20261207T100000Z\r\n"));
        assert!(ics.contains("SUMMARY:Video consultation with Dr Amara Okafor\\, Dermatology"));
        assert!(ics.contains("My consultations\\; bring your questions.\\nTelehealth"));
        assert!(ics.contains("UID:00000000-0000-0000-0000-000000000000@telehealth"));
        assert!(ics.contains("METHOD:REQUEST") && ics.contains("STATUS:CONFIRMED"));
        assert!(ics.contains("\r\nSEQUENCE:"), "updates must be able to supersede it");
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.split("\r\n").all(|l| l.len() <= 75), "lines are folded");
    }

    #[test]
    fn a_cancellation_cancels_the_same_event() {
        let ics = event(true);
        assert!(ics.contains("METHOD:CANCEL") && ics.contains("STATUS:CANCELLED"));
        assert!(ics.contains("UID:00000000-0000-0000-0000-000000000000@telehealth"));
    }
}
