//! Exact money: integer minor units (tiyn for tenge) with currency, exchange rate and VAT basis.
//! Never a float: sums over millions of payments must come out to the tiyn.

use rust_decimal::{Decimal, RoundingStrategy};
use std::str::FromStr;

/// Whether an amount includes value-added tax. goszakup's `*_wnds` fields include it;
/// zakup.sk.kz's `sumTruNoNds` excludes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VatBasis {
    Included,
    Excluded,
}

impl VatBasis {
    pub fn from_included(included: bool) -> Self {
        if included { VatBasis::Included } else { VatBasis::Excluded }
    }
    pub fn is_included(self) -> bool {
        self == VatBasis::Included
    }
}

/// An exact amount of money as it is stored: minor units, the ISO 4217 currency, the rate to
/// tenge on the day the amount was fixed, and the VAT basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub minor_units: i64,
    pub currency: String,
    pub exchange_rate: Decimal,
    pub vat: VatBasis,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not a decimal amount")]
    NotDecimal(String),
    #[error("{0} has more than 2 decimal places")]
    TooPrecise(Decimal),
    #[error("{0} is too large to store")]
    TooLarge(Decimal),
    #[error("{0:?} is not an ISO 4217 currency code")]
    Currency(String),
}

/// Minor units per major unit. Every currency seen upstream (KZT, USD, EUR, RUB) has two decimals.
const MINOR_PER_MAJOR: i64 = 100;

impl Money {
    /// Tenge with VAT included, at rate 1: the common case for goszakup amounts.
    pub fn kzt(minor_units: i64, vat: VatBasis) -> Self {
        Money { minor_units, currency: "KZT".into(), exchange_rate: Decimal::ONE, vat }
    }

    /// Parses an amount in major units, such as `"10344.50"`, into minor units exactly.
    pub fn minor_units_from_decimal(amount: Decimal) -> Result<i64, MoneyError> {
        let scaled = amount * Decimal::from(MINOR_PER_MAJOR);
        if !scaled.fract().is_zero() {
            return Err(MoneyError::TooPrecise(amount));
        }
        i64::try_from(scaled.trunc()).map_err(|_| MoneyError::TooLarge(amount))
    }

    pub fn minor_units_from_str(amount: &str) -> Result<i64, MoneyError> {
        let decimal = Decimal::from_str(amount.trim()).map_err(|_| MoneyError::NotDecimal(amount.into()))?;
        Self::minor_units_from_decimal(decimal)
    }

    /// The amount in major units, with exactly two decimals, e.g. `"10344.00"`.
    pub fn amount(&self) -> String {
        format_minor_units(self.minor_units)
    }

    /// The amount converted to tenge minor units at the stored rate, rounded half away from zero.
    pub fn kzt_minor_units(&self) -> i64 {
        let converted = (Decimal::from(self.minor_units) * self.exchange_rate)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        i64::try_from(converted).unwrap_or(i64::MAX)
    }
}

/// Formats minor units as a decimal string with two places; exact for every i64.
pub fn format_minor_units(minor_units: i64) -> String {
    let sign = if minor_units < 0 { "-" } else { "" };
    let magnitude = minor_units.unsigned_abs();
    let per = MINOR_PER_MAJOR as u64;
    format!("{sign}{}.{:02}", magnitude / per, magnitude % per)
}

/// The active ISO 4217 alphabetic codes (2024 list), sorted, for `parse_currency`; `XXX` is
/// ISO's code for "no currency", which OCDS publishers use for a value not (yet) known.
const ISO_4217: [&str; 156] = [
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "XXX", "YER", "ZAR", "ZMW", "ZWG",
];

/// Checks that a code is an active ISO 4217 currency (`KZT`, `USD`, …); `XX1` or `ABC` is not.
pub fn parse_currency(code: &str) -> Result<String, MoneyError> {
    if ISO_4217.binary_search(&code).is_ok() { Ok(code.to_owned()) } else { Err(MoneyError::Currency(code.to_owned())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_exactly() {
        assert_eq!(format_minor_units(1_034_400), "10344.00");
        assert_eq!(format_minor_units(5), "0.05");
        assert_eq!(format_minor_units(-150), "-1.50");
        assert_eq!(format_minor_units(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn parses_major_units_exactly() {
        assert_eq!(Money::minor_units_from_str("10344"), Ok(1_034_400));
        assert_eq!(Money::minor_units_from_str("1389000.5"), Ok(138_900_050));
        assert_eq!(Money::minor_units_from_str("0.1"), Ok(10));
        assert!(matches!(Money::minor_units_from_str("0.001"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::minor_units_from_str("abc"), Err(MoneyError::NotDecimal(_))));
    }

    #[test]
    fn converts_to_tenge_at_the_stored_rate() {
        let usd = Money {
            minor_units: 10_050,
            currency: "USD".into(),
            exchange_rate: Decimal::from_str("470.25").unwrap(),
            vat: VatBasis::Excluded,
        };
        assert_eq!(usd.kzt_minor_units(), 4_726_013);
    }

    #[test]
    fn currency_codes_are_checked() {
        assert!(parse_currency("KZT").is_ok());
        assert!(parse_currency("kzt").is_err());
        assert!(parse_currency("KZTT").is_err());
        assert!(parse_currency("ABC").is_err());
        assert!(parse_currency("UAH").is_ok() && parse_currency("PYG").is_ok() && parse_currency("MXN").is_ok());
        assert!(ISO_4217.windows(2).all(|pair| pair[0] < pair[1]), "the list stays sorted");
    }
}
