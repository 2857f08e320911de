//! Cardinal's JSON result: `{"OCID": {ocid: {code: value}}, "Buyer": …, "ProcuringEntity": …,
//! "Tenderer": …, "Meta": {code: {name: value}}}`. Groups without flags are left out; `Meta`
//! values are rounded to 4 decimals, and a quartile of no values is `null`.

use std::io::{self, Write};

use serde_json::{Map, Value};

use crate::engine::Outcome;

/// The result as a JSON value.
pub fn cardinal_json(outcome: &Outcome, with_meta: bool) -> Value {
    let mut root = Map::new();
    for (group, keys) in outcome.results() {
        let mut by_key = Map::new();
        for (key, codes) in keys {
            let codes: Map<String, Value> =
                codes.into_iter().map(|(code, value)| (code.as_str().to_owned(), number(value))).collect();
            by_key.insert(key.to_owned(), Value::Object(codes));
        }
        root.insert(group.as_str().to_owned(), Value::Object(by_key));
    }
    if with_meta {
        let mut meta = Map::new();
        for (code, figures) in &outcome.meta {
            if figures.is_empty() {
                continue;
            }
            let figures: Map<String, Value> = figures
                .iter()
                .map(|(name, value)| (name.clone(), number((value * 10_000.0).round() / 10_000.0)))
                .collect();
            meta.insert(code.as_str().to_owned(), Value::Object(figures));
        }
        root.insert("Meta".to_owned(), Value::Object(meta));
    }
    Value::Object(root)
}

/// A float as JSON; NaN and infinities (a quartile of nothing) as `null`.
fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// Writes the result on one line.
pub fn write(outcome: &Outcome, with_meta: bool, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &cardinal_json(outcome, with_meta))?;
    out.write_all(b"\n")
}
