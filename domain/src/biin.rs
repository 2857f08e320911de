//! BIN (business identification number) and IIN (individual identification number): the
//! 12-digit identifiers every Kazakhstan taxpayer carries, guarded by a mod-11 check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A BIN or IIN whose check digit has been verified. The only way to get one is to parse it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Biin(String);

/// Why a string is not a valid BIN/IIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BiinError {
    #[error("a BIN/IIN has 12 digits, this has {0} characters")]
    WrongLength(usize),
    #[error("a BIN/IIN has only digits, character {position} is {found:?}")]
    NotADigit { position: usize, found: char },
    #[error("check digit is {found}, the other 11 digits give {expected}")]
    CheckDigitMismatch { expected: u32, found: u32 },
    #[error(
        "the first 11 digits give no check digit (remainder 10 under both weightings), so no BIN/IIN can start with them"
    )]
    NoCheckDigit,
}

const FIRST_WEIGHTS: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SECOND_WEIGHTS: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/// The check digit for the first 11 digits, or `None` when both weightings leave remainder 10
/// (such prefixes are never issued).
pub fn check_digit(first_eleven: &[u32; 11]) -> Option<u32> {
    let weighted =
        |weights: &[u32; 11]| -> u32 { first_eleven.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11 };
    match weighted(&FIRST_WEIGHTS) {
        10 => match weighted(&SECOND_WEIGHTS) {
            10 => None,
            digit => Some(digit),
        },
        digit => Some(digit),
    }
}

impl Biin {
    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Completes 11 digits with their check digit, if they have one. Used to mint identifiers
    /// for synthetic data; real identifiers are always parsed.
    pub fn from_prefix(first_eleven: &[u32; 11]) -> Option<Biin> {
        let check = check_digit(first_eleven)?;
        let text: String = first_eleven
            .iter()
            .chain(std::iter::once(&check))
            .map(|d| char::from_digit(*d, 10).expect("digits are below 10"))
            .collect();
        Some(Biin(text))
    }
}

impl FromStr for Biin {
    type Err = BiinError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let count = input.chars().count();
        if count != 12 {
            return Err(BiinError::WrongLength(count));
        }
        let mut digits = [0u32; 12];
        for (position, found) in input.chars().enumerate() {
            digits[position] = found.to_digit(10).ok_or(BiinError::NotADigit { position: position + 1, found })?;
        }
        let first_eleven: [u32; 11] = digits[..11].try_into().expect("slice of 11");
        let expected = check_digit(&first_eleven).ok_or(BiinError::NoCheckDigit)?;
        if expected != digits[11] {
            return Err(BiinError::CheckDigitMismatch { expected, found: digits[11] });
        }
        Ok(Biin(input.to_owned()))
    }
}

impl TryFrom<String> for Biin {
    type Error = BiinError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Biin> for String {
    fn from(value: Biin) -> Self {
        value.0
    }
}

impl fmt::Display for Biin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every BIN/IIN in the real goszakup pages, by the field that holds it.
    fn real_identifiers() -> Vec<(String, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/goszakup");
        let mut found = Vec::new();
        for (file, fields) in [
            ("contract-all-page.json", &["supplier_biin", "customer_bin"][..]),
            ("plans-all-page.json", &["subject_biin"][..]),
        ] {
            let text = std::fs::read_to_string(format!("{dir}/{file}")).expect("goszakup page");
            let page: serde_json::Value = serde_json::from_str(&text).expect("json");
            for item in page["items"].as_array().expect("items") {
                for field in fields {
                    if let Some(value) = item[*field].as_str() {
                        found.push((format!("{file}:{field}:{}", item["id"]), value.to_owned()));
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_identifier_in_the_real_goszakup_pages_is_valid() {
        let identifiers = real_identifiers();
        assert!(identifiers.len() >= 1000, "found only {}", identifiers.len());
        for (place, value) in identifiers {
            if let Err(error) = value.parse::<Biin>() {
                panic!("{place}: {value:?} rejected: {error}");
            }
        }
    }

    #[test]
    fn corrupting_one_digit_of_a_real_identifier_is_caught() {
        for (place, value) in real_identifiers().into_iter().take(300) {
            let mut digits: Vec<char> = value.chars().collect();
            let last = digits[11].to_digit(10).unwrap();
            digits[11] = char::from_digit((last + 1) % 10, 10).unwrap();
            let corrupted: String = digits.into_iter().collect();
            match corrupted.parse::<Biin>() {
                Err(BiinError::CheckDigitMismatch { expected, found }) => {
                    assert_eq!(expected, last, "{place}");
                    assert_eq!(found, (last + 1) % 10, "{place}");
                }
                other => panic!("{place}: {corrupted} gave {other:?}"),
            }
        }
    }

    /// A mod-11 check catches most transpositions but not all: when one ordering falls to the
    /// second weighting, a swap can land on another valid number.
    #[test]
    fn swapping_two_different_adjacent_digits_is_mostly_caught() {
        let (mut swaps, mut caught) = (0, 0);
        for (_, value) in real_identifiers() {
            let mut digits: Vec<char> = value.chars().collect();
            if digits[4] == digits[5] {
                continue;
            }
            digits.swap(4, 5);
            let swapped: String = digits.into_iter().collect();
            swaps += 1;
            caught += usize::from(swapped.parse::<Biin>().is_err());
        }
        assert!(swaps > 500, "{swaps}");
        assert!(caught * 100 >= swaps * 85, "caught {caught} of {swaps}");
    }

    #[test]
    fn malformed_input_names_the_reason() {
        assert_eq!("12345".parse::<Biin>(), Err(BiinError::WrongLength(5)));
        assert_eq!("16044000716X".parse::<Biin>(), Err(BiinError::NotADigit { position: 12, found: 'X' }));
        assert_eq!(" 60440007161".parse::<Biin>(), Err(BiinError::NotADigit { position: 1, found: ' ' }));
        assert_eq!("1604400071610".parse::<Biin>(), Err(BiinError::WrongLength(13)));
    }

    #[test]
    fn a_prefix_whose_remainder_is_ten_twice_has_no_check_digit() {
        let mut seen_none = false;
        for n in 0..200_000u64 {
            let text = format!("{n:011}");
            let prefix: [u32; 11] = std::array::from_fn(|i| text.as_bytes()[i] as u32 - 48);
            if check_digit(&prefix).is_none() {
                seen_none = true;
                assert_eq!(format!("{text}0").parse::<Biin>(), Err(BiinError::NoCheckDigit));
                break;
            }
        }
        assert!(seen_none);
    }

    #[test]
    fn the_second_weighting_is_used_when_the_first_gives_ten() {
        let mut checked = 0;
        for n in 0..5_000u64 {
            let text = format!("{:011}", 90_010_000_000 + n);
            let prefix: [u32; 11] = std::array::from_fn(|i| text.as_bytes()[i] as u32 - 48);
            let first: u32 = prefix.iter().zip(FIRST_WEIGHTS).map(|(d, w)| d * w).sum::<u32>() % 11;
            if first == 10
                && let Some(biin) = Biin::from_prefix(&prefix)
            {
                let second: u32 = prefix.iter().zip(SECOND_WEIGHTS).map(|(d, w)| d * w).sum::<u32>() % 11;
                assert_eq!(biin.as_str().as_bytes()[11] as u32 - 48, second);
                assert!(biin.as_str().parse::<Biin>().is_ok());
                checked += 1;
            }
        }
        assert!(checked > 10);
    }

    #[test]
    fn serde_parses_and_rejects() {
        let ok: Biin = serde_json::from_str("\"160440007161\"").unwrap();
        assert_eq!(ok.as_str(), "160440007161");
        assert!(serde_json::from_str::<Biin>("\"160440007162\"").is_err());
    }
}
