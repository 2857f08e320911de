//! OCDS 1.1.5 output, checked against OCP's own schemas and codelists
//! (`fixtures/ocds-schema-1.1.5/`, open-contracting/standard tag 1__1__5) and against the
//! database it is built from.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use domain::entities::{contract, payment, tender};
use domain::money::Money;
use jsonschema::{Draft, Registry, Validator};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, invalid_param_name, spawn_app, spawn_seeded_app};

const SCHEMA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/ocds-schema-1.1.5");
/// The URLs the package schemas `$ref`; nothing is fetched, the registry answers for them.
const RELEASE_SCHEMA_URL: &str = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json";
const VERSIONED_RELEASE_SCHEMA_URL: &str =
    "https://standard.open-contracting.org/schema/1__1__5/versioned-release-validation-schema.json";

fn schema_file(name: &str) -> Value {
    let path = format!("{SCHEMA_DIR}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A draft-04 validator for one of the package schemas, with the release schema they refer to
/// read from the repository. The versioned-release schema is not in the fixtures: Scrutiny
/// publishes no `versionedRelease`, so a schema that accepts nothing stands in for it.
fn package_validator(package_schema: &str) -> Validator {
    let registry = Registry::new()
        .draft(Draft::Draft4)
        .add(RELEASE_SCHEMA_URL, schema_file("release-schema.json"))
        .and_then(|builder| builder.add(VERSIONED_RELEASE_SCHEMA_URL, json!({ "not": {} })))
        .and_then(|builder| builder.prepare())
        .expect("the OCDS schemas register");
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .should_validate_formats(true)
        .with_registry(&registry)
        .build(&schema_file(package_schema))
        .expect("the OCDS package schema compiles")
}

fn assert_valid(validator: &Validator, document: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(document)
        .take(20)
        .map(|error| format!("  {} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what} is not valid OCDS 1.1.5:\n{}", errors.join("\n"));
}

/// The codes of an OCDS codelist.
fn codelist(name: &str) -> HashSet<String> {
    let path = format!("{SCHEMA_DIR}/codelists/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Codes never contain commas or quotes; the first column is all we read.
    text.lines().skip(1).filter_map(|line| line.split(',').next()).map(str::to_owned).collect()
}

/// An OCDS amount read back as exact minor units, through its JSON text.
fn minor_units(amount: &Value) -> i64 {
    let text = amount.as_number().expect("amount is a JSON number").to_string();
    Money::minor_units_from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Every release package from `first` on, following `links.next`, with how long each took.
async fn walk(app: &TestApp, first: &str) -> Vec<(Value, Duration)> {
    let mut packages = Vec::new();
    let mut next = Some(format!("{}{first}", app.address));
    while let Some(url) = next {
        let started = Instant::now();
        let response = app.client.get(&url).send().await.expect("request sent");
        assert_eq!(response.status(), 200, "GET {url}");
        let package: Value = response.json().await.expect("JSON body");
        let took = started.elapsed();
        assert_eq!(package["uri"], url.as_str(), "a package's uri is where it was fetched");
        next = package["links"]["next"].as_str().map(str::to_owned);
        if let Some(next) = &next {
            assert!(next.starts_with(&format!("{}/v1/ocds/releases?", app.address)), "{next}");
        }
        packages.push((package, took));
        assert!(packages.len() < 1_000, "pagination does not end");
    }
    packages
}

fn releases(packages: &[(Value, Duration)]) -> impl Iterator<Item = &Value> {
    packages.iter().flat_map(|(package, _)| package["releases"].as_array().expect("releases").iter())
}

async fn process_count(app: &TestApp) -> u64 {
    let tenders = tender::Entity::find().count(&app.db).await.unwrap();
    let direct = contract::Entity::find().filter(contract::Column::TenderId.is_null()).count(&app.db).await.unwrap();
    assert_eq!(tenders, domain::demo::TENDERS as u64);
    assert!(direct > 0, "the demo set has direct contracts");
    tenders + direct
}

#[tokio::test]
async fn every_release_page_is_a_valid_release_package_holding_each_process_once() {
    let app = spawn_seeded_app().await;
    let validator = package_validator("release-package-schema.json");
    let packages = walk(&app, "/v1/ocds/releases?limit=100").await;

    let mut ocids = HashSet::new();
    let mut release_ids = HashSet::new();
    for (index, (package, _)) in packages.iter().enumerate() {
        assert_valid(&validator, package, &format!("release package {index}"));
        assert_eq!(package["version"], "1.1");
        assert_eq!(package["publisher"]["name"], "Scrutiny");
        for release in package["releases"].as_array().unwrap() {
            let ocid = release["ocid"].as_str().unwrap();
            assert!(ocid.starts_with("ocds-scrtny-demo-"), "{ocid}");
            assert!(ocids.insert(ocid.to_owned()), "{ocid} appears twice");
            assert!(release_ids.insert(release["id"].as_str().unwrap().to_owned()), "release id repeated");
            assert_eq!(release["tag"], json!(["compiled"]));
        }
    }
    let expected = process_count(&app).await;
    assert_eq!(ocids.len() as u64, expected, "one release per tender and per direct contract");
    assert_eq!(packages.len() as u64, expected.div_ceil(100), "full pages of 100");
    assert!(packages.last().unwrap().0.get("links").is_none(), "the last page has no next");

    let times: Vec<Duration> = packages.iter().map(|(_, took)| *took).collect();
    let total: Duration = times.iter().sum();
    eprintln!(
        "ocds: {} pages of 100 releases, {:?} mean, {:?} slowest, {:?} in all",
        times.len(),
        total / times.len() as u32,
        times.iter().max().unwrap(),
        total
    );

    // The same walk again gives the same releases: ids name content, not the moment.
    let again = walk(&app, "/v1/ocds/releases?limit=100").await;
    let first: Vec<&Value> = releases(&packages).map(|release| &release["id"]).collect();
    let second: Vec<&Value> = releases(&again).map(|release| &release["id"]).collect();
    assert_eq!(first, second);
}

#[tokio::test]
async fn statuses_methods_roles_and_tags_come_from_the_ocds_codelists() {
    let app = spawn_seeded_app().await;
    let packages = walk(&app, "/v1/ocds/releases?limit=100").await;
    let (tender_statuses, award_statuses, contract_statuses, methods, roles, tags, initiation_types) = (
        codelist("tenderStatus.csv"),
        codelist("awardStatus.csv"),
        codelist("contractStatus.csv"),
        codelist("method.csv"),
        codelist("partyRole.csv"),
        codelist("releaseTag.csv"),
        codelist("initiationType.csv"),
    );
    let member = |codes: &HashSet<String>, value: &Value, what: &str| {
        let code = value.as_str().unwrap_or_else(|| panic!("{what} missing: {value}"));
        assert!(codes.contains(code), "{what} {code:?} is not in its codelist");
    };
    let mut seen_methods = BTreeMap::new();
    let mut seen_tender_statuses = HashSet::new();
    for release in releases(&packages) {
        let ocid = release["ocid"].as_str().unwrap();
        member(&initiation_types, &release["initiationType"], "initiationType");
        for tag in release["tag"].as_array().unwrap() {
            member(&tags, tag, "tag");
        }
        let tender = &release["tender"];
        member(&tender_statuses, &tender["status"], &format!("{ocid} tender.status"));
        member(&methods, &tender["procurementMethod"], &format!("{ocid} tender.procurementMethod"));
        *seen_methods
            .entry((
                tender["procurementMethodDetails"].as_str().unwrap(),
                tender["procurementMethod"].as_str().unwrap(),
            ))
            .or_insert(0) += 1;
        seen_tender_statuses.insert(tender["status"].as_str().unwrap().to_owned());
        for lot in tender["lots"].as_array().into_iter().flatten() {
            member(&tender_statuses, &lot["status"], &format!("{ocid} lot status"));
        }
        for award in release["awards"].as_array().into_iter().flatten() {
            member(&award_statuses, &award["status"], &format!("{ocid} awards[].status"));
        }
        for contract in release["contracts"].as_array().into_iter().flatten() {
            member(&contract_statuses, &contract["status"], &format!("{ocid} contracts[].status"));
        }
        for party in release["parties"].as_array().unwrap() {
            assert_eq!(party["identifier"]["scheme"], "KZ-BIN", "{ocid}");
            for role in party["roles"].as_array().unwrap() {
                member(&roles, role, &format!("{ocid} party role"));
            }
        }
    }
    // Every domain method and the code it maps to; `price_quotation` is open, see domain::ocds.
    let pairs: Vec<(&str, &str)> = seen_methods.keys().copied().collect();
    assert_eq!(
        pairs,
        [
            ("auction", "open"),
            ("commodity_exchange", "open"),
            ("open_tender", "open"),
            ("prequalified_tender", "selective"),
            ("price_quotation", "open"),
            ("single_source", "direct"),
        ]
    );
    for status in ["active", "complete", "unsuccessful", "cancelled"] {
        assert!(seen_tender_statuses.contains(status), "the demo set has {status} tenders");
    }
}

#[tokio::test]
async fn transactions_add_up_to_the_payments_stored_for_each_contract() {
    let app = spawn_seeded_app().await;
    let packages = walk(&app, "/v1/ocds/releases?limit=100").await;
    // Every 7th process: tenders and direct contracts, paid, unpaid and part-paid.
    let sample: Vec<&Value> = releases(&packages).step_by(7).collect();
    let mut published: HashMap<String, (i64, i64)> = HashMap::new();
    for release in &sample {
        for contract in release["contracts"].as_array().into_iter().flatten() {
            let paid: i64 = contract["implementation"]["transactions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|transaction| minor_units(&transaction["value"]["amount"]))
                .sum();
            let id = contract["id"].as_str().unwrap().to_owned();
            published.insert(id, (minor_units(&contract["value"]["amount"]), paid));
        }
    }
    assert!(published.len() > 100, "the sample covers many contracts: {}", published.len());
    assert!(published.values().any(|(_, paid)| *paid == 0) && published.values().any(|(_, paid)| *paid > 0));

    let stored = contract::Entity::find()
        .filter(contract::Column::UpstreamId.is_in(published.keys().cloned()))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), published.len());
    let payments = payment::Entity::find()
        .filter(payment::Column::ContractId.is_in(stored.iter().map(|contract| contract.id)))
        .all(&app.db)
        .await
        .unwrap();
    let mut paid_by_contract: HashMap<i64, i64> = HashMap::new();
    for payment in &payments {
        *paid_by_contract.entry(payment.contract_id.unwrap()).or_default() += payment.amount_minor;
    }
    for contract in &stored {
        let (value, paid) = published[&contract.upstream_id];
        assert_eq!(value, contract.amount_minor, "{} value", contract.upstream_id);
        let stored_paid = paid_by_contract.get(&contract.id).copied().unwrap_or(0);
        assert_eq!(paid, stored_paid, "{} payments", contract.upstream_id);
    }
    let total_published: i64 = published.values().map(|(_, paid)| paid).sum();
    let total_stored: i64 = payments.iter().map(|payment| payment.amount_minor).sum();
    assert_eq!(total_published, total_stored);
}

#[tokio::test]
async fn records_are_valid_record_packages_linking_their_one_release() {
    let app = spawn_seeded_app().await;
    let release_validator = package_validator("release-package-schema.json");
    let record_validator = package_validator("record-package-schema.json");
    let packages = walk(&app, "/v1/ocds/releases?limit=100").await;
    let all: Vec<&Value> = releases(&packages).collect();
    let mut chosen: Vec<&Value> = vec![all[0], all[all.len() - 1]];
    // A tender of each status, one with bids, one with amended contracts, and direct contracts.
    for status in ["active", "complete", "unsuccessful", "cancelled"] {
        chosen.extend(all.iter().find(|r| r["tender"]["status"] == status && r.get("awards").is_none()).copied());
        chosen.extend(all.iter().find(|r| r["tender"]["status"] == status && r.get("bids").is_some()).copied());
    }
    chosen.extend(
        all.iter().find(|r| r["contracts"].as_array().into_iter().flatten().any(|c| c.get("amendments").is_some())),
    );
    chosen.extend(all.iter().filter(|r| r["tender"]["procurementMethod"] == "direct").take(2));
    assert!(chosen.len() >= 8, "{}", chosen.len());

    for release in chosen {
        let ocid = release["ocid"].as_str().unwrap();
        let package = app.get_json(&format!("/v1/ocds/records/{ocid}")).await;
        assert_valid(&record_validator, &package, &format!("record package of {ocid}"));
        assert_eq!(package["uri"], format!("{}/v1/ocds/records/{ocid}", app.address));
        let records = package["records"].as_array().unwrap();
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!(record["ocid"], ocid);
        assert_eq!(&record["compiledRelease"], release, "the record compiles the listed release");
        assert_eq!(package["publishedDate"], release["date"]);

        // The linked release: a release package that holds exactly this release.
        let links = record["releases"].as_array().unwrap();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0]["date"], release["date"]);
        let url = links[0]["url"].as_str().unwrap();
        let (package_url, fragment) = url.split_once('#').expect("the url names the release by fragment");
        assert_eq!(fragment, release["id"].as_str().unwrap());
        assert_eq!(package["packages"], json!([package_url]));
        let linked: Value = app.client.get(package_url).send().await.unwrap().json().await.unwrap();
        assert_valid(&release_validator, &linked, &format!("linked release package of {ocid}"));
        assert_eq!(linked["releases"], json!([release]));
    }

    // A contract that follows a tender belongs to the tender's process; it is no process itself.
    let tendered = contract::Entity::find().filter(contract::Column::TenderId.is_not_null()).one(&app.db).await;
    let tendered = tendered.unwrap().expect("the demo set has tendered contracts");
    let ocid = format!("ocds-scrtny-demo-{}", tendered.upstream_id);
    assert_problem(app.get(&format!("/v1/ocds/records/{ocid}")).await, 404).await;
}

#[tokio::test]
async fn a_release_holds_what_the_database_holds_for_its_tender() {
    let app = spawn_seeded_app().await;
    // A tender with several lots, bids and a contract.
    let tender = tender::Entity::find()
        .filter(tender::Column::Status.eq(domain::entities::TenderStatus::Awarded))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|tender| {
            tender.amount_minor > 0 && tender.procurement_method != domain::entities::ProcurementMethod::SingleSource
        })
        .expect("an awarded competitive tender");
    let ocid = format!("ocds-scrtny-{}-{}", tender.source, tender.upstream_id);
    let package = app.get_json(&format!("/v1/ocds/records/{ocid}")).await;
    let release = &package["records"][0]["compiledRelease"];
    assert_eq!(release["tender"]["id"], tender.number);
    assert_eq!(release["tender"]["title"], tender.name_ru.clone().unwrap());
    assert_eq!(minor_units(&release["tender"]["value"]["amount"]), tender.amount_minor);
    assert_eq!(release["tender"]["status"], "complete");

    use domain::entities::{award, bid, lot};
    let lots = lot::Entity::find().filter(lot::Column::TenderId.eq(tender.id)).all(&app.db).await.unwrap();
    let lot_ids: Vec<i64> = lots.iter().map(|lot| lot.id).collect();
    let bids = bid::Entity::find().filter(bid::Column::LotId.is_in(lot_ids.clone())).count(&app.db).await.unwrap();
    let awards = award::Entity::find().filter(award::Column::LotId.is_in(lot_ids)).count(&app.db).await.unwrap();
    let contracts =
        contract::Entity::find().filter(contract::Column::TenderId.eq(tender.id)).count(&app.db).await.unwrap();
    assert_eq!(release["tender"]["lots"].as_array().unwrap().len(), lots.len());
    assert_eq!(release["tender"]["items"].as_array().unwrap().len(), lots.len());
    assert_eq!(release["planning"]["items"].as_array().unwrap().len(), lots.len());
    assert_eq!(release["bids"]["details"].as_array().unwrap().len() as u64, bids);
    assert_eq!(release["awards"].as_array().unwrap().len() as u64, awards);
    assert_eq!(release["contracts"].as_array().unwrap().len() as u64, contracts);
    let lot_total: i64 =
        release["tender"]["lots"].as_array().unwrap().iter().map(|lot| minor_units(&lot["value"]["amount"])).sum();
    assert_eq!(lot_total, lots.iter().map(|lot| lot.amount_minor).sum::<i64>());
    let buyer_id = release["buyer"]["id"].as_str().unwrap();
    let buyer = release["parties"].as_array().unwrap().iter().find(|party| party["id"] == buyer_id).unwrap();
    assert!(buyer["roles"].as_array().unwrap().contains(&json!("buyer")));
    assert!(buyer["roles"].as_array().unwrap().contains(&json!("procuringEntity")));
    assert!(buyer["name_kk"].is_string() && buyer["name_en"].is_string(), "{buyer}");
}

#[tokio::test]
async fn an_empty_database_gives_an_otherwise_valid_empty_release_package() {
    let app = spawn_app().await;
    let package = app.get_json("/v1/ocds/releases").await;
    // The schema wants at least one release; with nothing to publish, that one rule must give.
    let validator = package_validator("release-package-schema.json");
    let errors: Vec<String> = validator.iter_errors(&package).map(|error| error.instance_path().to_string()).collect();
    assert_eq!(errors, ["/releases"], "only the empty list breaks the schema");
    assert_eq!(package["releases"], json!([]));
    assert_eq!(package["uri"], format!("{}/v1/ocds/releases?limit=20", app.address));
    assert!(package.get("links").is_none());
}

#[tokio::test]
async fn an_unknown_ocid_is_a_404_problem() {
    let app = spawn_app().await;
    for ocid in ["ocds-scrtny-demo-tender-99999", "ocds-213czf-000-00001", "ocds-scrtny-demo", "anything"] {
        let problem = assert_problem(app.get(&format!("/v1/ocds/records/{ocid}")).await, 404).await;
        assert_eq!(problem["detail"], format!("contracting process {ocid} does not exist"));
    }
}

#[tokio::test]
async fn bad_limits_and_cursors_are_400_problems_naming_them() {
    let app = spawn_app().await;
    let organizations_cursor = domain::pagination::Cursor::after_id("id", 5).encode();
    for (path, parameter) in [
        ("/v1/ocds/releases?limit=101".to_owned(), "limit"),
        ("/v1/ocds/releases?limit=0".to_owned(), "limit"),
        ("/v1/ocds/releases?limit=-1".to_owned(), "limit"),
        ("/v1/ocds/releases?limit=ten".to_owned(), "limit"),
        ("/v1/ocds/releases?cursor=not-a-cursor".to_owned(), "cursor"),
        (format!("/v1/ocds/releases?cursor={organizations_cursor}"), "cursor"),
    ] {
        let problem = assert_problem(app.get(&path).await, 400).await;
        assert_eq!(invalid_param_name(&problem), parameter, "{path}: {problem}");
    }
}
