//! Sending email: SMTP (lettre) in production, or the development mailbox
//! (a table shown at /dev/mailbox). Message bodies are plain text and never
//! logged: they can hold one-time links.

use lettre::message::{header::ContentType, Attachment as MailAttachment, Mailbox, Message, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sqlx::PgPool;

use crate::server::config::{MailSettings, MailTransport};

/// One email to one person.
#[derive(Debug, Clone, Default)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub attachment: Option<Attachment>,
}

/// A file sent with an email (a calendar invitation).
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    /// For example `text/calendar; charset=utf-8; method=REQUEST`.
    pub content_type: String,
    pub content: String,
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
                let builder = Message::builder().from(from.clone()).to(to).subject(email.subject.clone());
                let message = match &email.attachment {
                    None => builder.header(ContentType::TEXT_PLAIN).body(email.body.clone()),
                    Some(a) => {
                        let kind = ContentType::parse(&a.content_type).map_err(|e| MailError::Build(e.to_string()))?;
                        builder.multipart(
                            MultiPart::mixed()
                                .singlepart(SinglePart::plain(email.body.clone()))
                                .singlepart(MailAttachment::new(a.filename.clone()).body(a.content.clone(), kind)),
                        )
                    }
                }
                .map_err(|e| MailError::Build(e.to_string()))?;
                transport.send(message).await.map_err(|e| MailError::Send(e.to_string()))?;
                Ok(())
            }
            Mailer::DevMailbox { pool } => {
                // The development mailbox shows an attachment under the text.
                let body = match &email.attachment {
                    None => email.body.clone(),
                    Some(a) => format!("{}\n\n--- attached: {} ---\n{}", email.body, a.filename, a.content),
                };
                crate::server::db::mailbox::store(pool, &email.to, &email.subject, &body)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))
            }
        }
    }

    /// Sends a notice; a failure is logged, not fatal (the act it tells of is done).
    pub async fn notify(&self, email: Email) {
        if let Err(e) = self.send(&email).await {
            tracing::warn!(error = %e, subject = %email.subject, "notice not sent");
        }
    }

    /// [`Mailer::notify`] with a plain text body.
    pub async fn notify_text(&self, to: &str, subject: &str, body: String) {
        self.notify(Email { to: to.to_owned(), subject: subject.to_owned(), body, attachment: None }).await
    }
}
