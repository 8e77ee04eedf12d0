//! What administrators read: the dashboard, the consultation and payment
//! lists, and the audit trail (pages and the streamed CSV export). Filters
//! come as the page's query string and are parsed by
//! `domain::admin_filter`, so bad ones are refused field by field (422).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::api::admin::{AuditLine, AuditPage, ConsultationLine, Dashboard, Figure, PaymentLine};
use crate::components::chart::{ChartData, Series};
use crate::domain::admin_filter::{
    parse_dashboard_range, AuditCursor, AuditFilter, ConsultationFilter, PaymentFilter, UserRef,
};
use crate::domain::{ConsultationStatus, PaymentStatus};
use crate::error::AppError;
use crate::server::auth::session::CurrentUser;
use crate::server::db::{self, admin as q};
use crate::server::services::booking::money;
use crate::server::state::AppState;

/// Rows in one list answer, and in one audit page.
pub const LIST_LIMIT: i64 = 200;
pub const AUDIT_PAGE: i64 = 50;

/// The query string of a page as pairs (a malformed one is a 400).
pub fn pairs(query: &str) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_str(query.trim_start_matches('?'))
        .map_err(|_| AppError::Request("The filters could not be read.".into()))
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn stamp(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub async fn dashboard(state: &AppState, admin: CurrentUser, query: &str) -> Result<Dashboard, AppError> {
    let range = parse_dashboard_range(&pairs(query)?, today()).map_err(AppError::Validation)?;
    let (start, end) = range.bounds();
    let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
    let visits = q::consultations_per_day(&mut tx, start, end).await?;
    let sign_ups = q::sign_ups_per_day(&mut tx, start, end).await?;
    let revenue = q::revenue_per_week(&mut tx, start, end).await?;
    let utilisation = q::utilisation(&mut tx, range.from, range.to, start, end).await?;
    tx.commit().await?;

    let days: Vec<NaiveDate> = range.from.iter_days().take_while(|d| *d <= range.to).collect();
    let day_labels: Vec<String> = days.iter().map(|d| d.format("%-d %b").to_string()).collect();
    let count_of = |rows: &[q::DayCount], key: &str| -> i64 { rows.iter().filter(|r| r.key == key).map(|r| r.n).sum() };

    let visits_chart = ChartData {
        id: "consultations-per-day".into(),
        title: "Consultations per day, by status".into(),
        categories: day_labels.clone(),
        series: ConsultationStatus::ALL
            .iter()
            .map(|s| per_day_series(&visits, &days, s.as_str(), status_label(s.as_str())))
            .collect(),
    };
    let sign_up_chart = ChartData {
        id: "sign-ups-per-day".into(),
        title: "New patients and doctors per day".into(),
        categories: day_labels,
        series: vec![
            per_day_series(&sign_ups, &days, "patient", "Patients"),
            per_day_series(&sign_ups, &days, "doctor", "Doctors"),
        ],
    };

    // Revenue: one chart per currency (amounts in different currencies never add up).
    let first_week = range.from - chrono::Duration::days(range.from.weekday().num_days_from_monday().into());
    let weeks: Vec<NaiveDate> = first_week.iter_weeks().take_while(|w| *w <= range.to).collect();
    let mut by_currency: BTreeMap<String, Vec<&q::WeekRevenue>> = BTreeMap::new();
    for row in &revenue {
        by_currency.entry(row.currency.clone()).or_default().push(row);
    }
    let mut figures = vec![];
    let total: i64 = visits.iter().map(|r| r.n).sum();
    let completed = count_of(&visits, "completed");
    let no_shows = count_of(&visits, "no_show");
    figures.push(Figure { label: "Consultations".into(), value: total.to_string(), note: None });
    figures.push(Figure { label: "Completed".into(), value: completed.to_string(), note: None });
    figures.push(Figure {
        label: "No-show rate".into(),
        value: percent(no_shows as f64, (completed + no_shows) as f64),
        note: Some(format!("{no_shows} of {} visits that were due", completed + no_shows)),
    });
    let offered: f64 = utilisation.iter().map(|u| u.offered_minutes).sum();
    let booked: f64 = utilisation.iter().map(|u| u.booked_minutes).sum();
    figures.push(Figure {
        label: "Doctor utilisation".into(),
        value: percent(booked, offered),
        note: Some(format!("{} of {} offered hours booked", (booked / 60.0).round(), (offered / 60.0).round())),
    });
    figures.push(Figure {
        label: "New patients".into(),
        value: count_of(&sign_ups, "patient").to_string(),
        note: None,
    });
    figures.push(Figure { label: "New doctors".into(), value: count_of(&sign_ups, "doctor").to_string(), note: None });

    let mut charts = vec![visits_chart];
    for (currency, rows) in &by_currency {
        let mut kept = Vec::new();
        let mut refunded = Vec::new();
        for week in &weeks {
            let row = rows.iter().find(|r| r.week == *week);
            kept.push(row.map_or(Decimal::ZERO, |r| r.paid - r.refunded));
            refunded.push(row.map_or(Decimal::ZERO, |r| r.refunded));
        }
        let net: Decimal = kept.iter().sum();
        let back: Decimal = refunded.iter().sum();
        figures.push(Figure {
            label: format!("Revenue in {currency}"),
            value: money(net, currency),
            note: Some(format!("after {} refunded", money(back, currency))),
        });
        let series = |label: &str, values: &[Decimal]| Series {
            label: label.into(),
            values: values.iter().map(|v| v.to_f64().unwrap_or(0.0)).collect(),
            texts: values.iter().map(|v| money(*v, currency)).collect(),
        };
        charts.push(ChartData {
            id: format!("revenue-{}", currency.to_lowercase()),
            title: format!("Revenue per week in {currency} (weeks from Monday)"),
            categories: weeks.iter().map(|w| format!("w/c {}", w.format("%-d %b"))).collect(),
            series: vec![series("Kept", &kept), series("Refunded", &refunded)],
        });
    }
    charts.push(sign_up_chart);
    let busiest: Vec<&q::Utilisation> = utilisation.iter().take(10).collect();
    charts.push(ChartData {
        id: "utilisation".into(),
        title: "Doctor utilisation, busiest ten (% of offered time booked)".into(),
        categories: busiest.iter().map(|u| u.name.split_whitespace().last().unwrap_or_default().to_string()).collect(),
        series: vec![Series {
            label: "Booked".into(),
            values: busiest.iter().map(|u| ratio(u.booked_minutes, u.offered_minutes) * 100.0).collect(),
            texts: busiest
                .iter()
                .map(|u| format!("{} ({})", percent(u.booked_minutes, u.offered_minutes), u.name))
                .collect(),
        }],
    });
    Ok(Dashboard { from: range.from.to_string(), to: range.to.to_string(), figures, charts })
}

fn per_day_series(rows: &[q::DayCount], days: &[NaiveDate], key: &str, label: &str) -> Series {
    let values: Vec<i64> =
        days.iter().map(|d| rows.iter().filter(|r| r.day == *d && r.key == key).map(|r| r.n).sum()).collect();
    Series {
        label: label.into(),
        values: values.iter().map(|v| *v as f64).collect(),
        texts: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "pending_payment" => "Awaiting payment",
        "scheduled" => "Scheduled",
        "in_progress" => "In progress",
        "completed" => "Completed",
        "cancelled" => "Cancelled",
        "no_show" => "No-show",
        _ => "Other",
    }
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

fn percent(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.1}%", part / whole * 100.0)
    } else {
        "—".into()
    }
}

pub async fn consultations(
    state: &AppState,
    admin: CurrentUser,
    query: &str,
) -> Result<Vec<ConsultationLine>, AppError> {
    let filter = ConsultationFilter::parse(&pairs(query)?, today()).map_err(AppError::Validation)?;
    let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
    let rows = q::consultations(&mut tx, &filter, LIST_LIMIT).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| ConsultationLine {
            id: r.id,
            when: stamp(r.scheduled_at),
            status: status_label(&r.status).into(),
            kind: r.consultation_type,
            patient: r.patient,
            patient_email: r.patient_email,
            doctor: r.doctor,
            payment: match (r.amount, r.currency, r.payment_status) {
                (Some(a), Some(c), Some(s)) => Some(format!("{} · {}", money(a, &c), payment_label(&s))),
                _ => None,
            },
            payment_id: r.payment_id,
        })
        .collect())
}

fn payment_label(status: &str) -> &'static str {
    match status.parse::<PaymentStatus>() {
        Ok(PaymentStatus::Pending) => "pending",
        Ok(PaymentStatus::Succeeded) => "paid",
        Ok(PaymentStatus::Failed) => "failed",
        Ok(PaymentStatus::Refunded) => "refunded",
        Ok(PaymentStatus::PartiallyRefunded) => "partly refunded",
        Ok(PaymentStatus::RequiresAction) => "awaiting the bank",
        Err(_) => "unknown",
    }
}

pub async fn payments(state: &AppState, admin: CurrentUser, query: &str) -> Result<Vec<PaymentLine>, AppError> {
    let filter = PaymentFilter::parse(&pairs(query)?, today()).map_err(AppError::Validation)?;
    let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
    let rows = q::payments(&mut tx, &filter, LIST_LIMIT).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let refundable = if matches!(r.status.as_str(), "succeeded" | "partially_refunded") {
                r.amount - r.refunded_amount
            } else {
                Decimal::ZERO
            };
            PaymentLine {
                id: r.id,
                consultation_id: r.consultation_id,
                created: stamp(r.created_at),
                paid: r.paid_at.map(stamp).unwrap_or_else(|| "—".into()),
                amount: money(r.amount, &r.currency),
                refunded: money(r.refunded_amount, &r.currency),
                refundable: refundable.to_string(),
                status: payment_label(&r.status).into(),
                method: [r.payment_method, r.payment_gateway].into_iter().flatten().collect::<Vec<_>>().join(" via "),
                currency: r.currency,
                patient: r.patient,
                patient_email: r.patient_email,
                doctor: r.doctor,
            }
        })
        .collect())
}

/// The filter of an audit query string, with its account resolved.
pub async fn audit_filter(
    state: &AppState,
    admin: CurrentUser,
    query: &str,
) -> Result<(AuditFilter, Option<Uuid>), AppError> {
    let filter = AuditFilter::parse(&pairs(query)?).map_err(AppError::Validation)?;
    let user = match &filter.user {
        None => None,
        Some(UserRef::Id(id)) => Some(*id),
        Some(UserRef::Email(email)) => {
            let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
            let id = q::user_by_email(&mut tx, email).await?;
            tx.commit().await?;
            Some(id.ok_or_else(|| AppError::field("user", "No account has this email address."))?)
        }
    };
    Ok((filter, user))
}

pub async fn audit_page(state: &AppState, admin: CurrentUser, query: &str) -> Result<AuditPage, AppError> {
    let (filter, user) = audit_filter(state, admin, query).await?;
    let mut tx = db::begin(&state.pool, Some(admin.actor())).await?;
    let mut rows: Vec<q::AuditRow> =
        q::audit_query(&filter, user, Some(AUDIT_PAGE + 1)).build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let more = rows.len() as i64 > AUDIT_PAGE;
    rows.truncate(AUDIT_PAGE as usize);
    let next = more.then(|| rows.last().map(|r| AuditCursor { created_at: r.created_at, id: r.id }.encode())).flatten();
    Ok(AuditPage {
        rows: rows
            .into_iter()
            .map(|r| AuditLine {
                id: r.id,
                at: r.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                user: r.user_email.or_else(|| r.user_id.map(|u| u.to_string())).unwrap_or_else(|| "—".into()),
                user_id: r.user_id,
                action: r.action,
                resource_type: r.resource_type,
                resource_id: r.resource_id,
                details: r.details.to_string(),
                ip: r.ip_address.unwrap_or_default(),
            })
            .collect(),
        next,
        query: filter.to_query(),
    })
}
