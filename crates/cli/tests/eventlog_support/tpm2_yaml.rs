//! A small line parser for the `events:` part of tpm2_eventlog's YAML (tpm2-tools 5.4,
//! `--eventlog-version=2`), written for the tests so that tpm2_eventlog's view of a log can be compared with
//! yardstick's. Shared by several test files through `#[path]`.
#![allow(dead_code, clippy::unwrap_used)]

/// One event as tpm2_eventlog prints it.
#[derive(Debug, Default, Clone)]
pub struct TheirEvent {
    pub number: usize,
    pub pcr: Option<u64>,
    pub event_type: String,
    pub digests: Vec<(String, String)>,
    pub unicode_name: Option<String>,
    pub descriptions: Vec<String>,
    pub partition_names: Vec<String>,
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(s)
        .to_string()
}

/// A small line parser for the `events:` part of tpm2_eventlog's YAML, written for this test.
pub fn parse_tpm2_eventlog(yaml: &str) -> Vec<TheirEvent> {
    let mut events: Vec<TheirEvent> = Vec::new();
    let mut cur: Option<TheirEvent> = None;
    let mut pending_alg: Option<String> = None;
    let mut in_events = false;
    for line in yaml.lines() {
        if line == "events:" {
            in_events = true;
            continue;
        }
        if line == "pcrs:" {
            break;
        }
        if !in_events {
            continue;
        }
        let t = line.trim_start().trim_start_matches("- ");
        let Some((key, value)) = t.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "EventNum" => {
                events.extend(cur.take());
                cur = Some(TheirEvent {
                    number: value.parse().unwrap(),
                    ..Default::default()
                });
            }
            "PCRIndex" => {
                if cur.as_ref().is_none_or(|c| c.pcr.is_some()) {
                    let number = cur.as_ref().map_or(events.len(), |c| c.number + 1);
                    events.extend(cur.take());
                    cur = Some(TheirEvent {
                        number,
                        ..Default::default()
                    });
                }
                cur.as_mut().unwrap().pcr = Some(value.parse().unwrap());
            }
            "EventType" => cur.as_mut().unwrap().event_type = value.to_string(),
            "AlgorithmId" => pending_alg = Some(value.to_string()),
            "Digest" => {
                if let Some(alg) = pending_alg.take() {
                    cur.as_mut().unwrap().digests.push((alg, unquote(value)));
                }
            }
            "UnicodeName" => cur.as_mut().unwrap().unicode_name = Some(unquote(value)),
            "Description" => cur.as_mut().unwrap().descriptions.push(unquote(value)),
            "PartitionName" => cur.as_mut().unwrap().partition_names.push(unquote(value)),
            _ => {}
        }
    }
    events.extend(cur);
    events
}
