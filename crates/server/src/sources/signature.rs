//! HMAC-SHA256, as the providers sign their webhooks. Comparisons are
//! constant-time (`Mac::verify_slice`), so a guesser learns nothing from
//! how long a refusal takes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of the concatenated `parts` under `secret`.
pub fn hmac_sha256(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Whether `claimed` (raw bytes) is the HMAC-SHA256 of `parts` under `secret`.
pub fn verify_hmac(secret: &[u8], parts: &[&[u8]], claimed: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(claimed).is_ok()
}

/// Base64 (standard alphabet, padded), as Typeform, Tally and HubSpot send it.
pub fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn from_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.trim()).ok()
}

/// Checks a header holding base64(HMAC-SHA256(secret, body)), after
/// `prefix` if the provider puts one (Typeform's `sha256=`, Tally none).
pub fn verify_body_signature(
    secret: &[u8],
    headers: &axum::http::HeaderMap,
    header: &str,
    prefix: &str,
    body: &[u8],
) -> Result<(), String> {
    let value = single_header(headers, header)?;
    let b64 = value
        .strip_prefix(prefix)
        .ok_or_else(|| format!("{header} lacks its {prefix} prefix"))?;
    let claimed = from_base64(b64).ok_or_else(|| format!("{header} is not base64"))?;
    if verify_hmac(secret, &[body], &claimed) {
        Ok(())
    } else {
        Err(format!("{header} does not match the body"))
    }
}

/// One header's value as text; a header sent twice is refused (which of
/// the two was signed is unknowable).
pub fn single_header<'a>(
    headers: &'a axum::http::HeaderMap,
    name: &str,
) -> Result<&'a str, String> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().ok_or_else(|| format!("no {name} header"))?;
    if values.next().is_some() {
        return Err(format!("{name} sent more than once"));
    }
    first.to_str().map_err(|_| format!("{name} is not ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_hmac(
            b"Jefe",
            &[b"what do ya want for nothing?"],
            &mac
        ));
        assert!(!verify_hmac(
            b"jefe",
            &[b"what do ya want for nothing?"],
            &mac
        ));
    }
}
