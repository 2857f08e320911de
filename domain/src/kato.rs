//! KATO: Kazakhstan's classifier of administrative-territorial objects. A code has 9 digits;
//! the first two name the region (oblast or city of republican significance).

use std::fmt;
use std::str::FromStr;

/// A 9-digit KATO code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(into = "String")]
pub struct KatoCode(String);

impl From<KatoCode> for String {
    fn from(code: KatoCode) -> String {
        code.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KatoError {
    #[error("a KATO code has 9 digits, got {0:?}")]
    Malformed(String),
}

impl KatoCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region's own code: the first two digits followed by zeros.
    pub fn region(&self) -> KatoCode {
        KatoCode(format!("{}0000000", &self.0[..2]))
    }
}

impl FromStr for KatoCode {
    type Err = KatoError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.len() == 9 && input.bytes().all(|b| b.is_ascii_digit()) {
            Ok(KatoCode(input.to_owned()))
        } else {
            Err(KatoError::Malformed(input.to_owned()))
        }
    }
}

impl fmt::Display for KatoCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nine_digits_and_finds_the_region() {
        let code: KatoCode = "751210000".parse().unwrap();
        assert_eq!(code.region().as_str(), "750000000");
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in ["", "75121000", "7512100000", "75121000a", " 75121000"] {
            assert!(bad.parse::<KatoCode>().is_err(), "{bad:?}");
        }
    }
}
