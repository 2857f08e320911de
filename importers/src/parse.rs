//! Field parsers shared by the sources: upstream timestamps, exact amounts from JSON numbers or
//! text, BINs. Each returns a reason a reject report can show as it is.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Almaty;
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

use domain::Biin;
use domain::money::Money;

/// A naive `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DDTHH:MM:SS`, or a bare date) in Almaty local
/// time, as goszakup writes it, converted to UTC with the offset in force on that day
/// (Kazakhstan moved from UTC+6 to UTC+5 on 1 March 2024).
pub fn almaty_to_utc(text: &str) -> Result<DateTime<Utc>, String> {
    let trimmed = text.trim();
    let naive = NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| NaiveDate::parse_from_str(trimmed, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap()))
        .map_err(|_| format!("{trimmed:?} is not a date-time (expected YYYY-MM-DD HH:MM:SS)"))?;
    Almaty
        .from_local_datetime(&naive)
        .earliest()
        .map(|local| local.with_timezone(&Utc))
        .ok_or_else(|| format!("{trimmed:?} does not exist in Almaty time"))
}

/// An RFC 3339 / ISO 8601 timestamp with an offset (`2016-06-02T11:51:03+03:00`, `…Z`); one
/// without an offset is read as Almaty local time.
pub fn timestamp_to_utc(text: &str) -> Result<DateTime<Utc>, String> {
    let trimmed = text.trim();
    match DateTime::parse_from_rfc3339(trimmed) {
        Ok(parsed) => Ok(parsed.with_timezone(&Utc)),
        Err(_) => almaty_to_utc(trimmed),
    }
}

/// A decimal from a JSON number or a string (`"1 234,50"` and `"1234.50"` both read as 1234.50).
/// JSON numbers are read through their shortest text form, so `10344.5` stays exact.
pub fn decimal(value: &Value) -> Result<Decimal, String> {
    match value {
        Value::Number(number) => {
            let text = number.to_string();
            Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .map_err(|_| format!("{text} is not a decimal amount"))
        }
        Value::String(text) => decimal_text(text),
        Value::Null => Err("the amount is missing".into()),
        other => Err(format!("{other} is not an amount")),
    }
}

/// A decimal from text, allowing spaces (also non-breaking) as thousands separators and a comma
/// as the decimal mark.
pub fn decimal_text(text: &str) -> Result<Decimal, String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    if cleaned.is_empty() {
        return Err("the amount is empty".into());
    }
    Decimal::from_str(&cleaned)
        .or_else(|_| Decimal::from_scientific(&cleaned))
        .map_err(|_| format!("{:?} is not a decimal amount", text.trim()))
}

/// Minor units of a non-negative amount in major units, exactly (more than two decimals is an error).
pub fn minor_units(amount: Decimal) -> Result<i64, String> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(format!("the amount {amount} is negative"));
    }
    Money::minor_units_from_decimal(amount.normalize()).map_err(|error| error.to_string())
}

/// A BIN/IIN from a JSON string or number, with the check digit verified.
pub fn biin(value: &Value) -> Result<Biin, String> {
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => format!("{number:0>12}"),
        Value::Null => return Err("the BIN is missing".into()),
        other => return Err(format!("{other} is not a BIN")),
    };
    text.parse::<Biin>().map_err(|error| format!("BIN {text:?}: {error}"))
}

/// The text of a JSON string field, trimmed; `None` when absent, null or blank.
pub fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => {
            let trimmed = text.trim();
            (!trimmed.is_empty()).then(|| trimmed.to_owned())
        }
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn almaty_times_use_the_offset_of_their_day() {
        assert_eq!(almaty_to_utc("2020-02-10 10:00:00").unwrap().to_rfc3339(), "2020-02-10T04:00:00+00:00");
        assert_eq!(almaty_to_utc("2024-06-10 10:00:00").unwrap().to_rfc3339(), "2024-06-10T05:00:00+00:00");
        assert!(almaty_to_utc("2020-13-40 10:00:00").unwrap_err().contains("2020-13-40"));
    }

    #[test]
    fn amounts_are_exact_from_numbers_and_text() {
        assert_eq!(minor_units(decimal(&json!(10344.5)).unwrap()).unwrap(), 1_034_450);
        assert_eq!(minor_units(decimal(&json!("1 234,56")).unwrap()).unwrap(), 123_456);
        assert_eq!(minor_units(decimal(&json!(0.1)).unwrap() + decimal(&json!(0.2)).unwrap()).unwrap(), 30);
        assert!(minor_units(decimal(&json!(-5)).unwrap()).unwrap_err().contains("negative"));
        assert!(minor_units(decimal(&json!(1.005)).unwrap()).is_err());
        assert!(decimal(&json!("abc")).is_err());
    }
}
