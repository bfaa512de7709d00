//! Decrypting a Web Push message body as a browser does (RFC 8291 with RFC 8188 `aes128gcm`),
//! written from the RFCs on their own so that the server's encryption is checked by an
//! independent implementation.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::Sha256;

/// The plaintext of an `aes128gcm` body encrypted for the subscription whose private key is
/// `ua_secret` and whose auth secret is `auth` (a single record, as push messages are).
pub fn decrypt(body: &[u8], ua_secret: &p256::SecretKey, auth: &[u8; 16]) -> Result<Vec<u8>, String> {
    // Header: salt (16) | record size (4, big endian) | key id length (1) | key id.
    if body.len() < 21 {
        return Err("body shorter than the aes128gcm header".into());
    }
    let salt = &body[..16];
    let record_size = u32::from_be_bytes([body[16], body[17], body[18], body[19]]) as usize;
    let id_len = body[20] as usize;
    if id_len != 65 || body.len() < 21 + id_len {
        return Err(format!("the key id must be the sender's 65-byte public key, not {id_len} bytes"));
    }
    let as_public = p256::PublicKey::from_sec1_bytes(&body[21..21 + id_len]).map_err(|e| format!("sender key: {e}"))?;
    let ciphertext = &body[21 + id_len..];
    if ciphertext.len() > record_size || ciphertext.len() < 17 {
        return Err(format!("one record of {} bytes with record size {record_size}", ciphertext.len()));
    }

    // RFC 8291 §3.3-3.4: IKM from the ECDH secret, keyed by the auth secret.
    let shared = p256::ecdh::diffie_hellman(ua_secret.to_nonzero_scalar(), as_public.as_affine());
    let ua_public = ua_secret.public_key().to_encoded_point(false);
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(ua_public.as_bytes());
    key_info.extend_from_slice(as_public.to_encoded_point(false).as_bytes());
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes().as_slice())
        .expand(&key_info, &mut ikm)
        .map_err(|e| e.to_string())?;

    // RFC 8188 §2.2-2.3: content key and nonce from the salt (first record: sequence 0).
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).map_err(|e| e.to_string())?;
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce).map_err(|e| e.to_string())?;
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|e| e.to_string())?;
    let mut plain = cipher.decrypt(Nonce::from_slice(&nonce), ciphertext).map_err(|_| "authentication failed".to_string())?;

    // Padding: the last record ends with 0x02 followed by zero or more zeros.
    while plain.last() == Some(&0) {
        plain.pop();
    }
    if plain.pop() != Some(2) {
        return Err("the record does not end with the last-record delimiter 0x02".into());
    }
    Ok(plain)
}
