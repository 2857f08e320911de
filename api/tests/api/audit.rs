//! The audit log, checked as an outside party would: signed tree heads, inclusion and
//! consistency proofs verified with an independent implementation of RFC 9162's algorithms,
//! and tampering with the stored rows detected.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, spawn_app};
use crate::rfc9162::{verify_consistency, verify_inclusion};

fn hash(value: &Value) -> [u8; 32] {
    STANDARD.decode(value.as_str().unwrap()).unwrap().try_into().unwrap()
}

/// Registers `n` citizens: `n` audit events.
async fn register(app: &TestApp, n: usize, start: usize) {
    for i in start..start + n {
        let response = app
            .request(Method::POST, "/v1/accounts", None)
            .json(&json!({"email": format!("person{i}@example.kz"), "password": crate::helpers::PASSWORD,
                "display_name": format!("Гражданин {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
}

/// A tree head, with its signature checked against the published key.
async fn signed_head(app: &TestApp) -> Value {
    let key = app.get_json("/v1/audit/public-key").await;
    let public: [u8; 32] = STANDARD.decode(key["public_key"].as_str().unwrap()).unwrap().try_into().unwrap();
    let head = app.get_json("/v1/audit/tree-head").await;
    assert_eq!(head["key_id"], key["key_id"]);
    // TreeHeadDataV2 (RFC 9162 §4.10), TLS-encoded, as the spec describes it.
    let mut signed = Vec::new();
    signed.extend_from_slice(&head["timestamp"].as_u64().unwrap().to_be_bytes());
    signed.extend_from_slice(&head["tree_size"].as_u64().unwrap().to_be_bytes());
    signed.push(32);
    signed.extend_from_slice(&hash(&head["root_hash"]));
    signed.extend_from_slice(&[0, 0]);
    let signature: [u8; 64] = STANDARD.decode(head["signature"].as_str().unwrap()).unwrap().try_into().unwrap();
    VerifyingKey::from_bytes(&public)
        .unwrap()
        .verify(&signed, &Signature::from_bytes(&signature))
        .expect("the tree head's signature verifies with the published key");
    head
}

#[tokio::test]
async fn an_outside_party_verifies_heads_inclusion_and_consistency() {
    let app = spawn_app().await;
    register(&app, 5, 0).await;
    let first = signed_head(&app).await;
    assert_eq!(first["tree_size"], 5);
    register(&app, 8, 5).await;
    let second = signed_head(&app).await;
    assert_eq!(second["tree_size"], 13);

    // Every event is in the later tree: its exact bytes hash to the leaf the proof starts from.
    for index in 0..13u64 {
        let bytes = app.get(&format!("/v1/audit/events/{index}")).await.bytes().await.unwrap();
        let mut leaf = Sha256::new();
        leaf.update([0u8]);
        leaf.update(&bytes);
        let leaf: [u8; 32] = leaf.finalize().into();
        let proof = app.get_json(&format!("/v1/audit/proof/inclusion?index={index}&tree_size=13")).await;
        assert_eq!(hash(&proof["leaf_hash"]), leaf);
        let path: Vec<[u8; 32]> = proof["inclusion_path"].as_array().unwrap().iter().map(hash).collect();
        assert!(verify_inclusion(&leaf, index, 13, &path, &hash(&second["root_hash"])), "leaf {index}");
        // The same proof does not hold for another leaf.
        if index > 0 {
            assert!(!verify_inclusion(&leaf, index - 1, 13, &path, &hash(&second["root_hash"])));
        }
    }

    // The later head extends the saved one.
    let proof = app.get_json("/v1/audit/proof/consistency?first=5&second=13").await;
    let path: Vec<[u8; 32]> = proof["consistency_path"].as_array().unwrap().iter().map(hash).collect();
    assert!(verify_consistency(5, 13, &hash(&first["root_hash"]), &hash(&second["root_hash"]), &path));
    let mut forged = hash(&first["root_hash"]);
    forged[0] ^= 1;
    assert!(!verify_consistency(5, 13, &forged, &hash(&second["root_hash"]), &path));

    // Out of range asks are 400s naming the parameter.
    let bad = app.get("/v1/audit/proof/inclusion?index=13&tree_size=13").await;
    assert_eq!(crate::helpers::invalid_param_name(&crate::helpers::assert_problem(bad, 400).await), "index");
    let bad = app.get("/v1/audit/proof/consistency?first=5&second=99").await;
    assert_eq!(crate::helpers::invalid_param_name(&crate::helpers::assert_problem(bad, 400).await), "second");
}

#[tokio::test]
async fn events_mask_personal_data_and_erasing_it_leaves_every_proof_valid() {
    let app = spawn_app().await;
    register(&app, 3, 0).await;
    let events = app.get_json("/v1/audit/events?object_type=account").await;
    assert_eq!(events["total"], 3);
    let text = events.to_string();
    assert!(!text.contains("person0@example.kz") && !text.contains("Гражданин 0"), "{text}");
    assert_eq!(events["items"][0]["after"]["email"], "[personal data]");
    assert_eq!(events["items"][0]["action"], "account.create");
    assert_eq!(events["items"][0]["actor"], "anonymous");
    // The leaf itself holds only a salted hash.
    let entry = app.get("/v1/audit/events/0").await.text().await.unwrap();
    assert!(!entry.contains("person0") && entry.contains("salted_sha256"), "{entry}");

    // Person 0 asks to be forgotten; an admin erases them.
    let before = signed_head(&app).await;
    let admin = app.user(&["admin"], None, None).await;
    let erased = app.request(Method::DELETE, "/v1/accounts/1", Some(&admin.token)).send().await.unwrap();
    assert_eq!(erased.status(), 200);
    let erased: Value = erased.json().await.unwrap();
    assert_eq!(erased["display_name"], "[erased]");
    assert!(erased["disabled"].as_bool().unwrap());
    let gone = app.request(Method::GET, "/v1/accounts/1", Some(&admin.token)).send().await.unwrap();
    assert_eq!(gone.status(), 404, "an erased account no longer exists");
    let after = signed_head(&app).await;
    assert_eq!(app.get_json("/v1/audit/verify").await["ok"], true);
    // The old tree is still a prefix of the new one, and its events' proofs still hold.
    let proof = app
        .get_json(&format!("/v1/audit/proof/consistency?first={}&second={}", before["tree_size"], after["tree_size"]))
        .await;
    let path: Vec<[u8; 32]> = proof["consistency_path"].as_array().unwrap().iter().map(hash).collect();
    let (first, second) = (before["tree_size"].as_u64().unwrap(), after["tree_size"].as_u64().unwrap());
    assert!(verify_consistency(first, second, &hash(&before["root_hash"]), &hash(&after["root_hash"]), &path));
    let remaining: Vec<(Option<String>, Option<String>)> = {
        use sea_orm::{FromQueryResult, JsonValue};
        JsonValue::find_by_statement(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT value, salt FROM audit_personal_data WHERE subject_account_id = 1",
        ))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row["value"].as_str().map(str::to_owned), row["salt"].as_str().map(str::to_owned)))
        .collect()
    };
    assert!(!remaining.is_empty());
    assert!(remaining.iter().all(|(value, salt)| value.is_none() && salt.is_none()), "{remaining:?}");
    let entry = app.get("/v1/audit/events/0").await.text().await.unwrap();
    assert!(entry.contains("salted_sha256"), "the leaf is unchanged: {entry}");
    // Their council seats and logins are gone with them.
    let login = app
        .request(Method::POST, "/v1/auth/token", None)
        .json(&json!({"email": "person0@example.kz", "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);
}

async fn first_broken(app: &TestApp) -> Value {
    let verdict = app.get_json("/v1/audit/verify").await;
    assert_eq!(verdict["ok"], false, "{verdict}");
    verdict["first_broken"].clone()
}

#[tokio::test]
async fn an_edited_row_is_detected() {
    let app = spawn_app().await;
    register(&app, 4, 0).await;
    let verdict = app.get_json("/v1/audit/verify").await;
    assert_eq!((verdict["ok"].clone(), verdict["checked"].clone()), (json!(true), json!(4)));
    app.db
        .execute_unprepared(
            "UPDATE audit_events SET entry = REPLACE(entry, 'account.create', 'account.delete') WHERE seq = 2",
        )
        .await
        .unwrap();
    let broken = first_broken(&app).await;
    assert_eq!(broken["seq"], 2, "{broken}");
    assert!(broken["reason"].as_str().unwrap().contains("edited"), "{broken}");
}

#[tokio::test]
async fn an_edit_that_also_rewrites_the_hashes_is_detected_at_the_next_event() {
    let app = spawn_app().await;
    register(&app, 4, 0).await;
    let entry = app.get("/v1/audit/events/1").await.text().await.unwrap();
    let edited = entry.replace("account.create", "account.delete");
    let digest = |bytes: &[u8]| Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
    let leaf = digest(&[&[0u8][..], edited.as_bytes()].concat());
    let sql = format!(
        "UPDATE audit_events SET entry = '{}', hash = '{}', leaf_hash = '{leaf}', action = 'account.delete' WHERE seq = 1",
        edited.replace('\'', "''"),
        digest(edited.as_bytes())
    );
    app.db.execute_unprepared(&sql).await.unwrap();
    let broken = first_broken(&app).await;
    assert_eq!(broken["seq"], 2, "{broken}");
}

#[tokio::test]
async fn an_edited_column_beside_the_entry_is_detected() {
    let app = spawn_app().await;
    register(&app, 3, 0).await;
    app.db.execute_unprepared("UPDATE audit_events SET actor = 'account:999' WHERE seq = 1").await.unwrap();
    let broken = first_broken(&app).await;
    assert_eq!(broken["seq"], 1, "{broken}");
    assert!(broken["reason"].as_str().unwrap().contains("actor"), "{broken}");
    // The public view shows what the hashed entry says, not the edited column.
    assert_eq!(app.get_json("/v1/audit/events").await["items"][1]["actor"], "anonymous");
}

#[tokio::test]
async fn a_deleted_row_is_detected() {
    let app = spawn_app().await;
    register(&app, 4, 0).await;
    app.db.execute_unprepared("DELETE FROM audit_events WHERE seq = 1").await.unwrap();
    let broken = first_broken(&app).await;
    assert_eq!(broken["seq"], 1, "{broken}");
    assert!(broken["reason"].as_str().unwrap().contains("missing"), "{broken}");

    // Deleting the last one shows against the head.
    let app = spawn_app().await;
    register(&app, 3, 0).await;
    app.db.execute_unprepared("DELETE FROM audit_events WHERE seq = 2").await.unwrap();
    assert_eq!(first_broken(&app).await["seq"], 2);
}

#[tokio::test]
async fn reordered_rows_are_detected() {
    let app = spawn_app().await;
    register(&app, 4, 0).await;
    // Swap events 1 and 2, renumbering each to the other's place.
    for sql in [
        "UPDATE audit_events SET seq = 100 WHERE seq = 1",
        "UPDATE audit_events SET seq = 1 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 100",
    ] {
        app.db.execute_unprepared(sql).await.unwrap();
    }
    let broken = first_broken(&app).await;
    assert_eq!(broken["seq"], 1, "{broken}");
}

#[tokio::test]
async fn a_full_check_is_shared_for_the_configured_time() {
    let app = crate::helpers::spawn_app_with(|settings| settings.audit_verify_every_seconds = 3600).await;
    register(&app, 2, 0).await;
    let first = app.get_json("/v1/audit/verify").await;
    assert!(first["checked_at"].as_str().unwrap().ends_with('Z'));
    app.db.execute_unprepared("DELETE FROM audit_events WHERE seq = 1").await.unwrap();
    // Within the hour, the check already made is served: the whole log is not read again.
    let second = app.get_json("/v1/audit/verify").await;
    assert_eq!(second, first);
}
