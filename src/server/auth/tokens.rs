//! Short-lived access tokens (JWT, HS256 only) and opaque refresh tokens.
//!
//! The access token says who is asking and which session family it belongs
//! to; every request still checks that family in the database, so a revoked
//! or idle session ends at once, not when the token expires. The refresh
//! token is 256 random bits; the database keeps only its SHA-256 digest.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

use crate::domain::Role;
use crate::server::config::Secret;

const ISSUER: &str = "telehealth";
/// The issuer of the token that stands between a correct password and a
/// second factor. It can never pass as an access token (other issuer, no
/// session, no role), and an access token can never pass as one.
const CHALLENGE_ISSUER: &str = "telehealth-mfa";
/// How long a person has to type their code after their password.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);

/// What an access token asserts. Never sent to the browser's script: it
/// travels in an HttpOnly cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The session family (one sign-in on one device).
    pub sid: Uuid,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

/// What a sign-in challenge asserts: this user gave the right password, a
/// moment ago, and now owes a second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeClaims {
    pub sub: Uuid,
    /// Never an access token: a challenge has this and access tokens do not.
    pub mfa: bool,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
}

pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    challenge_validation: Validation,
    ttl: Duration,
}

impl AccessTokens {
    /// Fails only for a key the JWT library refuses (the settings already
    /// require 32+ characters).
    pub fn new(secret: &Secret, ttl: Duration) -> Result<Self, String> {
        // Only HS256 is accepted: a token claiming `alg: none` or any other
        // algorithm fails validation before its signature is even looked at.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        let mut challenge_validation = validation.clone();
        challenge_validation.set_issuer(&[CHALLENGE_ISSUER]);
        Ok(AccessTokens {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()).map_err(|e| e.to_string())?,
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()).map_err(|e| e.to_string())?,
            validation,
            challenge_validation,
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, user_id: Uuid, family_id: Uuid, role: Role, now: chrono::DateTime<chrono::Utc>) -> String {
        let claims = Claims {
            sub: user_id,
            sid: family_id,
            role,
            iat: now.timestamp(),
            exp: now.timestamp() + self.ttl.as_secs() as i64,
            iss: ISSUER.into(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).expect("HS256 encoding cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })
    }
}

impl AccessTokens {
    /// The token a sign-in with MFA gets after the password, before the code.
    pub fn issue_challenge(&self, user_id: Uuid, now: chrono::DateTime<chrono::Utc>) -> String {
        let claims = ChallengeClaims {
            sub: user_id,
            mfa: true,
            iat: now.timestamp(),
            exp: now.timestamp() + CHALLENGE_TTL.as_secs() as i64,
            iss: CHALLENGE_ISSUER.into(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).expect("HS256 encoding cannot fail")
    }

    pub fn verify_challenge(&self, token: &str) -> Result<ChallengeClaims, TokenError> {
        decode::<ChallengeClaims>(token, &self.decoding, &self.challenge_validation).map(|data| data.claims).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            },
        )
    }
}

/// A fresh random token for a cookie or an email link (256 bits, URL-safe).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The digest the database keeps instead of a token.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AccessTokens {
        AccessTokens::new(&Secret::new("x".repeat(40)), Duration::from_secs(900)).unwrap()
    }

    #[test]
    fn an_issued_token_verifies_to_its_claims() {
        let t = tokens();
        let (user, family) = (Uuid::new_v4(), Uuid::new_v4());
        let jwt = t.issue(user, family, Role::Doctor, chrono::Utc::now());
        let claims = t.verify(&jwt).unwrap();
        assert_eq!((claims.sub, claims.sid, claims.role), (user, family, Role::Doctor));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let t = tokens();
        let long_ago = chrono::Utc::now() - chrono::Duration::hours(1);
        assert_eq!(
            t.verify(&t.issue(Uuid::new_v4(), Uuid::new_v4(), Role::Patient, long_ago)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let t = tokens();
        let jwt = t.issue(Uuid::new_v4(), Uuid::new_v4(), Role::Patient, chrono::Utc::now());
        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        // Promote ourselves to admin in the payload, keep the old signature.
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        parts[1] = URL_SAFE_NO_PAD.encode(payload.replace("\"patient\"", "\"admin\""));
        assert_eq!(t.verify(&parts.join(".")), Err(TokenError::Invalid));
    }

    #[test]
    fn an_unsigned_alg_none_token_is_refused() {
        let t = tokens();
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let now = chrono::Utc::now().timestamp();
        let payload = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"{}","sid":"{}","role":"admin","iat":{now},"exp":{},"iss":"telehealth"}}"#,
            Uuid::new_v4(),
            Uuid::new_v4(),
            now + 600
        ));
        assert_eq!(t.verify(&format!("{header}.{payload}.")), Err(TokenError::Invalid));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = AccessTokens::new(&Secret::new("y".repeat(40)), Duration::from_secs(900)).unwrap();
        let jwt = other.issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, chrono::Utc::now());
        assert_eq!(tokens().verify(&jwt), Err(TokenError::Invalid));
    }

    #[test]
    fn a_sign_in_challenge_is_not_an_access_token_and_the_reverse() {
        let t = tokens();
        let user = Uuid::new_v4();
        let challenge = t.issue_challenge(user, chrono::Utc::now());
        assert_eq!(t.verify_challenge(&challenge).map(|c| c.sub), Ok(user));
        assert_eq!(t.verify(&challenge), Err(TokenError::Invalid));
        let access = t.issue(user, Uuid::new_v4(), Role::Admin, chrono::Utc::now());
        assert_eq!(t.verify_challenge(&access), Err(TokenError::Invalid));
    }

    #[test]
    fn a_challenge_lasts_five_minutes() {
        let t = tokens();
        let six_minutes_ago = chrono::Utc::now() - chrono::Duration::minutes(6);
        assert_eq!(t.verify_challenge(&t.issue_challenge(Uuid::new_v4(), six_minutes_ago)), Err(TokenError::Expired));
    }

    #[test]
    fn random_tokens_are_long_unique_and_stored_as_32_byte_digests() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(digest(&a).len(), 32);
        assert_ne!(digest(&a), digest(&b));
    }
}
