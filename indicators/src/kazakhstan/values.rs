//! Exact numbers: shares to the millionth, amounts in minor units, and the settings that hold
//! them. Money is never a float here: measures are ratios of integers, compared by cross
//! multiplication in `i128`, and printed with a fixed number of decimals.

use chrono::{Datelike, NaiveDate};

use crate::settings::{SettingsError, error, natural};

/// Millionths in one.
const MILLION: i128 = 1_000_000;
/// Decimals a share may be written with.
const SHARE_DECIMALS: usize = 6;
/// The largest whole part a share may have: far beyond any sensible setting, and small enough
/// that `share × amount` stays well inside `i128`.
const SHARE_MAX_WHOLE: i64 = 1_000;
/// Tiyn in a tenge (cents in a dollar): every stored currency has two decimals.
const MINOR_PER_MAJOR: i128 = 100;

/// A non-negative decimal share (`0.12`, `0.5`, `1.25`) held exactly in millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Share {
    millionths: i64,
}

impl Share {
    pub const fn from_millionths(millionths: i64) -> Self {
        Share { millionths }
    }

    pub fn millionths(self) -> i64 {
        self.millionths
    }

    /// Reads a setting: digits, optionally a point and at most six more digits.
    pub fn parse(line: usize, key: &str, value: &str) -> Result<Share, SettingsError> {
        let invalid = || {
            error(
                line,
                format!(
                    "`{key}` is `{value}`; it must be a decimal share such as 0.10 (0 to {SHARE_MAX_WHOLE}, at most \
                     {SHARE_DECIMALS} decimals)"
                ),
            )
        };
        let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
        let digits = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > SHARE_DECIMALS {
            return Err(invalid());
        }
        let whole: i64 = whole.parse().map_err(|_| invalid())?;
        if whole > SHARE_MAX_WHOLE {
            return Err(invalid());
        }
        let padded = format!("{fraction:0<SHARE_DECIMALS$}");
        let fraction: i64 = padded.parse().map_err(|_| invalid())?;
        Ok(Share { millionths: whole * MILLION as i64 + fraction })
    }

    /// Whether `numerator / denominator` is more than this share; `denominator` must be positive.
    pub fn is_exceeded_by(self, numerator: i128, denominator: i128) -> bool {
        numerator * MILLION > i128::from(self.millionths) * denominator
    }

    /// As the settings file would say it, with at least two decimals: `0.12`, `0.10`, `0.125`.
    pub fn text(self) -> String {
        let whole = self.millionths / MILLION as i64;
        let fraction = format!("{:06}", self.millionths % MILLION as i64);
        let trimmed = fraction.trim_end_matches('0');
        let shown = if trimmed.len() < 2 { &fraction[..2] } else { trimmed };
        format!("{whole}.{shown}")
    }
}

/// `numerator / denominator` rounded half away from zero; `denominator` must be positive.
pub fn div_round(numerator: i128, denominator: i128) -> i128 {
    // round(|n| / d) = floor((2|n| + d) / 2d), exact for odd and even divisors alike.
    let magnitude = (2 * numerator.abs() + denominator) / (2 * denominator);
    if numerator < 0 { -magnitude } else { magnitude }
}

/// A ratio as decimal text with four places, rounded half away from zero: `0.2500`, `-0.0125`.
/// `denominator` must be positive.
pub fn ratio_text(numerator: i128, denominator: i128) -> String {
    let ten_thousandths = div_round(numerator * 10_000, denominator);
    let sign = if ten_thousandths < 0 { "-" } else { "" };
    let magnitude = ten_thousandths.unsigned_abs();
    format!("{sign}{}.{:04}", magnitude / 10_000, magnitude % 10_000)
}

/// Minor units as decimal text with two places (`1234.56`), exact for any sum of amounts.
pub fn amount_text(minor_units: i128) -> String {
    let sign = if minor_units < 0 { "-" } else { "" };
    let magnitude = minor_units.unsigned_abs();
    let per = MINOR_PER_MAJOR as u128;
    format!("{sign}{}.{:02}", magnitude / per, magnitude % per)
}

/// Reads a whole number of days, at least one.
pub fn days(line: usize, key: &str, value: &str) -> Result<u32, SettingsError> {
    let days = natural(line, key, value)?;
    match u32::try_from(days) {
        Ok(days) if days >= 1 => Ok(days),
        _ => Err(error(line, format!("`{key}` is `{value}`; it must be a whole number of days, 1 or more"))),
    }
}

/// Reads a whole count, 0 or more.
pub fn count(line: usize, key: &str, value: &str) -> Result<u64, SettingsError> {
    natural(line, key, value).map(|count| count as u64)
}

/// Reads a positive amount in major units (`4325`, `4325.00`) as minor units.
pub fn amount(line: usize, key: &str, value: &str) -> Result<i64, SettingsError> {
    match domain::money::Money::minor_units_from_str(value) {
        Ok(minor_units) if minor_units > 0 => Ok(minor_units),
        _ => Err(error(
            line,
            format!("`{key}` is `{value}`; it must be a positive amount in tenge, at most 2 decimals, such as 4325"),
        )),
    }
}

/// The VAT-included amount, times a million, of an amount stored with or without VAT: amounts on
/// different VAT bases compare exactly on this scale.
pub fn vat_included_scaled(minor_units: i64, vat_included: bool, vat_rate: Share) -> i128 {
    if vat_included {
        i128::from(minor_units) * MILLION
    } else {
        i128::from(minor_units) * (MILLION + i128::from(vat_rate.millionths()))
    }
}

/// Minor units on the given VAT basis of an amount on the [`vat_included_scaled`] scale,
/// rounded to the tiyn.
pub fn on_basis(scaled: i128, vat_included: bool, vat_rate: Share) -> i128 {
    if vat_included {
        div_round(scaled, MILLION)
    } else {
        div_round(scaled, MILLION + i128::from(vat_rate.millionths()))
    }
}

/// The standard VAT rates amounts are converted with, by the day the contract was signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VatRates {
    /// `vat_rate`: for contracts signed before 2026.
    pub before_2026: Share,
    /// `vat_rate_from_2026`: for contracts signed from 1 January 2026.
    pub from_2026: Share,
}

pub const VAT_RATE_DEFAULT: &str = "0.12";
pub const VAT_RATE_REASON: &str = "The standard VAT rate of the Tax Code of 2017 (art. 422): 12%, for contracts signed \
                                   before 2026. goszakup stores plan items without VAT, contracts often with it.";
pub const VAT_RATE_2026_DEFAULT: &str = "0.16";
pub const VAT_RATE_2026_REASON: &str = "The standard VAT rate of the Tax Code of 2025, in force from 1 January 2026: \
                                        16%, for contracts signed from then (our understanding of the new Code; \
                                        goods at a reduced rate are converted at this one too).";

impl Default for VatRates {
    fn default() -> Self {
        VatRates { before_2026: Share::from_millionths(120_000), from_2026: Share::from_millionths(160_000) }
    }
}

impl VatRates {
    /// The rate for a contract signed on `day`, with the name of the setting it comes from.
    pub fn on(self, day: NaiveDate) -> (&'static str, Share) {
        if day.year() >= 2026 { ("vat_rate_from_2026", self.from_2026) } else { ("vat_rate", self.before_2026) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(text: &str) -> Share {
        Share::parse(1, "share", text).unwrap()
    }

    #[test]
    fn shares_read_exactly_and_print_back() {
        assert_eq!(share("0.12").millionths(), 120_000);
        assert_eq!(share("0.1").text(), "0.10");
        assert_eq!(share("0").text(), "0.00");
        assert_eq!(share("1.25").text(), "1.25");
        assert_eq!(share("0.125").text(), "0.125");
        assert_eq!(share("0.000001").text(), "0.000001");
        for wrong in ["", ".5", "-0.1", "0.1234567", "1e-2", "abc", "0,1", "1001"] {
            assert!(Share::parse(3, "max_share", wrong).is_err(), "{wrong:?}");
        }
        assert_eq!(Share::parse(3, "max_share", "x").unwrap_err().line, 3);
    }

    #[test]
    fn comparisons_are_strict() {
        let tenth = share("0.10");
        assert!(!tenth.is_exceeded_by(10, 100), "exactly the share is not more than it");
        assert!(tenth.is_exceeded_by(1_000_001, 10_000_000));
        assert!(share("0").is_exceeded_by(1, 1_000_000_000));
        assert!(!share("0").is_exceeded_by(0, 5));
    }

    #[test]
    fn rounding_and_text() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(-4, 3), -1);
        assert_eq!(div_round(5, 3), 2);
        assert_eq!(div_round(-5, 3), -2);
        assert_eq!(ratio_text(1, 4), "0.2500");
        assert_eq!(ratio_text(1, 3), "0.3333");
        assert_eq!(ratio_text(2, 3), "0.6667");
        assert_eq!(ratio_text(-1, 80), "-0.0125");
        assert_eq!(amount_text(123_456), "1234.56");
        assert_eq!(amount_text(-5), "-0.05");
        assert_eq!(amount_text(i128::from(i64::MAX) * 3), "276701161105643274.21");
    }

    #[test]
    fn vat_bases_compare_exactly() {
        let rate = share("0.12");
        assert_eq!(vat_included_scaled(100_000, false, rate), vat_included_scaled(112_000, true, rate));
        assert_eq!(on_basis(vat_included_scaled(100_000, false, rate), true, rate), 112_000);
        assert_eq!(on_basis(vat_included_scaled(112_000, true, rate), false, rate), 100_000);
        assert_eq!(on_basis(vat_included_scaled(100, true, rate), false, rate), 89);
    }
}
