//! The administrators' filters: the audit viewer's, the consultation and
//! payment lists', and the dashboard's date range. A page hands the server its
//! whole query string; the server parses it here (as does the CSV export), so
//! an unknown filter, a malformed value or a reversed range is refused the same
//! way everywhere, field by field.

use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::domain::{ConsultationStatus, PaymentStatus, Role};
use crate::error::FieldErrors;

/// The longest range the dashboard and the lists accept at once.
pub const MAX_RANGE_DAYS: i64 = 366;

/// Inclusive range of UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// The `days` days up to and including `today`.
    pub fn last_days(today: NaiveDate, days: i64) -> DateRange {
        DateRange { from: today - chrono::Duration::days(days - 1), to: today }
    }

    /// How many days the range holds.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Midnight UTC of the first day, and of the day after the last.
    pub fn bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = self.from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let end = (self.to + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        (start, end)
    }
}

/// Where the audit viewer's next page starts: the last row shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl AuditCursor {
    /// `<microseconds since the epoch>_<id>`: exact, and safe in a URL.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at.timestamp_micros(), self.id)
    }

    pub fn decode(text: &str) -> Option<AuditCursor> {
        let (micros, id) = text.split_once('_')?;
        let created_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        Some(AuditCursor { created_at, id: Uuid::parse_str(id).ok()? })
    }
}

/// Whom an audit filter names: an account id, or an email to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(Uuid),
    Email(String),
}

/// The audit viewer's filter (every part optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub user: Option<UserRef>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Keyset pagination: rows strictly older than this one.
    pub before: Option<AuditCursor>,
}

impl AuditFilter {
    pub const KEYS: &'static [&'static str] =
        &["user", "action", "resource_type", "resource_id", "from", "to", "before"];

    pub fn parse(pairs: &[(String, String)]) -> Result<AuditFilter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let map = known_pairs(pairs, Self::KEYS, &mut errors);
        let mut filter = AuditFilter::default();
        if let Some(user) = map.get("user") {
            filter.user = Some(match Uuid::parse_str(user) {
                Ok(id) => UserRef::Id(id),
                Err(_) if user.contains('@') && user.chars().count() <= 254 => UserRef::Email(user.to_string()),
                Err(_) => {
                    add(&mut errors, "user", "Give the account's email address or its id.");
                    UserRef::Email(String::new())
                }
            });
        }
        filter.action = word(
            &map,
            "action",
            100,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c),
            &mut errors,
        );
        filter.resource_type = word(&map, "resource_type", 50, |c| c.is_ascii_lowercase() || c == '_', &mut errors);
        filter.resource_id = map.get("resource_id").and_then(|v| {
            Uuid::parse_str(v).map_err(|_| add(&mut errors, "resource_id", "This is not a resource id.")).ok()
        });
        if filter.resource_id.is_some() && filter.resource_type.is_none() {
            add(&mut errors, "resource_type", "Say what kind of resource the id is (consultation, payment, user…).");
        }
        (filter.from, filter.to) = dates(&map, &mut errors);
        filter.before = map.get("before").and_then(|v| {
            AuditCursor::decode(v).or_else(|| {
                add(&mut errors, "before", "This page link is damaged; start again from the first page.");
                None
            })
        });
        if errors.is_empty() {
            Ok(filter)
        } else {
            Err(errors)
        }
    }

    /// The filter as a query string (without `before`), for links and the CSV export.
    pub fn to_query(&self) -> String {
        let user = self.user.as_ref().map(|u| match u {
            UserRef::Id(id) => id.to_string(),
            UserRef::Email(e) => e.clone(),
        });
        query_string(&[
            ("user", user),
            ("action", self.action.clone()),
            ("resource_type", self.resource_type.clone()),
            ("resource_id", self.resource_id.map(|id| id.to_string())),
            ("from", self.from.map(|d| d.to_string())),
            ("to", self.to.map(|d| d.to_string())),
        ])
    }
}

/// The administrators' consultation list filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationFilter {
    pub status: Option<ConsultationStatus>,
    /// Part of the patient's or the doctor's name or email.
    pub q: Option<String>,
    pub range: DateRange,
}

impl ConsultationFilter {
    pub const KEYS: &'static [&'static str] = &["status", "q", "from", "to"];

    pub fn parse(pairs: &[(String, String)], today: NaiveDate) -> Result<ConsultationFilter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let map = known_pairs(pairs, Self::KEYS, &mut errors);
        let status = map.get("status").and_then(|v| {
            v.parse::<ConsultationStatus>()
                .map_err(|_| add(&mut errors, "status", "Choose a status from the list."))
                .ok()
        });
        let q = search_text(&map, &mut errors);
        let range = range(&map, today, &mut errors);
        if errors.is_empty() {
            Ok(ConsultationFilter { status, q, range })
        } else {
            Err(errors)
        }
    }
}

/// The administrators' payment list filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    pub currency: Option<String>,
    pub q: Option<String>,
    pub range: DateRange,
}

impl PaymentFilter {
    pub const KEYS: &'static [&'static str] = &["status", "currency", "q", "from", "to"];

    pub fn parse(pairs: &[(String, String)], today: NaiveDate) -> Result<PaymentFilter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let map = known_pairs(pairs, Self::KEYS, &mut errors);
        let status = map.get("status").and_then(|v| {
            v.parse::<PaymentStatus>().map_err(|_| add(&mut errors, "status", "Choose a status from the list.")).ok()
        });
        let currency = map.get("currency").and_then(|v| {
            if v.len() == 3 && v.chars().all(|c| c.is_ascii_uppercase()) {
                Some(v.to_string())
            } else {
                add(&mut errors, "currency", "A currency is three capital letters, such as EUR.");
                None
            }
        });
        let q = search_text(&map, &mut errors);
        let range = range(&map, today, &mut errors);
        if errors.is_empty() {
            Ok(PaymentFilter { status, currency, q, range })
        } else {
            Err(errors)
        }
    }
}

/// The administrators' account search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSearch {
    /// Part of the email or the name ("" for everyone).
    pub q: String,
    pub role: Option<Role>,
    /// "active", "deactivated" or "unconfirmed".
    pub status: Option<&'static str>,
}

impl UserSearch {
    pub const KEYS: &'static [&'static str] = &["q", "role", "status"];

    pub fn parse(pairs: &[(String, String)]) -> Result<UserSearch, FieldErrors> {
        let mut errors = FieldErrors::new();
        let map = known_pairs(pairs, Self::KEYS, &mut errors);
        let q = search_text(&map, &mut errors).unwrap_or_default();
        let role = map.get("role").and_then(|v| {
            v.parse::<Role>().map_err(|_| add(&mut errors, "role", "Choose patient, doctor or admin.")).ok()
        });
        let status = map.get("status").and_then(|v| {
            ["active", "deactivated", "unconfirmed"].into_iter().find(|s| s == v).or_else(|| {
                add(&mut errors, "status", "Choose active, deactivated or unconfirmed.");
                None
            })
        });
        if errors.is_empty() {
            Ok(UserSearch { q, role, status })
        } else {
            Err(errors)
        }
    }
}

/// The dashboard's range: `from` and `to`, by default the last 30 days.
pub fn parse_dashboard_range(pairs: &[(String, String)], today: NaiveDate) -> Result<DateRange, FieldErrors> {
    let mut errors = FieldErrors::new();
    let map = known_pairs(pairs, &["from", "to"], &mut errors);
    let range = range(&map, today, &mut errors);
    if errors.is_empty() {
        Ok(range)
    } else {
        Err(errors)
    }
}

/// `key=value&…` of the present values, percent-encoded.
pub fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode_component(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes all but the unreserved characters of RFC 3986.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn add(errors: &mut FieldErrors, field: &str, message: &str) {
    errors.entry(field.to_owned()).or_default().push(message.to_owned());
}

/// The non-empty values of the known keys; an unknown or repeated key is an error.
fn known_pairs<'a>(
    pairs: &'a [(String, String)],
    known: &[&str],
    errors: &mut FieldErrors,
) -> BTreeMap<&'a str, &'a str> {
    let mut map = BTreeMap::new();
    for (key, value) in pairs {
        // A bare `&` (as some form submissions leave) names nothing.
        if key.is_empty() && value.is_empty() {
            continue;
        }
        if !known.contains(&key.as_str()) {
            let shown: String = key.chars().take(40).collect();
            add(
                errors,
                "filter",
                &format!("There is no filter called '{shown}'. The filters are: {}.", known.join(", ")),
            );
            continue;
        }
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        if map.insert(key.as_str(), value).is_some() {
            add(errors, key, "Give this filter once.");
        }
    }
    map
}

fn word(
    map: &BTreeMap<&str, &str>,
    key: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
    errors: &mut FieldErrors,
) -> Option<String> {
    let value = map.get(key)?;
    if value.len() <= max && value.chars().all(allowed) {
        Some(value.to_string())
    } else {
        add(errors, key, &format!("Use lower-case letters, digits, dots and underscores ({max} at most)."));
        None
    }
}

fn search_text(map: &BTreeMap<&str, &str>, errors: &mut FieldErrors) -> Option<String> {
    let q = map.get("q")?;
    if q.chars().count() > 200 {
        add(errors, "q", "Search with at most 200 characters.");
        return None;
    }
    Some(q.to_string())
}

fn date(map: &BTreeMap<&str, &str>, key: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let value = map.get(key)?;
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| add(errors, key, "Write the date as YYYY-MM-DD."))
        .ok()
        .filter(|d| {
            let plausible = (1990..=2200).contains(&chrono::Datelike::year(d));
            if !plausible {
                add(errors, key, "Choose a date between 1990 and 2200.");
            }
            plausible
        })
}

/// Optional `from` and `to`; `to` before `from` is an error on `to`.
fn dates(map: &BTreeMap<&str, &str>, errors: &mut FieldErrors) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let from = date(map, "from", errors);
    let to = date(map, "to", errors);
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            add(errors, "to", "The end date is before the start date.");
        }
    }
    (from, to)
}

/// A whole range: the missing ends default to the 30 days up to today.
fn range(map: &BTreeMap<&str, &str>, today: NaiveDate, errors: &mut FieldErrors) -> DateRange {
    let (from, to) = dates(map, errors);
    let to = to.unwrap_or(today.max(from.unwrap_or(today)));
    let from = from.unwrap_or(to - chrono::Duration::days(29));
    let range = DateRange { from, to };
    if range.days() > MAX_RANGE_DAYS && !errors.contains_key("to") {
        add(errors, "to", &format!("Choose at most {MAX_RANGE_DAYS} days at once."));
    }
    range
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn an_empty_audit_filter_shows_everything() {
        assert_eq!(AuditFilter::parse(&[]).unwrap(), AuditFilter::default());
        assert_eq!(AuditFilter::parse(&pairs(&[("action", ""), ("user", " ")])).unwrap(), AuditFilter::default());
    }

    #[test]
    fn an_empty_pair_from_a_stray_ampersand_is_no_filter() {
        let pairs = vec![(String::new(), String::new()), ("action".to_string(), "payment.refunded".to_string())];
        assert_eq!(AuditFilter::parse(&pairs).unwrap().action.as_deref(), Some("payment.refunded"));
    }

    #[test]
    fn an_unknown_filter_is_named_and_the_known_ones_listed() {
        let errors = AuditFilter::parse(&pairs(&[("colour", "red")])).unwrap_err();
        let message = &errors["filter"][0];
        assert!(message.contains("'colour'") && message.contains("resource_type"), "{message}");
    }

    #[test]
    fn a_reversed_date_range_is_refused_on_the_end_date() {
        let errors = AuditFilter::parse(&pairs(&[("from", "2026-11-10"), ("to", "2026-11-01")])).unwrap_err();
        assert_eq!(errors["to"], vec!["The end date is before the start date."]);
        let errors =
            ConsultationFilter::parse(&pairs(&[("from", "2026-11-10"), ("to", "2026-11-01")]), day("2026-12-01"))
                .unwrap_err();
        assert!(errors.contains_key("to"));
    }

    #[test]
    fn malformed_values_are_explained_field_by_field() {
        let errors = AuditFilter::parse(&pairs(&[
            ("user", "nobody"),
            ("action", "DROP TABLE"),
            ("resource_id", "42"),
            ("from", "yesterday"),
            ("before", "garbage"),
        ]))
        .unwrap_err();
        for field in ["user", "action", "resource_id", "from", "before"] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
        let errors = AuditFilter::parse(&pairs(&[("resource_id", &Uuid::new_v4().to_string())])).unwrap_err();
        assert!(errors["resource_type"][0].contains("what kind of resource"), "an id alone is ambiguous");
    }

    #[test]
    fn a_full_audit_filter_round_trips_through_its_query_string() {
        let id = Uuid::new_v4();
        let query = pairs(&[
            ("user", "ops+1@example.com"),
            ("action", "payment.refunded"),
            ("resource_type", "payment"),
            ("resource_id", &id.to_string()),
            ("from", "2026-11-01"),
            ("to", "2026-11-30"),
        ]);
        let filter = AuditFilter::parse(&query).unwrap();
        assert_eq!(filter.user, Some(UserRef::Email("ops+1@example.com".into())));
        let text = filter.to_query();
        assert!(text.contains("user=ops%2B1%40example.com"), "{text}");
        let back: Vec<(String, String)> = text
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.replace("%2B", "+").replace("%40", "@"))
            })
            .collect();
        assert_eq!(AuditFilter::parse(&back).unwrap(), filter);
    }

    #[test]
    fn the_page_cursor_is_exact_to_the_microsecond() {
        let cursor = AuditCursor {
            created_at: DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(AuditCursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(AuditCursor::decode("12_not-a-uuid"), None);
    }

    #[test]
    fn list_ranges_default_to_the_last_thirty_days_and_stop_at_a_year() {
        let today = day("2026-12-01");
        let f = PaymentFilter::parse(&[], today).unwrap();
        assert_eq!(f.range, DateRange { from: day("2026-11-02"), to: today });
        assert_eq!(f.range.days(), 30);
        let errors = PaymentFilter::parse(&pairs(&[("from", "2024-01-01"), ("to", "2026-01-01")]), today).unwrap_err();
        assert!(errors["to"][0].contains("366"));
        let errors = PaymentFilter::parse(&pairs(&[("status", "stolen"), ("currency", "euro")]), today).unwrap_err();
        assert!(errors.contains_key("status") && errors.contains_key("currency"));
    }

    #[test]
    fn the_account_search_knows_its_roles_and_statuses_and_nothing_else() {
        let found = UserSearch::parse(&pairs(&[("q", "ana"), ("role", "doctor"), ("status", "deactivated")])).unwrap();
        assert_eq!(found, UserSearch { q: "ana".into(), role: Some(Role::Doctor), status: Some("deactivated") });
        let errors =
            UserSearch::parse(&pairs(&[("role", "wizard"), ("status", "asleep"), ("colour", "red")])).unwrap_err();
        assert!(errors.contains_key("role") && errors.contains_key("status") && errors.contains_key("filter"));
    }

    #[test]
    fn a_range_given_only_its_start_runs_to_today() {
        let today = day("2026-12-01");
        let r = parse_dashboard_range(&pairs(&[("from", "2026-11-20")]), today).unwrap();
        assert_eq!(r, DateRange { from: day("2026-11-20"), to: today });
        let (start, end) = r.bounds();
        assert_eq!(start.to_rfc3339(), "2026-11-20T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-12-02T00:00:00+00:00");
    }
}
