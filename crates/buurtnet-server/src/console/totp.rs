//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of clock
//! drift either way) through `totp-rs`, and the enrolment QR code as SVG drawn on the server.
//! A step is accepted once: the store remembers the last step used per account.

use base64::Engine;
use rand::Rng;
use totp_rs::{Algorithm, Secret, TOTP};

pub const STEP_SECONDS: i64 = 30;
const ISSUER: &str = "buurtnet";

/// A new random 160-bit secret, base32 (as authenticator apps show it).
pub fn new_secret() -> String {
    let bytes: [u8; 20] = rand::rng().random();
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => String::new(),
    }
}

fn totp(secret_b32: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().ok()?;
    // Skew 0: the drift of one step either way is tried here, step by step, so that the step
    // that matched is known (and can be used once).
    TOTP::new(Algorithm::SHA1, 6, 0, STEP_SECONDS as u64, bytes, Some(ISSUER.to_string()), account.to_string()).ok()
}

/// The code for `secret` at Unix time `now_secs` (for tests and the demo).
pub fn code_at(secret_b32: &str, now_secs: i64) -> Option<String> {
    Some(totp(secret_b32, "x")?.generate(now_secs.max(0) as u64))
}

/// The step a code belongs to when it is right at `now_secs` (this step, the one before or the
/// one after); `None` when it is wrong. The caller must still refuse a step already used.
pub fn matching_step(secret_b32: &str, code: &str, now_secs: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret_b32, "x")?;
    let current = now_secs / STEP_SECONDS;
    // Every candidate is compared (constant time inside `check`), whichever matches.
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        if step >= 0 && t.check(&code, (step * STEP_SECONDS) as u64) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URL of an enrolment (what the QR code holds).
pub fn otpauth_url(secret_b32: &str, account: &str) -> Option<String> {
    Some(totp(secret_b32, account)?.get_url())
}

/// The QR code of `url` as an SVG document (no script, no style).
pub fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(220, 220).quiet_zone(true).build())
}

/// The QR code as a `data:` URL for an `<img>` (allowed by the console's CSP: `img-src 'self' data:`).
pub fn qr_data_url(url: &str) -> Option<String> {
    let svg = qr_svg(url)?;
    Some(format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B: the ASCII secret "12345678901234567890", T = 59 s → 94287082
        // (8 digits); the 6-digit code is its last six digits.
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => String::new(),
        };
        assert_eq!(code_at(&secret, 59).as_deref(), Some("287082"));
        assert_eq!(code_at(&secret, 1_111_111_109).as_deref(), Some("081804"));
    }

    #[test]
    fn drift_of_one_step_and_no_more() {
        let s = new_secret();
        assert_eq!(s.len(), 32);
        let now = 1_800_000_000;
        let code = code_at(&s, now).unwrap_or_default();
        assert_eq!(matching_step(&s, &code, now), Some(now / 30));
        assert_eq!(matching_step(&s, &code, now + 30), Some(now / 30));
        assert_eq!(matching_step(&s, &code, now + 95), None);
        assert_eq!(matching_step(&s, "12345", now), None);
        assert_eq!(matching_step(&s, "abcdef", now), None);
        let url = otpauth_url(&s, "a@example.org").unwrap_or_default();
        assert!(url.starts_with("otpauth://totp/buurtnet:a%40example.org?secret="), "{url}");
        let svg = qr_svg(&url).unwrap_or_default();
        assert!(svg.contains("<svg") && !svg.contains("<script"));
    }
}
