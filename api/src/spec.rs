//! The OpenAPI document as clients get it: poem-openapi's output with the few constructs that
//! common generators reject rewritten, once, for the served `/openapi.json` and `/openapi.yaml`
//! and the committed `openapi/openapi.yaml` alike.
//!
//! - A described reference is written by poem-openapi as `allOf: [{$ref}, {description}]`.
//!   openapi-python-client refuses an `allOf` over an enum ("Cannot take allOf a non-object")
//!   and drops the whole schema; it becomes a plain `$ref` with its `description` beside it,
//!   which OpenAPI 3.0 tools read as the reference (the description is for people).
//! - `info.summary` is OpenAPI 3.1 only: its text leads the description instead.
//! - Unsigned integers are written by poem-openapi as `format: uint64` (or `uint32`,
//!   `uint16`), which OpenAPI does not define: they become `int64` with `minimum: 0` (every
//!   count and id fits).
//! - A `servers` entry: the API is served from the root of wherever the document was fetched.
//! - Anonymous operations say so with `security: []` (poem-openapi leaves them without the
//!   key, which linters read as "forgot to say").
//! - Error responses per operation: every operation shares the one `ApiError`, which declares
//!   every problem status; an operation keeps those it can answer. Without a request body there
//!   is no 413 or 415; reads have no 409, 412 or 428 (conflicts and preconditions are for
//!   writes); anonymous reads have no 401 or 403 (an anonymous write, a login, may refuse
//!   credentials). 400, 404, 422, 429, 500 and 503 stay
//!   everywhere (a bad parameter, an unknown object or reference, the rate limit, a failure, a
//!   shed load).

use serde_yaml::{Mapping, Value};

/// Rewrites poem-openapi's YAML document (see the module comment), keeping its order.
pub fn for_clients(spec_yaml: &str) -> Value {
    let mut spec: Value = serde_yaml::from_str(spec_yaml).expect("poem-openapi writes YAML");
    simplify_described_refs(&mut spec);
    mark_anonymous_operations(&mut spec);
    keep_answerable_errors(&mut spec);
    let Value::Mapping(document) = spec else { return spec };
    let mut out = Mapping::new();
    for (key, value) in document {
        if key.as_str() == Some("info")
            && let Value::Mapping(mut info) = value
        {
            if let Some(Value::String(summary)) = info.remove("summary") {
                let description = info.get("description").and_then(Value::as_str).unwrap_or_default().to_owned();
                info.insert("description".into(), format!("{summary}.\n\n{description}").trim_end().into());
            }
            out.insert(key, Value::Mapping(info));
            let mut server = Mapping::new();
            server.insert("url".into(), "/".into());
            server.insert(
                "description".into(),
                "This server: the API is served from the root of the host that serves this document.".into(),
            );
            out.insert("servers".into(), Value::Sequence(vec![Value::Mapping(server)]));
        } else if key.as_str() == Some("servers") && value.as_sequence().is_some_and(Vec::is_empty) {
            // poem-openapi's own, empty when none is configured: the one above stands.
        } else {
            out.insert(key, value);
        }
    }
    Value::Mapping(out)
}

/// The document as YAML.
pub fn yaml(spec: &Value) -> String {
    serde_yaml::to_string(spec).expect("a document serialises")
}

/// The document as JSON, in the same order.
pub fn json(spec: &Value) -> String {
    serde_json::to_string(spec).expect("a YAML document of JSON values is JSON")
}

fn mark_anonymous_operations(spec: &mut Value) {
    let Some(Value::Mapping(paths)) = spec.get_mut("paths") else { return };
    for (_, methods) in paths.iter_mut() {
        let Value::Mapping(methods) = methods else { continue };
        for (_, operation) in methods.iter_mut() {
            if let Value::Mapping(operation) = operation
                && !operation.contains_key("security")
            {
                operation.insert("security".into(), Value::Sequence(Vec::new()));
            }
        }
    }
}

/// Drops the problem statuses an operation cannot answer (see the module comment).
fn keep_answerable_errors(spec: &mut Value) {
    let Some(Value::Mapping(paths)) = spec.get_mut("paths") else { return };
    for (_, methods) in paths.iter_mut() {
        let Value::Mapping(methods) = methods else { continue };
        for (method, operation) in methods.iter_mut() {
            let Value::Mapping(operation) = operation else { continue };
            let read = matches!(method.as_str(), Some("get" | "head"));
            let has_body = operation.contains_key("requestBody");
            let anonymous = operation.get("security").and_then(Value::as_sequence).is_some_and(Vec::is_empty);
            let Some(Value::Mapping(responses)) = operation.get_mut("responses") else { continue };
            responses.retain(|status, _| match status.as_str() {
                Some("413" | "415") => has_body,
                Some("409" | "412" | "428") => !read,
                // An anonymous write may still refuse credentials (a login, a refresh token).
                Some("401" | "403") => !(anonymous && read),
                _ => true,
            });
        }
    }
}

fn simplify_described_refs(value: &mut Value) {
    match value {
        Value::Mapping(object) => {
            let reference = match object.get("allOf").and_then(Value::as_sequence).map(Vec::as_slice) {
                Some([reference, described])
                    if reference.as_mapping().is_some_and(|r| r.len() == 1 && r.contains_key("$ref"))
                        && described
                            .as_mapping()
                            .is_some_and(|d| d.keys().all(|k| k.as_str() == Some("description"))) =>
                {
                    reference.get("$ref").cloned()
                }
                _ => None,
            };
            if let Some(target) = reference {
                object.remove("allOf");
                object.insert("$ref".into(), target);
            }
            if object.get("format").and_then(Value::as_str).is_some_and(|format| format.starts_with("uint")) {
                object.insert("format".into(), "int64".into());
                if !object.contains_key("minimum") {
                    object.insert("minimum".into(), 0.into());
                }
            }
            for (_, child) in object.iter_mut() {
                simplify_described_refs(child);
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(simplify_described_refs),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_described_reference_becomes_a_plain_one_and_the_document_gains_a_server() {
        let spec = r##"{"openapi":"3.0.0","info":{"title":"T","summary":"Short","description":"Long"},
            "components":{"schemas":{"Change":{"type":"object","properties":{
              "entity":{"description":"The kind.","allOf":[{"$ref":"#/components/schemas/Kind"},{"description":"The kind."}]},
              "list":{"type":"array","items":{"$ref":"#/components/schemas/Kind"}}}}}}}"##;
        let clean: serde_json::Value = serde_json::from_str(&json(&for_clients(spec))).unwrap();
        let entity = &clean["components"]["schemas"]["Change"]["properties"]["entity"];
        assert_eq!(entity, &serde_json::json!({ "$ref": "#/components/schemas/Kind", "description": "The kind." }));
        assert_eq!(clean["info"]["description"], "Short.\n\nLong");
        assert!(clean["info"].get("summary").is_none());
        assert_eq!(clean["servers"][0]["url"], "/");
        let order: Vec<&String> = clean.as_object().unwrap().keys().collect();
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn each_operation_keeps_the_errors_it_can_answer() {
        let all: serde_json::Value = ["200", "400", "401", "403", "404", "409", "412", "413", "415", "428", "503"]
            .iter()
            .map(|status| (status.to_string(), serde_json::json!({"description": "d"})))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let spec = serde_json::json!({"openapi": "3.0.0", "info": {"title": "T"}, "paths": {
            "/open": {"get": {"responses": all}},
            "/guarded": {"get": {"security": [{"bearer": []}], "responses": all},
                         "post": {"security": [{"bearer": []}], "requestBody": {}, "responses": all}}
        }});
        let clean: serde_json::Value = serde_json::from_str(&json(&for_clients(&spec.to_string()))).unwrap();
        let statuses = |path: &str, method: &str| -> Vec<String> {
            clean["paths"][path][method]["responses"].as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(statuses("/open", "get"), ["200", "400", "404", "503"]);
        assert_eq!(statuses("/guarded", "get"), ["200", "400", "401", "403", "404", "503"]);
        assert_eq!(statuses("/guarded", "post").len(), 11, "a guarded write with a body may answer them all");
    }
}
