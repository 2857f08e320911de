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
