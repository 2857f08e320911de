//! Atom feeds (RFC 4287) of published findings and of the bodies' answers, for feed readers
//! and newsrooms. Anonymous: entries show what the public sees (a hidden finding reads as
//! the moderator's marker), and no personal data beyond a filer's chosen display name.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use poem_openapi::param::Query;
use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};

use domain::findings::stats::{AnswerEntry, FeedFilter};
use domain::findings::tables::{Decision, Level};
use domain::findings::{FindingView, Findings};
use domain::names::Language;

use super::ApiTags;
use crate::dto::rfc3339;
use crate::error::ApiResult;
use crate::lists::organizations_by_id;

/// How many entries a feed holds.
pub const FEED_ENTRIES: u64 = 50;

/// The media type of the feeds.
pub const ATOM: &str = "application/atom+xml";

pub struct FeedsApi {
    pub findings: Findings,
}

#[derive(ApiResponse)]
pub enum FeedResponse {
    /// An Atom feed (RFC 4287), newest entry first.
    #[oai(status = 200, content_type = "application/atom+xml")]
    Ok(PlainText<String>),
}

/// Text as XML 1.0 character data or an attribute value: markup escaped, and the characters
/// XML cannot carry at all (most C0 controls, U+FFFE, U+FFFF) dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// One `<entry>`.
struct Entry {
    id: String,
    title: String,
    updated: DateTime<Utc>,
    published: Option<DateTime<Utc>>,
    author: String,
    link: String,
    summary: String,
    category: String,
}

/// A whole feed.
struct Feed {
    id: String,
    title: String,
    self_link: String,
    entries: Vec<Entry>,
}

impl Feed {
    /// The document; `updated` is the newest entry's, or `now` for an empty feed.
    fn render(&self, now: DateTime<Utc>) -> String {
        let updated = self.entries.iter().map(|e| e.updated).max().unwrap_or(now);
        let mut xml = String::with_capacity(1024 + self.entries.len() * 1024);
        xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
        let _ = writeln!(xml, "  <id>{}</id>", escape(&self.id));
        let _ = writeln!(xml, "  <title type=\"text\">{}</title>", escape(&self.title));
        let _ = writeln!(xml, "  <updated>{}</updated>", rfc3339(updated));
        let _ = writeln!(xml, "  <link rel=\"self\" type=\"{ATOM}\" href=\"{}\"/>", escape(&self.self_link));
        xml.push_str("  <author><name>Scrutiny</name></author>\n");
        xml.push_str("  <generator>Scrutiny</generator>\n");
        for entry in &self.entries {
            xml.push_str("  <entry>\n");
            let _ = writeln!(xml, "    <id>{}</id>", escape(&entry.id));
            let _ = writeln!(xml, "    <title type=\"text\">{}</title>", escape(&entry.title));
            let _ = writeln!(xml, "    <updated>{}</updated>", rfc3339(entry.updated));
            if let Some(published) = entry.published {
                let _ = writeln!(xml, "    <published>{}</published>", rfc3339(published));
            }
            let _ = writeln!(xml, "    <author><name>{}</name></author>", escape(&entry.author));
            let _ = writeln!(
                xml,
                "    <link rel=\"alternate\" type=\"application/json\" href=\"{}\"/>",
                escape(&entry.link)
            );
            let _ = writeln!(xml, "    <category term=\"{}\"/>", escape(&entry.category));
            let _ = writeln!(xml, "    <summary type=\"text\">{}</summary>", escape(&entry.summary));
            xml.push_str("  </entry>\n");
        }
        xml.push_str("</feed>\n");
        xml
    }
}

/// The feed's id, title and self link for its filter: the same filter, the same id.
fn identity(name: &str, what: &str, filter: &FeedFilter) -> (String, String, String) {
    let mut id = format!("urn:scrutiny:feed:{name}");
    let mut title = format!("Scrutiny: {what}");
    let mut query = Vec::new();
    if let Some(bin) = &filter.organization_bin {
        id.push_str(&format!(":organization:{bin}"));
        title.push_str(&format!(", organization BIN {bin}"));
        query.push(format!("organization={bin}"));
    }
    if let Some(council) = filter.council_id {
        id.push_str(&format!(":council:{council}"));
        title.push_str(&format!(", council {council}"));
        query.push(format!("council={council}"));
    }
    let mut link = format!("/v1/feeds/{name}.atom");
    if !query.is_empty() {
        link.push('?');
        link.push_str(&query.join("&"));
    }
    (id, title, link)
}

/// A finding's title as a feed shows it: Russian, else Kazakh, else English.
fn title_of(view: &FindingView) -> String {
    view.title.display(Language::Ru).map(str::to_owned).unwrap_or_else(|| format!("Finding {}", view.id))
}

/// A stored enum's wire name (`in_progress`, `partially_accepted`).
fn wire_name<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn finding_entry(view: FindingView) -> Entry {
    let status = wire_name(view.status);
    let summary = view
        .summary
        .display(Language::Ru)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Finding {} is {status}.", view.id));
    let author = Some(view.filer.display_name.trim()).filter(|n| !n.is_empty()).unwrap_or("Scrutiny").to_owned();
    Entry {
        id: format!("urn:scrutiny:finding:{}", view.id),
        title: title_of(&view),
        updated: view.updated_at,
        published: view.published_at,
        author,
        link: format!("/v1/findings/{}", view.id),
        summary,
        category: status,
    }
}

fn answer_entry(answer: AnswerEntry, organization: Option<String>) -> Entry {
    let level = match answer.level {
        Level::Target => "response",
        Level::Escalation => "escalation-response",
    };
    let who = match answer.level {
        Level::Target => "the body",
        Level::Escalation => "the parent body",
    };
    let decision = wire_name(answer.response.decision);
    let mut summary = format!("{decision}: {}", answer.response.reasoning);
    if matches!(answer.response.decision, Decision::Accepted | Decision::PartiallyAccepted) {
        if let Some(measures) = &answer.response.measures {
            summary.push_str(&format!("\nMeasures: {measures}"));
        }
        if let Some(by) = answer.response.implement_by {
            summary.push_str(&format!("\nBy {by}."));
        }
    }
    Entry {
        id: format!("urn:scrutiny:finding:{}:recommendation:{}:{level}", answer.finding.id, answer.number),
        title: format!(
            "Recommendation {} of \u{ab}{}\u{bb}: {decision} by {who}",
            answer.number,
            title_of(&answer.finding)
        ),
        updated: answer.response.answered_at,
        published: Some(answer.response.answered_at),
        author: organization.unwrap_or_else(|| format!("Organization {}", answer.response.organization_id)),
        link: format!("/v1/findings/{}", answer.finding.id),
        summary,
        category: decision,
    }
}

#[OpenApi(tag = "ApiTags::Findings")]
impl FeedsApi {
    /// Feed of findings
    ///
    /// The 50 most recently published findings as an Atom feed (RFC 4287), newest first;
    /// drafts and withdrawn findings never appear, and a hidden finding reads as the
    /// moderator's marker. Each entry's id (`urn:scrutiny:finding:{id}`) is stable, and its
    /// link is the finding at `/v1/findings/{id}`. 404 for an unknown BIN or council.
    #[oai(path = "/v1/feeds/findings.atom", method = "get", operation_id = "getFindingsFeed")]
    async fn findings_feed(
        &self,
        /// Only findings against the organization with this BIN.
        #[oai(name = "organization", validator(pattern = r"^[0-9]{12}$"))]
        organization: Query<Option<String>>,
        /// Only findings filed by this council.
        #[oai(name = "council")]
        council: Query<Option<i64>>,
    ) -> ApiResult<FeedResponse> {
        let filter = FeedFilter { organization_bin: organization.0, council_id: council.0 };
        let views = self.findings.recent_findings(&filter, FEED_ENTRIES).await?;
        let (id, title, self_link) = identity("findings", "published findings", &filter);
        let feed = Feed { id, title, self_link, entries: views.into_iter().map(finding_entry).collect() };
        Ok(FeedResponse::Ok(PlainText(feed.render(self.findings.clock.now()))))
    }

    /// Feed of answers
    ///
    /// The 50 latest answers to recommendations of published findings, by the scrutinised
    /// bodies and (after an escalation) their parent bodies, as an Atom feed (RFC 4287),
    /// newest first. With `organization`, the answers on findings against it and those it
    /// gave itself. Each entry links the finding at `/v1/findings/{id}`. 404 for an unknown
    /// BIN or council.
    #[oai(path = "/v1/feeds/answers.atom", method = "get", operation_id = "getAnswersFeed")]
    async fn answers_feed(
        &self,
        /// Only answers on findings against the organization with this BIN, or given by it.
        #[oai(name = "organization", validator(pattern = r"^[0-9]{12}$"))]
        organization: Query<Option<String>>,
        /// Only answers on findings filed by this council.
        #[oai(name = "council")]
        council: Query<Option<i64>>,
    ) -> ApiResult<FeedResponse> {
        let filter = FeedFilter { organization_bin: organization.0, council_id: council.0 };
        let answers = self.findings.recent_answers(&filter, FEED_ENTRIES).await?;
        let organizations =
            organizations_by_id(&self.findings.db, answers.iter().map(|a| a.response.organization_id)).await?;
        let entries = answers
            .into_iter()
            .map(|answer| {
                let name = organizations.get(&answer.response.organization_id).and_then(|org| {
                    domain::LocalizedName { ru: org.name_ru.clone(), kk: org.name_kk.clone(), en: org.name_en.clone() }
                        .display(Language::Ru)
                        .map(str::to_owned)
                });
                answer_entry(answer, name)
            })
            .collect();
        let (id, title, self_link) = identity("answers", "answers to recommendations", &filter);
        let feed = Feed { id, title, self_link, entries };
        Ok(FeedResponse::Ok(PlainText(feed.render(self.findings.clock.now()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_characters_xml_cannot_carry_are_dropped() {
        assert_eq!(escape("a < b & \"c\" 'd' > e"), "a &lt; b &amp; &quot;c&quot; &apos;d&apos; &gt; e");
        assert_eq!(escape("x\u{0}y\u{1b}z\u{FFFF}\n"), "xyz\n");
        assert_eq!(escape("Қаржы министрлігі"), "Қаржы министрлігі");
    }

    #[test]
    fn a_feed_without_entries_is_still_a_feed() {
        let (id, title, self_link) =
            identity("findings", "published findings", &FeedFilter { organization_bin: None, council_id: Some(3) });
        assert_eq!(id, "urn:scrutiny:feed:findings:council:3");
        assert_eq!(self_link, "/v1/feeds/findings.atom?council=3");
        let now = DateTime::parse_from_rfc3339("2026-03-16T05:00:00Z").unwrap().with_timezone(&Utc);
        let xml = Feed { id, title, self_link, entries: Vec::new() }.render(now);
        assert!(xml.contains("<updated>2026-03-16T05:00:00Z</updated>"), "{xml}");
        assert!(xml.ends_with("</feed>\n"));
    }
}
