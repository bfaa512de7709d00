//! Signed, expiring tokens for links in e-mails (verify an address, open self-service).
//! `base64url(payload) "." base64url(HMAC-SHA256(secret, payload))`; the payload names its
//! purpose so a token for one thing never works for another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// What the link is for, e.g. `verify-email`, `self-service`.
    pub purpose: String,
    /// The subject (a contact or participant id).
    pub id: i64,
    /// Expiry, Unix milliseconds.
    pub exp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not valid")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

/// Signs with the newest key and verifies with every key still listed (rotation). The keys
/// can be swapped while running ([`Signer::set_keys`]) when the secrets file changes.
pub struct Signer {
    keys: std::sync::RwLock<std::sync::Arc<Vec<Vec<u8>>>>,
    /// A key that is never rotated, for counter names (abuse limits), so that rotating the
    /// link keys does not reset the counters.
    counter: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

impl Signer {
    pub fn new(key: &[u8]) -> Signer {
        Signer::with_keys(vec![key.to_vec()])
    }

    /// Newest (signing) key first; the others only verify.
    pub fn with_keys(keys: Vec<Vec<u8>>) -> Signer {
        let counter = keys.first().cloned().unwrap_or_default();
        Signer { keys: std::sync::RwLock::new(std::sync::Arc::new(keys)), counter }
    }

    /// As [`Signer::with_keys`], with its own key for counter names.
    pub fn with_counter_key(keys: Vec<Vec<u8>>, counter: Vec<u8>) -> Signer {
        Signer { keys: std::sync::RwLock::new(std::sync::Arc::new(keys)), counter }
    }

    pub fn set_keys(&self, keys: Vec<Vec<u8>>) {
        if keys.is_empty() {
            return;
        }
        match self.keys.write() {
            Ok(mut g) => *g = std::sync::Arc::new(keys),
            Err(p) => *p.into_inner() = std::sync::Arc::new(keys),
        }
    }

    fn keys(&self) -> std::sync::Arc<Vec<Vec<u8>>> {
        match self.keys.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn mac_with(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        Signer::mac_with(self.keys().first().map(Vec::as_slice).unwrap_or_default(), data)
    }

    pub fn sign(&self, claims: &LinkClaims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        format!("{}.{}", B64.encode(&payload), B64.encode(self.mac(&payload)))
    }

    pub fn verify(&self, token: &str, purpose: &str, now_ms: i64) -> Result<LinkClaims, LinkError> {
        let (p, s) = token.trim().split_once('.').ok_or(LinkError::Invalid)?;
        let payload = B64.decode(p).map_err(|_| LinkError::Invalid)?;
        let sig = B64.decode(s).map_err(|_| LinkError::Invalid)?;
        if !self.signed_by_any_key(&payload, &sig) {
            return Err(LinkError::Invalid);
        }
        let claims: LinkClaims = serde_json::from_slice(&payload).map_err(|_| LinkError::Invalid)?;
        if claims.purpose != purpose {
            return Err(LinkError::Invalid);
        }
        if claims.exp < now_ms {
            return Err(LinkError::Expired);
        }
        Ok(claims)
    }

    /// A keyed hash for short secrets such as SMS codes (so the database holds no codes).
    pub fn hash_code(&self, subject: i64, code: &str) -> String {
        B64.encode(self.mac(format!("code:{subject}:{code}").as_bytes()))
    }

    /// Whether `hash` is the keyed hash of `code` under any current key (constant time per key).
    pub fn code_matches(&self, subject: i64, code: &str, hash: &str) -> bool {
        let Ok(stored) = B64.decode(hash) else { return false };
        self.signed_by_any_key(format!("code:{subject}:{code}").as_bytes(), &stored)
    }

    /// Whether `mac` is the HMAC of `data` under any current key (constant time per key).
    fn signed_by_any_key(&self, data: &[u8], mac: &[u8]) -> bool {
        self.keys().iter().any(|key| {
            <Hmac<Sha256> as Mac>::new_from_slice(key).is_ok_and(|mut m| {
                m.update(data);
                m.verify_slice(mac).is_ok()
            })
        })
    }

    /// A keyed, non-reversible name for personal data used as a counter key (abuse limits), so
    /// the database never holds the phone number, address or IP itself.
    pub fn counter_key(&self, data: &str) -> String {
        B64.encode(&Signer::mac_with(&self.counter, format!("counter:{data}").as_bytes())[..16])
    }

    /// The keyed hash a device token is stored as (with the never-rotated key, so that
    /// rotating link keys does not lock devices out).
    pub fn device_token_hash(&self, token: &str) -> String {
        B64.encode(Signer::mac_with(&self.counter, format!("device-token:{}", token.trim()).as_bytes()))
    }

    /// A fingerprint of the keys in use (not the keys), to notice processes that read
    /// different secrets files for one database.
    pub fn fingerprint(&self) -> String {
        B64.encode(&Signer::mac_with(&self.counter, b"fingerprint")[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_check_signature_purpose_and_expiry() {
        let s = Signer::new(b"k1");
        let t = s.sign(&LinkClaims { purpose: "self-service".into(), id: 7, exp: 1000 });
        assert_eq!(s.verify(&t, "self-service", 999).map(|c| c.id), Ok(7));
        assert_eq!(s.verify(&t, "self-service", 1001), Err(LinkError::Expired));
        assert_eq!(s.verify(&t, "verify-email", 999), Err(LinkError::Invalid));
        assert_eq!(Signer::new(b"k2").verify(&t, "self-service", 999), Err(LinkError::Invalid));
        let mut forged = t.clone();
        forged.replace_range(0..1, if t.starts_with('e') { "f" } else { "e" });
        assert_eq!(s.verify(&forged, "self-service", 999), Err(LinkError::Invalid));
    }

    #[test]
    fn rotated_keys_still_verify_and_codes_match_under_any_key() {
        let old = Signer::new(b"old key");
        let t = old.sign(&LinkClaims { purpose: "self-service".into(), id: 7, exp: 1000 });
        let h = old.hash_code(3, "123456");
        let rotated = Signer::with_keys(vec![b"new key".to_vec(), b"old key".to_vec()]);
        assert_eq!(rotated.verify(&t, "self-service", 999).map(|c| c.id), Ok(7));
        assert!(rotated.code_matches(3, "123456", &h));
        assert!(!rotated.code_matches(3, "123457", &h));
        assert!(!rotated.code_matches(4, "123456", &h));
        let fresh = rotated.sign(&LinkClaims { purpose: "self-service".into(), id: 8, exp: 1000 });
        assert_eq!(Signer::new(b"new key").verify(&fresh, "self-service", 999).map(|c| c.id), Ok(8), "signs with the newest");
        rotated.set_keys(vec![b"new key".to_vec()]);
        assert_eq!(rotated.verify(&t, "self-service", 999), Err(LinkError::Invalid), "a dropped key no longer verifies");
    }
}
