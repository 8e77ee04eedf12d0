//! Money rules shared by the browser and the server: card input and the
//! cancellation refund policy.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::FieldErrors;

/// A card as typed on the payment form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// Digits only.
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub cvc: String,
}

impl Card {
    /// The last four digits, for receipts and lists.
    pub fn last4(&self) -> &str {
        &self.number[self.number.len().saturating_sub(4)..]
    }
}

fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Checks a card's number (12–19 digits, Luhn), expiry (MM/YY, not past)
/// and security code (3–4 digits); `today` is (year, month).
pub fn parse_card(number: &str, expiry: &str, cvc: &str, today: (u32, u32)) -> Result<Card, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut fail = |field: &str, message: &str| errors.entry(field.to_owned()).or_default().push(message.into());
    let digits: String = number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    let number_ok = (12..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && luhn_ok(&digits);
    if !number_ok {
        fail("card_number", "Check the card number: it is the long number on the front of the card.");
    }
    let (month, year) = match expiry.trim().split_once('/') {
        Some((m, y)) => (m.trim().parse::<u32>().ok(), y.trim().parse::<u32>().ok()),
        None => (None, None),
    };
    let (month, year) = match (month, year) {
        (Some(m), Some(y)) if (1..=12).contains(&m) && y < 100 => (m, 2000 + y),
        (Some(m), Some(y)) if (1..=12).contains(&m) && (2000..2100).contains(&y) => (m, y),
        _ => {
            fail("expiry", "Enter the expiry date as on the card, like 08/29.");
            (0, 0)
        }
    };
    if month != 0 && (year, month) < today {
        fail("expiry", "This card has expired.");
    }
    let cvc_digits = cvc.trim();
    if !(3..=4).contains(&cvc_digits.len()) || !cvc_digits.bytes().all(|b| b.is_ascii_digit()) {
        fail("cvc", "Enter the 3 or 4 digit security code from the back of the card.");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Card { number: digits, exp_month: month, exp_year: year, cvc: cvc_digits.to_owned() })
}

/// Who cancels a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelledBy {
    Patient,
    Doctor,
}

/// What a cancellation refunds of what was paid: everything when the
/// doctor cancels or the patient cancels at least `full_refund_hours`
/// before the start; otherwise `late_percent` of it, rounded down to the
/// currency's smallest unit (`digits` decimal places).
pub fn refund_for_cancellation(
    paid: Decimal,
    digits: u32,
    by: CancelledBy,
    minutes_before_start: i64,
    full_refund_hours: u32,
    late_percent: u32,
) -> Decimal {
    if by == CancelledBy::Doctor || minutes_before_start >= i64::from(full_refund_hours) * 60 {
        return paid;
    }
    let share = paid * Decimal::from(late_percent.min(100)) / Decimal::from(100);
    share.round_dp_with_strategy(digits, RoundingStrategy::ToZero)
}

/// The amount an administrator typed for a refund, checked against what can
/// still be refunded (`refundable`, in a currency of `digits` decimals).
pub fn parse_refund_amount(input: &str, digits: u32, refundable: Decimal) -> Result<Decimal, String> {
    let amount: Decimal =
        input.trim().parse().map_err(|_| "Write the amount as a number, such as 12.50.".to_string())?;
    if amount <= Decimal::ZERO {
        return Err("Refund more than zero.".into());
    }
    if amount.normalize().scale() > digits {
        return Err(match digits {
            0 => "This currency has no decimal places.".to_string(),
            d => format!("This currency has {d} decimal places at most."),
        });
    }
    if amount > refundable {
        return Err(format!("At most {refundable} can still be refunded."));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_test_cards_are_valid_card_numbers() {
        for n in ["4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0000 0000 9995"] {
            assert!(parse_card(n, "12/30", "123", (2026, 11)).is_ok(), "{n}");
        }
    }

    #[test]
    fn a_mistyped_number_an_expired_card_and_a_short_code_are_each_explained() {
        let errors = parse_card("4242 4242 4242 4241", "10/26", "12", (2026, 11)).unwrap_err();
        assert!(errors.contains_key("card_number"));
        assert_eq!(errors["expiry"], vec!["This card has expired."]);
        assert!(errors.contains_key("cvc"));
        assert!(parse_card("4242424242424242", "13/30", "123", (2026, 11)).unwrap_err().contains_key("expiry"));
        assert!(parse_card("4242424242424242", "11/26", "123", (2026, 11)).is_ok(), "valid through its month");
    }

    #[test]
    fn a_refund_amount_is_exact_positive_and_within_what_remains() {
        let left = Decimal::new(4000, 2); // 40.00
        assert_eq!(parse_refund_amount(" 12.5 ", 2, left), Ok(Decimal::new(125, 1)));
        assert_eq!(parse_refund_amount("40.00", 2, left), Ok(left));
        assert_eq!(parse_refund_amount("40.01", 2, left), Err("At most 40.00 can still be refunded.".into()));
        assert!(parse_refund_amount("0", 2, left).is_err());
        assert!(parse_refund_amount("-5", 2, left).is_err());
        assert!(parse_refund_amount("ten", 2, left).unwrap_err().contains("number"));
        assert!(parse_refund_amount("1.005", 2, left).unwrap_err().contains("2 decimal places"));
        assert!(parse_refund_amount("1.5", 0, Decimal::from(3000)).unwrap_err().contains("no decimal"));
        assert_eq!(parse_refund_amount("1.50", 1, left), Ok(Decimal::new(15, 1)), "trailing zeros are not precision");
    }

    #[test]
    fn an_early_cancellation_refunds_everything_and_a_late_one_the_policys_share_rounded_down() {
        let paid = Decimal::new(5999, 2); // 59.99
        let early = refund_for_cancellation(paid, 2, CancelledBy::Patient, 24 * 60, 24, 50);
        assert_eq!(early, paid);
        let late = refund_for_cancellation(paid, 2, CancelledBy::Patient, 24 * 60 - 1, 24, 50);
        assert_eq!(late, Decimal::new(2999, 2)); // 29.995 rounded down
        let yen = refund_for_cancellation(Decimal::from(3001), 0, CancelledBy::Patient, 30, 24, 50);
        assert_eq!(yen, Decimal::from(1500));
        assert_eq!(refund_for_cancellation(paid, 2, CancelledBy::Doctor, 5, 24, 0), paid);
        assert_eq!(refund_for_cancellation(paid, 2, CancelledBy::Patient, 5, 24, 0), Decimal::ZERO);
    }
}
