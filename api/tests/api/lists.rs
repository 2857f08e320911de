//! The spending lists: details, filters, orders, pagination and CSV exports.

use std::collections::HashSet;

use domain::demo;
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, invalid_param_name, spawn_seeded_app};

/// Follows `links.next` from `first` to the end.
async fn walk(app: &TestApp, first: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(first.to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let page = app.get_json(&path).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        next = page["links"]["next"].as_str().map(str::to_owned);
        pages += 1;
        assert!(pages < 10_000, "pagination does not end");
    }
    items
}

fn minor(amount: &Value) -> i64 {
    domain::money::Money::minor_units_from_str(amount.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn every_list_holds_the_demo_counts() {
    let app = spawn_seeded_app().await;
    let counts = demo::generate().unwrap().counts();
    for (path, expected) in [
        ("/v1/organizations", counts.organizations),
        ("/v1/plan-items", counts.plan_items),
        ("/v1/tenders", counts.tenders),
        ("/v1/lots", counts.lots),
        ("/v1/contracts", counts.contracts),
        ("/v1/payments", counts.payments),
        ("/v1/decisions", counts.decisions),
    ] {
        let page = app.get_json(&format!("{path}?limit=3")).await;
        assert_eq!(page["total"], expected, "{path}");
        assert_eq!(page["items"].as_array().unwrap().len(), 3, "{path}");
        let first = &page["items"][0];
        let detail = app.get_json(&format!("{path}/{}", first["id"])).await;
        assert_eq!(detail["id"], first["id"], "{path}");
        assert_eq!(detail["provenance"]["source"], "demo", "{path}");
        assert!(detail["provenance"]["upstream_id"].is_string(), "{path}");
        let missing = app.get(&format!("{path}/999999999")).await;
        assert_problem(missing, 404).await;
    }
}

#[tokio::test]
async fn a_contract_shows_its_parties_tender_amendments_and_payments() {
    let app = spawn_seeded_app().await;
    let data = demo::generate().unwrap();
    let amended = data.amendments.iter().find(|a| a.sequence == 2).expect("a contract amended twice");
    let contract = data.contracts.iter().find(|c| c.key == amended.contract).unwrap();
    let listed = app
        .get_json(&format!(
            "/v1/contracts?limit=100&sort=-date&date_from={}&date_to={}",
            contract.signed_at.date_naive(),
            contract.signed_at.date_naive()
        ))
        .await;
    let item = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provenance"]["upstream_id"] == contract.key.as_str())
        .expect("listed on its signing day")
        .clone();
    let detail = app.get_json(&format!("/v1/contracts/{}", item["id"])).await;

    assert_eq!(detail["number"], contract.number.as_str());
    assert_eq!(detail["amount"]["amount"], domain::money::format_minor_units(contract.amount_minor));
    assert_eq!(detail["amount"]["currency"], "KZT");
    assert_eq!(detail["amount"]["vat_included"], contract.vat_included);
    let buyer = data.organizations.iter().find(|o| o.key == contract.buyer).unwrap();
    assert_eq!(detail["buyer"]["bin"], buyer.bin.as_str());
    assert_eq!(detail["buyer"]["name"]["ru"], buyer.name_ru.as_str());
    let supplier = data.organizations.iter().find(|o| o.key == contract.supplier).unwrap();
    assert_eq!(detail["supplier"]["bin"], supplier.bin.as_str());

    let amendments = detail["amendments"].as_array().unwrap();
    assert_eq!(amendments.len(), 2);
    assert_eq!(amendments[1]["new_amount"]["amount"], detail["amount"]["amount"]);
    assert_eq!(amendments[0]["new_amount"]["amount"], amendments[1]["previous_amount"]["amount"]);

    let paid: i64 = data.payments.iter().filter(|p| p.contract == contract.key).map(|p| p.amount_minor).sum();
    let count = data.payments.iter().filter(|p| p.contract == contract.key).count();
    assert_eq!(detail["payments"]["count"], count as u64);
    assert_eq!(minor(&detail["payments"]["paid"]["amount"]), paid);
    assert_eq!(minor(&detail["payments"]["outstanding"]["amount"]), contract.amount_minor - paid);
    if contract.tender.is_some() {
        assert!(detail["tender"]["number"].is_string());
        assert_eq!(detail["tender"]["id"], detail["tender_id"]);
    }
    // The same payments, listed by contract.
    let payments = walk(&app, &format!("/v1/payments?contract_id={}&limit=100", item["id"])).await;
    assert_eq!(payments.len(), count);
}

#[tokio::test]
async fn an_organization_shows_its_totals_as_buyer_and_supplier() {
    let app = spawn_seeded_app().await;
    let data = demo::generate().unwrap();
    let supplier = data.organizations.iter().find(|o| o.key == data.contracts[0].supplier).unwrap();
    let found = app.get_json(&format!("/v1/organizations?bin={}", supplier.bin)).await;
    assert_eq!(found["total"], 1);
    let detail = app.get_json(&format!("/v1/organizations/{}", found["items"][0]["id"])).await;
    let won: Vec<_> = data.contracts.iter().filter(|c| c.supplier == supplier.key).collect();
    assert_eq!(detail["as_supplier"]["contract_count"], won.len() as u64);
    let per_basis = |vat: bool| won.iter().filter(|c| c.vat_included == vat).map(|c| c.amount_minor).sum::<i64>();
    for total in detail["as_supplier"]["contracted"].as_array().unwrap() {
        assert_eq!(minor(&total["amount"]), per_basis(total["vat_included"].as_bool().unwrap()));
    }
    assert_eq!(detail["as_buyer"]["contract_count"], 0);
    assert!(detail["as_buyer"]["contracted"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn filters_combine_and_match_the_data() {
    let app = spawn_seeded_app().await;
    let data = demo::generate().unwrap();
    let quasi: HashSet<&str> = data
        .organizations
        .iter()
        .filter(|o| o.kind == domain::entities::OrganizationKind::QuasiPublic)
        .map(|o| o.key.as_str())
        .collect();
    let expected = data
        .contracts
        .iter()
        .filter(|c| quasi.contains(c.buyer.as_str()))
        .filter(|c| c.fiscal_year == 2024)
        .filter(|c| c.method == domain::entities::ProcurementMethod::SingleSource)
        .filter(|c| c.amount_minor >= 100_000_000)
        .count();
    assert!(expected > 0, "the demo set has such contracts");
    let items = walk(
        &app,
        "/v1/contracts?buyer_kind=quasi_public&fiscal_year=2024&procurement_method=single_source&amount_min=1000000&limit=50",
    )
    .await;
    assert_eq!(items.len(), expected);
    for item in &items {
        assert_eq!(item["buyer"]["kind"], "quasi_public");
        assert_eq!(item["fiscal_year"], 2024);
        assert_eq!(item["procurement_method"], "single_source");
        assert!(minor(&item["amount"]["amount"]) >= 100_000_000);
        assert_eq!(item["amount"]["vat_included"], false, "quasi-public amounts exclude VAT");
    }

    // A region: every Almaty buyer's payments (KATO 75…), by date range.
    let almaty: HashSet<&str> =
        data.organizations.iter().filter(|o| o.region_kato.starts_with("75")).map(|o| o.key.as_str()).collect();
    let in_range = |p: &&demo::DemoPayment| {
        let day = p.paid_at.date_naive().to_string();
        day.as_str() >= "2024-03-01" && day.as_str() <= "2024-06-30"
    };
    let expected = data.payments.iter().filter(|p| almaty.contains(p.payer.as_str())).filter(in_range).count();
    let page = app.get_json("/v1/payments?region=750000000&date_from=2024-03-01&date_to=2024-06-30&limit=1").await;
    assert_eq!(page["total"], expected as u64);

    let buyer = &data.tenders[0].buyer;
    let bin = &data.organizations.iter().find(|o| &o.key == buyer).unwrap().bin;
    let expected = data.tenders.iter().filter(|t| &t.buyer == buyer).count();
    assert_eq!(app.get_json(&format!("/v1/tenders?buyer_bin={bin}&limit=1")).await["total"], expected as u64);
    let expected = data.tenders.iter().filter(|t| t.status == domain::entities::TenderStatus::Failed).count();
    assert_eq!(app.get_json("/v1/tenders?status=failed&limit=1").await["total"], expected as u64);
}

#[tokio::test]
async fn sorting_by_amount_and_date_walks_every_row_once_in_order() {
    let app = spawn_seeded_app().await;
    for (sort, key) in [("-amount", "amount"), ("amount", "amount"), ("date", "signed_at"), ("-date", "signed_at")] {
        let items = walk(&app, &format!("/v1/contracts?sort={sort}&limit=100")).await;
        assert_eq!(items.len(), demo::CONTRACTS, "{sort}");
        let ids: HashSet<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), items.len(), "{sort}: a row repeated");
        let descending = sort.starts_with('-');
        for pair in items.windows(2) {
            let ordered = if key == "amount" {
                let (a, b) = (minor(&pair[0]["amount"]["amount"]), minor(&pair[1]["amount"]["amount"]));
                if descending { a >= b } else { a <= b }
            } else {
                let (a, b) = (pair[0][key].as_str().unwrap(), pair[1][key].as_str().unwrap());
                let (a, b) = (
                    chrono::DateTime::parse_from_rfc3339(a).unwrap(),
                    chrono::DateTime::parse_from_rfc3339(b).unwrap(),
                );
                if descending { a >= b } else { a <= b }
            };
            assert!(ordered, "{sort}: {} then {}", pair[0]["id"], pair[1]["id"]);
        }
    }
}

#[tokio::test]
async fn a_cursor_only_fits_its_own_order() {
    let app = spawn_seeded_app().await;
    let page = app.get_json("/v1/contracts?sort=-amount&limit=2").await;
    let next = page["links"]["next"].as_str().unwrap();
    let cursor = next.split("cursor=").nth(1).unwrap();
    let problem = assert_problem(app.get(&format!("/v1/contracts?sort=date&cursor={cursor}")).await, 400).await;
    assert_eq!(invalid_param_name(&problem), "cursor");
}

#[tokio::test]
async fn bad_filter_values_are_400_problems_naming_the_parameter() {
    let app = spawn_seeded_app().await;
    for (path, parameter) in [
        ("/v1/contracts?buyer_bin=123", "buyer_bin"),
        ("/v1/contracts?supplier_bin=990240424459", "supplier_bin"),
        ("/v1/contracts?status=lost", "status"),
        ("/v1/contracts?procurement_method=lottery", "procurement_method"),
        ("/v1/contracts?fiscal_year=abc", "fiscal_year"),
        ("/v1/contracts?date_from=2024-13-01", "date_from"),
        ("/v1/contracts?date_from=2024-05-01&date_to=2024-04-01", "date_to"),
        ("/v1/contracts?amount_min=ten", "amount_min"),
        ("/v1/contracts?amount_min=1.001", "amount_min"),
        ("/v1/contracts?amount_min=5&amount_max=1", "amount_max"),
        ("/v1/contracts?sort=price", "sort"),
        ("/v1/contracts?format=xml", "format"),
        ("/v1/payments?region=75", "region"),
        ("/v1/payments?limit=101", "limit"),
        ("/v1/tenders?buyer_kind=ministry", "buyer_kind"),
        ("/v1/organizations?kind=ngo", "kind"),
        ("/v1/decisions?sort=amount", "sort"),
    ] {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(invalid_param_name(&problem), parameter, "{path}: {problem}");
    }
}

#[tokio::test]
async fn accept_language_chooses_the_display_name() {
    let app = spawn_seeded_app().await;
    let get = |language: &'static str| {
        let app = &app;
        async move {
            let response = app
                .client
                .get(format!("{}/v1/organizations/1", app.address))
                .header("accept-language", language)
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        }
    };
    let kazakh = get("kk-KZ, ru;q=0.5").await;
    assert_eq!(kazakh["name"]["display"], kazakh["name"]["kk"]);
    let english = get("en").await;
    assert_eq!(english["name"]["display"], english["name"]["en"]);
    let fallback = get("de").await;
    assert_eq!(fallback["name"]["display"], fallback["name"]["ru"]);
    assert!(kazakh["name"]["ru"].is_string() && kazakh["name"]["en"].is_string(), "every language is kept");
}

#[tokio::test]
async fn csv_exports_stream_every_matching_row_with_formulas_neutralised() {
    let app = spawn_seeded_app().await;
    let response = app.get("/v1/payments?format=csv&fiscal_year=2024").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(reader.headers().unwrap().get(0), Some("id"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let data = demo::generate().unwrap();
    assert_eq!(rows.len(), data.payments.iter().filter(|p| p.fiscal_year == 2024).count());
    let ids: HashSet<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(ids.len(), rows.len());

    // Accept: text/csv works the same, without a row cap.
    let response =
        app.client.get(format!("{}/v1/payments", app.address)).header("accept", "text/csv").send().await.unwrap();
    let body = response.text().await.unwrap();
    assert_eq!(body.lines().count(), demo::PAYMENTS + 1);

    // A name that looks like a formula is exported inert.
    use sea_orm::{ActiveModelTrait, Set};
    domain::entities::organization::ActiveModel {
        name_ru: Set(Some("=HYPERLINK(\"http://evil\",\"x\")".into())),
        kind: Set(domain::entities::OrganizationKind::Supplier),
        source: Set("test".into()),
        upstream_id: Set("formula".into()),
        fetched_at: Set(chrono::Utc::now()),
        content_hash: Set("0".repeat(64)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let body = app.get("/v1/organizations?format=csv&kind=supplier").await.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let name_ru = reader.headers().unwrap().iter().position(|h| h == "name_ru").unwrap();
    let evil: Vec<String> = reader
        .records()
        .map(|r| r.unwrap().get(name_ru).unwrap().to_owned())
        .filter(|name| name.contains("HYPERLINK"))
        .collect();
    assert_eq!(evil, vec!["'=HYPERLINK(\"http://evil\",\"x\")".to_owned()]);
}

#[tokio::test]
async fn free_text_combines_with_the_other_filters() {
    let app = spawn_seeded_app().await;
    let data = demo::generate().unwrap();
    // Contracts for a catalogue item, by a Russian word of its description, in one year.
    let word = "Дератизация";
    let expected = data
        .contracts
        .iter()
        .filter(|c| c.description_ru.to_lowercase().contains(&word.to_lowercase()) && c.fiscal_year == 2024)
        .count();
    let items = walk(&app, &format!("/v1/contracts?q={word}&fiscal_year=2024&limit=100")).await;
    assert_eq!(items.len(), expected);
    for item in &items {
        let text = format!("{} {}", item["description"]["ru"], item["description"]["kk"]).to_lowercase();
        assert!(text.contains(&word.to_lowercase()), "{item}");
        assert_eq!(item["fiscal_year"], 2024);
    }
    // Kazakh, any case, on organizations of one kind.
    let page = app.get_json("/v1/organizations?q=%D2%9A%D0%90%D0%A0%D0%96%D0%AB&kind=state_body").await;
    assert!(page["total"].as_u64().unwrap() >= 1);
    for item in page["items"].as_array().unwrap() {
        assert!(item["name"]["kk"].as_str().unwrap().to_lowercase().contains("қаржы"), "{item}");
    }
    let problem = assert_problem(app.get("/v1/decisions?q=%20%20").await, 400).await;
    assert_eq!(invalid_param_name(&problem), "q");
}
