//! The writer's documents validate against the official schema and read back the same; the
//! parser is lenient on harmless deviations, refuses what is not CAP 1.2 with a named problem,
//! and never panics on mutated or truncated documents.

use crate::model::*;
use crate::{CapError, parse, to_xml};
use chrono::DateTime;
use proptest::prelude::*;
use std::io::Write;
use std::path::PathBuf;

fn schema() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/schemas/CAP-v1.2.xsd")
}

/// Validates a document with `xmllint` against the official CAP 1.2 schema.
pub(crate) fn assert_valid(xml: &str) {
    let dir = std::env::temp_dir().join(format!("buurtnet-cap-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("alert.xml");
    std::fs::File::create(&file).unwrap().write_all(xml.as_bytes()).unwrap();
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema())
        .arg(&file)
        .output()
        .expect("xmllint (Debian package libxml2-utils) must be installed");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "not valid CAP 1.2:\n{}\n{xml}", String::from_utf8_lossy(&out.stderr));
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default()
}

fn sample() -> Alert {
    let mut nl = Info::new("nl-NL", Category::Rescue, "Vermist kind", Urgency::Immediate, Severity::Severe, Certainty::Observed);
    nl.headline = Some("Vermist: Sanne (8) <in> Amersfoort & omgeving".into());
    nl.description = Some("Sanne draagt een rode jas.\u{1}".into());
    nl.instruction = Some("Ziet u iets? Bel direct 112.".into());
    nl.contact = Some("0800-6070".into());
    nl.parameters.push(NamedValue { name: "buurtnet:level".into(), value: "regional".into() });
    nl.resources.push(Resource {
        description: "Foto".into(),
        mime_type: "image/jpeg".into(),
        uri: Some("https://example.org/media/ab.jpg".into()),
    });
    nl.areas.push(Area {
        description: "Amersfoort".into(),
        polygons: vec![vec![(52.1, 5.3), (52.2, 5.3), (52.2, 5.4123456789), (52.1, 5.4)]],
        circles: vec![Circle { lat: 52.1561, lon: 5.3878, radius_km: 0.5 }],
        geocodes: vec![NamedValue { name: "CBS".into(), value: "GM0307".into() }],
    });
    let mut en = nl.clone();
    en.language = "en-GB".into();
    en.event = "Missing child".into();
    en.response_types = vec![ResponseType::Monitor];
    Alert {
        identifier: "buurtnet@example.org-12-34".into(),
        sender: "buurtnet@example.org".into(),
        sent: DateTime::parse_from_rfc3339("2026-11-22T13:00:00+01:00").unwrap(),
        status: Status::Exercise,
        msg_type: MsgType::Update,
        scope: Scope::Public,
        restriction: None,
        note: None,
        references: vec![Reference {
            sender: "buurtnet@example.org".into(),
            identifier: "buurtnet@example.org-12-33".into(),
            sent: "2026-11-22T12:00:00+01:00".into(),
        }],
        infos: vec![nl, en],
    }
}

#[test]
fn a_written_alert_validates_against_the_schema_and_reads_back_the_same() {
    let a = sample();
    let xml = to_xml(&a).unwrap();
    assert_valid(&xml);
    assert!(xml.contains("&lt;in&gt; Amersfoort &amp; omgeving"), "{xml}");
    assert!(xml.contains("<sent>2026-11-22T13:00:00+01:00</sent>"), "{xml}");
    // At most six decimals; the polygon closed.
    assert!(xml.contains("52.1,5.3 52.2,5.3 52.2,5.412346 52.1,5.4 52.1,5.3</polygon>"), "{xml}");
    assert!(xml.contains("<circle>52.1561,5.3878 0.5</circle>"), "{xml}");
    let back = parse(xml.as_bytes()).unwrap();
    let mut expected = a.clone();
    for i in &mut expected.infos {
        i.description = Some("Sanne draagt een rode jas.".into());
        i.areas[0].polygons[0] = vec![(52.1, 5.3), (52.2, 5.3), (52.2, 5.412346), (52.1, 5.4), (52.1, 5.3)];
    }
    assert_eq!(back, expected);
}

#[test]
fn the_parser_is_lenient_on_order_whitespace_case_and_missing_optional_elements() {
    let xml = r#"<?xml version="1.0"?>
<cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
  <cap:sender>  partner@example.net </cap:sender>
  <cap:identifier>
     X-1
  </cap:identifier>
  <cap:msgType>alert</cap:msgType>
  <cap:status>ACTUAL</cap:status>
  <cap:sent>2026-11-22T12:00:00Z</cap:sent>
  <cap:info>
    <cap:event>Gaslek</cap:event>
    <cap:area><cap:circle> 52.1561, 5.3878   1 </cap:circle><cap:areaDesc>Centrum</cap:areaDesc></cap:area>
    <cap:category>CBRNE</cap:category><cap:category>Nonsense</cap:category>
  </cap:info>
  <cap:info><cap:language>en-US</cap:language><cap:event>Gas leak</cap:event><cap:headline><![CDATA[Gas & smoke]]></cap:headline></cap:info>
</cap:alert>"#;
    let a = parse(xml.as_bytes()).unwrap();
    assert_eq!((a.identifier.as_str(), a.sender.as_str()), ("X-1", "partner@example.net"));
    assert_eq!((a.status, a.msg_type, a.scope), (Status::Actual, MsgType::Alert, Scope::Public));
    assert_eq!(a.infos.len(), 2);
    assert_eq!(a.infos[0].language, "en-US", "CAP's default language");
    assert_eq!(a.infos[0].categories, vec![Category::Cbrne, Category::Other]);
    assert_eq!(a.infos[0].urgency, Urgency::Unknown);
    assert_eq!(a.infos[0].areas[0].circles, vec![Circle { lat: 52.1561, lon: 5.3878, radius_km: 1.0 }]);
    assert_eq!(a.infos[1].headline.as_deref(), Some("Gas & smoke"));
}

fn refused(xml: &str) -> CapError {
    parse(xml.as_bytes()).unwrap_err()
}

#[test]
fn what_is_not_cap_is_refused_with_the_problem_named() {
    assert_eq!(refused("not xml at all").code(), "not_xml");
    assert_eq!(refused("<alert><unclosed></alert>").code(), "not_xml");
    let wrong = refused(r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"><identifier>x</identifier></alert>"#);
    assert_eq!(wrong.code(), "wrong_namespace");
    assert!(wrong.to_string().contains("cap:1.1"), "{wrong}");
    assert_eq!(refused("<alert><identifier>x</identifier></alert>").code(), "wrong_namespace");
    let missing = refused(r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>"#);
    assert_eq!(missing, CapError::Missing("sender"));
    let bad_circle = to_xml(&sample()).unwrap().replace("52.1561,5.3878 0.5", "52.1561 5.3878");
    assert_eq!(parse(bad_circle.as_bytes()).unwrap_err().code(), "invalid_value");
    let big = format!("<a>{}</a>", "x".repeat(crate::parse::MAX_BYTES));
    assert_eq!(refused(&big), CapError::TooLarge);
    let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
    assert_eq!(refused(&deep), CapError::TooDeep);
    // Very deep nesting just under the node limit: refused, without exhausting the stack.
    let deeper = format!("{}{}", "<a>".repeat(49_000), "</a>".repeat(49_000));
    assert_eq!(refused(&deeper), CapError::TooDeep);
    let unclosed = "<a>".repeat(300_000);
    assert!(matches!(refused(&unclosed), CapError::TooLarge | CapError::NotXml(_)));
}

#[test]
fn no_dtd_so_no_entity_expansion_and_no_external_entities() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"#;
    assert_eq!(refused(laughs), CapError::Dtd);
    let external = r#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"#;
    assert_eq!(refused(external), CapError::Dtd);
    // An undeclared entity is not XML either.
    let undeclared = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"#;
    assert_eq!(refused(undeclared).code(), "not_xml");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Truncated, cut and spliced, byte-flipped documents: an answer, never a panic.
    #[test]
    fn mutated_or_truncated_documents_never_panic(cut in 0usize..4000, at in 0usize..4000, byte in any::<u8>(), insert in ".{0,40}") {
        let xml = to_xml(&sample()).unwrap();
        let mut bytes = xml.into_bytes();
        let n = bytes.len();
        bytes.truncate(n - cut.min(n));
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = byte;
            let j = (at / 2) % bytes.len();
            let tail = bytes.split_off(j);
            bytes.extend_from_slice(insert.as_bytes());
            bytes.extend_from_slice(&tail);
        }
        let _ = parse(&bytes);
    }
}
