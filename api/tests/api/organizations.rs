use std::collections::HashSet;

use domain::Biin;
use domain::entities::{OrganizationKind, organization};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, invalid_param_name, spawn_app, spawn_seeded_app};

/// Follows `links.next` from `first` to the end, returning every item seen.
async fn walk(app: &TestApp, first: &str, mut between_pages: impl AsyncFnMut(usize)) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(first.to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let page = app.get_json(&path).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        next = page["links"]["next"].as_str().map(str::to_owned);
        pages += 1;
        assert!(pages < 1_000, "pagination does not end");
        between_pages(pages).await;
    }
    items
}

#[tokio::test]
async fn the_first_page_shows_organizations_with_their_names_and_provenance() {
    let app = spawn_seeded_app().await;
    let demo = domain::demo::organizations().unwrap();
    let page = app.get_json("/v1/organizations").await;

    assert_eq!(page["total"], demo.len() as u64);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 20, "default page size");
    let finance = &items[0];
    assert_eq!(finance["bin"], demo[0].bin.as_str());
    assert_eq!(finance["name"]["ru"], "Министерство финансов Республики Казахстан");
    assert_eq!(finance["name"]["kk"], "Қазақстан Республикасының Қаржы министрлігі");
    assert_eq!(finance["name"]["en"], "Ministry of Finance of the Republic of Kazakhstan");
    assert_eq!(finance["kind"], "state_body");
    assert_eq!(finance["region_kato"], "710000000");
    assert_eq!(finance["provenance"]["source"], "demo");
    assert_eq!(finance["provenance"]["upstream_id"], "mf");
    assert_eq!(finance["provenance"]["fetched_at"], "2026-01-15T00:00:00Z");
    assert_eq!(finance["provenance"]["content_hash"].as_str().unwrap().len(), 64);
    assert!(page["links"]["next"].as_str().unwrap().starts_with("/v1/organizations?"));
}

#[tokio::test]
async fn walking_every_page_returns_each_organization_once() {
    let app = spawn_seeded_app().await;
    let items = walk(&app, "/v1/organizations?limit=7", async |_| {}).await;
    let demo = domain::demo::organizations().unwrap();
    assert_eq!(items.len(), demo.len());
    let ids: HashSet<i64> = items.iter().map(|item| item["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), items.len(), "an id repeated");
    let bins: HashSet<&str> = items.iter().map(|item| item["bin"].as_str().unwrap()).collect();
    let expected: HashSet<&str> = demo.iter().map(|org| org.bin.as_str()).collect();
    assert_eq!(bins, expected);
    for bin in bins {
        bin.parse::<Biin>().unwrap_or_else(|e| panic!("{bin}: {e}"));
    }
}

#[tokio::test]
async fn organizations_added_during_a_walk_appear_once_and_nothing_repeats() {
    let app = spawn_seeded_app().await;
    let db = app.db.clone();
    let items = walk(&app, "/v1/organizations?limit=10", async |page| {
        organization::ActiveModel {
            name_ru: Set(Some(format!("ТОО \"Новый поставщик {page}\""))),
            kind: Set(OrganizationKind::Supplier),
            source: Set("test".into()),
            upstream_id: Set(format!("new-{page}")),
            fetched_at: Set(chrono::Utc::now()),
            content_hash: Set("0".repeat(64)),
            ..Default::default()
        }
        .insert(&db)
        .await
        .expect("insert");
    })
    .await;
    let ids: Vec<i64> = items.iter().map(|item| item["id"].as_i64().unwrap()).collect();
    let unique: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an id repeated");
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids in order");
    let demo = domain::demo::organizations().unwrap().len();
    assert!(ids.len() > demo, "rows added behind the cursor are reached");
}

#[tokio::test]
async fn an_empty_database_gives_an_empty_last_page() {
    let app = spawn_app().await;
    let page = app.get_json("/v1/organizations").await;
    assert_eq!(page["total"], 0);
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    assert!(page["links"].get("next").is_none());
}

#[tokio::test]
async fn detail_matches_the_list_and_shows_the_parent() {
    let app = spawn_seeded_app().await;
    let items = walk(&app, "/v1/organizations?limit=100", async |_| {}).await;
    let kmg = items.iter().find(|item| item["provenance"]["upstream_id"] == "kmg").expect("KazMunayGas");
    let samruk = items.iter().find(|item| item["provenance"]["upstream_id"] == "samruk").expect("Samruk-Kazyna");
    let mut detail = app.get_json(&format!("/v1/organizations/{}", kmg["id"])).await;
    let totals = detail.as_object_mut().unwrap();
    assert!(totals.remove("as_buyer").is_some() && totals.remove("as_supplier").is_some());
    assert_eq!(
        totals.remove("council").expect("a quasi-public entity has a council")["host_organization_id"],
        kmg["id"]
    );
    assert!(totals.remove("findings").is_some_and(|f| f.is_array()));
    assert!(totals.remove("red_flags").is_some_and(|f| f.is_array()));
    assert_eq!(&detail, kmg);
    assert_eq!(detail["kind"], "quasi_public");
    assert_eq!(detail["parent_id"], samruk["id"]);
}

#[tokio::test]
async fn an_unknown_id_is_a_404_problem() {
    let app = spawn_app().await;
    let problem = assert_problem(app.get("/v1/organizations/424242").await, 404).await;
    assert_eq!(problem["detail"], "organization 424242 does not exist");
}

#[tokio::test]
async fn bad_parameters_are_400_problems_naming_the_parameter() {
    let app = spawn_app().await;
    for (path, parameter) in [
        ("/v1/organizations?limit=101", "limit"),
        ("/v1/organizations?limit=0", "limit"),
        ("/v1/organizations?limit=-1", "limit"),
        ("/v1/organizations?limit=ten", "limit"),
        ("/v1/organizations?cursor=not-a-cursor", "cursor"),
        ("/v1/organizations/abc", "id"),
    ] {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(invalid_param_name(&problem), parameter, "{path}: {problem}");
    }
}

#[tokio::test]
async fn a_limit_of_100_is_allowed() {
    let app = spawn_seeded_app().await;
    let page = app.get_json("/v1/organizations?limit=100").await;
    let demo = domain::demo::organizations().unwrap().len();
    assert_eq!(page["items"].as_array().unwrap().len(), demo.min(100));
}
