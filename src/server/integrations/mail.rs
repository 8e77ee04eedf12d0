//! Sending email: SMTP (lettre) in production, or the development mailbox
//! (a table shown at /dev/mailbox). Message bodies are plain text and never
//! logged: they can hold one-time links.

use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sqlx::PgPool;

use crate::server::config::{MailSettings, MailTransport};

/// One email to one person.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone)]
pub enum Mailer {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox },
    DevMailbox { pool: PgPool },
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail settings are not valid: {0}")]
    Settings(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("the mail server refused or could not be reached: {0}")]
    Send(String),
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings, pool: PgPool) -> Result<Mailer, MailError> {
        match settings.transport {
            MailTransport::Dev => Ok(Mailer::DevMailbox { pool }),
            MailTransport::Smtp => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.smtp_url.expose())
                    .map_err(|e| MailError::Settings(format!("mail.smtp_url: {e}")))?
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build();
                let from =
                    settings.from.parse::<Mailbox>().map_err(|e| MailError::Settings(format!("mail.from: {e}")))?;
                Ok(Mailer::Smtp { transport, from })
            }
        }
    }

    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        match self {
            Mailer::Smtp { transport, from } => {
                let to = email.to.parse::<Mailbox>().map_err(|e| MailError::Build(e.to_string()))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(email.subject.clone())
                    .header(ContentType::TEXT_PLAIN)
                    .body(email.body.clone())
                    .map_err(|e| MailError::Build(e.to_string()))?;
                transport.send(message).await.map_err(|e| MailError::Send(e.to_string()))?;
                Ok(())
            }
            Mailer::DevMailbox { pool } => {
                crate::server::db::mailbox::store(pool, &email.to, &email.subject, &email.body)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))
            }
        }
    }
}
