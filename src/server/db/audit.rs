//! Writes to `audit_logs`. Callers pass the transaction of the use case they
//! record, so the audit row commits (or rolls back) with the act itself.

use sqlx::PgConnection;
use uuid::Uuid;

/// One audited act. `details` must never hold secrets or clinical text:
/// identifiers and what changed, not the content.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub user_id: Option<Uuid>,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<Uuid>,
    pub details: serde_json::Value,
    pub ip_address: Option<std::net::IpAddr>,
    pub user_agent: Option<&'a str>,
}

impl<'a> AuditEntry<'a> {
    pub fn new(action: &'a str, resource_type: &'a str) -> Self {
        AuditEntry {
            user_id: None,
            action,
            resource_type,
            resource_id: None,
            details: serde_json::json!({}),
            ip_address: None,
            user_agent: None,
        }
    }

    /// Who acted.
    pub fn by(mut self, user_id: Uuid) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// Who acted, when known (failed sign-ins of unknown emails have no one).
    pub fn by_maybe(mut self, user_id: Option<Uuid>) -> Self {
        self.user_id = user_id;
        self
    }

    /// What the act was about.
    pub fn on(mut self, resource_id: Uuid) -> Self {
        self.resource_id = Some(resource_id);
        self
    }

    /// What changed (identifiers, never secrets or clinical text).
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Inserts the entry and returns its id.
pub async fn record(conn: &mut PgConnection, entry: &AuditEntry<'_>) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO audit_logs (user_id, action, resource_type, resource_id, details, ip_address, user_agent)
           VALUES ($1, $2, $3, $4, $5, $6::text::inet, $7)
           RETURNING id"#,
        entry.user_id,
        entry.action,
        entry.resource_type,
        entry.resource_id,
        entry.details,
        entry.ip_address.map(|ip| ip.to_string()),
        entry.user_agent,
    )
    .fetch_one(conn)
    .await
}
