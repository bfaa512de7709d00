//! Staff TOTP secrets are stored sealed: AES-256-GCM (`aes-gcm`) with the secrets file's TOTP
//! key, a random 96-bit nonce per sealing and the account id as associated data (a sealed
//! secret copied onto another account does not open). Stored form: `enc1:` + base64url of
//! nonce ‖ ciphertext. A database dump or a `copy-db` target therefore holds no usable secret.
//!
//! Rows written before encryption hold base32 in clear: every server seals them at start
//! ([`seal_clear_secrets`], also run by `buurtnet copy-db` on its target); until then a clear
//! secret still opens (as itself), so nobody is locked out.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use buurtnet_store::Store;
use rand::Rng;

const PREFIX: &str = "enc1:";

/// Seals and opens TOTP secrets.
#[derive(Clone)]
pub struct TotpSeal(Aes256Gcm);

impl std::fmt::Debug for TotpSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSeal(***)")
    }
}

fn aad(staff_id: i64) -> String {
    format!("buurtnet-totp:staff:{staff_id}")
}

impl TotpSeal {
    pub fn new(key: &[u8]) -> anyhow::Result<TotpSeal> {
        anyhow::ensure!(key.len() == 32, "the TOTP key must be 32 bytes");
        Ok(TotpSeal(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))))
    }

    /// Whether a stored value is sealed (and not a secret in clear).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// The stored form of `secret_b32` for account `staff_id`.
    pub fn seal(&self, staff_id: i64, secret_b32: &str) -> anyhow::Result<String> {
        let nonce: [u8; 12] = rand::rng().random();
        let aad = aad(staff_id);
        let ct = self
            .0
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret_b32.as_bytes(), aad: aad.as_bytes() })
            .map_err(|_| anyhow::anyhow!("sealing a TOTP secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// The base32 secret of a stored value: opened when sealed, as it is when still in clear.
    /// `None` when it does not open (another key, another account, or damaged).
    pub fn open(&self, staff_id: i64, stored: &str) -> Option<String> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Some(stored.to_string());
        };
        let bytes = B64.decode(body).ok()?;
        if bytes.len() < 12 + 16 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(12);
        let aad = aad(staff_id);
        let plain = self.0.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() }).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Seals every TOTP secret still stored in clear; returns how many it sealed. Safe to run by
/// several processes at once (a row is replaced only while it still holds the clear value).
pub async fn seal_clear_secrets(store: &Store, seal: &TotpSeal) -> anyhow::Result<u64> {
    let mut sealed = 0;
    for (id, stored) in store.staff_totp_secrets().await? {
        if TotpSeal::is_sealed(&stored) {
            continue;
        }
        if store.replace_totp_secret(id, &stored, &seal.seal(id, &stored)?).await? {
            sealed += 1;
        }
    }
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_account_and_key() {
        let seal = TotpSeal::new(&[7u8; 32]).unwrap();
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let stored = seal.seal(42, secret).unwrap();
        assert!(TotpSeal::is_sealed(&stored) && !stored.contains(secret), "{stored}");
        assert_ne!(stored, seal.seal(42, secret).unwrap(), "a new nonce each time");
        assert_eq!(seal.open(42, &stored).as_deref(), Some(secret));
        assert_eq!(seal.open(43, &stored), None, "another account's");
        assert_eq!(TotpSeal::new(&[8u8; 32]).unwrap().open(42, &stored), None, "another key");
        assert_eq!(seal.open(42, "enc1:AAAA"), None, "damaged");
        assert_eq!(seal.open(42, secret).as_deref(), Some(secret), "a secret stored before encryption still works");
        assert!(TotpSeal::new(&[1u8; 16]).is_err());
    }
}
