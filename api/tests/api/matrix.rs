//! Every write endpoint × every kind of caller: the status each gets, as the rules say.
//! Rules: admins manage accounts, roles and councils; anyone may register; an account's
//! owner may rename it and nobody else sees it (404); a role that may not act gets 403;
//! no credentials get 401.

use reqwest::Method;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use domain::entities::{OrganizationKind, organization};

use crate::helpers::{TestApp, User, spawn_seeded_app};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Citizen,
    Ngo,
    MemberOfThisCouncil,
    MemberOfAnotherCouncil,
    OfficerOfThisBody,
    OfficerOfAnotherBody,
    Moderator,
    Admin,
}

const CALLERS: [Caller; 9] = [
    Caller::Anonymous,
    Caller::Citizen,
    Caller::Ngo,
    Caller::MemberOfThisCouncil,
    Caller::MemberOfAnotherCouncil,
    Caller::OfficerOfThisBody,
    Caller::OfficerOfAnotherBody,
    Caller::Moderator,
    Caller::Admin,
];

#[derive(Debug, Clone, Copy)]
enum Write {
    Register,
    UpdateOwnAccount,
    UpdateSomeoneElsesAccount,
    GrantRole,
    RevokeRole,
    CreateCouncil,
    SetCouncilMembers,
    Logout,
    EraseOwnAccount,
    EraseSomeoneElsesAccount,
}

const WRITES: [Write; 10] = [
    Write::Register,
    Write::UpdateOwnAccount,
    Write::UpdateSomeoneElsesAccount,
    Write::GrantRole,
    Write::RevokeRole,
    Write::CreateCouncil,
    Write::SetCouncilMembers,
    Write::Logout,
    Write::EraseOwnAccount,
    Write::EraseSomeoneElsesAccount,
];

fn expected(write: Write, caller: Caller) -> u16 {
    use Caller::*;
    match (write, caller) {
        (Write::Register, _) => 201,
        (_, Anonymous) => 401,
        (Write::UpdateOwnAccount | Write::EraseOwnAccount, _) => 200,
        (Write::EraseSomeoneElsesAccount, Admin) => 200,
        (Write::EraseSomeoneElsesAccount, _) => 404,
        (Write::Logout, _) => 204,
        (Write::UpdateSomeoneElsesAccount, Admin) => 200,
        (Write::UpdateSomeoneElsesAccount, _) => 404,
        (Write::CreateCouncil, Admin) => 201,
        (Write::GrantRole | Write::RevokeRole | Write::SetCouncilMembers, Admin) => 200,
        (Write::GrantRole | Write::RevokeRole | Write::CreateCouncil | Write::SetCouncilMembers, _) => 403,
    }
}

struct World {
    this_council: i64,
    this_body: i64,
}

async fn caller(app: &TestApp, world: &World, other: &World, kind: Caller) -> Option<User> {
    let user = match kind {
        Caller::Anonymous => return None,
        Caller::Citizen => app.user(&["citizen"], None, None).await,
        Caller::Ngo => app.user(&["ngo"], None, None).await,
        Caller::MemberOfThisCouncil => app.user(&["council_member"], Some(world.this_council), None).await,
        Caller::MemberOfAnotherCouncil => app.user(&["council_member"], Some(other.this_council), None).await,
        Caller::OfficerOfThisBody => app.user(&["body_officer"], None, Some(world.this_body)).await,
        Caller::OfficerOfAnotherBody => app.user(&["body_officer"], None, Some(other.this_body)).await,
        Caller::Moderator => app.user(&["moderator"], None, None).await,
        Caller::Admin => app.user(&["admin"], None, None).await,
    };
    Some(user)
}

async fn etag(app: &TestApp, path: &str, token: &str) -> String {
    let response = app.request(Method::GET, path, Some(token)).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.headers()["etag"].to_str().unwrap().to_owned()
}

/// A state body with no council yet, for `createCouncil`.
async fn new_state_body(app: &TestApp, n: usize) -> i64 {
    organization::ActiveModel {
        bin: Set(None),
        name_ru: Set(Some(format!("Новое ведомство {n}"))),
        name_kk: Set(None),
        name_en: Set(None),
        kind: Set(OrganizationKind::StateBody),
        region_kato: Set(None),
        parent_id: Set(None),
        source: Set("test".into()),
        upstream_id: Set(format!("matrix-{n}")),
        fetched_at: Set(chrono::Utc::now()),
        content_hash: Set("0".repeat(64)),
        import_run_id: Set(None),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id
}

async fn audit_size(app: &TestApp) -> u64 {
    app.get_json("/v1/audit/tree-head").await["tree_size"].as_u64().unwrap()
}

#[tokio::test]
async fn every_write_for_every_caller() {
    let app = spawn_seeded_app().await;
    let councils = app.get_json("/v1/councils?limit=2").await;
    let world_of = |council: &Value| World {
        this_council: council["id"].as_i64().unwrap(),
        this_body: council["host_organization_id"].as_i64().unwrap(),
    };
    let (world, other) = (world_of(&councils["items"][0]), world_of(&councils["items"][1]));
    let admin = app.user(&["admin"], None, None).await;

    let mut cells = 0;
    let mut failures = Vec::new();
    for (w, write) in WRITES.into_iter().enumerate() {
        for (c, kind) in CALLERS.into_iter().enumerate() {
            let user = caller(&app, &world, &other, kind).await;
            let token = user.as_ref().map(|u| u.token.as_str());
            // Someone else's account, fresh for each cell so that cells do not interfere.
            let target = app.user(&["citizen"], None, None).await;
            let request = match write {
                Write::Register => app.request(Method::POST, "/v1/accounts", token).json(&json!({
                    "email": format!("matrix-{w}-{c}@example.kz"),
                    "password": crate::helpers::PASSWORD,
                    "display_name": "Новый гражданин",
                })),
                Write::UpdateOwnAccount => {
                    let id = user.as_ref().map_or(target.id, |u| u.id);
                    let tag = etag(&app, &format!("/v1/accounts/{id}"), &admin.token).await;
                    app.request(Method::PATCH, &format!("/v1/accounts/{id}"), token)
                        .header("if-match", tag)
                        .json(&json!({"display_name": "Переименован"}))
                }
                Write::UpdateSomeoneElsesAccount => {
                    let tag = etag(&app, &format!("/v1/accounts/{}", target.id), &admin.token).await;
                    app.request(Method::PATCH, &format!("/v1/accounts/{}", target.id), token)
                        .header("if-match", tag)
                        .json(&json!({"display_name": "Чужое имя"}))
                }
                Write::GrantRole => app
                    .request(Method::POST, &format!("/v1/accounts/{}/roles", target.id), token)
                    .json(&json!({"role": "moderator"})),
                Write::RevokeRole => {
                    app.request(Method::DELETE, &format!("/v1/accounts/{}/roles/citizen", target.id), token)
                }
                Write::CreateCouncil => {
                    let host = new_state_body(&app, w * 100 + c).await;
                    app.request(Method::POST, "/v1/councils", token).json(&json!({"host_organization_id": host}))
                }
                Write::SetCouncilMembers => {
                    let path = format!("/v1/councils/{}", world.this_council);
                    let tag = etag(&app, &path, &admin.token).await;
                    app.request(Method::PUT, &format!("{path}/members"), token)
                        .header("if-match", tag)
                        .json(&json!({"members": [{"account_id": target.id, "position": "member"}]}))
                }
                Write::Logout => app.request(Method::POST, "/v1/auth/logout", token),
                Write::EraseOwnAccount => {
                    let id = user.as_ref().map_or(target.id, |u| u.id);
                    app.request(Method::DELETE, &format!("/v1/accounts/{id}"), token)
                }
                Write::EraseSomeoneElsesAccount => {
                    app.request(Method::DELETE, &format!("/v1/accounts/{}", target.id), token)
                }
            };
            let events_before = audit_size(&app).await;
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            cells += 1;
            let want = expected(write, kind);
            if status != want {
                failures.push(format!(
                    "{write:?} as {kind:?}: {status}, expected {want}: {}",
                    response.text().await.unwrap()
                ));
                continue;
            }
            if status >= 400 {
                let kind_of = response.headers()["content-type"].to_str().unwrap().to_owned();
                assert_eq!(kind_of, "application/problem+json", "{write:?} as {kind:?}");
            }
            // A write that succeeded left its event; one refused left none. (Sessions are
            // credentials, not records: logging out is not in the log.)
            let grew = audit_size(&app).await > events_before;
            let should_grow = status < 300 && !matches!(write, Write::Logout);
            if grew != should_grow {
                failures.push(format!("{write:?} as {kind:?}: answered {status}, but the log grew: {grew}"));
            }
        }
    }
    assert_eq!(cells, WRITES.len() * CALLERS.len());
    assert!(failures.is_empty(), "{} of {cells} cells wrong:\n{}", failures.len(), failures.join("\n"));

    let events = app.get_json("/v1/audit/verify").await;
    assert_eq!(events["ok"], true, "{events}");
}

/// The findings workflow's writes, each on a fresh finding in the state it needs.
#[derive(Debug, Clone, Copy)]
enum FindingWrite {
    FileForTheCouncil,
    EditDraft,
    PublishDraft,
    OfferHearing,
    AnswerRecommendation,
    HidePublished,
}

const FINDING_WRITES: [FindingWrite; 6] = [
    FindingWrite::FileForTheCouncil,
    FindingWrite::EditDraft,
    FindingWrite::PublishDraft,
    FindingWrite::OfferHearing,
    FindingWrite::AnswerRecommendation,
    FindingWrite::HidePublished,
];

/// Rules: a council's members file and move its findings, and a draft is theirs alone (404
/// to others, who may not know it exists; admins see it and may edit it, but only filers
/// move it); the target's officers offer hearings and answer; moderators and admins hide.
fn expected_for_finding(write: FindingWrite, caller: Caller) -> u16 {
    use Caller::*;
    use FindingWrite::*;
    match (write, caller) {
        (_, Anonymous) => 401,
        (FileForTheCouncil, MemberOfThisCouncil) => 201,
        (FileForTheCouncil, _) => 403,
        (EditDraft, MemberOfThisCouncil | Admin) => 200,
        (PublishDraft, MemberOfThisCouncil) => 200,
        (PublishDraft, Admin) => 403,
        (EditDraft | PublishDraft, _) => 404,
        (OfferHearing, OfficerOfThisBody) => 201,
        (AnswerRecommendation, OfficerOfThisBody) => 200,
        (OfferHearing | AnswerRecommendation, _) => 403,
        (HidePublished, Moderator | Admin) => 200,
        (HidePublished, _) => 403,
    }
}

#[tokio::test]
async fn every_findings_write_for_every_caller() {
    use domain::accounts::{Actor, Principal, Role};
    use domain::findings::{Findings, NewFinding, Step, calendar::Calendar};

    let app = spawn_seeded_app().await;
    let councils = app.get_json("/v1/councils?limit=2").await;
    let world_of = |council: &Value| World {
        this_council: council["id"].as_i64().unwrap(),
        this_body: council["host_organization_id"].as_i64().unwrap(),
    };
    let (world, other) = (world_of(&councils["items"][0]), world_of(&councils["items"][1]));
    let filer = app.user(&["council_member"], Some(world.this_council), None).await;
    let filer = Actor::Account(Principal {
        account_id: filer.id,
        roles: [Role::CouncilMember].into(),
        councils: [world.this_council].into(),
        organization_id: None,
    });
    let findings = Findings::new(app.db.clone(), std::sync::Arc::new(Calendar::shipped()), app.clock.clone());
    let fresh = |steps: &'static [Step]| {
        let (findings, filer) = (findings.clone(), filer.clone());
        let new = NewFinding {
            target_organization_id: Some(world.this_body),
            council_id: Some(world.this_council),
            title: domain::LocalizedName { ru: Some("Мониторинг".into()), kk: None, en: None },
            recommendations: vec!["Устранить нарушение".into()],
            ..NewFinding::default()
        };
        async move {
            let view = findings.file(&filer, new, None).await.unwrap();
            for step in steps {
                findings.step(&filer, view.id, *step).await.unwrap();
            }
            view.id
        }
    };

    let mut cells = 0;
    let mut failures = Vec::new();
    for write in FINDING_WRITES {
        for kind in CALLERS {
            let user = caller(&app, &world, &other, kind).await;
            let token = user.as_ref().map(|u| u.token.as_str());
            let request = match write {
                FindingWrite::FileForTheCouncil => app.request(Method::POST, "/v1/findings", token).json(&json!({
                    "target_organization_id": world.this_body,
                    "council_id": world.this_council,
                })),
                FindingWrite::EditDraft => {
                    let id = fresh(&[]).await;
                    app.request(Method::PATCH, &format!("/v1/findings/{id}"), token)
                        .header("if-match", "*")
                        .json(&json!({"facts": ["Новый факт"]}))
                }
                FindingWrite::PublishDraft => {
                    let id = fresh(&[]).await;
                    app.request(Method::POST, &format!("/v1/findings/{id}/publish"), token)
                }
                FindingWrite::OfferHearing => {
                    let id = fresh(&[Step::Publish, Step::Complete, Step::Deliver]).await;
                    let starts_at = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
                    app.request(Method::POST, &format!("/v1/findings/{id}/hearings"), token)
                        .json(&json!({"starts_at": starts_at, "link": "https://meet.example.kz/hearing"}))
                }
                FindingWrite::AnswerRecommendation => {
                    let id = fresh(&[Step::Publish, Step::Complete, Step::Deliver]).await;
                    let implement_by = (chrono::Utc::now() + chrono::Duration::days(60)).date_naive();
                    app.request(Method::POST, &format!("/v1/findings/{id}/recommendations/1/response"), token)
                        .json(&json!({"decision": "accepted", "reasoning": "Согласны", "measures": "Приказ",
                                "implement_by": implement_by}))
                }
                FindingWrite::HidePublished => {
                    let id = fresh(&[Step::Publish]).await;
                    app.request(Method::POST, &format!("/v1/findings/{id}/hide"), token)
                        .json(&json!({"reason": "Оскорбления"}))
                }
            };
            let events_before = audit_size(&app).await;
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            cells += 1;
            let want = expected_for_finding(write, kind);
            if status != want {
                failures.push(format!(
                    "{write:?} as {kind:?}: {status}, expected {want}: {}",
                    response.text().await.unwrap()
                ));
                continue;
            }
            if status >= 400 {
                let kind_of = response.headers()["content-type"].to_str().unwrap().to_owned();
                assert_eq!(kind_of, "application/problem+json", "{write:?} as {kind:?}");
            }
            let grew = audit_size(&app).await > events_before;
            if grew != (status < 300) {
                failures.push(format!("{write:?} as {kind:?}: answered {status}, but the log grew: {grew}"));
            }
        }
    }
    assert_eq!(cells, FINDING_WRITES.len() * CALLERS.len());
    assert!(failures.is_empty(), "{} of {cells} cells wrong:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(app.get_json("/v1/audit/verify").await["ok"], true);
}
