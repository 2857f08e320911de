use serde_json::Value;

use crate::helpers::spawn_app;

const COMMITTED: &str = include_str!("../../../openapi/openapi.yaml");

#[test]
fn the_committed_spec_matches_the_code() {
    let generated = api::openapi_yaml();
    assert!(
        generated == COMMITTED,
        "openapi/openapi.yaml is out of date with the code: run `make openapi` and commit the result"
    );
}

#[test]
fn every_operation_has_an_id_a_summary_and_documented_responses() {
    let spec: Value = serde_yaml::from_str(&api::openapi_yaml()).unwrap();
    let mut operations = 0;
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let name = format!("{method} {path}");
            operations += 1;
            assert!(operation["operationId"].as_str().is_some_and(|id| !id.is_empty()), "{name}: operationId");
            assert!(operation["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name}: summary");
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{name}: response {status} undocumented"
                );
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                assert!(
                    parameter["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{name}: parameter {} undocumented",
                    parameter["name"]
                );
            }
        }
    }
    assert!(operations >= 5);
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            let documented = property["description"].as_str().is_some_and(|d| !d.is_empty())
                || property.get("$ref").is_some()
                || property["allOf"].is_array();
            assert!(documented, "{name}.{field} undocumented");
        }
    }
}

#[tokio::test]
async fn the_spec_and_the_docs_are_served() {
    let app = spawn_app().await;
    let json = app.get_json("/openapi.json").await;
    assert_eq!(json["info"]["title"], "Scrutiny");
    assert!(json["paths"]["/v1/organizations"]["get"].is_object());

    let yaml = app.get("/openapi.yaml").await.text().await.unwrap();
    assert_eq!(serde_yaml::from_str::<Value>(&yaml).unwrap(), serde_yaml::from_str::<Value>(COMMITTED).unwrap());

    let docs = app.get("/docs").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(docs.text().await.unwrap().contains("swagger"));
}

/// What generators choke on: non-standard formats, `info.summary` in a 3.0 document, an
/// `allOf` over a reference (openapi-python-client drops such a schema), no `servers`.
#[test]
fn the_spec_uses_only_constructs_common_generators_take() {
    let spec: Value = serde_yaml::from_str(&api::openapi_yaml()).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.0"));
    assert!(spec["info"].get("summary").is_none(), "info.summary is OpenAPI 3.1 only");
    assert_eq!(spec["servers"][0]["url"], "/");
    fn walk(value: &Value, path: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                if let Some(format) = object.get("format").and_then(Value::as_str)
                    && ![
                        "date",
                        "date-time",
                        "int32",
                        "int64",
                        "float",
                        "double",
                        "binary",
                        "byte",
                        "uri",
                        "email",
                        "uuid",
                        "password",
                    ]
                    .contains(&format)
                {
                    found.push(format!("{path}: format {format}"));
                }
                if let Some(all_of) = object.get("allOf").and_then(Value::as_array)
                    && all_of.iter().any(|member| member.get("$ref").is_some())
                {
                    found.push(format!("{path}: allOf over a reference"));
                }
                for (key, child) in object {
                    walk(child, &format!("{path}/{key}"), found);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}/{index}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&spec, "", &mut found);
    assert!(found.is_empty(), "{} constructs generators reject, e.g. {:?}", found.len(), &found[..found.len().min(5)]);
}
