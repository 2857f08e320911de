//! Digests: what the indicators took from one process or one buyer, kept between refreshes so
//! that a refresh after an import recomputes only what changed.
//!
//! Cardinal's indicators fold each release on its own and compare organizations only at the
//! end. A process's digest is its fold: the flags raised over it, the second-lowest spread,
//! the wins, disqualifications and classifications it adds to each organization's totals, and
//! what each indicator could judge. Merging every process's digest in list order gives the same
//! totals as folding every release, so the outlier indicators finish over them exactly as a
//! full refresh would. Kazakhstan's indicators judge a buyer's contracts together; a buyer's
//! digest is what each indicator could judge among them, for the coverage.
//!
//! Floats are kept as their bits (a ratio can be infinite, which JSON cannot hold), and the
//! spread's ratio is recomputed from its amounts, the same operation on the same values.

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::engine::Partial;
use crate::kazakhstan::facts::Tally;
use crate::rules::second_lowest::Spread;
use crate::rules::{Code, Evidence, Flag, Fraction, Group, r038};

/// Where a process sits in the database, for the flags raised over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessFacts {
    pub tender_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub buyer_id: i64,
    pub observed_on: NaiveDate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FlagDigest {
    code: Code,
    group: Group,
    key: String,
    value_bits: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    evidence: Option<Evidence>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SpreadDigest {
    ocid: String,
    winner: String,
    winner_amount_bits: u64,
    runner_up: String,
    runner_up_amount_bits: u64,
}

/// One process's fold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessDigest {
    pub ocid: String,
    pub facts: ProcessFacts,
    /// Why no indicator looked at the release, if none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    evaluated: Vec<Code>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    not_applicable: Vec<(Code, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    flags: Vec<FlagDigest>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    spreads: Vec<SpreadDigest>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    wins: Vec<(String, Fraction)>,
    #[serde(default, skip_serializing_if = "r038::Disqualifications::is_empty")]
    disqualifications: r038::Disqualifications,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    varieties: Vec<(String, usize, Vec<String>)>,
}

impl ProcessDigest {
    /// The digest of a partial that folded this one process's release.
    pub fn of(ocid: String, facts: ProcessFacts, partial: Partial) -> Self {
        let mut evaluated = Vec::new();
        let mut not_applicable = Vec::new();
        for code in Code::ALL {
            let coverage = &partial.coverage[code.index()];
            if coverage.evaluated > 0 {
                evaluated.push(code);
            }
            for reason in coverage.not_applicable.keys() {
                not_applicable.push((code, reason.to_string()));
            }
        }
        ProcessDigest {
            ocid,
            facts,
            skipped: partial.skipped.into_keys().next().map(Cow::into_owned),
            evaluated,
            not_applicable,
            flags: partial
                .sink
                .flags
                .into_iter()
                .map(|flag| FlagDigest {
                    code: flag.code,
                    group: flag.group,
                    key: flag.key,
                    value_bits: flag.value.to_bits(),
                    evidence: flag.evidence.map(|evidence| *evidence),
                })
                .collect(),
            spreads: partial
                .spreads
                .into_iter()
                .map(|(ocid, spread)| SpreadDigest {
                    ocid,
                    winner: spread.winner,
                    winner_amount_bits: spread.winner_amount.to_bits(),
                    runner_up: spread.runner_up,
                    runner_up_amount_bits: spread.runner_up_amount.to_bits(),
                })
                .collect(),
            wins: partial.wins.into_iter().collect(),
            disqualifications: partial.disqualifications,
            varieties: partial
                .varieties
                .into_iter()
                .map(|(supplier, (count, codes))| (supplier, count, codes.into_iter().collect()))
                .collect(),
        }
    }

    /// Adds this process to `into` as the release on input line `line`.
    pub fn merge_into(self, into: &mut Partial, line: u64) {
        let mut partial = Partial::default();
        match self.skipped {
            Some(reason) => {
                partial.skipped.insert(Cow::Owned(reason), 1);
            }
            None => partial.releases = 1,
        }
        for code in self.evaluated {
            partial.coverage[code.index()].evaluated += 1;
        }
        for (code, reason) in self.not_applicable {
            *partial.coverage[code.index()].not_applicable.entry(Cow::Owned(reason)).or_default() += 1;
        }
        partial.sink.flags = self
            .flags
            .into_iter()
            .map(|flag| Flag {
                code: flag.code,
                group: flag.group,
                key: flag.key,
                value: f64::from_bits(flag.value_bits),
                line,
                evidence: flag.evidence.map(Box::new),
            })
            .collect();
        partial.spreads = self
            .spreads
            .into_iter()
            .map(|spread| {
                let winner_amount = f64::from_bits(spread.winner_amount_bits);
                let runner_up_amount = f64::from_bits(spread.runner_up_amount_bits);
                let spread_value = Spread {
                    // As `second_lowest::fold` computes it.
                    ratio: (runner_up_amount - winner_amount) / winner_amount,
                    winner: spread.winner,
                    winner_amount,
                    runner_up: spread.runner_up,
                    runner_up_amount,
                    line,
                };
                (spread.ocid, spread_value)
            })
            .collect();
        partial.wins = self.wins.into_iter().collect();
        partial.disqualifications = self.disqualifications;
        partial.varieties = self
            .varieties
            .into_iter()
            .map(|(supplier, count, codes)| (supplier, (count, codes.into_iter().collect())))
            .collect();
        into.merge(partial);
    }
}

/// What Kazakhstan's indicators could judge among one buyer's contracts, in code order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuyerDigest {
    pub tallies: [Tally; 8],
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A winner that bid nothing gives an infinite spread: JSON has no such number, the bits do.
    #[test]
    fn a_digest_reads_back_as_the_fold_it_was_made_from_infinite_ratios_included() {
        let mut partial = Partial::default();
        partial.spreads.insert(
            "ocds-1".into(),
            Spread {
                ratio: f64::INFINITY,
                winner: "A".into(),
                winner_amount: 0.0,
                runner_up: "B".into(),
                runner_up_amount: 10.0,
                line: 0,
            },
        );
        partial.wins.insert("A".into(), Fraction { numerator: 1, denominator: 1 });
        partial.coverage[Code::R024.index()].evaluated = 1;
        partial.coverage[Code::R003.index()].not_applicable.insert(Cow::Borrowed("no tender period"), 1);
        partial.releases = 1;
        let facts = ProcessFacts {
            tender_id: Some(7),
            contract_id: None,
            buyer_id: 3,
            observed_on: NaiveDate::from_ymd_opt(2025, 5, 5).unwrap(),
        };
        let digest = ProcessDigest::of("ocds-1".into(), facts.clone(), partial);
        let text = serde_json::to_string(&digest).unwrap();
        let read: ProcessDigest = serde_json::from_str(&text).unwrap();
        assert_eq!(read.facts, facts);
        let mut total = Partial::default();
        read.merge_into(&mut total, 42);
        let spread = &total.spreads["ocds-1"];
        assert!(spread.ratio.is_infinite());
        assert_eq!(spread.line, 42);
        assert_eq!(total.wins["A"], Fraction { numerator: 1, denominator: 1 });
        assert_eq!(total.coverage[Code::R024.index()].evaluated, 1);
        assert_eq!(total.coverage[Code::R003.index()].not_applicable["no tender period"], 1);
        assert_eq!(total.releases, 1);
    }
}
