//! Web Push payload encryption: RFC 8291 (message encryption for Web Push) over RFC 8188's
//! `aes128gcm` content coding, one record.
//!
//! Built on `ring`'s primitives (ECDH P-256 with a fresh ephemeral key per message, HKDF-SHA256,
//! AES-128-GCM), whose assembly P-256 is several times faster than the pure-Rust curve the
//! `web-push-native` crate uses: encryption is most of the CPU time of a national alert to
//! millions of devices. The unit tests check every output against `web-push-native`'s decryption
//! and the integration tests against an independent decryptor written from the RFCs.

use ring::rand::{SecureRandom, SystemRandom};
use ring::{aead, agreement, hkdf};

/// The record size written in the header: one record holds the whole push message (at most
/// 4096 bytes, RFC 8030 §7.2).
const RECORD_SIZE: u32 = 4096;

/// Why a payload could not be encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncryptError {
    #[error("the subscription's p256dh is not a usable P-256 public key")]
    BadKey,
    #[error("the payload does not fit one record")]
    TooLarge,
    #[error("the system's random generator failed")]
    Random,
}

/// An HKDF output length for `ring`'s `expand`.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand(prk: &hkdf::Prk, info: &[u8], out: &mut [u8]) -> Result<(), EncryptError> {
    prk.expand(&[info], Len(out.len())).and_then(|okm| okm.fill(out)).map_err(|_| EncryptError::BadKey)
}

/// Encrypts `payload` for a subscription: `ua_public` is its `p256dh` key (65 bytes,
/// uncompressed), `auth` its 16-byte secret. Returns the request body: salt (16) ‖ record size
/// (4) ‖ key id length (1) ‖ our ephemeral public key (65) ‖ ciphertext with tag.
pub fn encrypt(payload: &[u8], ua_public: &[u8], auth: &[u8; 16]) -> Result<Vec<u8>, EncryptError> {
    // 86 bytes of header, a padding delimiter and a 16-byte tag must fit the record.
    if payload.len() + 86 + 1 + 16 > RECORD_SIZE as usize {
        return Err(EncryptError::TooLarge);
    }
    let rng = SystemRandom::new();
    let ephemeral = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng).map_err(|_| EncryptError::Random)?;
    let as_public = ephemeral.compute_public_key().map_err(|_| EncryptError::Random)?;
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, ua_public);
    let mut shared = [0u8; 32];
    agreement::agree_ephemeral(ephemeral, &peer, |s| shared.copy_from_slice(s)).map_err(|_| EncryptError::BadKey)?;
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| EncryptError::Random)?;

    // RFC 8291 §3.3: IKM = HKDF(auth, ECDH secret, "WebPush: info" ‖ 0 ‖ ua_public ‖ as_public).
    let mut key_info = Vec::with_capacity(14 + 65 + 65);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(as_public.as_ref());
    let mut ikm = [0u8; 32];
    expand(&hkdf::Salt::new(hkdf::HKDF_SHA256, auth).extract(&shared), &key_info, &mut ikm)?;

    // RFC 8188 §2.2-2.3: the content encryption key and nonce from the salt and IKM.
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(&ikm);
    let mut cek = [0u8; 16];
    expand(&prk, b"Content-Encoding: aes128gcm\0", &mut cek)?;
    let mut nonce = [0u8; 12];
    expand(&prk, b"Content-Encoding: nonce\0", &mut nonce)?;
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &cek).map_err(|_| EncryptError::BadKey)?);

    // One record, the last: the plaintext, then the delimiter 2 (RFC 8188 §2), no padding.
    let mut body = Vec::with_capacity(86 + payload.len() + 1 + 16);
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(as_public.as_ref().len() as u8);
    body.extend_from_slice(as_public.as_ref());
    let header_len = body.len();
    body.extend_from_slice(payload);
    body.push(2);
    let mut record = body.split_off(header_len);
    key.seal_in_place_append_tag(aead::Nonce::assume_unique_for_key(nonce), aead::Aad::empty(), &mut record)
        .map_err(|_| EncryptError::TooLarge)?;
    body.extend_from_slice(&record);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    fn subscription() -> (p256::SecretKey, Vec<u8>, [u8; 16]) {
        let secret = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let public = secret.public_key().to_encoded_point(false).as_bytes().to_vec();
        (secret, public, rand::random())
    }

    #[test]
    fn web_push_native_decrypts_what_we_encrypt() {
        for len in [0usize, 1, 15, 16, 17, 400, 3993] {
            let (secret, public, auth) = subscription();
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let body = encrypt(&payload, &public, &auth).unwrap_or_else(|e| panic!("{len}: {e}"));
            assert_eq!(body.len(), 86 + len + 1 + 16);
            let plain = web_push_native::decrypt(body, &secret, &web_push_native::Auth::clone_from_slice(&auth))
                .unwrap_or_else(|e| panic!("{len}: {e:?}"));
            assert_eq!(plain, payload, "payload of {len} bytes");
        }
    }

    #[test]
    fn every_message_has_its_own_key_and_salt() {
        let (_, public, auth) = subscription();
        let a = encrypt(b"x", &public, &auth).unwrap_or_else(|e| panic!("{e}"));
        let b = encrypt(b"x", &public, &auth).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a[..16], b[..16], "salt");
        assert_ne!(a[21..86], b[21..86], "ephemeral key");
    }

    #[test]
    fn bad_keys_and_oversized_payloads_are_refused() {
        let (_, mut public, auth) = subscription();
        assert_eq!(encrypt(&[0; 3994], &public, &auth), Err(EncryptError::TooLarge));
        public[64] ^= 1;
        assert_eq!(encrypt(b"x", &public, &auth), Err(EncryptError::BadKey), "a point off the curve");
        assert_eq!(encrypt(b"x", &public[..33], &auth), Err(EncryptError::BadKey));
    }
}
