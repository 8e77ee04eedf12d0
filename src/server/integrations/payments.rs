//! Payment gateways. A [`PaymentGateway`] creates a payment intent,
//! confirms it with a card, refunds, and verifies webhooks. The built-in
//! [`Sandbox`] is the default for development and demos: it moves no money
//! and answers by documented test card numbers.

use rust_decimal::Decimal;
use std::future::Future;
use uuid::Uuid;

use crate::domain::payment::Card;

/// A payment started with the gateway, to be confirmed with a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
}

/// What confirming an intent did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    Succeeded {
        transaction_id: String,
        /// "Visa •••• 4242".
        method: String,
    },
    /// Refused by the bank; the message may be shown to the payer.
    Declined { reason: &'static str, message: &'static str },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReceipt {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("the payment gateway could not be reached: {0}")]
    Unavailable(String),
    #[error("the payment gateway refused the request: {0}")]
    Refused(String),
    #[error("this gateway does not send webhooks")]
    NoWebhooks,
}

pub trait PaymentGateway {
    /// The name stored in `payments.payment_gateway`.
    fn name(&self) -> &'static str;
    fn create_intent(
        &self,
        amount: Decimal,
        currency: &str,
        reference: Uuid,
    ) -> impl Future<Output = Result<Intent, GatewayError>> + Send;
    fn confirm(&self, intent: &Intent, card: &Card) -> impl Future<Output = Result<Confirmation, GatewayError>> + Send;
    fn refund(
        &self,
        transaction_id: &str,
        amount: Decimal,
        currency: &str,
    ) -> impl Future<Output = Result<RefundReceipt, GatewayError>> + Send;
}

/// The test cards of the sandbox: (number, what happens).
pub const SANDBOX_CARDS: &[(&str, &str)] = &[
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0002", "is declined"),
    ("4000 0000 0000 9995", "is declined: insufficient funds"),
];

/// No money moves; card numbers decide the outcome.
#[derive(Debug, Clone, Default)]
pub struct Sandbox;

impl PaymentGateway for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn create_intent(&self, _amount: Decimal, _currency: &str, _reference: Uuid) -> Result<Intent, GatewayError> {
        Ok(Intent { id: format!("sbx_pi_{}", Uuid::new_v4().simple()) })
    }

    async fn confirm(&self, _intent: &Intent, card: &Card) -> Result<Confirmation, GatewayError> {
        Ok(match card.number.as_str() {
            "4242424242424242" => Confirmation::Succeeded {
                transaction_id: format!("sbx_ch_{}", Uuid::new_v4().simple()),
                method: format!("Visa •••• {}", card.last4()),
            },
            "4000000000009995" => Confirmation::Declined {
                reason: "insufficient_funds",
                message: "Your card was declined: insufficient funds. Try another card.",
            },
            "4000000000000002" => {
                Confirmation::Declined { reason: "card_declined", message: "Your card was declined. Try another card." }
            }
            _ => Confirmation::Declined {
                reason: "not_a_test_card",
                message: "This is the sandbox: use one of the test cards listed below.",
            },
        })
    }

    async fn refund(
        &self,
        transaction_id: &str,
        _amount: Decimal,
        _currency: &str,
    ) -> Result<RefundReceipt, GatewayError> {
        if !transaction_id.starts_with("sbx_ch_") {
            return Err(GatewayError::Refused(format!("no such sandbox charge: {transaction_id}")));
        }
        Ok(RefundReceipt { id: format!("sbx_re_{}", Uuid::new_v4().simple()) })
    }
}

/// Amount in the currency's smallest unit (cents; yen as is), as Stripe counts.
pub fn minor_units(amount: Decimal, digits: u32) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    (amount * Decimal::from(10i64.pow(digits))).round().to_i64()
}

/// A webhook event, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub id: String,
    /// "payment_intent.succeeded", "payment_intent.payment_failed", …
    pub kind: String,
    /// The payment intent the event is about.
    pub intent_id: String,
    pub consultation_id: Option<Uuid>,
    /// In the currency's smallest unit.
    pub amount: i64,
    /// Upper case ("GBP").
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing or malformed Stripe-Signature header")]
    MalformedSignature,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the event is too old (replayed?)")]
    Stale,
    #[error("the event is not understood: {0}")]
    Malformed(String),
}

/// A Stripe-compatible gateway (the Payment Intents API) at a configurable
/// address, so tests (and compatible providers) can stand in for Stripe.
#[derive(Clone)]
pub struct Stripe {
    client: reqwest::Client,
    api_base: String,
    secret_key: crate::server::config::Secret,
    webhook_secret: crate::server::config::Secret,
}

impl std::fmt::Debug for Stripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stripe").field("api_base", &self.api_base).finish_non_exhaustive()
    }
}

/// Seconds a webhook's timestamp may be off (Stripe's own default).
const WEBHOOK_TOLERANCE_SECS: i64 = 300;

impl Stripe {
    pub fn new(settings: &crate::server::config::PaymentSettings) -> Stripe {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("an HTTP client with default settings builds");
        Stripe {
            client,
            api_base: settings.stripe_api_base.trim_end_matches('/').to_owned(),
            secret_key: settings.stripe_secret_key.clone(),
            webhook_secret: settings.stripe_webhook_secret.clone(),
        }
    }

    async fn post(
        &self,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: &str,
    ) -> Result<(u16, serde_json::Value), GatewayError> {
        let res = self
            .client
            .post(format!("{}{path}", self.api_base))
            .bearer_auth(self.secret_key.expose())
            .header("Idempotency-Key", idempotency_key)
            .form(form)
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(e.without_url().to_string()))?;
        let status = res.status().as_u16();
        let body = res.json::<serde_json::Value>().await.map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        if status >= 500 {
            return Err(GatewayError::Unavailable(format!("status {status}")));
        }
        Ok((status, body))
    }

    /// Checks `Stripe-Signature: t=<unix>,v1=<hex hmac-sha256 of "t.payload">` and parses the event.
    pub fn verify_webhook(
        &self,
        payload: &[u8],
        signature: Option<&str>,
        now: i64,
    ) -> Result<WebhookEvent, WebhookError> {
        use hmac::{Hmac, Mac};
        let header = signature.ok_or(WebhookError::MalformedSignature)?;
        let mut timestamp = None;
        let mut candidates = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
                Some(("v1", v)) => candidates.extend(hex::decode(v).ok()),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(WebhookError::MalformedSignature)?;
        if candidates.is_empty() {
            return Err(WebhookError::MalformedSignature);
        }
        let signed = |candidate: &[u8]| {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.webhook_secret.expose().as_bytes())
                .expect("HMAC takes a key of any length");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(payload);
            mac.verify_slice(candidate).is_ok() // constant time
        };
        if !candidates.iter().any(|c| signed(c)) {
            return Err(WebhookError::BadSignature);
        }
        if (now - timestamp).abs() > WEBHOOK_TOLERANCE_SECS {
            return Err(WebhookError::Stale);
        }
        parse_event(payload)
    }
}

fn parse_event(payload: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let v: serde_json::Value = serde_json::from_slice(payload).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let text = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_owned);
    let object = "/data/object";
    Ok(WebhookEvent {
        id: text("/id").ok_or_else(|| WebhookError::Malformed("no id".into()))?,
        kind: text("/type").ok_or_else(|| WebhookError::Malformed("no type".into()))?,
        intent_id: text(&format!("{object}/id")).ok_or_else(|| WebhookError::Malformed("no object id".into()))?,
        consultation_id: text(&format!("{object}/metadata/consultation_id")).and_then(|s| s.parse().ok()),
        amount: v.pointer(&format!("{object}/amount")).and_then(|x| x.as_i64()).unwrap_or(-1),
        currency: text(&format!("{object}/currency")).unwrap_or_default().to_ascii_uppercase(),
    })
}

impl PaymentGateway for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn create_intent(&self, amount: Decimal, currency: &str, reference: Uuid) -> Result<Intent, GatewayError> {
        let digits = crate::domain::doctor::CURRENCIES.iter().find(|(c, _)| *c == currency).map_or(2, |(_, d)| *d);
        let minor = minor_units(amount, digits).ok_or_else(|| GatewayError::Refused("amount out of range".into()))?;
        let form = [
            ("amount", minor.to_string()),
            ("currency", currency.to_ascii_lowercase()),
            ("payment_method_types[]", "card".to_owned()),
            ("metadata[consultation_id]", reference.to_string()),
        ];
        let (status, body) = self.post("/v1/payment_intents", &form, &format!("intent-{reference}")).await?;
        match body["id"].as_str() {
            Some(id) if status < 300 => Ok(Intent { id: id.to_owned() }),
            _ => Err(GatewayError::Refused(body["error"]["message"].as_str().unwrap_or("no intent").to_owned())),
        }
    }

    async fn confirm(&self, intent: &Intent, card: &Card) -> Result<Confirmation, GatewayError> {
        let form = [
            ("payment_method_data[type]", "card".to_owned()),
            ("payment_method_data[card][number]", card.number.clone()),
            ("payment_method_data[card][exp_month]", card.exp_month.to_string()),
            ("payment_method_data[card][exp_year]", card.exp_year.to_string()),
            ("payment_method_data[card][cvc]", card.cvc.clone()),
        ];
        let key = format!("confirm-{}-{}", intent.id, Uuid::new_v4().simple());
        let (status, body) = self.post(&format!("/v1/payment_intents/{}/confirm", intent.id), &form, &key).await?;
        if status < 300 && body["status"] == "succeeded" {
            return Ok(Confirmation::Succeeded {
                transaction_id: intent.id.clone(),
                method: format!("Card •••• {}", card.last4()),
            });
        }
        let decline = body["error"]["decline_code"].as_str().or(body["error"]["code"].as_str()).unwrap_or("declined");
        Ok(match decline {
            "insufficient_funds" => Confirmation::Declined {
                reason: "insufficient_funds",
                message: "Your card was declined: insufficient funds. Try another card.",
            },
            _ => {
                Confirmation::Declined { reason: "card_declined", message: "Your card was declined. Try another card." }
            }
        })
    }

    async fn refund(
        &self,
        transaction_id: &str,
        amount: Decimal,
        currency: &str,
    ) -> Result<RefundReceipt, GatewayError> {
        let digits = crate::domain::doctor::CURRENCIES.iter().find(|(c, _)| *c == currency).map_or(2, |(_, d)| *d);
        let minor = minor_units(amount, digits).ok_or_else(|| GatewayError::Refused("amount out of range".into()))?;
        let form = [("payment_intent", transaction_id.to_owned()), ("amount", minor.to_string())];
        let key = format!("refund-{transaction_id}-{minor}");
        let (status, body) = self.post("/v1/refunds", &form, &key).await?;
        match body["id"].as_str() {
            Some(id) if status < 300 => Ok(RefundReceipt { id: id.to_owned() }),
            _ => Err(GatewayError::Refused(body["error"]["message"].as_str().unwrap_or("no refund").to_owned())),
        }
    }
}

/// The gateway the settings chose.
#[derive(Debug, Clone)]
pub enum Gateway {
    Sandbox(Sandbox),
    Stripe(Stripe),
}

impl Gateway {
    pub fn from_settings(settings: &crate::server::config::PaymentSettings) -> Gateway {
        match settings.gateway {
            crate::server::config::GatewayKind::Sandbox => Gateway::Sandbox(Sandbox),
            crate::server::config::GatewayKind::Stripe => Gateway::Stripe(Stripe::new(settings)),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Gateway::Sandbox(g) => g.name(),
            Gateway::Stripe(g) => g.name(),
        }
    }

    pub async fn create_intent(
        &self,
        amount: Decimal,
        currency: &str,
        reference: Uuid,
    ) -> Result<Intent, GatewayError> {
        match self {
            Gateway::Sandbox(g) => g.create_intent(amount, currency, reference).await,
            Gateway::Stripe(g) => g.create_intent(amount, currency, reference).await,
        }
    }

    pub async fn confirm(&self, intent: &Intent, card: &Card) -> Result<Confirmation, GatewayError> {
        match self {
            Gateway::Sandbox(g) => g.confirm(intent, card).await,
            Gateway::Stripe(g) => g.confirm(intent, card).await,
        }
    }

    pub async fn refund(
        &self,
        transaction_id: &str,
        amount: Decimal,
        currency: &str,
    ) -> Result<RefundReceipt, GatewayError> {
        match self {
            Gateway::Sandbox(g) => g.refund(transaction_id, amount, currency).await,
            Gateway::Stripe(g) => g.refund(transaction_id, amount, currency).await,
        }
    }

    /// The documented test cards, when the gateway has them.
    pub fn test_cards(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Gateway::Sandbox(_) => SANDBOX_CARDS,
            Gateway::Stripe(_) => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    fn stripe() -> Stripe {
        Stripe::new(&crate::server::config::PaymentSettings {
            gateway: crate::server::config::GatewayKind::Stripe,
            stripe_api_base: "http://127.0.0.1:9".into(),
            stripe_secret_key: crate::server::config::Secret::new("sk_test_x"),
            stripe_webhook_secret: crate::server::config::Secret::new("whsec_test"),
        })
    }

    fn sign(payload: &str, t: i64, secret: &str) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{payload}").as_bytes());
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    const EVENT: &str = r#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount":5999,"currency":"gbp","metadata":{"consultation_id":"6f1e4f64-0d39-4a53-8d9b-1c1a1f4b1a10"}}}}"#;

    #[test]
    fn a_correctly_signed_event_is_accepted_and_read() {
        let event = stripe()
            .verify_webhook(EVENT.as_bytes(), Some(&sign(EVENT, 1_800_000_000, "whsec_test")), 1_800_000_010)
            .unwrap();
        assert_eq!(event.kind, "payment_intent.succeeded");
        assert_eq!((event.intent_id.as_str(), event.amount, event.currency.as_str()), ("pi_1", 5999, "GBP"));
        assert!(event.consultation_id.is_some());
    }

    #[test]
    fn a_forged_altered_or_stale_event_is_refused() {
        let s = stripe();
        let forged = sign(EVENT, 1_800_000_000, "whsec_other");
        assert_eq!(s.verify_webhook(EVENT.as_bytes(), Some(&forged), 1_800_000_000), Err(WebhookError::BadSignature));
        let good = sign(EVENT, 1_800_000_000, "whsec_test");
        let altered = EVENT.replace("5999", "1");
        assert_eq!(s.verify_webhook(altered.as_bytes(), Some(&good), 1_800_000_000), Err(WebhookError::BadSignature));
        assert_eq!(s.verify_webhook(EVENT.as_bytes(), Some(&good), 1_800_000_301), Err(WebhookError::Stale));
        assert_eq!(s.verify_webhook(EVENT.as_bytes(), None, 1_800_000_000), Err(WebhookError::MalformedSignature));
        assert_eq!(
            s.verify_webhook(EVENT.as_bytes(), Some("v1=zz"), 1_800_000_000),
            Err(WebhookError::MalformedSignature)
        );
    }

    #[test]
    fn amounts_go_to_the_smallest_unit() {
        assert_eq!(minor_units(Decimal::new(5999, 2), 2), Some(5999));
        assert_eq!(minor_units(Decimal::from(3000), 0), Some(3000));
    }
}
