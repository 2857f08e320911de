//! The parts of an OCDS compiled release the indicators read, parsed leniently.
//!
//! Publications are messy: a `tender` that is a string, an `amount` that is `"1 000"`, a bid that
//! is `null`. Cardinal reads every line into a generic JSON tree and asks each field for the
//! type it wants, so a field of the wrong type is simply absent. These types give the same
//! answers without building the tree: each wrapper accepts its one JSON type and takes anything
//! else as absent, and every field the indicators do not read is skipped unparsed. Strings are
//! borrowed from the line unless they hold escapes.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A JSON string, or absent when the value is missing or of another type.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Str<'a>(pub Option<Cow<'a, str>>);

impl Str<'_> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// A JSON number, or absent when the value is missing or of another type.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Num {
    /// The number as a double, as cardinal's `as_f64` gives it.
    pub float: Option<f64>,
    /// The number when written as a non-negative integer, as cardinal's `as_u64` gives it.
    pub unsigned: Option<u64>,
}

/// A JSON object parsed as `T`, or absent when the value is missing or of another type.
#[derive(Debug, Clone)]
pub struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<T> Obj<T> {
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

/// A JSON array of `T`, or absent when the value is missing or of another type.
#[derive(Debug, Clone)]
pub struct Arr<T>(pub Option<Vec<T>>);

impl<T> Default for Arr<T> {
    fn default() -> Self {
        Arr(None)
    }
}

impl<T> Arr<T> {
    pub fn get(&self) -> Option<&[T]> {
        self.0.as_deref()
    }
}

/// Consumes whatever container the visitor was handed, so the parser can go on.
fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// The scalar visits every wrapper answers with "absent" unless it is the wrapper's own type.
macro_rules! absent_scalars {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method<E: serde::de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Ok(Default::default())
        })*
    };
}

macro_rules! absent_units {
    ($($method:ident),* $(,)?) => {
        $(fn $method<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        })*
    };
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v))))
            }
            absent_scalars!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64);
            absent_units!(visit_unit, visit_none);
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map).map(|()| Str(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| Str(None))
            }
        }
        deserializer.deserialize_any(StrVisitor(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumVisitor;
        impl<'de> Visitor<'de> for NumVisitor {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num { float: Some(v as f64), unsigned: Some(v) })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num { float: Some(v as f64), unsigned: u64::try_from(v).ok() })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num { float: Some(v), unsigned: None })
            }
            absent_scalars!(visit_bool: bool, visit_str: &str);
            absent_units!(visit_unit, visit_none);
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Num, A::Error> {
                drain_map(map).map(|()| Num::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Num, A::Error> {
                drain_seq(seq).map(|()| Num::default())
            }
        }
        deserializer.deserialize_any(NumVisitor)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|value| Obj(Some(value)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| Obj(None))
            }
            absent_scalars!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);
            absent_units!(visit_unit, visit_none);
        }
        deserializer.deserialize_any(ObjVisitor(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Arr<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArrVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ArrVisitor<T> {
            type Value = Arr<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Arr(Some(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map).map(|()| Arr(None))
            }
            absent_scalars!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);
            absent_units!(visit_unit, visit_none);
        }
        deserializer.deserialize_any(ArrVisitor(PhantomData))
    }
}

/// A compiled release: what the indicators read of it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Release<'a> {
    #[serde(borrow)]
    pub ocid: Str<'a>,
    #[serde(borrow)]
    pub buyer: Obj<OrganizationReference<'a>>,
    #[serde(borrow)]
    pub tender: Obj<Tender<'a>>,
    #[serde(borrow)]
    pub bids: Obj<Bids<'a>>,
    #[serde(borrow)]
    pub awards: Arr<Obj<Award<'a>>>,
}

/// `buyer`, `tender/procuringEntity`, a bid's tenderer, an award's supplier.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct OrganizationReference<'a> {
    #[serde(borrow)]
    pub id: Str<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Tender<'a> {
    #[serde(borrow)]
    pub status: Str<'a>,
    #[serde(borrow)]
    pub procurement_method: Str<'a>,
    #[serde(borrow)]
    pub procurement_method_details: Str<'a>,
    pub number_of_tenderers: Num,
    #[serde(borrow)]
    pub tender_period: Obj<Period<'a>>,
    #[serde(borrow)]
    pub procuring_entity: Obj<OrganizationReference<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Period<'a> {
    #[serde(borrow)]
    pub start_date: Str<'a>,
    #[serde(borrow)]
    pub end_date: Str<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Bids<'a> {
    #[serde(borrow)]
    pub details: Arr<Obj<Bid<'a>>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Bid<'a> {
    #[serde(borrow)]
    pub status: Str<'a>,
    #[serde(borrow)]
    pub date: Str<'a>,
    #[serde(borrow)]
    pub tenderers: Arr<Obj<OrganizationReference<'a>>>,
    #[serde(borrow)]
    pub value: Obj<Amount<'a>>,
}

/// An OCDS `Value`: an amount and its currency.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Amount<'a> {
    pub amount: Num,
    #[serde(borrow)]
    pub currency: Str<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Award<'a> {
    #[serde(borrow)]
    pub status: Str<'a>,
    #[serde(borrow)]
    pub suppliers: Arr<Obj<OrganizationReference<'a>>>,
    #[serde(borrow)]
    pub items: Arr<Obj<Item<'a>>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Item<'a> {
    #[serde(borrow)]
    pub classification: Obj<Classification<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Classification<'a> {
    #[serde(borrow)]
    pub id: Str<'a>,
}

/// One line of input: a release when it is a JSON object, else nothing to read.
pub fn parse(line: &str) -> Result<Option<Release<'_>>, serde_json::Error> {
    let release: Obj<Release<'_>> = serde_json::from_str(line)?;
    Ok(release.0)
}

/// A release already parsed as JSON (a compiled package, a database release), read in place:
/// its strings are borrowed from the tree.
pub fn from_value(value: &serde_json::Value) -> Option<Release<'_>> {
    let release: Obj<Release<'_>> = Deserialize::deserialize(value).ok()?;
    release.0
}

impl<'a> Release<'a> {
    pub fn tender(&self) -> Option<&Tender<'a>> {
        self.tender.get()
    }

    /// `bids/details`, when both are what OCDS says they are.
    pub fn bid_details(&self) -> Option<&[Obj<Bid<'a>>]> {
        self.bids.get()?.details.get()
    }

    /// The bids that were submitted: pending, valid or disqualified (any status but invited or
    /// withdrawn); a bid without a status is not counted.
    pub fn submitted_bids(&self) -> impl Iterator<Item = &Bid<'a>> {
        self.bid_details()
            .unwrap_or_default()
            .iter()
            .filter_map(Obj::get)
            .filter(|bid| matches!(bid.status.get(), Some(status) if status != "invited" && status != "withdrawn"))
    }

    /// The active awards and the bids, if every award with a status is final (active, cancelled
    /// or unsuccessful): a pending award can still change, and so could the result.
    pub fn final_awards_and_bids(&self) -> Option<(Vec<&Award<'a>>, &[Obj<Bid<'a>>])> {
        let awards = self.awards.get()?;
        let details = self.bid_details()?;
        let mut active = Vec::new();
        for award in awards.iter().filter_map(Obj::get) {
            match award.status.get() {
                Some("active") => active.push(award),
                Some("cancelled" | "unsuccessful") | None => {}
                Some(_) => return None,
            }
        }
        Some((active, details))
    }
}

impl<'a> Bid<'a> {
    /// The bid's tenderer, when there is exactly one and it has an id.
    pub fn sole_tenderer(&self) -> Option<&str> {
        match self.tenderers.get()? {
            [only] => only.get()?.id.get(),
            _ => None,
        }
    }

    pub fn tenderer_ids(&self) -> impl Iterator<Item = &str> {
        self.tenderers.get().unwrap_or_default().iter().filter_map(|t| t.get()?.id.get())
    }

    /// The amount and currency, when both are given.
    pub fn amount(&self) -> Option<(f64, &str)> {
        let value = self.value.get()?;
        Some((value.amount.float?, value.currency.get()?))
    }
}

impl<'a> Award<'a> {
    /// The award's supplier, when there is exactly one and it has an id.
    pub fn sole_supplier(&self) -> Option<&str> {
        match self.suppliers.get()? {
            [only] => only.get()?.id.get(),
            _ => None,
        }
    }

    pub fn supplier_ids(&self) -> impl Iterator<Item = &str> {
        self.suppliers.get().unwrap_or_default().iter().filter_map(|s| s.get()?.id.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_of_the_wrong_type_is_absent_and_the_rest_still_reads() {
        let line = r#"{"ocid":"A","tender":"oops","bids":{"details":[null,{"status":"valid","value":{"amount":"1","currency":"KZT"},"tenderers":[{"id":7}]}]},"awards":{"x":1}}"#;
        let release = parse(line).unwrap().unwrap();
        assert_eq!(release.ocid.get(), Some("A"));
        assert!(release.tender().is_none());
        assert!(release.awards.get().is_none());
        let details = release.bid_details().unwrap();
        assert_eq!(details.len(), 2);
        assert!(details[0].get().is_none());
        let bid = details[1].get().unwrap();
        assert_eq!(bid.status.get(), Some("valid"));
        assert_eq!(bid.amount(), None, "a string amount is not a number");
        assert_eq!(bid.sole_tenderer(), None, "a numeric id is not an id");
    }

    #[test]
    fn numbers_keep_the_integer_reading_cardinal_uses_for_counts() {
        let r = parse(r#"{"tender":{"numberOfTenderers":1}}"#).unwrap().unwrap();
        assert_eq!(r.tender().unwrap().number_of_tenderers.unsigned, Some(1));
        let r = parse(r#"{"tender":{"numberOfTenderers":1.0}}"#).unwrap().unwrap();
        assert_eq!(r.tender().unwrap().number_of_tenderers.unsigned, None);
        assert_eq!(r.tender().unwrap().number_of_tenderers.float, Some(1.0));
    }

    #[test]
    fn a_line_that_is_not_an_object_is_no_release_and_broken_json_is_an_error() {
        assert!(parse("[1,2]").unwrap().is_none());
        assert!(parse("\"x\"").unwrap().is_none());
        let error = parse(r#"{"ocid": }"#).unwrap_err();
        assert_eq!((error.line(), error.column()), (1, 10));
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let r = parse(r#"{"ocid":"a\"b\u0041"}"#).unwrap().unwrap();
        assert_eq!(r.ocid.get(), Some("a\"bA"));
    }
}
