//! `GET /v1/search` over the demo data, and the text filter list endpoints use, on the engine
//! the run uses (SQLite, or PostgreSQL with `TEST_DATABASE_URL`).

use std::collections::HashSet;

use domain::entities::{OrganizationKind, contract, decision, organization, tender};
use domain::search::{SearchKind, SearchText, text_filter};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set};
use serde_json::Value;

use crate::helpers::{Engine, TestApp, assert_problem, invalid_param_name, spawn_seeded_app};

const MINISTRY_OF_FINANCE_RU: &str = "Министерство финансов Республики Казахстан";
/// Its State Revenue Committee, whose Russian name has "Министерства финансов" (genitive).
const REVENUE_COMMITTEE_KK: &str = "\"Қазақстан Республикасы Қаржы министрлігінің Мемлекеттік кірістер комитеті\" РММ";

/// `GET /v1/search` with these query parameters, encoded.
async fn search(app: &TestApp, parameters: &[(&str, &str)]) -> reqwest::Response {
    let url = reqwest::Url::parse_with_params(&format!("{}/v1/search", app.address), parameters).expect("a URL");
    app.client.get(url).send().await.expect("request sent")
}

async fn search_json(app: &TestApp, parameters: &[(&str, &str)]) -> Value {
    let response = search(app, parameters).await;
    assert_eq!(response.status(), 200, "{parameters:?}");
    response.json().await.expect("JSON body")
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("items")
}

fn names_ru(page: &Value) -> Vec<&str> {
    items(page).iter().filter_map(|hit| hit["name"]["ru"].as_str()).collect()
}

/// Follows `links.next` from the first page to the end, returning every hit.
async fn walk(app: &TestApp, parameters: &[(&str, &str)]) -> (Vec<Value>, u64) {
    let first = search_json(app, parameters).await;
    let total = first["total"].as_u64().unwrap();
    let mut hits = items(&first).clone();
    let mut next = first["links"]["next"].as_str().map(str::to_owned);
    let mut pages = 1;
    while let Some(path) = next {
        let page = app.get_json(&path).await;
        assert_eq!(page["total"], total, "the total stays the same across pages");
        hits.extend(items(&page).iter().cloned());
        next = page["links"]["next"].as_str().map(str::to_owned);
        pages += 1;
        assert!(pages < 1_000, "pagination does not end");
    }
    (hits, total)
}

fn key(hit: &Value) -> (String, i64) {
    (hit["kind"].as_str().unwrap().to_owned(), hit["id"].as_i64().unwrap())
}

#[tokio::test]
async fn search_ranks_the_record_a_russian_word_names_first() {
    let app = spawn_seeded_app().await;

    let page = search_json(&app, &[("q", "финансов")]).await;
    let first = &items(&page)[0];
    assert_eq!(first["kind"], "organization");
    assert_eq!(first["name"]["ru"], MINISTRY_OF_FINANCE_RU);
    assert_eq!(first["name"]["kk"], "Қазақстан Республикасының Қаржы министрлігі");
    assert_eq!(first["href"], format!("/v1/organizations/{}", first["id"]));
    assert!(first["snippet"].as_str().unwrap().contains("⟦финансов⟧"), "{first}");
    assert!(first["rank"].as_f64().unwrap() > 0.0);
    // The href leads to the record.
    let organization = app.get_json(first["href"].as_str().unwrap()).await;
    assert_eq!(organization["name"]["ru"], MINISTRY_OF_FINANCE_RU);

    // Goods from the goszakup plan page name tenders and contracts.
    let page = search_json(&app, &[("q", "Противогаз")]).await;
    assert!(page["total"].as_u64().unwrap() > 1);
    for hit in items(&page) {
        assert!(["tender", "contract"].contains(&hit["kind"].as_str().unwrap()), "{hit}");
        assert_eq!(hit["name"]["ru"], "Противогаз");
        assert_eq!(hit["name"]["kk"], "Газтұтқыш");
        assert!(hit["number"].is_string(), "{hit}");
    }
}

#[tokio::test]
async fn search_matches_russian_inflections_on_postgresql_and_prefixes_on_both() {
    let app = spawn_seeded_app().await;
    let genitive = search_json(&app, &[("q", "министерства финансов"), ("kind", "organization")]).await;
    let names = names_ru(&genitive);
    assert!(names.iter().any(|name| name.contains("Министерства финансов")), "the form typed: {names:?}");
    match Engine::from_env() {
        // Stemming: the genitive finds the nominative.
        Engine::Postgres { .. } => assert!(names.contains(&MINISTRY_OF_FINANCE_RU), "{names:?}"),
        // No stemming: only the form typed matches.
        Engine::Sqlite => assert!(!names.contains(&MINISTRY_OF_FINANCE_RU), "{names:?}"),
    }

    // On both engines the stem typed as the last word matches every form as a prefix.
    let stem = search_json(&app, &[("q", "финансов министерств"), ("kind", "organization")]).await;
    let names = names_ru(&stem);
    assert!(names.contains(&MINISTRY_OF_FINANCE_RU), "{names:?}");
    assert!(names.iter().any(|name| name.contains("Министерства финансов")), "{names:?}");

    // Tenders for "Работы бетонные" (concrete works), searched in other forms.
    let inflected = search_json(&app, &[("q", "бетонных работ"), ("kind", "tender")]).await;
    match Engine::from_env() {
        Engine::Postgres { .. } => {
            assert!(inflected["total"].as_u64().unwrap() > 0);
            assert!(names_ru(&inflected).iter().all(|name| *name == "Работы бетонные"), "{inflected}");
        }
        Engine::Sqlite => assert_eq!(inflected["total"], 0, "{inflected}"),
    }
}

#[tokio::test]
async fn search_finds_kazakh_words_whatever_their_case() {
    let app = spawn_seeded_app().await;
    let mut found = Vec::new();
    for q in ["қаржы", "ҚАРЖЫ", "Қаржы", "қАРЖЫ"] {
        let page = search_json(&app, &[("q", q)]).await;
        let hits: Vec<(String, i64)> = items(&page).iter().map(key).collect();
        let names_kk: Vec<&str> = items(&page).iter().map(|hit| hit["name"]["kk"].as_str().unwrap()).collect();
        assert!(names_kk.contains(&"Қазақстан Республикасының Қаржы министрлігі"), "{q}: {names_kk:?}");
        assert!(names_kk.contains(&REVENUE_COMMITTEE_KK), "{q}: {names_kk:?}");
        for name in names_kk {
            assert!(name.to_lowercase().contains("қаржы"), "{q}: {name}");
        }
        found.push(hits);
    }
    assert!(found.windows(2).all(|pair| pair[0] == pair[1]), "case changes nothing: {found:?}");

    // A Kazakh goods name with ұ and қ, in capitals, and its phrase.
    for q in ["ГАЗТҰТҚЫШ", "қолғаптар", "Бетон жұмыстары"] {
        let page = search_json(&app, &[("q", q)]).await;
        assert!(page["total"].as_u64().unwrap() > 0, "{q}");
        for hit in items(&page) {
            let name_kk = hit["name"]["kk"].as_str().unwrap().to_lowercase();
            assert!(name_kk.contains(&q.to_lowercase()), "{q}: {hit}");
        }
    }

    // Kazakh letters are not Russian ones: қ is not к.
    assert_eq!(search_json(&app, &[("q", "каржы")]).await["total"], 0);
}

#[tokio::test]
async fn search_by_bin_puts_its_organization_first() {
    let app = spawn_seeded_app().await;
    for organization in domain::demo::organizations().unwrap().iter().take(8) {
        let page = search_json(&app, &[("q", &organization.bin)]).await;
        let first = &items(&page)[0];
        assert_eq!(first["kind"], "organization", "{}: {page}", organization.bin);
        assert_eq!(first["bin"], organization.bin.as_str());
        assert_eq!(first["name"]["ru"], organization.name_ru.as_str());
        assert!(first.get("number").is_none());
    }
}

#[tokio::test]
async fn search_kind_restricts_the_kinds_returned() {
    let app = spawn_seeded_app().await;
    let all = search_json(&app, &[("q", "работы"), ("limit", "100")]).await;
    let tenders = search_json(&app, &[("q", "работы"), ("kind", "tender"), ("limit", "100")]).await;
    let contracts = search_json(&app, &[("q", "работы"), ("kind", "contract"), ("limit", "100")]).await;
    let both = search_json(&app, &[("q", "работы"), ("kind", "tender"), ("kind", "contract"), ("limit", "100")]).await;

    assert!(items(&tenders).iter().all(|hit| hit["kind"] == "tender"), "{tenders}");
    assert!(items(&contracts).iter().all(|hit| hit["kind"] == "contract"), "{contracts}");
    assert!(items(&both).iter().all(|hit| ["tender", "contract"].contains(&hit["kind"].as_str().unwrap())));
    let (tender_total, contract_total) = (tenders["total"].as_u64().unwrap(), contracts["total"].as_u64().unwrap());
    assert!(tender_total > 0 && contract_total > 0);
    assert_eq!(both["total"].as_u64().unwrap(), tender_total + contract_total);
    assert!(all["total"].as_u64().unwrap() >= tender_total + contract_total);

    let organizations = search_json(&app, &[("q", "министерство"), ("kind", "organization")]).await;
    assert!(organizations["total"].as_u64().unwrap() > 0);
    assert!(items(&organizations).iter().all(|hit| hit["kind"] == "organization"));
    let decisions = search_json(&app, &[("q", "бюджета"), ("kind", "decision")]).await;
    assert!(decisions["total"].as_u64().unwrap() > 0);
    for hit in items(&decisions) {
        assert_eq!(hit["kind"], "decision");
        assert!(hit["href"].as_str().unwrap().starts_with("/v1/decisions/"));
        assert!(hit["number"].as_str().unwrap().contains('№'), "{hit}");
    }

    let problem = assert_problem(search(&app, &[("q", "работы"), ("kind", "payment")]).await, 400).await;
    assert_eq!(invalid_param_name(&problem), "kind");
}

#[tokio::test]
async fn search_pagination_walks_every_hit_exactly_once_in_rank_order() {
    let app = spawn_seeded_app().await;
    // Many hits share a rank (tenders and contracts named alike): ties exercise the keyset.
    let (hits, total) = walk(&app, &[("q", "работы по ремонту"), ("limit", "9")]).await;
    assert!(total > 50, "a walk of several pages: {total}");
    assert_eq!(hits.len() as u64, total);
    let keys: HashSet<(String, i64)> = hits.iter().map(key).collect();
    assert_eq!(keys.len(), hits.len(), "a hit repeated");
    let order: Vec<(f64, String, i64)> =
        hits.iter().map(|hit| (hit["rank"].as_f64().unwrap(), key(hit).0, key(hit).1)).collect();
    for pair in order.windows(2) {
        let ((rank_a, kind_a, id_a), (rank_b, kind_b, id_b)) = (&pair[0], &pair[1]);
        assert!(
            rank_a > rank_b || (rank_a == rank_b && (kind_a, id_a) < (kind_b, id_b)),
            "out of order: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
    // Another page size walks the same hits in the same order.
    let (large_pages, _) = walk(&app, &[("q", "работы по ремонту"), ("limit", "100")]).await;
    assert_eq!(large_pages.iter().map(key).collect::<Vec<_>>(), hits.iter().map(key).collect::<Vec<_>>());

    // A cursor belongs to its search.
    let first = search_json(&app, &[("q", "работы по ремонту"), ("limit", "9")]).await;
    let next = first["links"]["next"].as_str().unwrap();
    assert!(next.starts_with("/v1/search?"), "{next}");
    let cursor = next.split("cursor=").nth(1).unwrap();
    for parameters in [
        vec![("q", "работы"), ("limit", "9"), ("cursor", cursor)],
        vec![("q", "работы по ремонту"), ("kind", "tender"), ("limit", "9"), ("cursor", cursor)],
        vec![("q", "работы по ремонту"), ("cursor", "not-a-cursor")],
    ] {
        let problem = assert_problem(search(&app, &parameters).await, 400).await;
        assert_eq!(invalid_param_name(&problem), "cursor", "{parameters:?}");
    }
    for limit in ["0", "101", "ten"] {
        let problem = assert_problem(search(&app, &[("q", "работы"), ("limit", limit)]).await, 400).await;
        assert_eq!(invalid_param_name(&problem), "limit");
    }
}

#[tokio::test]
async fn search_hostile_input_is_answered_never_a_server_error() {
    let app = spawn_seeded_app().await;
    let organizations_before = organization::Entity::find().count(&app.db).await.unwrap();
    let long = "ә".repeat(10 * 1024);
    let long_words = "қаржы ".repeat(2_000);
    let hostile = [
        "\"",
        "\"\"",
        "\"финансов",
        "*",
        "финансов*",
        "*финансов",
        "NEAR(",
        "NEAR(финансов министерство, 2)",
        "финансов NEAR министерство",
        "a:b",
        "name_ru:финансов",
        "'; DROP TABLE organizations; --",
        "\"; DROP TABLE search_organizations; --",
        "финансов OR министерство",
        "финансов AND NOT министерство",
        "-финансов",
        "^финансов",
        "(финансов",
        "финансов)",
        "{name_ru name_kk}: финансов",
        "финансов & министерство | !x",
        "финансов <-> министерство",
        "финансов:*",
        "финансов:A",
        "\\",
        "\\'",
        "%",
        "_",
        "x\u{0}y",
        "\u{0}",
        "🙂 финансов",
        "ſ ß ǅ",
        "١٢٣",
        &long,
        &long_words,
    ];
    for q in hostile {
        let response = search(&app, &[("q", q)]).await;
        let status = response.status().as_u16();
        let shown: String = q.chars().take(40).collect();
        match status {
            200 => {
                let page: Value = response.json().await.unwrap();
                assert!(page["items"].is_array(), "{shown}: {page}");
            }
            400 => {
                let problem = assert_problem(response, 400).await;
                assert_eq!(invalid_param_name(&problem), "q", "{shown}: {problem}");
            }
            other => panic!("{shown}: status {other}"),
        }
    }
    // Operators in the text are not operators: `финансов*` is the word финансов.
    let starred = search_json(&app, &[("q", "финансов*")]).await;
    assert_eq!(starred["total"], search_json(&app, &[("q", "финансов")]).await["total"]);
    let problem = assert_problem(search(&app, &[("q", &long)]).await, 400).await;
    assert!(problem["invalid_params"][0]["reason"].as_str().unwrap().contains("500"), "{problem}");
    assert_eq!(organization::Entity::find().count(&app.db).await.unwrap(), organizations_before);
    assert!(search_json(&app, &[("q", "финансов")]).await["total"].as_u64().unwrap() > 0, "the index is intact");
}

#[tokio::test]
async fn search_without_text_is_a_400_naming_q() {
    let app = spawn_seeded_app().await;
    for parameters in [vec![("q", "")], vec![("q", "   ")], vec![("q", "\t\n")], vec![("kind", "tender")]] {
        let problem = assert_problem(search(&app, &parameters).await, 400).await;
        assert_eq!(invalid_param_name(&problem), "q", "{parameters:?}: {problem}");
    }
}

#[tokio::test]
async fn search_follows_rows_inserted_updated_and_deleted_after_seeding() {
    let app = spawn_seeded_app().await;
    let db = &app.db;
    let total = |q: &'static str| {
        let app = &app;
        async move { search_json(app, &[("q", q)]).await["total"].as_u64().unwrap() }
    };
    let now = chrono::Utc::now();

    // An organization: inserted, renamed, deleted.
    assert_eq!(total("Жаңаорганизация").await, 0);
    let inserted = organization::ActiveModel {
        bin: Set(Some("991240000015".into())),
        name_ru: Set(Some("ТОО \"Новоорганизация\"".into())),
        name_kk: Set(Some("\"Жаңаорганизация\" ЖШС".into())),
        kind: Set(OrganizationKind::Supplier),
        source: Set("test".into()),
        upstream_id: Set("search-new".into()),
        fetched_at: Set(now),
        content_hash: Set("0".repeat(64)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert");
    let page = search_json(&app, &[("q", "ЖАҢАОРГАНИЗАЦИЯ")]).await;
    assert_eq!(page["total"], 1);
    assert_eq!(items(&page)[0]["id"], inserted.id);
    assert_eq!(total("991240000015").await, 1);

    let mut renamed: organization::ActiveModel = inserted.into();
    renamed.name_kk = Set(Some("\"Өзгертілгенұйым\" ЖШС".into()));
    let renamed = renamed.update(db).await.expect("update");
    assert_eq!(total("Жаңаорганизация").await, 0, "the old name is gone");
    assert_eq!(total("өзгертілгенұйым").await, 1, "the new name is found");
    assert_eq!(total("Новоорганизация").await, 1, "the unchanged Russian name still is");

    organization::Entity::delete_by_id(renamed.id).exec(db).await.expect("delete");
    assert_eq!(total("өзгертілгенұйым").await, 0);
    assert_eq!(total("Новоорганизация").await, 0);
    assert_eq!(total("991240000015").await, 0);

    // A tender inserted under an existing buyer.
    let buyer = organization::Entity::find().one(db).await.unwrap().unwrap();
    let template = tender::Entity::find().one(db).await.unwrap().unwrap();
    let new_tender = tender::ActiveModel {
        number: Set("99999999-1".into()),
        buyer_id: Set(buyer.id),
        name_ru: Set(Some("Дирижабль привязной".into())),
        name_kk: Set(Some("Байланған дирижабль".into())),
        name_en: Set(Some("Tethered airship".into())),
        procurement_method: Set(template.procurement_method),
        status: Set(template.status),
        fiscal_year: Set(2025),
        published_at: Set(now),
        amount_minor: Set(100),
        currency: Set("KZT".into()),
        exchange_rate: Set("1".into()),
        vat_included: Set(true),
        source: Set("test".into()),
        upstream_id: Set("search-tender".into()),
        fetched_at: Set(now),
        content_hash: Set("0".repeat(64)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert tender");
    let page = search_json(&app, &[("q", "airship")]).await;
    assert_eq!(page["total"], 1);
    assert_eq!(items(&page)[0]["href"], format!("/v1/tenders/{}", new_tender.id));
    assert_eq!(items(&page)[0]["number"], "99999999-1");

    // A contract's description and a decision's title rewritten in place.
    let some_contract = contract::Entity::find().one(db).await.unwrap().unwrap();
    let old_description = some_contract.description_ru.clone().unwrap();
    let mut changed: contract::ActiveModel = some_contract.clone().into();
    changed.description_ru = Set(Some("Поставка аэростатов".into()));
    changed.update(db).await.expect("update contract");
    let page = search_json(&app, &[("q", "аэростатов"), ("kind", "contract")]).await;
    assert_eq!(items(&page).iter().map(key).collect::<Vec<_>>(), vec![("contract".to_owned(), some_contract.id)]);
    let (with_old, _) = walk(&app, &[("q", &old_description), ("kind", "contract"), ("limit", "100")]).await;
    assert!(!with_old.is_empty(), "other contracts keep that description");
    assert!(!with_old.iter().any(|hit| hit["id"] == some_contract.id), "the old description is gone");

    let some_decision = decision::Entity::find().one(db).await.unwrap().unwrap();
    let mut changed: decision::ActiveModel = some_decision.clone().into();
    changed.title_kk = Set(Some("Әуешарды сатып алу туралы".into()));
    changed.update(db).await.expect("update decision");
    assert_eq!(total("ӘУЕШАРДЫ").await, 1);
    decision::Entity::delete_by_id(some_decision.id).exec(db).await.expect("delete decision");
    assert_eq!(total("ӘУЕШАРДЫ").await, 0);
}

#[tokio::test]
async fn search_text_filter_narrows_a_list_query_like_search_does() {
    let app = spawn_seeded_app().await;
    let db = &app.db;
    let backend = db.get_database_backend();
    let text = SearchText::parse("работы по ремонту").unwrap();

    let filtered: Vec<i64> = contract::Entity::find()
        .select_only()
        .column(contract::Column::Id)
        .filter(text_filter(backend, SearchKind::Contract, &text))
        .into_tuple()
        .all(db)
        .await
        .expect("the filter runs");
    let (hits, _) = walk(&app, &[("q", "работы по ремонту"), ("kind", "contract"), ("limit", "100")]).await;
    let searched: HashSet<i64> = hits.iter().map(|hit| hit["id"].as_i64().unwrap()).collect();
    assert!(!filtered.is_empty());
    assert_eq!(filtered.iter().copied().collect::<HashSet<_>>(), searched);

    // Combined with another filter, it narrows further and the other filter still holds.
    let in_2024 = contract::Entity::find()
        .filter(contract::Column::FiscalYear.eq(2024))
        .filter(text_filter(backend, SearchKind::Contract, &text))
        .all(db)
        .await
        .unwrap();
    assert!(!in_2024.is_empty() && in_2024.len() < filtered.len());
    for row in &in_2024 {
        assert_eq!(row.fiscal_year, 2024);
        assert!(row.description_ru.as_deref().unwrap().to_lowercase().contains("работы по ремонту"), "{row:?}");
    }

    // Hostile text is bound, never spliced.
    let hostile = SearchText::parse("'; DROP TABLE contracts; -- \" NEAR( a:b").unwrap();
    let filter = |kind| text_filter(backend, kind, &hostile);
    organization::Entity::find().filter(filter(SearchKind::Organization)).count(db).await.expect("organizations");
    tender::Entity::find().filter(filter(SearchKind::Tender)).count(db).await.expect("tenders");
    contract::Entity::find().filter(filter(SearchKind::Contract)).count(db).await.expect("contracts");
    decision::Entity::find().filter(filter(SearchKind::Decision)).count(db).await.expect("decisions");
    assert!(contract::Entity::find().count(db).await.unwrap() > 0);
}

/// Writers in concurrent transactions, each on a connection the pool opens for it, insert rows
/// the search triggers index: none fails with "database is locked", and every row is found.
#[tokio::test]
async fn search_triggers_let_concurrent_writers_commit() {
    let app = crate::helpers::spawn_app().await;
    let (writers, transactions, rows) = (4, 10, 3);
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let db = app.db.clone();
        tasks.push(tokio::spawn(async move {
            for transaction in 0..transactions {
                let open = sea_orm::TransactionTrait::begin(&db).await.expect("begin");
                for row in 0..rows {
                    organization::ActiveModel {
                        name_ru: Set(Some(format!("ТОО \"Параллельный{writer}x{transaction}x{row}\""))),
                        name_kk: Set(Some("\"Қатарлас жазушы\" ЖШС".into())),
                        kind: Set(OrganizationKind::Supplier),
                        source: Set("test".into()),
                        upstream_id: Set(format!("writer-{writer}-{transaction}-{row}")),
                        fetched_at: Set(chrono::Utc::now()),
                        content_hash: Set("0".repeat(64)),
                        ..Default::default()
                    }
                    .insert(&open)
                    .await
                    .expect("insert in a concurrent transaction");
                    tokio::task::yield_now().await;
                }
                open.commit().await.expect("commit");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer finished");
    }
    let page = search_json(&app, &[("q", "ҚАТАРЛАС жазушы")]).await;
    assert_eq!(page["total"], writers * transactions * rows);
    assert_eq!(search_json(&app, &[("q", "Параллельный2x7x1")]).await["total"], 1);
}
