//! Viewing and editing one's own profile.

use crate::api::account::ProfileForm;
use crate::domain::{profile as rules, timezone::canonical_timezone, PersonName};
use crate::error::{AppError, FieldErrors};
use crate::server::auth::session::CurrentUser;
use crate::server::db::{self, users::ProfileDetails};
use crate::server::services::auth::RequestMeta;
use crate::server::state::AppState;

fn optional(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Checks every field, collecting all the messages at once.
pub fn validate(form: &ProfileForm, today: chrono::NaiveDate) -> Result<ProfileDetails, AppError> {
    let mut errors = FieldErrors::new();
    let mut fail = |field: &str, message: String| errors.entry(field.to_owned()).or_default().push(message);
    let first_name = PersonName::parse(&form.first_name).map_err(|e| fail("first_name", e.to_string())).ok();
    let last_name = PersonName::parse(&form.last_name).map_err(|e| fail("last_name", e.to_string())).ok();
    let phone = optional(&form.phone).and_then(|p| rules::parse_phone(&p).map_err(|e| fail("phone", e.into())).ok());
    let date_of_birth = optional(&form.date_of_birth)
        .and_then(|d| rules::parse_date_of_birth(&d, today).map_err(|e| fail("date_of_birth", e.into())).ok());
    let country =
        optional(&form.country).and_then(|c| rules::parse_country(&c).map_err(|e| fail("country", e.into())).ok());
    let pincode = optional(&form.pincode)
        .and_then(|p| rules::parse_postal_code(&p, country.as_deref()).map_err(|e| fail("pincode", e.into())).ok());
    let timezone = canonical_timezone(&form.timezone);
    if timezone.is_none() {
        fail("timezone", "Choose your timezone from the list.".into());
    }
    let language =
        rules::parse_language(&form.preferred_language).map_err(|e| fail("preferred_language", e.into())).ok();
    let too_long = |field: &'static str, value: &str, max: usize| (value.trim().chars().count() > max).then_some(field);
    let mut overlong: Vec<&str> = Vec::new();
    overlong.extend(too_long("gender", &form.gender, 30));
    overlong.extend(too_long("address", &form.address, 500));
    overlong.extend(too_long("city", &form.city, 100));
    overlong.extend(too_long("state", &form.state, 100));
    for field in overlong {
        fail(field, "This is too long.".into());
    }
    match (first_name, last_name, timezone, language) {
        (Some(first), Some(last), Some(zone), Some(lang)) if errors.is_empty() => Ok(ProfileDetails {
            first_name: first.as_str().to_owned(),
            last_name: last.as_str().to_owned(),
            phone,
            date_of_birth,
            gender: optional(&form.gender),
            address: optional(&form.address),
            city: optional(&form.city),
            state: optional(&form.state),
            country,
            pincode,
            timezone: zone.to_owned(),
            preferred_language: lang,
        }),
        _ => Err(AppError::Validation(errors)),
    }
}

pub async fn load(state: &AppState, user: CurrentUser) -> Result<ProfileDetails, AppError> {
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let found = db::users::profile(&mut tx, user.user_id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(found)
}

/// Saves the profile; the audit row names the fields that changed, never their values.
pub async fn save(state: &AppState, user: CurrentUser, form: &ProfileForm, meta: &RequestMeta) -> Result<(), AppError> {
    let details = validate(form, chrono::Utc::now().date_naive())?;
    let mut tx = db::begin(&state.pool, Some(user.actor())).await?;
    let before = db::users::profile(&mut tx, user.user_id).await?.ok_or(AppError::NotFound)?;
    let mut changed = Vec::new();
    macro_rules! diff {
        ($($field:ident),*) => { $( if before.$field != details.$field { changed.push(stringify!($field)); } )* };
    }
    diff!(
        first_name,
        last_name,
        phone,
        date_of_birth,
        gender,
        address,
        city,
        state,
        country,
        pincode,
        timezone,
        preferred_language
    );
    db::users::update_profile(&mut tx, user.user_id, &details).await?;
    let entry = meta
        .audit("profile.updated", "profile")
        .by(user.user_id)
        .on(user.user_id)
        .details(serde_json::json!({ "fields": changed }));
    db::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}
