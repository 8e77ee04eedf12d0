//! Settings: the defaults in `Leptos.toml`, overridden by a run-time file and
//! by `TELEHEALTH__SECTION__KEY` environment variables. Secrets are wrapped in
//! [`Secret`] so that they never reach a log line.

use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

const DEFAULTS: &str = include_str!("../../Leptos.toml");
const MIN_SECRET_LEN: usize = 32;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub app: AppSettings,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub security: SecuritySettings,
    pub mail: MailSettings,
    pub demo: DemoSettings,
    pub booking: BookingSettings,
    pub payments: PaymentSettings,
    pub room: RoomSettings,
    pub audit: AuditSettings,
    pub archive: ArchiveSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AppSettings {
    pub environment: Environment,
    pub public_url: String,
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub addr: Option<SocketAddr>,
    pub shutdown_grace_secs: u64,
    pub request_timeout_secs: u64,
    pub behind_tls: bool,
    /// Peers whose X-Forwarded-For header names the real client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: Option<Secret>,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_secs: u64,
    pub connect_timeout_secs: u64,
    pub migrate_on_start: bool,
    /// The role the application works as (see `Leptos.toml`); empty for none.
    pub app_role: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecuritySettings {
    pub jwt_secret: Option<Secret>,
    pub data_encryption_key: Option<Secret>,
    pub idle_timeout_minutes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    Dev,
    Smtp,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub smtp_url: Secret,
    pub from: String,
    pub resend_cooldown_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoSettings {
    pub seed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    Sandbox,
    Stripe,
}

/// Which payment gateway, and the Stripe-compatible one's address and keys.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentSettings {
    pub gateway: GatewayKind,
    pub stripe_api_base: String,
    pub stripe_secret_key: Secret,
    pub stripe_webhook_secret: Secret,
}

/// Holds, cancellation and rescheduling policy.
#[derive(Debug, Clone, Deserialize)]
pub struct BookingSettings {
    /// How long an unpaid booking holds its time.
    pub hold_minutes: u32,
    /// A patient cancelling at least this long before gets everything back…
    pub full_refund_hours: u32,
    /// …later, this share of the fee (0 to 100).
    pub late_cancel_refund_percent: u32,
    /// Rescheduling is allowed until this long before the start.
    pub reschedule_notice_hours: u32,
}

/// The consultation room.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomSettings {
    /// The patient may wait in the room from this many minutes before the start.
    pub open_minutes_before: u32,
    /// A scheduled visit nobody started this long after its booked end is a no-show.
    pub no_show_grace_minutes: u32,
    /// STUN/TURN server URLs for WebRTC, comma-separated (none needed on one network).
    pub ice_servers: String,
    pub ice_username: String,
    pub ice_credential: Secret,
}

impl RoomSettings {
    pub fn rules(&self) -> crate::domain::lifecycle::RoomRules {
        crate::domain::lifecycle::RoomRules {
            open_minutes_before: self.open_minutes_before as i64,
            no_show_grace_minutes: self.no_show_grace_minutes as i64,
        }
    }
}

/// The audit trail's retention (see `services::audit_seal`).
#[derive(Debug, Clone, Deserialize)]
pub struct AuditSettings {
    /// Monthly partitions older than this many months (and fully sealed)
    /// leave the live table for the `audit_archive` schema; at least 72.
    pub retention_months: u32,
}

/// When finished consultations and their prescriptions move to the archive
/// (see `services::archive`).
#[derive(Debug, Clone, Deserialize)]
pub struct ArchiveSettings {
    /// Finished consultations scheduled more than this many months ago are
    /// archived; at least 1.
    pub after_months: u32,
}

/// A value that must never be printed: `Debug` shows `[redacted]`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why the settings could not be loaded; each reads as one clear line.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid settings: {0}")]
    Invalid(String),
    #[error("missing secret: set {var} (at least {MIN_SECRET_LEN} random characters); production refuses to start without it")]
    MissingSecret { var: &'static str },
    #[error("the database URL is not set: set DATABASE_URL (for example postgres://user@127.0.0.1:5432/telehealth)")]
    MissingDatabaseUrl,
}

impl Settings {
    /// Loads the settings from the process environment.
    pub fn load() -> Result<Self, SettingsError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::load_from(&env)
    }

    /// Loads the settings from the given environment (tests pass their own).
    pub fn load_from(env: &HashMap<String, String>) -> Result<Self, SettingsError> {
        use config::{Config, Environment as Env, File, FileFormat};

        let runtime_file =
            env.get("TELEHEALTH_CONFIG").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("Leptos.toml"));
        let vars: config::Map<String, String> =
            env.iter().filter(|(k, _)| k.starts_with("TELEHEALTH__")).map(|(k, v)| (k.clone(), v.clone())).collect();

        let mut builder = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from(runtime_file).format(FileFormat::Toml).required(false))
            .add_source(
                Env::with_prefix("TELEHEALTH")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("server.trusted_proxies")
                    .source(Some(vars)),
            );
        if let Some(url) = env.get("DATABASE_URL").filter(|u| !u.is_empty()) {
            builder = builder
                .set_override("database.url", url.as_str())
                .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        }
        let settings: Settings =
            builder.build().and_then(Config::try_deserialize).map_err(|e| SettingsError::Invalid(e.to_string()))?;
        settings.validate()
    }

    fn validate(mut self) -> Result<Self, SettingsError> {
        if self.database.max_connections == 0 {
            return Err(SettingsError::Invalid("database.max_connections must be at least 1".into()));
        }
        let production = self.app.environment == Environment::Production;
        for (slot, var) in [
            (&mut self.security.jwt_secret, "TELEHEALTH__SECURITY__JWT_SECRET"),
            (&mut self.security.data_encryption_key, "TELEHEALTH__SECURITY__DATA_ENCRYPTION_KEY"),
        ] {
            let strong = slot.as_ref().is_some_and(|s| s.expose().len() >= MIN_SECRET_LEN);
            if strong {
                continue;
            }
            if production {
                return Err(SettingsError::MissingSecret { var });
            }
            // Development: an ephemeral random secret (sessions end at restart).
            *slot = Some(Secret::new(random_secret()));
        }
        if production && self.mail.transport == MailTransport::Dev {
            return Err(SettingsError::Invalid("mail.transport must be smtp in production".into()));
        }
        if self.payments.gateway == GatewayKind::Stripe
            && (self.payments.stripe_secret_key.expose().is_empty()
                || self.payments.stripe_webhook_secret.expose().is_empty())
        {
            return Err(SettingsError::Invalid(
                "payments.gateway = stripe needs TELEHEALTH__PAYMENTS__STRIPE_SECRET_KEY and \
                 TELEHEALTH__PAYMENTS__STRIPE_WEBHOOK_SECRET"
                    .into(),
            ));
        }
        if self.audit.retention_months < crate::server::services::audit_seal::MIN_RETENTION_MONTHS {
            return Err(SettingsError::Invalid(format!(
                "audit.retention_months must be at least {} (six years), got {}",
                crate::server::services::audit_seal::MIN_RETENTION_MONTHS,
                self.audit.retention_months
            )));
        }
        if self.archive.after_months < 1 {
            return Err(SettingsError::Invalid(format!(
                "archive.after_months must be at least 1 (records are archived a month after their time at the \
                 earliest), got {}",
                self.archive.after_months
            )));
        }
        if production && self.demo.seed {
            return Err(SettingsError::Invalid("demo.seed must be false in production".into()));
        }
        Ok(self)
    }

    pub fn is_production(&self) -> bool {
        self.app.environment == Environment::Production
    }

    pub fn database_url(&self) -> Result<&Secret, SettingsError> {
        self.database.url.as_ref().ok_or(SettingsError::MissingDatabaseUrl)
    }
}

fn random_secret() -> String {
    use rand::{distributions::Alphanumeric, Rng};
    rand::rngs::OsRng.sample_iter(&Alphanumeric).take(48).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        // Never pick up a developer's ./Leptos.toml edits in unit tests.
        map.entry("TELEHEALTH_CONFIG".into()).or_insert("/nonexistent/Leptos.toml".into());
        map
    }

    #[test]
    fn defaults_load_and_development_gets_ephemeral_secrets() {
        let s = Settings::load_from(&env(&[])).unwrap();
        assert_eq!(s.app.environment, Environment::Development);
        assert_eq!(s.security.idle_timeout_minutes, 15);
        assert!(s.security.jwt_secret.unwrap().expose().len() >= MIN_SECRET_LEN);
    }

    #[test]
    fn environment_variables_override_the_file() {
        let s = Settings::load_from(&env(&[
            ("TELEHEALTH__DATABASE__MAX_CONNECTIONS", "42"),
            ("TELEHEALTH__SERVER__ADDR", "0.0.0.0:8080"),
            ("DATABASE_URL", "postgres://x@127.0.0.1/db"),
        ]))
        .unwrap();
        assert_eq!(s.database.max_connections, 42);
        assert_eq!(s.server.addr, Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(s.database_url().unwrap().expose(), "postgres://x@127.0.0.1/db");
    }

    #[test]
    fn trusted_proxies_come_as_a_comma_separated_list() {
        let s = Settings::load_from(&env(&[("TELEHEALTH__SERVER__TRUSTED_PROXIES", "127.0.0.1,10.0.0.2")])).unwrap();
        assert_eq!(
            s.server.trusted_proxies,
            vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap(), "10.0.0.2".parse().unwrap()]
        );
        assert!(Settings::load_from(&env(&[])).unwrap().server.trusted_proxies.is_empty());
    }

    #[test]
    fn production_refuses_to_start_without_secrets() {
        let err = Settings::load_from(&env(&[("TELEHEALTH__APP__ENVIRONMENT", "production")])).unwrap_err();
        assert!(err.to_string().contains("TELEHEALTH__SECURITY__JWT_SECRET"), "{err}");

        let short = Settings::load_from(&env(&[
            ("TELEHEALTH__APP__ENVIRONMENT", "production"),
            ("TELEHEALTH__SECURITY__JWT_SECRET", "too-short"),
        ]))
        .unwrap_err();
        assert!(matches!(short, SettingsError::MissingSecret { .. }));
    }

    #[test]
    fn production_starts_with_strong_secrets() {
        let strong = "s".repeat(40);
        let s = Settings::load_from(&env(&[
            ("TELEHEALTH__APP__ENVIRONMENT", "production"),
            ("TELEHEALTH__SECURITY__JWT_SECRET", &strong),
            ("TELEHEALTH__SECURITY__DATA_ENCRYPTION_KEY", &strong),
            ("TELEHEALTH__MAIL__TRANSPORT", "smtp"),
        ]))
        .unwrap();
        assert!(s.is_production());
    }

    #[test]
    fn production_refuses_the_development_mailbox() {
        let strong = "s".repeat(40);
        let err = Settings::load_from(&env(&[
            ("TELEHEALTH__APP__ENVIRONMENT", "production"),
            ("TELEHEALTH__SECURITY__JWT_SECRET", &strong),
            ("TELEHEALTH__SECURITY__DATA_ENCRYPTION_KEY", &strong),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("mail.transport"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = Settings::load_from(&env(&[("DATABASE_URL", "postgres://u:hunter2@h/db")])).unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn audit_retention_is_at_least_six_years() {
        assert_eq!(Settings::load_from(&env(&[])).unwrap().audit.retention_months, 84);
        let s = Settings::load_from(&env(&[("TELEHEALTH__AUDIT__RETENTION_MONTHS", "72")])).unwrap();
        assert_eq!(s.audit.retention_months, 72);
        let err = Settings::load_from(&env(&[("TELEHEALTH__AUDIT__RETENTION_MONTHS", "71")])).unwrap_err();
        assert!(err.to_string().contains("audit.retention_months must be at least 72"), "{err}");
    }

    #[test]
    fn archival_is_after_24_months_by_default_and_never_after_zero() {
        assert_eq!(Settings::load_from(&env(&[])).unwrap().archive.after_months, 24);
        let s = Settings::load_from(&env(&[("TELEHEALTH__ARCHIVE__AFTER_MONTHS", "1")])).unwrap();
        assert_eq!(s.archive.after_months, 1);
        let err = Settings::load_from(&env(&[("TELEHEALTH__ARCHIVE__AFTER_MONTHS", "0")])).unwrap_err();
        assert!(err.to_string().contains("archive.after_months must be at least 1"), "{err}");
    }

    #[test]
    fn a_bad_value_is_a_clear_error() {
        let err = Settings::load_from(&env(&[("TELEHEALTH__APP__ENVIRONMENT", "staging")])).unwrap_err();
        assert!(err.to_string().starts_with("invalid settings"), "{err}");
    }
}
