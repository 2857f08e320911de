//! Forged, stale and revoked tokens: each gets 401 problem+json with `WWW-Authenticate: Bearer`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app_with};

struct Forge {
    key: SigningKey,
    kid: String,
    account_id: i64,
    email: String,
}

impl Forge {
    fn claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": "scrutiny", "aud": "scrutiny", "sub": self.account_id.to_string(),
            "iat": now, "nbf": now, "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string(),
            "sid": uuid::Uuid::new_v4().to_string(),
        })
    }

    fn sign(&self, claims: &Value) -> String {
        sign_with(&self.key, &self.kid, claims)
    }
}

fn sign_with(key: &SigningKey, kid: &str, claims: &Value) -> String {
    let der = key.to_pkcs8_der().unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

async fn setup() -> (TestApp, Forge, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwt.pem");
    api::auth::keys::generate_key_file(&path).unwrap();
    let key = SigningKey::from_pkcs8_pem(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let app = spawn_app_with(|settings| settings.jwt_private_key = Some(path.clone())).await;
    let user = app.user(&["citizen"], None, None).await;
    let jwks = app.get_json("/.well-known/jwks.json").await;
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(jwks["keys"][0]["x"], URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()));
    (app, Forge { key, kid, account_id: user.id, email: user.email }, dir)
}

async fn refused(app: &TestApp, authorization: Option<String>, case: &str) -> Value {
    let mut request = app.request(Method::GET, "/v1/me", None);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 401, "{case}");
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    assert!(challenge.as_deref().is_some_and(|c| c.starts_with("Bearer")), "{case}: {challenge:?}");
    assert_problem(response, 401).await
}

#[tokio::test]
async fn forged_stale_and_revoked_tokens_are_refused() {
    let (app, forge, _dir) = setup().await;
    let bearer = |token: String| Some(format!("Bearer {token}"));

    // The genuine article works.
    let genuine = forge.sign(&forge.claims());
    let ok = app.request(Method::GET, "/v1/me", None).header("authorization", format!("Bearer {genuine}")).send().await;
    assert_eq!(ok.unwrap().status(), 200, "a token signed with the server's key and right claims works");

    refused(&app, None, "no token").await;
    refused(&app, Some("Basic dXNlcjpwYXNz".into()), "another scheme").await;
    refused(&app, bearer("not-a-jwt".into()), "malformed").await;

    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": forge.kid})), b64(&forge.claims()));
    refused(&app, bearer(none), "alg none").await;

    // Algorithm confusion: HS256 keyed with the Ed25519 public key, under the real kid.
    let public = forge.key.verifying_key().to_bytes();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(forge.kid.clone());
    let confused = encode(&header, &forge.claims(), &EncodingKey::from_secret(&public).unwrap()).unwrap();
    refused(&app, bearer(confused), "HS256 with the public key").await;

    let stranger = SigningKey::from_bytes(&[42u8; 32]);
    refused(&app, bearer(sign_with(&stranger, &forge.kid, &forge.claims())), "wrong signature").await;

    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    let mut claims = forge.claims();
    claims["sub"] = json!("1");
    claims["exp"] = json!(chrono::Utc::now().timestamp() + 86_400 * 365);
    parts[1] = b64(&claims);
    refused(&app, bearer(parts.join(".")), "tampered payload").await;

    let with = |field: &str, value: Value| {
        let mut claims = forge.claims();
        claims[field] = value;
        forge.sign(&claims)
    };
    let now = chrono::Utc::now().timestamp();
    refused(&app, bearer(with("iss", json!("someone-else"))), "wrong iss").await;
    refused(&app, bearer(with("aud", json!("another-service"))), "wrong aud").await;
    refused(&app, bearer(with("exp", json!(now - 120))), "expired beyond the leeway").await;
    refused(&app, bearer(with("nbf", json!(now + 120))), "not yet valid").await;
    refused(&app, bearer(with("exp", json!((now + 600).to_string()))), "exp as a string").await;
    let mut no_exp = forge.claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    refused(&app, bearer(forge.sign(&no_exp)), "missing exp").await;
    refused(&app, bearer(sign_with(&forge.key, "some-other-kid", &forge.claims())), "unknown kid").await;

    // Revoked: logged out.
    let session = app.login(&forge.email, PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let out = app.request(Method::POST, "/v1/auth/logout", Some(&session)).send().await.unwrap();
    assert_eq!(out.status(), 204);
    refused(&app, bearer(session), "revoked").await;
}

#[tokio::test]
async fn a_token_of_a_disabled_account_is_refused() {
    let (app, forge, _dir) = setup().await;
    let admin = app.user(&["admin"], None, None).await;
    let token = forge.sign(&forge.claims());
    let account = app
        .request(Method::GET, &format!("/v1/accounts/{}", forge.account_id), Some(&admin.token))
        .send()
        .await
        .unwrap();
    let etag = account.headers()["etag"].to_str().unwrap().to_owned();
    let disabled = app
        .request(Method::PATCH, &format!("/v1/accounts/{}", forge.account_id), Some(&admin.token))
        .header("if-match", etag)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    refused(&app, Some(format!("Bearer {token}")), "disabled account").await;
}

#[tokio::test]
async fn a_previous_key_still_verifies_during_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.pem"), dir.path().join("new.pem"));
    api::auth::keys::generate_key_file(&old).unwrap();
    api::auth::keys::generate_key_file(&new).unwrap();
    let old_key = SigningKey::from_pkcs8_pem(&std::fs::read_to_string(&old).unwrap()).unwrap();

    let after = spawn_app_with(|s| {
        s.jwt_private_key = Some(new.clone());
        s.jwt_previous_key = Some(old.clone());
    })
    .await;
    let jwks = after.get_json("/.well-known/jwks.json").await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "both keys are published: {jwks}");
    let survivor = after.user(&["citizen"], None, None).await;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": "scrutiny", "aud": "scrutiny", "sub": survivor.id.to_string(), "iat": now, "nbf": now,
        "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string(), "sid": uuid::Uuid::new_v4().to_string()});
    let old_kid = jwks["keys"][1]["kid"].as_str().unwrap();
    let token = sign_with(&old_key, old_kid, &claims);
    assert_eq!(after.request(Method::GET, "/v1/me", Some(&token)).send().await.unwrap().status(), 200);
}
