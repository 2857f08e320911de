//! The OCDS merge routine (OCDS 1.1, <https://standard.open-contracting.org/1.1/en/schema/merging/>):
//! compiles the releases of a contracting process into its compiled release (the latest value of
//! every field) or its versioned release (the history of every field).
//!
//! The rules, as the standard gives them:
//!
//! - Releases are merged in order of `date`. Dates are compared as strings, as OCDS tooling does
//!   (RFC 3339 timestamps in one offset sort correctly that way); a release without a date sorts
//!   first, and releases with equal dates keep their input order.
//! - Objects merge key by key, recursively. A later value replaces an earlier one; a JSON `null`
//!   in a later release removes the field.
//! - An array whose items are all objects with a non-null `id` is merged by id: an item whose id
//!   was seen before merges into that item, recursively; an item with a new id is appended. Two
//!   items with the same id in one release merge into one item, in order. Ids are compared as
//!   given, by their JSON text: the standard says "the same `id` value", and `1` and `"1"` are
//!   different JSON values, so they are different items. (The Python reference implementation,
//!   ocds-merge, keys items by the id turned into a string and would merge them; a publisher that
//!   switches an id between number and string gets two items here.)
//! - An empty array leaves an array merged by id as it was (the standard's identifier merge "does
//!   nothing" with an empty array: an item is removed by setting its fields to `null`); anywhere
//!   else it is a value like any other.
//! - Any other array (of strings, numbers, or objects not all with ids) replaces the earlier value
//!   whole, and so do the arrays the schema marks `wholeListMerge` ([`WHOLE_LIST_MERGE`]) even
//!   when their items have ids. The standard decides this from the schema; here, apart from
//!   `wholeListMerge`, it is decided from the data, which agrees wherever the data follows the
//!   schema.
//! - The release fields the schema marks `omitWhenMerged` ([`OMIT_WHEN_MERGED`]) are not merged;
//!   the compiled release gets its own: `id` = `{ocid}-{date of the last release}`, `date` = the
//!   last release's date, `tag` = `["compiled"]`.
//!
//! Bounds: objects and arrays are merged down to [`MAX_DEPTH`] levels of nesting; a value nested
//! deeper is treated as a single field and replaced whole (no error: real OCDS data is about six
//! levels deep, and the merge must not recurse without bound on hostile input). Arrays merged by id
//! keep a map from id to position, so merging many releases of many items stays linear.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde_json::{Map, Value};

/// The release fields with `"omitWhenMerged": true` in the OCDS 1.1.5 release schema
/// (`fixtures/ocds-schema-1.1.5/release-schema.json`: `/properties/id`, `/properties/date` and
/// `/properties/tag`, all three top-level release fields). They describe one release, not the
/// contracting process, so they are dropped from the merge; nested fields with the same names
/// (an award's `date`, an item's `id`) are merged as usual.
pub const OMIT_WHEN_MERGED: [&str; 3] = ["id", "date", "tag"];

/// The fields with `"wholeListMerge": true` in the OCDS 1.1.5 release schema
/// (`fixtures/ocds-schema-1.1.5/release-schema.json`:
/// `/definitions/Organization/properties/additionalIdentifiers`,
/// `/definitions/OrganizationReference/properties/additionalIdentifiers` and
/// `/definitions/Item/properties/additionalClassifications`). No other field of the schema has
/// these names, so matching the field name alone, at any depth, is exact. Their items have ids
/// (an identifier's or a classification's, which repeat across schemes), yet the list is replaced
/// whole.
///
/// The schema's `versionId: true` (on `Tender.id`, `Item.unit.id`, `Classification.id`,
/// `Identifier.id`) needs no list: it marks ids that are versioned like any other field, which is
/// what happens to every `id` that is not the id of an item in an array merged by id.
pub const WHOLE_LIST_MERGE: [&str; 2] = ["additionalIdentifiers", "additionalClassifications"];

/// The deepest level of nesting that is merged (a release's own fields are level 1); an object or
/// array found at this level is taken whole.
pub const MAX_DEPTH: usize = 64;

/// The fields of a linked release (in a record's `releases`: a pointer to a release published
/// elsewhere, which cannot be compiled).
const LINKED_RELEASE_FIELDS: [&str; 3] = ["url", "date", "tag"];

/// Why a document could not be turned into compiled releases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("the document is neither a release, a release package nor a record package")]
    NotAPackage,
    #[error("the `{field}` of the package is not an array")]
    NotAnArray { field: &'static str },
    /// `release` counts from 1, in the order of the package's `releases`.
    #[error("a release in `releases` is not a JSON object (release {release})")]
    ReleaseNotAnObject { release: usize },
    /// `release` counts from 1, in the order of the package's `releases`.
    #[error("a release in `releases` has no ocid string (release {release})")]
    ReleaseWithoutOcid { release: usize },
    /// `record` counts from 1, in the order of the package's `records`.
    #[error("a record in `records` is not a JSON object (record {record})")]
    RecordNotAnObject { record: usize },
    /// The record has no `compiledRelease` object, and its `releases` are all linked releases
    /// (only `url`, `date`, `tag`) or absent. `record` counts from 1.
    #[error("{} has neither compiledRelease nor embedded releases (record {record})", record_named(.ocid))]
    RecordWithoutReleases { ocid: Option<String>, record: usize },
    /// Some records of a record package could not be compiled; each is one of the record errors.
    #[error("{} of the package could not be compiled: {}", records_counted(.0.len()), joined(.0))]
    UncompilableRecords(Vec<MergeError>),
}

fn record_named(ocid: &Option<String>) -> String {
    match ocid {
        Some(ocid) => format!("the record for ocid {ocid}"),
        None => "a record without an ocid".to_owned(),
    }
}

fn records_counted(count: usize) -> String {
    if count == 1 { "1 record".to_owned() } else { format!("{count} records") }
}

fn joined(errors: &[MergeError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// What a line of input turned out to be, after compiling.
#[derive(Debug, Clone, PartialEq)]
pub enum Compiled {
    /// A release package: its releases grouped by ocid and compiled, in order of first appearance.
    ReleasePackage(Vec<Value>),
    /// A record package: each record's compiled release, in order, for the records that have
    /// one or whose embedded releases compile; and, in order, the records that could not be
    /// compiled ([`MergeError::RecordNotAnObject`] or [`MergeError::RecordWithoutReleases`]).
    RecordPackage { compiled: Vec<Value>, uncompilable: Vec<MergeError> },
    /// A record on its own (an object with an `ocid` and `releases` or `compiledRelease`): its
    /// compiled release.
    Record(Value),
    /// Any other object with an `ocid`, taken to be a compiled release already, unchanged.
    Release(Value),
}

impl Compiled {
    /// The compiled releases, whatever the document was; a record package's uncompilable records
    /// are left out (see [`compiled_releases`] to have them as an error instead).
    pub fn into_compiled_releases(self) -> Vec<Value> {
        match self {
            Compiled::ReleasePackage(compiled) | Compiled::RecordPackage { compiled, .. } => compiled,
            Compiled::Record(compiled) | Compiled::Release(compiled) => vec![compiled],
        }
    }
}

/// Compiles the releases of one contracting process (same ocid), given in any order, into its
/// compiled release: sorts by `date` (RFC 3339 strings compare; a release without date sorts
/// first, ties keep input order), merges each in turn.
///
/// Items that are not JSON objects are skipped. The compiled release's `id` is
/// `{ocid}-{date of the last release}` (only the ocid if no release has a date, absent if there
/// is no ocid either), its `date` the last release's date (absent if none), its `tag`
/// `["compiled"]`.
pub fn compile(releases: Vec<Value>) -> Value {
    let mut fields: BTreeMap<String, Node<Latest>> = BTreeMap::new();
    let mut last_date = None;
    for mut release in in_date_order(releases) {
        let origin = Rc::new(Origin::take_from(&mut release));
        last_date = origin.release_date.as_str().map(str::to_owned);
        merge_fields(&mut fields, release, &origin, 1);
    }
    let mut compiled = fields_into_json(fields);
    let ocid = compiled.get("ocid").and_then(Value::as_str).map(str::to_owned);
    let id = match (ocid, &last_date) {
        (Some(ocid), Some(date)) => Some(format!("{ocid}-{date}")),
        (Some(ocid), None) => Some(ocid),
        (None, _) => None,
    };
    if let Some(id) = id {
        compiled.insert("id".to_owned(), Value::String(id));
    }
    if let Some(date) = last_date {
        compiled.insert("date".to_owned(), Value::String(date));
    }
    compiled.insert("tag".to_owned(), Value::Array(vec![Value::String("compiled".to_owned())]));
    Value::Object(compiled)
}

/// Compiles the releases of one contracting process into its versioned release (OCDS versioned
/// release: every field becomes an array of {releaseID, releaseDate, releaseTag, value} entries,
/// only appended when the value changes).
///
/// Releases are ordered as by [`compile`]. `ocid` is not versioned (the latest one is kept);
/// the release's own `id`, `date` and `tag` are not fields of the versioned release but the
/// `releaseID`, `releaseDate` and `releaseTag` of its entries (`null` when the release lacks them).
/// Arrays merged by id become arrays of objects whose `id` is plain and whose other fields are
/// versioned; other arrays are versioned whole. A `null` is a value like any other (the standard's
/// rule for literal values): appended when it differs from the field's current value, even for a
/// field never set; a `null` given for an object or an array merged by id is appended to each
/// field inside. A field that changes kind (between object, array merged by id, and plain value)
/// starts a new history at that release.
pub fn versioned(releases: Vec<Value>) -> Value {
    let mut fields: BTreeMap<String, Node<History>> = BTreeMap::new();
    let mut ocid = None;
    for mut release in in_date_order(releases) {
        let origin = Rc::new(Origin::take_from(&mut release));
        if let Some(release_ocid) = release.remove("ocid")
            && !release_ocid.is_null()
        {
            ocid = Some(release_ocid);
        }
        merge_fields(&mut fields, release, &origin, 1);
    }
    let mut versioned = fields_into_json(fields);
    if let Some(ocid) = ocid {
        versioned.insert("ocid".to_owned(), ocid);
    }
    Value::Object(versioned)
}

/// The compiled releases a JSON document stands for, one per ocid, in order of first appearance:
/// - a release package (object with a `releases` array): its releases grouped by ocid and compiled;
/// - a record package (object with a `records` array): each record's `compiledRelease` if present,
///   else its `releases` compiled (linked releases, with only `url`/`date`/`tag`, cannot be
///   compiled and are skipped; a record left with nothing is reported, with every other such
///   record, in [`MergeError::UncompilableRecords`], and then no compiled release is returned);
/// - a record on its own (an object with an `ocid` and `releases` or `compiledRelease`): as a
///   record of a record package;
/// - anything else with an `ocid` key: itself (already a compiled release).
///
/// An empty package gives an empty Vec and no error.
pub fn compiled_releases(document: Value) -> Result<Vec<Value>, MergeError> {
    match compile_document(document)? {
        Compiled::RecordPackage { uncompilable, .. } if !uncompilable.is_empty() => {
            Err(MergeError::UncompilableRecords(uncompilable))
        }
        compiled => Ok(compiled.into_compiled_releases()),
    }
}

/// What a JSON document is, with its compiled releases, as [`compiled_releases`] describes; a
/// record package's records that cannot be compiled are listed beside those that can.
pub fn compile_document(document: Value) -> Result<Compiled, MergeError> {
    let Value::Object(mut document) = document else {
        return Err(MergeError::NotAPackage);
    };
    if let Some(records) = document.remove("records") {
        let Value::Array(records) = records else {
            return Err(MergeError::NotAnArray { field: "records" });
        };
        let mut compiled = Vec::with_capacity(records.len());
        let mut uncompilable = Vec::new();
        for (index, record) in records.into_iter().enumerate() {
            match compile_record(record, index + 1) {
                Ok(release) => compiled.push(release),
                Err(error) => uncompilable.push(error),
            }
        }
        return Ok(Compiled::RecordPackage { compiled, uncompilable });
    }
    if document.contains_key("ocid") {
        // A release has neither field; a record has `releases` and may have `compiledRelease`.
        if document.contains_key("releases") || document.contains_key("compiledRelease") {
            return compile_record(Value::Object(document), 1).map(Compiled::Record);
        }
        return Ok(Compiled::Release(Value::Object(document)));
    }
    if let Some(releases) = document.remove("releases") {
        let Value::Array(releases) = releases else {
            return Err(MergeError::NotAnArray { field: "releases" });
        };
        return compile_release_package(releases).map(Compiled::ReleasePackage);
    }
    Err(MergeError::NotAPackage)
}

/// The releases of a release package grouped by ocid, in order of first appearance, compiled.
fn compile_release_package(releases: Vec<Value>) -> Result<Vec<Value>, MergeError> {
    let mut processes: Vec<Vec<Value>> = Vec::new();
    let mut process_by_ocid: HashMap<String, usize> = HashMap::new();
    for (index, release) in releases.into_iter().enumerate() {
        let Value::Object(fields) = &release else {
            return Err(MergeError::ReleaseNotAnObject { release: index + 1 });
        };
        let Some(ocid) = fields.get("ocid").and_then(Value::as_str) else {
            return Err(MergeError::ReleaseWithoutOcid { release: index + 1 });
        };
        match process_by_ocid.get(ocid) {
            Some(&process) => processes[process].push(release),
            None => {
                process_by_ocid.insert(ocid.to_owned(), processes.len());
                processes.push(vec![release]);
            }
        }
    }
    Ok(processes.into_iter().map(compile).collect())
}

/// A record's compiled release: its `compiledRelease` if that is an object, else its embedded
/// releases compiled (given the record's ocid when they lack one). `position` counts from 1.
fn compile_record(record: Value, position: usize) -> Result<Value, MergeError> {
    let Value::Object(mut record) = record else {
        return Err(MergeError::RecordNotAnObject { record: position });
    };
    if let Some(compiled @ Value::Object(_)) = record.remove("compiledRelease") {
        return Ok(compiled);
    }
    let ocid = record.get("ocid").and_then(Value::as_str).map(str::to_owned);
    let mut embedded: Vec<Value> = match record.remove("releases") {
        Some(Value::Array(releases)) => releases.into_iter().filter(is_embedded_release).collect(),
        _ => Vec::new(),
    };
    if embedded.is_empty() {
        return Err(MergeError::RecordWithoutReleases { ocid, record: position });
    }
    if let Some(ocid) = &ocid {
        for release in &mut embedded {
            if let Value::Object(fields) = release
                && !fields.contains_key("ocid")
            {
                fields.insert("ocid".to_owned(), Value::String(ocid.clone()));
            }
        }
    }
    Ok(compile(embedded))
}

/// Whether an item of a record's `releases` is a release itself, not a link to one.
fn is_embedded_release(release: &Value) -> bool {
    match release {
        Value::Object(fields) => fields.keys().any(|name| !LINKED_RELEASE_FIELDS.contains(&name.as_str())),
        _ => false,
    }
}

/// The releases that are objects, stably sorted by `date` string, those without one first.
fn in_date_order(releases: Vec<Value>) -> Vec<Map<String, Value>> {
    let mut releases: Vec<Map<String, Value>> = releases
        .into_iter()
        .filter_map(|release| match release {
            Value::Object(fields) => Some(fields),
            _ => None,
        })
        .collect();
    // `sort_by` is stable, so releases with equal dates keep their input order.
    releases.sort_by(|a, b| release_date(a).cmp(&release_date(b)));
    releases
}

fn release_date(release: &Map<String, Value>) -> Option<&str> {
    release.get("date").and_then(Value::as_str)
}

/// The release a merged value came from: its `id`, `date` and `tag`, taken out of the release
/// since they are [`OMIT_WHEN_MERGED`]. `Null` when the release lacks them.
#[derive(Debug)]
struct Origin {
    release_id: Value,
    release_date: Value,
    release_tag: Value,
}

impl Origin {
    fn take_from(release: &mut Map<String, Value>) -> Origin {
        let [id, date, tag] = OMIT_WHEN_MERGED.map(|name| release.remove(name).unwrap_or(Value::Null));
        Origin { release_id: id, release_date: date, release_tag: tag }
    }
}

/// A field of the release being compiled, after merging some releases.
enum Node<F> {
    Object(BTreeMap<String, Node<F>>),
    /// An array of objects with ids, merged by id.
    Identified(IdentifiedItems<F>),
    /// A value merged whole: a scalar, an array not merged by id, or anything nested at
    /// [`MAX_DEPTH`].
    Whole(F),
}

/// The items of an array merged by id, in order of first appearance.
struct IdentifiedItems<F> {
    items: Vec<IdentifiedItem<F>>,
    /// The position in `items` of each id, by its JSON text.
    position_by_id: HashMap<String, usize>,
}

struct IdentifiedItem<F> {
    /// The id as first given; it is the item's identity, so it is neither merged nor versioned.
    id: Value,
    fields: BTreeMap<String, Node<F>>,
}

/// What is kept of a value merged whole: its latest value ([`Latest`], for the compiled release)
/// or its history ([`History`], for the versioned release).
trait Whole: Sized {
    /// Whether a `null` is a value like any other, recorded in the field's history (versioned
    /// release), rather than the removal of the field (compiled release).
    const NULL_IS_A_VALUE: bool;
    /// The field as first set, to `value`, by the release `origin`.
    fn first(value: Value, origin: &Rc<Origin>) -> Self;
    /// The release `origin` sets the field to `value`.
    fn set(&mut self, value: Value, origin: &Rc<Origin>);
    fn into_json(self) -> Value;
}

/// The compiled release keeps the latest value of a field.
struct Latest(Value);

impl Whole for Latest {
    const NULL_IS_A_VALUE: bool = false;

    fn first(value: Value, _: &Rc<Origin>) -> Self {
        Latest(value)
    }

    fn set(&mut self, value: Value, _: &Rc<Origin>) {
        self.0 = value;
    }

    fn into_json(self) -> Value {
        self.0
    }
}

/// The versioned release keeps every value a field took, with the release that gave it; never
/// empty.
struct History(Vec<Version>);

struct Version {
    origin: Rc<Origin>,
    value: Value,
}

impl Whole for History {
    const NULL_IS_A_VALUE: bool = true;

    fn first(value: Value, origin: &Rc<Origin>) -> Self {
        History(vec![Version { origin: Rc::clone(origin), value }])
    }

    /// Appends `value` unless it is the field's current value.
    fn set(&mut self, value: Value, origin: &Rc<Origin>) {
        if self.0.last().is_none_or(|current| current.value != value) {
            self.0.push(Version { origin: Rc::clone(origin), value });
        }
    }

    fn into_json(self) -> Value {
        let versions = self.0.into_iter().map(|version| {
            let mut entry = Map::new();
            entry.insert("releaseID".to_owned(), version.origin.release_id.clone());
            entry.insert("releaseDate".to_owned(), version.origin.release_date.clone());
            entry.insert("releaseTag".to_owned(), version.origin.release_tag.clone());
            entry.insert("value".to_owned(), version.value);
            Value::Object(entry)
        });
        Value::Array(versions.collect())
    }
}

/// Merges the fields of one release's object, found at nesting level `depth`, into `merged`.
fn merge_fields<F: Whole>(
    merged: &mut BTreeMap<String, Node<F>>,
    fields: Map<String, Value>,
    origin: &Rc<Origin>,
    depth: usize,
) {
    for (name, value) in fields {
        let previous = merged.remove(&name);
        if let Some(node) = merge_value(previous, &name, value, origin, depth) {
            merged.insert(name, node);
        }
    }
}

/// The field `name` after the release `origin` gives it `value`, at nesting level `depth`;
/// `None` when the field no longer exists.
fn merge_value<F: Whole>(
    previous: Option<Node<F>>,
    name: &str,
    value: Value,
    origin: &Rc<Origin>,
    depth: usize,
) -> Option<Node<F>> {
    let nested = depth < MAX_DEPTH;
    match value {
        Value::Null if !F::NULL_IS_A_VALUE => None,
        // Versioned: removing an object or a list records the removal of each field inside.
        Value::Null if matches!(previous, Some(Node::Object(_) | Node::Identified(_))) => {
            let mut node = previous?;
            node.set_to_null(origin);
            Some(node)
        }
        Value::Object(fields) if nested => {
            let mut merged = match previous {
                Some(Node::Object(merged)) => merged,
                _ => BTreeMap::new(),
            };
            merge_fields(&mut merged, fields, origin, depth + 1);
            Some(Node::Object(merged))
        }
        // The standard's identifier merge does nothing with an empty array.
        Value::Array(items) if items.is_empty() && matches!(previous, Some(Node::Identified(_))) => previous,
        Value::Array(items) if nested && is_merged_by_id(name, &items) => {
            let mut merged = match previous {
                Some(Node::Identified(merged)) => merged,
                _ => IdentifiedItems { items: Vec::new(), position_by_id: HashMap::new() },
            };
            merged.merge(items, origin, depth + 1);
            Some(Node::Identified(merged))
        }
        value => Some(match previous {
            Some(Node::Whole(mut whole)) => {
                whole.set(value, origin);
                Node::Whole(whole)
            }
            _ => Node::Whole(F::first(value, origin)),
        }),
    }
}

/// Whether the array `items`, the value of the field `name`, is merged by id: it is not empty,
/// not [`WHOLE_LIST_MERGE`], and every item is an object with a non-null `id`.
fn is_merged_by_id(name: &str, items: &[Value]) -> bool {
    !items.is_empty()
        && !WHOLE_LIST_MERGE.contains(&name)
        && items.iter().all(|item| item.get("id").is_some_and(|id| !id.is_null()))
}

impl<F: Whole> IdentifiedItems<F> {
    /// Merges the items of one release's array, found at nesting level `depth`; every item is an
    /// object with an id ([`is_merged_by_id`]).
    fn merge(&mut self, items: Vec<Value>, origin: &Rc<Origin>, depth: usize) {
        for item in items {
            let Value::Object(mut fields) = item else { continue };
            let Some(id) = fields.remove("id") else { continue };
            let id_text = id.to_string();
            let position = match self.position_by_id.get(&id_text) {
                Some(&position) => position,
                None => {
                    let position = self.items.len();
                    self.items.push(IdentifiedItem { id, fields: BTreeMap::new() });
                    self.position_by_id.insert(id_text, position);
                    position
                }
            };
            merge_fields(&mut self.items[position].fields, fields, origin, depth + 1);
        }
    }
}

impl<F: Whole> Node<F> {
    /// The release `origin` sets this object or list to `null`, in a versioned release: every
    /// field inside records the `null`, and the node stays.
    fn set_to_null(&mut self, origin: &Rc<Origin>) {
        match self {
            Node::Object(fields) => fields.values_mut().for_each(|field| field.set_to_null(origin)),
            Node::Identified(identified) => {
                for item in &mut identified.items {
                    item.fields.values_mut().for_each(|field| field.set_to_null(origin));
                }
            }
            Node::Whole(whole) => whole.set(Value::Null, origin),
        }
    }

    fn into_json(self) -> Value {
        match self {
            Node::Object(fields) => Value::Object(fields_into_json(fields)),
            Node::Identified(identified) => {
                let items = identified.items.into_iter().map(|item| {
                    let mut fields = fields_into_json(item.fields);
                    fields.insert("id".to_owned(), item.id);
                    Value::Object(fields)
                });
                Value::Array(items.collect())
            }
            Node::Whole(whole) => whole.into_json(),
        }
    }
}

fn fields_into_json<F: Whole>(fields: BTreeMap<String, Node<F>>) -> Map<String, Value> {
    fields.into_iter().map(|(name, node)| (name, node.into_json())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(path: &str) -> Value {
        let full_path = format!("{}/../fixtures/ocds/{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&full_path).unwrap_or_else(|error| panic!("{full_path}: {error}"));
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{full_path}: {error}"))
    }

    /// The six release packages of the standard's worked example, through the life of one process.
    const FICTIONAL_PACKAGES: [&str; 6] = [
        "fictional/ocds-213czf-000-00001-01-planning.json",
        "fictional/ocds-213czf-000-00001-02-tender.json",
        "fictional/ocds-213czf-000-00001-03-tenderAmendment.json",
        "fictional/ocds-213czf-000-00001-04-award.json",
        "fictional/ocds-213czf-000-00001-05-contract.json",
        "fictional/ocds-213czf-000-00001-06-implementation.json",
    ];

    fn fictional_releases() -> Vec<Value> {
        let mut releases = Vec::new();
        for path in FICTIONAL_PACKAGES {
            match fixture(path) {
                Value::Object(mut package) => match package.remove("releases") {
                    Some(Value::Array(package_releases)) => releases.extend(package_releases),
                    other => panic!("{path}: releases is {other:?}"),
                },
                other => panic!("{path}: not an object: {other:?}"),
            }
        }
        releases
    }

    #[test]
    fn merge_compiles_releases_given_in_reverse_date_order_to_the_later_values() {
        let later = json!({
            "ocid": "ocds-x-1", "id": "r2", "date": "2024-02-01T00:00:00Z", "tag": ["award"],
            "tender": {"status": "complete"}
        });
        let earlier = json!({
            "ocid": "ocds-x-1", "id": "r1", "date": "2024-01-01T00:00:00Z", "tag": ["tender"],
            "tender": {"status": "active", "title": "Roads"}
        });
        assert_eq!(
            compile(vec![later, earlier]),
            json!({
                "ocid": "ocds-x-1",
                "id": "ocds-x-1-2024-02-01T00:00:00Z",
                "date": "2024-02-01T00:00:00Z",
                "tag": ["compiled"],
                "tender": {"status": "complete", "title": "Roads"}
            })
        );
    }

    #[test]
    fn merge_sorts_a_release_without_date_first_and_keeps_ties_in_input_order() {
        let first = json!({"ocid": "o", "date": "2024-01-01T00:00:00Z", "title": "first"});
        let second = json!({"ocid": "o", "date": "2024-01-01T00:00:00Z", "title": "second"});
        let undated = json!({"ocid": "o", "title": "undated", "description": "kept"});
        let compiled = compile(vec![first, second, undated]);
        assert_eq!(compiled["title"], "second");
        assert_eq!(compiled["description"], "kept");
        assert_eq!(compiled["id"], "o-2024-01-01T00:00:00Z");
    }

    #[test]
    fn merge_null_removes_a_field() {
        let compiled = compile(vec![
            json!({"ocid": "o", "date": "2024-01-01", "tender": {"status": "active", "value": {"amount": 5}}}),
            json!({"ocid": "o", "date": "2024-01-02", "tender": {"status": null}, "buyer": null}),
            json!({"ocid": "o", "date": "2024-01-03", "tender": {"value": null}}),
        ]);
        assert_eq!(compiled["tender"], json!({}));
        assert!(compiled.get("buyer").is_none());
    }

    #[test]
    fn merge_arrays_of_objects_with_ids_merge_by_id_and_other_arrays_replace() {
        let compiled = compile(vec![
            json!({"ocid": "o", "date": "1", "awards": [
                {"id": "a1", "status": "pending", "title": "first"},
                {"id": "a2", "status": "pending"}
            ], "tender": {
                "submissionMethod": ["electronicSubmission", "inPerson"],
                "milestones": [{"title": "no id"}]
            }}),
            json!({"ocid": "o", "date": "2", "awards": [
                {"id": "a2", "status": "active"},
                {"id": "a3", "status": "pending"},
                {"id": 1, "status": "numeric id"},
                {"id": "1", "status": "string id"}
            ], "tender": {"submissionMethod": ["written"], "milestones": [{"title": "replaced"}]}}),
        ]);
        assert_eq!(
            compiled["awards"],
            json!([
                {"id": "a1", "status": "pending", "title": "first"},
                {"id": "a2", "status": "active"},
                {"id": "a3", "status": "pending"},
                {"id": 1, "status": "numeric id"},
                {"id": "1", "status": "string id"}
            ])
        );
        assert_eq!(compiled["tender"]["submissionMethod"], json!(["written"]));
        assert_eq!(compiled["tender"]["milestones"], json!([{"title": "replaced"}]));
    }

    #[test]
    fn merge_an_empty_array_leaves_items_with_ids_and_replaces_other_values() {
        let compiled = compile(vec![
            json!({"ocid": "o", "date": "1", "awards": [{"id": "a1"}], "tender": {"submissionMethod": ["written"]}}),
            json!({"ocid": "o", "date": "2", "awards": [], "tender": {"submissionMethod": []}, "contracts": []}),
        ]);
        assert_eq!(compiled["awards"], json!([{"id": "a1"}]));
        assert_eq!(compiled["tender"]["submissionMethod"], json!([]));
        assert_eq!(compiled["contracts"], json!([]));
    }

    #[test]
    fn merge_whole_list_merge_field_is_replaced_whole() {
        // `Item.additionalClassifications` is `wholeListMerge` in the 1.1.5 schema; its items
        // have ids, yet the second release's list replaces the first's, while the items around
        // it (tender.items, ids without wholeListMerge) merge by id.
        let item_before = json!({"id": "i1", "description": "asphalt", "additionalClassifications": [
            {"scheme": "CPV", "id": "A"},
            {"scheme": "CPV", "id": "B"}
        ]});
        let item_after = json!({"id": "i1", "additionalClassifications": [{"scheme": "CPV", "id": "C"}]});
        let buyer_before = json!({"name": "Akimat", "additionalIdentifiers": [
            {"scheme": "KZ-BIN", "id": "1"},
            {"scheme": "X", "id": "2"}
        ]});
        let buyer_after = json!({"additionalIdentifiers": [{"scheme": "KZ-BIN", "id": "1", "legalName": "new"}]});
        let compiled = compile(vec![
            json!({"ocid": "o", "date": "1", "tender": {"items": [item_before]}, "buyer": buyer_before}),
            json!({"ocid": "o", "date": "2", "tender": {"items": [item_after]}, "buyer": buyer_after}),
        ]);
        assert_eq!(
            compiled["tender"]["items"],
            json!([{"id": "i1", "description": "asphalt", "additionalClassifications": [{"scheme": "CPV", "id": "C"}]}])
        );
        assert_eq!(
            compiled["buyer"],
            json!({"name": "Akimat", "additionalIdentifiers": [{"scheme": "KZ-BIN", "id": "1", "legalName": "new"}]})
        );
    }

    #[test]
    fn merge_compiling_the_same_package_twice_gives_identical_output() {
        let package = fixture("fictional/ocds-213czf-000-00001-04-award.json");
        let once = compiled_releases(package.clone()).expect("a release package");
        let twice = compiled_releases(package).expect("a release package");
        assert_eq!(serde_json::to_string(&once).ok(), serde_json::to_string(&twice).ok());
        // And the order the releases come in does not matter when their dates differ.
        let mut reversed = fictional_releases();
        reversed.reverse();
        assert_eq!(compile(reversed), compile(fictional_releases()));
    }

    #[test]
    fn merge_empty_release_package_gives_no_compiled_release() {
        let package = json!({"uri": "https://example.org", "version": "1.1", "releases": []});
        assert_eq!(compiled_releases(package), Ok(Vec::new()));
        assert_eq!(compiled_releases(json!({"version": "1.1", "records": []})), Ok(Vec::new()));
    }

    #[test]
    fn merge_release_package_groups_releases_by_ocid_in_order_of_first_appearance() {
        let package = json!({"releases": [
            {"ocid": "b", "date": "2", "title": "b2"},
            {"ocid": "a", "date": "1", "title": "a1"},
            {"ocid": "b", "date": "1", "title": "b1", "description": "b"},
        ]});
        let compiled = compiled_releases(package).expect("a release package");
        assert_eq!(compiled.len(), 2);
        assert_eq!(
            compiled[0],
            json!({"ocid": "b", "id": "b-2", "date": "2", "tag": ["compiled"], "title": "b2", "description": "b"})
        );
        assert_eq!(compiled[1]["title"], "a1");
    }

    #[test]
    fn merge_record_package_with_compiled_release_returns_it() {
        let compiled_release = json!({"ocid": "o", "id": "o-2", "tag": ["compiled"], "tender": {"status": "complete"}});
        let package = json!({"records": [{
            "ocid": "o",
            "releases": [{"url": "https://example.org/1", "date": "1", "tag": ["tender"]}],
            "compiledRelease": compiled_release,
        }]});
        assert_eq!(compiled_releases(package), Ok(vec![compiled_release]));
    }

    #[test]
    fn merge_record_package_with_only_releases_compiles_them() {
        let package = json!({"records": [{
            "ocid": "o",
            "releases": [
                {"url": "https://example.org/0", "date": "0", "tag": ["planning"]},
                {"id": "r2", "date": "2", "tag": ["award"], "awards": [{"id": "a", "status": "active"}]},
                {"ocid": "o", "id": "r1", "date": "1", "tag": ["tender"], "tender": {"status": "active"}},
            ],
        }]});
        assert_eq!(
            compiled_releases(package),
            Ok(vec![json!({
                "ocid": "o", "id": "o-2", "date": "2", "tag": ["compiled"],
                "tender": {"status": "active"}, "awards": [{"id": "a", "status": "active"}]
            })])
        );
    }

    #[test]
    fn merge_record_with_only_linked_releases_is_reported() {
        let package = json!({"records": [
            {"ocid": "good", "compiledRelease": {"ocid": "good"}},
            {"ocid": "linked", "releases": [{"url": "https://example.org/1", "date": "1", "tag": ["tender"]}]},
            "not a record",
        ]});
        let uncompilable = vec![
            MergeError::RecordWithoutReleases { ocid: Some("linked".to_owned()), record: 2 },
            MergeError::RecordNotAnObject { record: 3 },
        ];
        assert_eq!(
            compile_document(package.clone()),
            Ok(Compiled::RecordPackage { compiled: vec![json!({"ocid": "good"})], uncompilable: uncompilable.clone() })
        );
        let error = compiled_releases(package).expect_err("two records cannot be compiled");
        assert_eq!(error, MergeError::UncompilableRecords(uncompilable));
        assert_eq!(
            error.to_string(),
            "2 records of the package could not be compiled: the record for ocid linked has neither compiledRelease \
             nor embedded releases (record 2); a record in `records` is not a JSON object (record 3)"
        );
    }

    #[test]
    fn merge_documents_of_other_shapes() {
        let release = json!({"ocid": "o", "tag": ["compiled"], "tender": {}});
        assert_eq!(compiled_releases(release.clone()), Ok(vec![release]));
        let record = json!({"ocid": "o", "releases": [{"ocid": "o", "date": "1", "title": "t"}]});
        assert_eq!(
            compiled_releases(record),
            Ok(vec![json!({"ocid": "o", "id": "o-1", "date": "1", "tag": ["compiled"], "title": "t"})])
        );
        assert_eq!(compiled_releases(json!([1, 2])), Err(MergeError::NotAPackage));
        assert_eq!(compiled_releases(json!({"uri": "x"})), Err(MergeError::NotAPackage));
        assert_eq!(compiled_releases(json!({"releases": {}})), Err(MergeError::NotAnArray { field: "releases" }));
        let error = compiled_releases(json!({"releases": [{"ocid": "o"}, {"ocid": "o"}, 3]}));
        assert_eq!(error, Err(MergeError::ReleaseNotAnObject { release: 3 }));
        assert_eq!(
            MergeError::ReleaseNotAnObject { release: 3 }.to_string(),
            "a release in `releases` is not a JSON object (release 3)"
        );
        assert_eq!(
            compiled_releases(json!({"releases": [{"date": "1"}]})),
            Err(MergeError::ReleaseWithoutOcid { release: 1 })
        );
        assert_eq!(
            MergeError::NotAPackage.to_string(),
            "the document is neither a release, a release package nor a record package"
        );
    }

    #[test]
    fn merge_stops_at_the_depth_limit_and_takes_deeper_values_whole() {
        fn nested(levels: usize, leaf: Value) -> Value {
            (0..levels).fold(leaf, |inner, _| json!({"deeper": inner}))
        }
        let compiled = compile(vec![
            json!({"ocid": "o", "date": "1", "x": nested(100, json!({"a": 1, "b": 2}))}),
            json!({"ocid": "o", "date": "2", "x": nested(100, json!({"a": 3}))}),
        ]);
        let mut reached = &compiled["x"];
        for _ in 0..100 {
            reached = &reached["deeper"];
        }
        // Beyond MAX_DEPTH the later value replaced the earlier one whole: `b` is gone.
        assert_eq!(reached, &json!({"a": 3}));
        // Above it, fields still merge: a sibling set at level 2 survives the second release.
        let compiled = compile(vec![
            json!({"ocid": "o", "date": "1", "x": {"kept": true, "y": nested(100, json!(1))}}),
            json!({"ocid": "o", "date": "2", "x": {"y": nested(100, json!(2))}}),
        ]);
        assert_eq!(compiled["x"]["kept"], true);
    }

    #[test]
    fn merge_many_items_with_ids_over_many_releases() {
        // One award per release, 5000 releases: linear with the id map, slow if quadratic.
        let releases: Vec<Value> = (0..5000)
            .map(|n| json!({"ocid": "o", "date": format!("{n:05}"), "awards": [{"id": n, "status": "active"}]}))
            .collect();
        let compiled = compile(releases);
        let awards = compiled["awards"].as_array().map(Vec::len);
        assert_eq!(awards, Some(5000));
        assert_eq!(compiled["awards"][4999], json!({"id": 4999, "status": "active"}));
    }

    #[test]
    fn merge_versioned_appends_only_changes_and_keeps_item_ids_and_ocid_plain() {
        let versioned = versioned(vec![
            json!({"ocid": "o", "id": "r2", "date": "2", "tag": ["award"],
                "tender": {"status": "complete", "submissionMethod": ["written"]},
                "awards": [{"id": "a", "status": "active"}]}),
            json!({"ocid": "o", "id": "r1", "date": "1", "tag": ["tender"],
                "tender": {"status": "active", "title": "Roads", "submissionMethod": ["written"]},
                "buyer": {"name": "B"}}),
            json!({"ocid": "o", "id": "r3", "date": "3", "tag": ["awardUpdate"], "buyer": null, "planning": null}),
        ]);
        fn entry(release: &str, date: &str, tag: &str, value: Value) -> Value {
            json!({"releaseID": release, "releaseDate": date, "releaseTag": [tag], "value": value})
        }
        assert_eq!(
            versioned,
            json!({
                "ocid": "o",
                "tender": {
                    "status": [
                        entry("r1", "1", "tender", json!("active")),
                        entry("r2", "2", "award", json!("complete"))
                    ],
                    "title": [entry("r1", "1", "tender", json!("Roads"))],
                    "submissionMethod": [entry("r1", "1", "tender", json!(["written"]))]
                },
                "awards": [{"id": "a", "status": [entry("r2", "2", "award", json!("active"))]}],
                "buyer": {"name": [
                    entry("r1", "1", "tender", json!("B")),
                    entry("r3", "3", "awardUpdate", Value::Null)
                ]},
                "planning": [entry("r3", "3", "awardUpdate", Value::Null)]
            })
        );
    }

    #[test]
    fn merge_real_data_fictional_example_compiles_as_published() {
        // The standard's worked example: six releases of ocds-213czf-000-00001, and the record
        // package the standard publishes for them with its compiled and versioned releases.
        let compiled = compile(fictional_releases());
        // Checked by hand in the files: the award release (04) completes the tender; the contract
        // release (05) makes the one award active; implementation (06) is the last release.
        assert_eq!(compiled["id"], "ocds-213czf-000-00001-2011-01-10T09:30:00Z");
        assert_eq!(compiled["date"], "2011-01-10T09:30:00Z");
        assert_eq!(compiled["tender"]["status"], "complete");
        assert_eq!(compiled["awards"].as_array().map(Vec::len), Some(1));
        assert_eq!(compiled["awards"][0]["status"], "active");
        assert_eq!(compiled["tender"]["value"]["amount"], 1_100_000);

        let published = fixture("fictional/ocds-213czf-000-00001-withversions.json");
        assert_eq!(compiled, published["records"][0]["compiledRelease"]);
        assert_eq!(versioned(fictional_releases()), published["records"][0]["versionedRelease"]);

        // The record package's releases are linked releases only: its compiledRelease is taken.
        let record_package = fixture("fictional/ocds-213czf-000-00001.json");
        assert_eq!(compiled_releases(record_package), Ok(vec![compiled]));
    }

    #[test]
    fn merge_real_data_paraguay_and_mexico() {
        // A DNCP record package: linked releases plus a compiledRelease.
        let compiled = compiled_releases(fixture("paraguay/274231.json")).expect("a record package");
        assert_eq!(compiled.len(), 1);
        // Checked by hand in the file: the compiledRelease's tender is complete, with one active award.
        assert_eq!(compiled[0]["ocid"], "ocds-03ad3f-274231");
        assert_eq!(compiled[0]["tender"]["status"], "complete");
        assert_eq!(compiled[0]["awards"].as_array().map(Vec::len), Some(1));
        assert_eq!(compiled[0]["awards"][0]["status"], "active");
        // Two Mexico City releases of one process, the later (2017-06-05) listed first. The first
        // lists 12 milestones (with ids) for contract "1"; the second gives `milestones: []`,
        // which the identifier merge ignores, so all 12 remain.
        let first = fixture("mexico/OCDS-87SD3T-AD-SF-DRM-063-2015-01.json");
        let second = fixture("mexico/OCDS-87SD3T-AD-SF-DRM-063-2015-02.json");
        let compiled = compile(vec![second, first]);
        assert_eq!(compiled["id"], "OCDS-87SD3T-AD-SF-DRM-063-2015-2017-06-05T00:00:00-06:00");
        assert_eq!(compiled["date"], "2017-06-05T00:00:00-06:00");
        assert_eq!(compiled["tender"]["status"], "planned");
        let milestones = &compiled["contracts"][0]["implementation"]["milestones"];
        assert_eq!(milestones.as_array().map(Vec::len), Some(12));
        assert_eq!(milestones[0]["id"], "5000012559-00010-2016");
        assert_eq!(milestones[0]["status"], "partiallyMet");
    }
}
