//! Field parsers shared by the sources: upstream timestamps, exact amounts from JSON numbers or
//! text, BINs. Each returns a reason a reject report can show as it is.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Almaty;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
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

/// A BIN/IIN from a JSON string or number, with the check digit verified. A BIN written with
/// spaces inside (`"030 840 708 688"`) is read without them; [`biin_repaired`] tells when.
pub fn biin(value: &Value) -> Result<Biin, String> {
    biin_repaired(value).map(|(biin, _)| biin)
}

/// [`biin`], and the repair note when spacing inside had to be removed.
pub fn biin_repaired(value: &Value) -> Result<(Biin, Option<String>), String> {
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => format!("{number:0>12}"),
        Value::Null => return Err("the BIN is missing".into()),
        other => return Err(format!("{other} is not a BIN")),
    };
    let (code, repair) = repaired_code(&text);
    let biin = code.parse::<Biin>().map_err(|error| format!("BIN {text:?}: {error}"))?;
    Ok((biin, repair))
}

/// A code (a currency, a BIN, a KATO code) with its case and spacing repaired: letters
/// upper-cased, and spaces inside (no-break ones too) removed. Such slips happen where codes are
/// typed by hand, and the code they stand for is not in doubt. The note says what was read as
/// what, for the record's repair; `None` when the code was written right.
pub fn repaired_code(text: &str) -> (String, Option<String>) {
    let written = text.trim();
    let code: String = written.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    let repair = (code != written).then(|| format!("{written:?} read as {code:?}"));
    (code, repair)
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

/// The value of `field` in a JSON object; `None` when absent or null.
pub fn field<'v>(object: &'v Map<String, Value>, field: &str) -> Option<&'v Value> {
    object.get(field).filter(|value| !value.is_null())
}

/// A required decimal field, named in the error.
pub fn field_decimal(object: &Map<String, Value>, name: &str) -> Result<Decimal, String> {
    let value = field(object, name).ok_or_else(|| format!("`{name}` is missing"))?;
    decimal(value).map_err(|error| format!("`{name}`: {error}"))
}

/// A required non-negative amount field in major units, as exact minor units.
pub fn field_minor_units(object: &Map<String, Value>, name: &str) -> Result<i64, String> {
    minor_units(field_decimal(object, name)?).map_err(|error| format!("`{name}`: {error}"))
}

/// A required non-negative quantity field, as decimal text (`"12.5"`).
pub fn field_quantity(object: &Map<String, Value>, name: &str) -> Result<String, String> {
    let quantity = field_decimal(object, name)?;
    if quantity.is_sign_negative() && !quantity.is_zero() {
        return Err(format!("`{name}`: the quantity {quantity} is negative"));
    }
    Ok(quantity.normalize().to_string())
}

/// Reads a response body as JSON, explaining an HTML page, an empty body, or a parse error.
pub fn parse_json_body(body: &[u8]) -> Result<Value, String> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(body.len());
    let rest = &body[start..];
    if rest.is_empty() {
        return Err("the response body is empty".into());
    }
    if rest[0] == b'<' {
        let text = String::from_utf8_lossy(&rest[..rest.len().min(400)]);
        let squeezed: Vec<&str> = text.split_whitespace().collect();
        return Err(format!("the page is HTML, not JSON ({}…)", clip(&squeezed.join(" "), 120)));
    }
    serde_json::from_slice(body).map_err(|error| {
        let (line, column) = (error.line(), error.column());
        match error.classify() {
            serde_json::error::Category::Eof => {
                format!("the JSON is truncated: it ends at line {line} column {column} ({error})")
            }
            _ => format!("the body is not valid JSON at line {line} column {column}: {error}"),
        }
    })
}

/// What kind of JSON value this is, for a reason such as "the item is an array, not an object".
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
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
