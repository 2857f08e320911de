//! Demo findings for `scrutiny seed`: one in every state the workflow knows (answered on
//! time and implemented, declined after a hearing, escalated after a late answer, delivered
//! late, overdue now, in progress), filed and answered by demo accounts that cannot log in
//! (they have no password), walked through the real service on a clock set to the dates of
//! 2026, so every due date is counted on the calendar as it would be.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;

use super::calendar::Calendar;
use super::service::{Answer, Findings, NewFinding, NewHearing, Step};
use super::tables::{Decision, Form, ImplementationResult, Reason, finding};
use super::view::{LinkRef, RecordType};
use crate::DomainError;
use crate::accounts::tables::{account, account_role, council, council_member};
use crate::accounts::{Actor, Principal, Role};
use crate::clock::Clock;
use crate::entities::{OrganizationKind, contract, organization};
use crate::names::LocalizedName;
use crate::writes::Write;

/// What the seed stores in `password_hash` for a demo account: not a PHC string, so no
/// password ever matches it.
pub const NO_PASSWORD: &str = "!demo account: no password";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("a demo date").with_timezone(&Utc)
}

/// A demo account, created through the write path as the operator.
async fn demo_account(
    write: &mut Write,
    display_name: &str,
    role: Role,
    organization_id: Option<i64>,
    council_id: Option<i64>,
) -> Result<Principal, DomainError> {
    let now = write.now();
    let slug = uuid_like(display_name);
    let row = account::ActiveModel {
        email: Set(format!("{slug}@demo.scrutiny.invalid")),
        email_key: Set(format!("{slug}@demo.scrutiny.invalid")),
        display_name: Set(display_name.to_owned()),
        password_hash: Set(NO_PASSWORD.to_owned()),
        ngo_name: Set((role == Role::Ngo).then(|| "ОФ «Прозрачные закупки»".to_owned())),
        organization_id: Set(organization_id),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(write.txn())
    .await?;
    let mut roles = BTreeSet::from([Role::Citizen]);
    if role == Role::CouncilMember {
        let council_id = council_id.expect("a member sits on a council");
        council_member::ActiveModel {
            council_id: Set(council_id),
            account_id: Set(row.id),
            position: Set("member".to_owned()),
            joined_at: Set(now),
        }
        .insert(write.txn())
        .await?;
    } else if role != Role::Citizen {
        account_role::ActiveModel {
            account_id: Set(row.id),
            role: Set(role.as_str().to_owned()),
            granted_at: Set(now),
        }
        .insert(write.txn())
        .await?;
    }
    account_role::ActiveModel {
        account_id: Set(row.id),
        role: Set(Role::Citizen.as_str().to_owned()),
        granted_at: Set(now),
    }
    .insert(write.txn())
    .await?;
    roles.insert(role);
    let actor = Actor::System("seed");
    write
        .record(
            &actor,
            "account.create",
            "account",
            row.id,
            None,
            Some(json!({"id": row.id, "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                        "organization_id": organization_id, "council_id": council_id, "demo": true})),
        )
        .await?;
    Ok(Principal { account_id: row.id, roles, councils: council_id.into_iter().collect(), organization_id })
}

fn uuid_like(name: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    format!("demo-{}", crate::writes::hex(&digest[..8]))
}

/// One body with what a finding against it needs.
struct Target {
    id: i64,
    council: i64,
    contract: Option<i64>,
    member: Actor,
    officer: Actor,
}

fn ru(text: &str) -> LocalizedName {
    LocalizedName { ru: Some(text.to_owned()), kk: None, en: None }
}

/// Adds the demo findings unless findings exist already; returns how many it added.
pub async fn seed(db: &DatabaseConnection) -> Result<usize, DomainError> {
    if finding::Entity::find().count(db).await? > 0 {
        return Ok(0);
    }
    let councils = council::Entity::find().order_by_asc(council::Column::Id).all(db).await?;
    let state_bodies: Vec<organization::Model> = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrganizationKind::StateBody))
        .order_by_asc(organization::Column::Id)
        .all(db)
        .await?;
    if state_bodies.len() < 7 {
        return Ok(0);
    }
    let clock = Clock::system();
    clock.set(at("2026-01-12T04:00:00Z"));
    let findings = Findings::new(db.clone(), Arc::new(Calendar::shipped()), clock.clone());
    // The ministry the first six bodies answer to, for the escalation.
    let ministry = state_bodies[0].clone();
    let mut write = Write::begin_at(db, clock.now()).await?;
    let mut targets = Vec::new();
    for (index, body) in state_bodies.iter().skip(1).take(6).enumerate() {
        let Some(council) = councils.iter().find(|c| c.host_organization_id == body.id) else { continue };
        let contract = contract::Entity::find()
            .filter(contract::Column::BuyerId.eq(body.id))
            .one(write.txn())
            .await?
            .map(|c| c.id);
        let member = demo_account(
            &mut write,
            &format!("Член общественного совета {}", index + 1),
            Role::CouncilMember,
            None,
            Some(council.id),
        )
        .await?;
        let officer = demo_account(
            &mut write,
            &format!("Ответственный сотрудник {}", index + 1),
            Role::BodyOfficer,
            Some(body.id),
            None,
        )
        .await?;
        targets.push(Target {
            id: body.id,
            council: council.id,
            contract,
            member: Actor::Account(member),
            officer: Actor::Account(officer),
        });
    }
    let ministry_officer =
        demo_account(&mut write, "Сотрудник министерства", Role::BodyOfficer, Some(ministry.id), None).await?;
    let citizen = demo_account(&mut write, "Айгуль С.", Role::Citizen, None, None).await?;
    let ngo = demo_account(&mut write, "ОФ «Прозрачные закупки»", Role::Ngo, None, None).await?;
    write.commit().await?;
    if targets.len() < 6 {
        return Ok(0);
    }
    // The escalation's target answers to the ministry.
    let mut escalated_target =
        organization::Entity::find_by_id(targets[2].id).one(db).await?.expect("the target exists").into_active_model();
    escalated_target.parent_id = Set(Some(ministry.id));
    escalated_target.update(db).await?;

    let new = |target: &Target, title: &str, reason: Reason, council: bool| NewFinding {
        target_organization_id: Some(target.id),
        red_flag_id: None,
        council_id: council.then_some(target.council),
        form: Some(Form::Monitoring),
        reason: Some(reason),
        title: LocalizedName { ru: Some(title.to_owned()), kk: None, en: Some(format!("Demo: {title}")) },
        summary: ru("Демонстрационная запись: проверка исполнения договоров и соблюдения сроков."),
        period_from: Some(chrono::NaiveDate::from_ymd_opt(2025, 1, 1).expect("a date")),
        period_to: Some(chrono::NaiveDate::from_ymd_opt(2025, 12, 31).expect("a date")),
        links: target
            .contract
            .map(|id| LinkRef { record_type: RecordType::Contract, record_id: id })
            .into_iter()
            .collect(),
        facts: vec!["Сроки поставки нарушены".to_owned(), "Акт приёмки подписан до фактической поставки".to_owned()],
        recommendations: vec![
            "Взыскать неустойку с поставщика".to_owned(),
            "Провести служебную проверку по факту подписания акта".to_owned(),
        ],
    };
    let accept = || Answer {
        decision: Decision::Accepted,
        reasoning: "Нарушение подтверждено".to_owned(),
        measures: Some("Направлена претензия поставщику; приказ о служебной проверке".to_owned()),
        implement_by: Some(chrono::NaiveDate::from_ymd_opt(2026, 12, 31).expect("a date")),
    };
    let decline = || Answer {
        decision: Decision::Declined,
        reasoning: "Неустойка взыскана ранее, документы приложены".to_owned(),
        measures: None,
        implement_by: None,
    };
    let walk = |actor: &Actor, id: i64, steps: &'static [Step]| {
        let findings = findings.clone();
        let actor = actor.clone();
        async move {
            for step in steps {
                findings.step(&actor, id, *step).await?;
            }
            Ok::<_, DomainError>(())
        }
    };
    let mut added = 0;

    // 1. Answered on time, accepted, implemented, closed.
    let t = &targets[0];
    tick(&findings, "2026-02-02T05:00:00Z").await?;
    let f = findings
        .file(&t.member, new(t, "Мониторинг закупок медицинского оборудования", Reason::Plan, true), None)
        .await?;
    walk(&t.member, f.id, &[Step::Publish]).await?;
    tick(&findings, "2026-02-10T05:00:00Z").await?;
    walk(&t.member, f.id, &[Step::Complete]).await?;
    tick(&findings, "2026-02-12T05:00:00Z").await?;
    walk(&t.member, f.id, &[Step::Deliver]).await?;
    tick(&findings, "2026-02-20T05:00:00Z").await?;
    findings.answer(&t.officer, f.id, 1, accept()).await?;
    findings.answer(&t.officer, f.id, 2, accept()).await?;
    tick(&findings, "2026-04-01T05:00:00Z").await?;
    for n in [1, 2] {
        findings
            .report_implementation(&t.officer, f.id, n, "Претензия удовлетворена, проверка проведена".into())
            .await?;
        findings
            .assess_implementation(
                &t.member,
                f.id,
                n,
                ImplementationResult::Implemented,
                "Подтверждено документами".into(),
            )
            .await?;
    }
    walk(&t.member, f.id, &[Step::Close]).await?;
    added += 1;

    // 2. One recommendation declined after a hearing, the other accepted.
    let t = &targets[1];
    tick(&findings, "2026-02-23T05:00:00Z").await?;
    let f = findings
        .file(&t.member, new(t, "Общественные слушания по строительству школы", Reason::Media, true), None)
        .await?;
    walk(&t.member, f.id, &[Step::Publish, Step::Complete]).await?;
    tick(&findings, "2026-03-02T05:00:00Z").await?;
    walk(&t.member, f.id, &[Step::Deliver]).await?;
    tick(&findings, "2026-03-04T05:00:00Z").await?;
    let hearing = NewHearing {
        starts_at: at("2026-03-06T06:00:00Z"),
        place: Some("Актовый зал акимата, каб. 201".to_owned()),
        link: None,
    };
    findings.offer_hearing(&t.officer, f.id, hearing, None).await?;
    // Three working days after 4 March: 5, 6 and (9 March carried over) 10 March.
    tick(&findings, "2026-03-10T06:00:00Z").await?;
    findings.answer(&t.officer, f.id, 1, decline()).await?;
    findings.answer(&t.officer, f.id, 2, accept()).await?;
    added += 1;

    // 3. The body never answered; the filers escalated to the ministry, which did.
    let t = &targets[2];
    tick(&findings, "2026-03-26T05:00:00Z").await?;
    let f = findings
        .file(&t.member, new(t, "Экспертиза тарифов на коммунальные услуги", Reason::RedFlag, true), None)
        .await?;
    walk(&t.member, f.id, &[Step::Publish, Step::Complete]).await?;
    tick(&findings, "2026-04-01T05:00:00Z").await?;
    walk(&t.member, f.id, &[Step::Deliver]).await?;
    tick(&findings, "2026-04-20T05:00:00Z").await?;
    walk(&t.member, f.id, &[Step::Escalate]).await?;
    tick(&findings, "2026-04-28T05:00:00Z").await?;
    let ministry_actor = Actor::Account(ministry_officer);
    findings.answer(&ministry_actor, f.id, 1, accept()).await?;
    findings.answer(&ministry_actor, f.id, 2, accept()).await?;
    added += 1;

    // 4. Delivered late, answered on time.
    let t = &targets[3];
    tick(&findings, "2026-05-04T05:00:00Z").await?;
    let f = findings
        .file(
            &citizen_actor(&citizen),
            new(t, "Проверка ремонта дороги по обращению жителей", Reason::CitizenRequest, false),
            None,
        )
        .await?;
    walk(&citizen_actor(&citizen), f.id, &[Step::Publish, Step::Complete]).await?;
    tick(&findings, "2026-05-20T05:00:00Z").await?;
    walk(&citizen_actor(&citizen), f.id, &[Step::Deliver]).await?;
    tick(&findings, "2026-05-29T05:00:00Z").await?;
    findings.answer(&t.officer, f.id, 1, accept()).await?;
    findings.answer(&t.officer, f.id, 2, accept()).await?;
    added += 1;

    // 5. Delivered and never answered: overdue now.
    let t = &targets[4];
    tick(&findings, "2026-10-26T05:00:00Z").await?;
    let ngo_actor = Actor::Account(ngo);
    let f = findings
        .file(&ngo_actor, new(t, "Мониторинг государственных закупок продуктов питания", Reason::Plan, false), None)
        .await?;
    walk(&ngo_actor, f.id, &[Step::Publish, Step::Complete]).await?;
    tick(&findings, "2026-10-28T05:00:00Z").await?;
    walk(&ngo_actor, f.id, &[Step::Deliver]).await?;
    added += 1;

    // 6. In progress.
    let t = &targets[5];
    tick(&findings, "2026-11-16T05:00:00Z").await?;
    let f = findings
        .file(&t.member, new(t, "Заслушивание отчёта о расходовании бюджета", Reason::Plan, true), None)
        .await?;
    walk(&t.member, f.id, &[Step::Publish]).await?;
    added += 1;

    // Due dates passed along the way are recorded as they would have been.
    Findings::new(db.clone(), findings.calendar.clone(), Clock::system()).record_passed_deadlines().await?;
    Ok(added)
}

/// Moves the demo's clock on, recording the due dates that passed meanwhile, as the running
/// server's sweep would have.
async fn tick(findings: &Findings, to: &str) -> Result<(), DomainError> {
    findings.clock.set(at(to));
    findings.record_passed_deadlines().await?;
    Ok(())
}

fn citizen_actor(principal: &Principal) -> Actor {
    Actor::Account(principal.clone())
}
