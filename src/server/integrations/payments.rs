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

/// The gateway the settings chose.
#[derive(Debug, Clone)]
pub enum Gateway {
    Sandbox(Sandbox),
}

impl Gateway {
    pub fn name(&self) -> &'static str {
        match self {
            Gateway::Sandbox(g) => g.name(),
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
        }
    }

    pub async fn confirm(&self, intent: &Intent, card: &Card) -> Result<Confirmation, GatewayError> {
        match self {
            Gateway::Sandbox(g) => g.confirm(intent, card).await,
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
        }
    }

    /// The documented test cards, when the gateway has them.
    pub fn test_cards(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Gateway::Sandbox(_) => SANDBOX_CARDS,
        }
    }
}
