//! One transaction per use case, with the acting user visible to PostgreSQL.

use crate::helpers::*;
use telehealth::domain::Role;
use telehealth::server::db::{self, audit, Actor};
use uuid::Uuid;

#[tokio::test]
async fn the_acting_user_is_set_for_that_transaction_only() {
    let app = spawn_app().await;
    let actor = Actor { user_id: Uuid::new_v4(), role: Role::Doctor };

    let mut tx = db::begin(&app.pool, Some(actor)).await.unwrap();
    let (user, role): (String, String) =
        sqlx::query_as("SELECT current_setting('app.user_id', true), current_setting('app.role', true)")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(user, actor.user_id.to_string());
    assert_eq!(role, "doctor");
    tx.commit().await.unwrap();

    // The next transaction on a (possibly the same) pooled connection starts anonymous.
    let mut tx = db::begin(&app.pool, None).await.unwrap();
    let user: Option<String> =
        sqlx::query_scalar("SELECT current_setting('app.user_id', true)").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(user.unwrap_or_default(), "");
}

#[tokio::test]
async fn a_use_case_that_fails_leaves_nothing_half_written() {
    let app = spawn_app().await;
    {
        let mut tx = db::begin(&app.pool, None).await.unwrap();
        audit::record(&mut tx, &audit::AuditEntry::new("test.half_done", "system")).await.unwrap();
        // The use case fails here: the transaction is dropped without commit.
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE action = 'test.half_done'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn an_audit_entry_commits_with_its_transaction() {
    let app = spawn_app().await;
    let user = insert_user(&app.pool, "admin").await;
    let mut tx = db::begin(&app.pool, Some(Actor { user_id: user, role: Role::Admin })).await.unwrap();
    let mut entry = audit::AuditEntry::new("test.done", "user");
    entry.user_id = Some(user);
    entry.resource_id = Some(user);
    entry.ip_address = Some("203.0.113.7".parse().unwrap());
    entry.user_agent = Some("integration-test");
    let id = audit::record(&mut tx, &entry).await.unwrap();
    tx.commit().await.unwrap();

    let (ip, ua): (String, String) =
        sqlx::query_as("SELECT host(ip_address), user_agent FROM audit_logs WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(ip, "203.0.113.7");
    assert_eq!(ua, "integration-test");
}
