use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use domain::db::{self, PoolOptions};
use domain::demo::Counts;
use domain::entities::{OrganizationKind, organization};
use domain::migration::Migrator;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Set, Statement, TransactionTrait};
use sea_orm_migration::MigratorTrait;
use serde_json::Value;

use crate::helpers::{Engine, TestApp, TestDatabase, assert_problem, invalid_param_name, spawn_app, spawn_seeded_app};

/// One read of the feed: its changes and its `links.next`.
async fn read(app: &TestApp, path: &str) -> (Vec<Value>, String) {
    let page = app.get_json(path).await;
    let items = page["items"].as_array().expect("items").clone();
    let next = page["links"]["next"].as_str().expect("links.next is always present").to_owned();
    (items, next)
}

/// Reads from `path` on until `count` changes have come, and returns them with the last
/// `links.next`. On PostgreSQL a change waits for every transaction that could precede it, in
/// any database of the cluster (other tests run beside this one), so a short page is no end.
async fn read_changes(app: &TestApp, path: &str, count: usize) -> (Vec<Value>, String) {
    let started = Instant::now();
    let mut changes = Vec::new();
    let mut next = path.to_owned();
    while changes.len() < count {
        let (items, following) = read(app, &next).await;
        if items.is_empty() {
            assert!(started.elapsed() < Duration::from_secs(60), "only {} of {count} changes came", changes.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        changes.extend(items);
        next = following;
    }
    assert_eq!(changes.len(), count, "more changes than expected: {:?}", &changes[count.min(changes.len())..]);
    (changes, next)
}

async fn changes_in_database(app: &TestApp) -> usize {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), "SELECT COUNT(*) AS n FROM changes"))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap() as usize
}

/// `since` in a `links.next`.
fn since(next: &str) -> &str {
    next.split(['?', '&']).find_map(|part| part.strip_prefix("since=")).expect("links.next names `since`")
}

fn sequences(changes: &[Value]) -> Vec<i64> {
    changes.iter().map(|change| change["sequence"].as_i64().unwrap()).collect()
}

async fn insert_organization(db: &impl ConnectionTrait, tag: &str) -> i64 {
    let row = organization::ActiveModel {
        name_ru: Set(Some(format!("ТОО \"{tag}\""))),
        kind: Set(OrganizationKind::Supplier),
        source: Set("test".into()),
        upstream_id: Set(tag.into()),
        fetched_at: Set(chrono::Utc::now()),
        content_hash: Set("0".repeat(64)),
        ..Default::default()
    };
    // Only the columns set, and only the id back: this also runs on a schema rolled back to
    // before later migrations added columns.
    organization::Entity::insert(row).exec(db).await.expect("organization inserted").last_insert_id
}

#[tokio::test]
async fn the_feed_holds_one_creation_per_seeded_row_then_later_changes_in_order() {
    let app = spawn_seeded_app().await;
    let total = changes_in_database(&app).await;
    let (changes, next) = read_changes(&app, "/v1/changes?limit=1000", total).await;

    let seen = sequences(&changes);
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]), "sequences increase");
    let mut created: HashMap<String, HashSet<i64>> = HashMap::new();
    for change in &changes {
        let (entity, id) = (change["entity"].as_str().unwrap(), change["id"].as_i64().unwrap());
        if change["action"] == "created" {
            assert!(created.entry(entity.to_owned()).or_default().insert(id), "{entity} {id} created twice");
        } else {
            // The seed links organizations to their parents once all are in, and walks its
            // demo findings through the workflow (a finding appears when published).
            let action = change["action"].as_str().unwrap();
            assert!(matches!((entity, action), ("organization" | "finding", "updated")), "{change}");
        }
    }
    let count = |entity: &str| created.get(entity).map_or(0, |ids| ids.len() as u64);
    // Entries of the register of unreliable suppliers stay out of the feed (m0010).
    let expected = Counts { unreliable_suppliers: 0, ..Counts::in_database(&app.db).await.unwrap() };
    let found = Counts {
        organizations: count("organization"),
        budget_lines: count("budget_line"),
        plan_items: count("plan_item"),
        tenders: count("tender"),
        lots: count("lot"),
        bids: count("bid"),
        awards: count("award"),
        contracts: count("contract"),
        contract_amendments: count("contract_amendment"),
        payments: count("payment"),
        delivery_acts: count("delivery_act"),
        decisions: count("decision"),
        unreliable_suppliers: count("unreliable_supplier"),
    };
    assert_eq!(found, expected);
    assert_eq!(created.values().map(HashSet::len).sum::<usize>() as u64, expected.total());
    let first_contract = changes.iter().find(|change| change["entity"] == "contract").unwrap();
    assert_eq!(first_contract["href"], format!("/v1/contracts/{}", first_contract["id"]));
    assert!(chrono::DateTime::parse_from_rfc3339(first_contract["changed_at"].as_str().unwrap()).is_ok());

    // Manual SQL is a writer like any other.
    app.db.execute_unprepared("UPDATE contracts SET status = 'terminated' WHERE id = 7").await.unwrap();
    app.db.execute_unprepared("DELETE FROM payments WHERE id = 11").await.unwrap();
    let (later, last) = read_changes(&app, &next, 2).await;
    let summary: Vec<(&str, i64, &str)> = later
        .iter()
        .map(|c| (c["entity"].as_str().unwrap(), c["id"].as_i64().unwrap(), c["action"].as_str().unwrap()))
        .collect();
    assert_eq!(summary, [("contract", 7, "updated"), ("payment", 11, "deleted")]);
    assert!(sequences(&later)[0] > *seen.last().unwrap() && sequences(&later)[0] < sequences(&later)[1]);
    assert_eq!(later[1]["href"], "/v1/payments/11", "a deleted record keeps its href");
    assert_eq!(app.get("/v1/payments/11").await.status(), 404);

    // Nothing new: no changes, and the same position to poll again.
    let (nothing, again) = read(&app, &last).await;
    assert!(nothing.is_empty(), "{nothing:?}");
    assert_eq!(since(&again), since(&last));
}

/// A kind of record whose route is in `routes::records`.
struct RecordKind {
    /// The feed's name for it.
    entity: &'static str,
    /// Its fields that link to parents.
    links: &'static [&'static str],
    /// Its instants.
    instants: &'static [&'static str],
    /// Its amounts.
    amounts: &'static [&'static str],
}

const RECORD_KINDS: [RecordKind; 5] = [
    RecordKind { entity: "budget_line", links: &["administrator_href"], instants: &[], amounts: &["approved"] },
    RecordKind {
        entity: "bid",
        links: &["lot_href", "bidder_href"],
        instants: &["submitted_at"],
        amounts: &["amount"],
    },
    RecordKind {
        entity: "award",
        links: &["lot_href", "supplier_href"],
        instants: &["awarded_at"],
        amounts: &["amount"],
    },
    RecordKind {
        entity: "contract_amendment",
        links: &["contract_href"],
        instants: &["signed_at"],
        amounts: &["previous_amount", "new_amount"],
    },
    RecordKind { entity: "delivery_act", links: &["contract_href"], instants: &["signed_at"], amounts: &["amount"] },
];

/// A client following the feed can read every record it names: for every kind in the seeded
/// demo, the `href` of up to 20 changes that are not deletions answers 200 with that record.
#[tokio::test]
async fn every_href_in_the_seeded_feed_answers_with_its_record() {
    let app = spawn_seeded_app().await;
    let total = changes_in_database(&app).await;
    let (changes, next) = read_changes(&app, "/v1/changes?limit=1000", total).await;
    let (after, _) = read(&app, &next).await;
    assert!(after.is_empty(), "the feed ends: {after:?}");

    let mut by_kind: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for change in changes.iter().filter(|change| change["action"] != "deleted") {
        let sample = by_kind.entry(change["entity"].as_str().unwrap()).or_default();
        if sample.len() < 20 && !sample.iter().any(|seen| seen["href"] == change["href"]) {
            sample.push(change);
        }
    }
    for RecordKind { entity: kind, .. } in RECORD_KINDS {
        assert!(by_kind.contains_key(kind), "the demo holds no {kind}: {:?}", by_kind.keys());
    }
    for (kind, sample) in &by_kind {
        for change in sample {
            let href = change["href"].as_str().unwrap();
            let response = app.get(href).await;
            assert_eq!(response.status(), 200, "{kind}: GET {href}");
            let record: Value = response.json().await.expect("JSON body");
            let id = if *kind == "red_flag" { &record["flag"]["id"] } else { &record["id"] };
            assert_eq!(*id, change["id"], "{kind}: GET {href} answers with another record: {record}");
        }
    }

    // The new routes' records link to parents that answer, and write instants with `Z`.
    for RecordKind { entity: kind, links, instants, amounts } in RECORD_KINDS {
        let record = app.get_json(by_kind[kind][0]["href"].as_str().unwrap()).await;
        for link in links {
            let parent = record[link].as_str().unwrap_or_else(|| panic!("{kind}.{link}: {record}"));
            assert_eq!(app.get(parent).await.status(), 200, "{kind}.{link}: GET {parent}");
        }
        for instant in instants {
            let text = record[instant].as_str().unwrap_or_else(|| panic!("{kind}.{instant}: {record}"));
            let parsed = chrono::DateTime::parse_from_rfc3339(text);
            assert!(text.ends_with('Z') && parsed.is_ok(), "{kind}.{instant}: {text}");
        }
        for amount in amounts {
            let money = &record[amount];
            let exact = money["amount"].as_str().is_some_and(|a| a.parse::<rust_decimal::Decimal>().is_ok());
            assert!(exact && money["currency"].is_string(), "{kind}.{amount}: {record}");
        }
        assert!(record["provenance"]["upstream_id"].is_string(), "{kind}: {record}");
    }
}

/// The new routes answer an unknown id as `getLot` does: 404, a problem naming the record.
#[tokio::test]
async fn the_record_routes_answer_an_unknown_id_with_a_404_problem() {
    let app = spawn_app().await;
    for (path, what) in [
        ("/v1/lots/424242", "lot"),
        ("/v1/budget-lines/424242", "budget line"),
        ("/v1/bids/424242", "bid"),
        ("/v1/awards/424242", "award"),
        ("/v1/contract-amendments/424242", "contract amendment"),
        ("/v1/delivery-acts/424242", "delivery act"),
    ] {
        let problem = assert_problem(app.get(path).await, 404).await;
        assert_eq!(problem["type"], "/problems/not-found", "{path}: {problem}");
        assert_eq!(problem["detail"], format!("{what} 424242 does not exist"), "{path}: {problem}");
    }
}

#[tokio::test]
async fn an_empty_feed_answers_with_a_position_to_poll() {
    let app = spawn_app().await;
    let (items, next) = read(&app, "/v1/changes").await;
    assert!(items.is_empty());
    assert!(next.starts_with("/v1/changes?since="), "{next}");
    assert!(next.ends_with("&limit=100"), "the default limit: {next}");
    let (items, again) = read(&app, &next).await;
    assert!(items.is_empty());
    assert_eq!(again, next);

    let id = insert_organization(&app.db, "first").await;
    let (items, _) = read_changes(&app, &next, 1).await;
    assert_eq!(items[0]["entity"], "organization");
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[0]["action"], "created");
    assert_eq!(items[0]["href"], format!("/v1/organizations/{id}"));
}

#[tokio::test]
async fn limits_are_honoured_and_bad_parameters_are_400_problems() {
    let app = spawn_app().await;
    for tag in ["a", "b", "c"] {
        insert_organization(&app.db, tag).await;
    }
    let (first, next) = read_changes(&app, "/v1/changes?limit=2", 2).await;
    let (rest, _) = read_changes(&app, &next, 1).await;
    assert!(sequences(&first)[1] < sequences(&rest)[0]);
    assert!(app.get("/v1/changes?limit=1000").await.status().is_success());

    let list_cursor = domain::pagination::Cursor::after_id("id", 1).encode();
    for (path, parameter) in [
        ("/v1/changes?limit=0".to_owned(), "limit"),
        ("/v1/changes?limit=1001".to_owned(), "limit"),
        ("/v1/changes?limit=many".to_owned(), "limit"),
        ("/v1/changes?since=not-a-cursor".to_owned(), "since"),
        (format!("/v1/changes?since={list_cursor}"), "since"),
    ] {
        let problem = assert_problem(app.get(&path).await, 400).await;
        assert_eq!(invalid_param_name(&problem), parameter, "{path}: {problem}");
    }
}

/// A change joins the feed when its transaction commits, after every change committed before.
#[tokio::test]
async fn a_change_appears_when_its_transaction_commits() {
    let app = spawn_app().await;
    let before = insert_organization(&app.db, "before").await;
    let (seen, cursor) = read_changes(&app, "/v1/changes", 1).await;
    assert_eq!(seen[0]["id"], before);

    let open = app.db.begin().await.unwrap();
    let uncommitted = insert_organization(&open, "uncommitted").await;
    let mut expected = vec![uncommitted];
    if app.db.get_database_backend() == DbBackend::Postgres {
        // Another writer commits meanwhile; its change comes first.
        expected.insert(0, insert_organization(&app.db, "committed-meanwhile").await);
    }
    let (meanwhile, position) = read(&app, &cursor).await;
    let visible: Vec<Value> = meanwhile.iter().map(|change| change["id"].clone()).collect();
    assert_eq!(visible, expected[..expected.len() - 1], "the open transaction's change is not shown");
    open.commit().await.unwrap();
    let (committed, _) = read_changes(&app, &position, 1).await;
    assert_eq!(committed[0]["id"], uncommitted);
    let (all, _) = read_changes(&app, &cursor, expected.len()).await;
    assert_eq!(all.iter().map(|change| change["id"].clone()).collect::<Vec<_>>(), expected);
}

/// The interleaving that defeats numbering changes as they are written and filtering on the
/// reader's snapshot `xmin`: an older transaction (by transaction id) writes, a younger one
/// writes, the older writes again and commits first. Numbered at commit, nothing is skipped.
#[tokio::test]
async fn an_older_transaction_committing_first_does_not_hide_a_younger_ones_change() {
    if Engine::from_env() == Engine::Sqlite {
        return; // One writer at a time: the interleaving cannot happen.
    }
    let app = spawn_app().await;
    let (_, cursor) = read(&app, "/v1/changes").await;
    let older = app.db.begin().await.unwrap();
    let older_first = insert_organization(&older, "older-first").await;
    let younger = app.db.begin().await.unwrap();
    let younger_id = insert_organization(&younger, "younger").await;
    let older_second = insert_organization(&older, "older-second").await;
    older.commit().await.unwrap();

    let (first, position) = read_changes(&app, &cursor, 2).await;
    assert_eq!(first.iter().map(|c| c["id"].clone()).collect::<Vec<_>>(), [older_first, older_second]);
    younger.commit().await.unwrap();
    let (rest, _) = read_changes(&app, &position, 1).await;
    assert_eq!(rest[0]["id"], younger_id);
}

/// Writers committing concurrently while a reader follows the feed: the reader sees every
/// change exactly once.
#[tokio::test]
async fn a_reader_following_concurrent_writers_sees_every_change_once() {
    let app = spawn_app().await;
    // SQLite takes one writer at a time, and concurrent deferred transactions there fail with
    // SQLITE_BUSY rather than wait; one writer still races the reader.
    let writers: u32 = if Engine::from_env() == Engine::Sqlite { 1 } else { 4 };
    let (transactions, rows) = (15, 3);
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let db = app.db.clone();
        tasks.push(tokio::spawn(async move {
            for transaction in 0..transactions {
                let open = db.begin().await.unwrap();
                for row in 0..rows {
                    insert_organization(&open, &format!("w{writer}-t{transaction}-r{row}")).await;
                    tokio::task::yield_now().await;
                }
                open.commit().await.unwrap();
            }
        }));
    }
    let expected = (writers * transactions * rows) as usize;
    let started = Instant::now();
    let (mut seen, mut next) = (Vec::new(), "/v1/changes?limit=7".to_owned());
    while seen.len() < expected {
        assert!(started.elapsed() < Duration::from_secs(60), "only {} of {expected} changes came", seen.len());
        let (items, following) = read(&app, &next).await;
        seen.extend(items.iter().map(|change| change["id"].as_i64().unwrap()));
        next = following;
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (extra, _) = read(&app, &next).await;
    assert!(extra.is_empty(), "{extra:?}");
    let distinct: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(distinct.len(), expected, "a change repeated");
}

/// Migrating m0003 down removes the feed and its triggers (writes still work), and up again
/// restores them.
#[tokio::test]
async fn the_feed_migration_rolls_back_cleanly() {
    let database = TestDatabase::create().await;
    let db = db::connect(&database.url, &PoolOptions::default()).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    // Roll back m0003 and whatever came after it.
    let migrations = Migrator::migrations();
    let position = migrations.iter().position(|m| m.name() == "m0003_changes").expect("m0003 exists");
    Migrator::down(&db, Some((migrations.len() - position) as u32)).await.unwrap();
    let backend = db.get_database_backend();
    let leftovers = match backend {
        DbBackend::Postgres => {
            "SELECT COUNT(*) AS n FROM (SELECT tgname::text AS name FROM pg_trigger WHERE tgname LIKE 'changes%' \
             UNION ALL SELECT proname::text FROM pg_proc WHERE proname LIKE 'changes%' \
             UNION ALL SELECT relname::text FROM pg_class WHERE relname LIKE 'changes%') AS objects"
        }
        _ => "SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE 'changes%'",
    };
    let row = db.query_one_raw(Statement::from_string(backend, leftovers)).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0, "m0003 left objects behind");
    insert_organization(&db, "without-feed").await;

    Migrator::up(&db, None).await.unwrap();
    insert_organization(&db, "with-feed").await;
    let row =
        db.query_one_raw(Statement::from_string(backend, "SELECT COUNT(*) AS n FROM changes")).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1);
}
