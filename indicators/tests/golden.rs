//! Cardinal's golden tests (`fixtures/cardinal/*.jsonl` and `*.expected`), run as cardinal runs
//! them: the file name is the indicator and its settings (`R003-threshold-10` is `[R003]
//! threshold = 10`; `R003-procurement_method_details-x-5-y-10` is that section with `x = 5`
//! and `y = 10`; `+` stands for `|`), every test also sets
//! `no_price_comparison_procurement_methods = NPC` and `[exclusions] procurement_method_details
//! = EXC`, and the result without `Meta` must equal the expected file, value for value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicators::run::{Limits, open, run};
use indicators::{Engine, Settings, output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/cardinal")
}

/// The settings file a golden test's name stands for.
fn settings_for(name: &str) -> String {
    let name = name.replace('+', "|");
    let mut parts = name.split('-');
    let code = parts.next().unwrap();
    let rest: Vec<&str> = parts.collect();
    let mut text =
        String::from("no_price_comparison_procurement_methods = NPC\n[exclusions]\nprocurement_method_details = EXC\n");
    match rest.as_slice() {
        // A single word is a label only (`R038-tenderer`).
        [] | [_] => text.push_str(&format!("[{code}]\n")),
        [field, value] => text.push_str(&format!("[{code}]\n{field} = {value}\n")),
        [field, pairs @ ..] => {
            text.push_str(&format!("[{code}.{field}]\n"));
            for pair in pairs.chunks(2) {
                text.push_str(&format!("{} = {}\n", pair[0], pair[1]));
            }
        }
    }
    text
}

type Results = BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>;

fn check(name: &str) -> Result<(), String> {
    let settings = Settings::parse(&settings_for(name)).map_err(|e| e.to_string())?;
    let engine = Engine::new(settings, false);
    let input = open(&fixtures().join(format!("{name}.jsonl"))).map_err(|e| e.to_string())?;
    let report = run(&engine, input, Limits::default()).map_err(|e| e.to_string())?;
    if !report.errors.is_empty() {
        return Err(format!("{name}: lines not read: {:?}", report.errors));
    }
    let ours: Results = serde_json::from_value(output::cardinal_json(&report.outcome, false)).unwrap();
    let expected = std::fs::read_to_string(fixtures().join(format!("{name}.expected"))).unwrap();
    let expected: Results = serde_json::from_str(&expected).unwrap();
    if ours == expected { Ok(()) } else { Err(format!("{name}:\n  ours     {ours:?}\n  expected {expected:?}")) }
}

#[test]
fn every_cardinal_golden_test_passes() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            (path.extension()? == "jsonl").then(|| path.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 15, "the fifteen golden tests of fixtures/cardinal");
    let failures: Vec<String> = names.iter().filter_map(|name| check(name).err()).collect();
    assert!(failures.is_empty(), "{} of {} golden tests fail:\n{}", failures.len(), names.len(), failures.join("\n"));
}

#[test]
fn a_broken_line_is_named_and_the_other_lines_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.jsonl");
    let good = std::fs::read_to_string(fixtures().join("R018.jsonl")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(1, r#"{"ocid": "x", "tender": {"numberOfTenderers": 1,}}"#);
    std::fs::write(&path, lines.join("\n")).unwrap();
    let settings = Settings::parse("[R018]\n").unwrap();
    let report = run(&Engine::new(settings, false), open(&path).unwrap(), Limits::default()).unwrap();
    assert_eq!(report.errors.len(), 1);
    let error = &report.errors[0];
    assert_eq!((error.line, error.column), (2, 49), "{error}");
    assert_eq!(error.to_string(), "line 2, column 49: trailing comma");
    let ours = output::cardinal_json(&report.outcome, false);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("R018.expected")).unwrap()).unwrap();
    assert_eq!(ours, expected);
}

#[test]
fn gzip_input_reads_the_same_and_meta_reports_the_fences() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("R024.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), Default::default());
    encoder.write_all(&std::fs::read(fixtures().join("R024.jsonl")).unwrap()).unwrap();
    encoder.finish().unwrap();
    let settings = Settings::parse(&settings_for("R024")).unwrap();
    let report = run(&Engine::new(settings, false), open(&path).unwrap(), Limits::default()).unwrap();
    let json = output::cardinal_json(&report.outcome, true);
    // Spreads: "F" and "repeat tenderers" 0; "1" to "6" and "accept" 100; the rest excluded.
    // Nine spreads, two of 0: Q1 is at rank 2.67, two thirds of the way from 0 to 100.
    assert_eq!(json["OCID"]["F"]["R024"], 0.0);
    assert_eq!(json["OCID"].as_object().unwrap().len(), 2);
    let meta = &json["Meta"]["R024"];
    assert_eq!(meta["q1"], 66.6667, "{meta}");
    assert_eq!(meta["q3"], 100.0, "{meta}");
    assert_eq!(meta["lower_fence"], 16.6667, "{meta}");
}
