//! RTMRs: the runtime measurement registers, and the events the firmware and kernel extend into them.
//!
//! An RTMR starts at 48 zero bytes and is extended like a TPM PCR: `RTMR = SHA-384(RTMR || digest)`. The CC
//! event log (CCEL) records each extension as a `TCG_PCR_EVENT2` whose index is the CC measurement-register
//! index: 1 for RTMR0, 2 for RTMR1, 3 for RTMR2, 4 for RTMR3 ([`cc_mr_index`]). [`PredictedEvent`] is one
//! such record as this crate predicts it, in the shape `eventlog show --json` prints a CCEL's events, so a
//! predicted list and a real log can be compared event by event.

use std::collections::BTreeMap;

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_tpm::eventlog::EventType;

/// "Calling EFI Application from Boot Option": OVMF at ReadyToBoot, into RTMR1.
pub const CALLING_EFI_APPLICATION: &str = "Calling EFI Application from Boot Option";
/// The first ExitBootServices action, into RTMR1.
pub const EXIT_BOOT_SERVICES_INVOCATION: &str = "Exit Boot Services Invocation";
/// The second ExitBootServices action, into RTMR1.
pub const EXIT_BOOT_SERVICES_SUCCEEDED: &str = "Exit Boot Services Returned with Success";
/// The Linux EFI stub's tag for the measured command line (`LOADED_IMAGE::LoadOptions`).
pub const TAG_LOAD_OPTIONS: u32 = 0x8f3b_22ed;
/// The Linux EFI stub's tag for the measured initrd.
pub const TAG_INITRD: u32 = 0x8f3b_22ec;

/// The CC event log's measurement-register index of RTMR `rtmr` (0 to 3).
pub const fn cc_mr_index(rtmr: u32) -> u32 {
    rtmr + 1
}

/// One predicted event: what the firmware or kernel extends, and what its CCEL record would say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PredictedEvent {
    /// The event's data, hex, where it is fixed (`None` where it depends on the run, such as the load
    /// address in an image-load event).
    pub data: Option<String>,
    /// One-line description.
    pub description: String,
    /// Digests by bank name, hex (`sha384`).
    pub digests: BTreeMap<String, String>,
    /// Position in this register's list, from 0.
    pub number: usize,
    /// The CCEL's index field: the CC measurement-register index (RTMR n is n + 1).
    pub pcr: u32,
    /// Event type name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Event type number.
    pub type_value: u32,
}

impl PredictedEvent {
    /// The SHA-384 digest extended.
    pub fn digest(&self) -> Option<&str> {
        self.digests.get("sha384").map(String::as_str)
    }
}

/// One register being predicted: its events in order and its value.
#[derive(Debug, Clone)]
pub struct Rtmr {
    index: u32,
    value: Digest,
    events: Vec<PredictedEvent>,
}

impl Rtmr {
    /// RTMR `index` (0 to 3) at reset: zero, no events.
    pub fn new(index: u32) -> Rtmr {
        Rtmr {
            index,
            value: Algorithm::Sha384.zero(),
            events: Vec::new(),
        }
    }

    /// Extends `digest` and records the event.
    pub fn extend(
        &mut self,
        event_type: EventType,
        digest: Digest,
        description: String,
        data: Option<&[u8]>,
    ) {
        self.value = Algorithm::Sha384.extend(&self.value, &digest);
        self.events.push(PredictedEvent {
            data: data.map(yardstick_common::hex::encode),
            description,
            digests: BTreeMap::from([("sha384".to_string(), digest.to_hex())]),
            number: self.events.len(),
            pcr: cc_mr_index(self.index),
            event_type: event_type.to_string(),
            type_value: event_type.0,
        });
    }

    /// An `EV_EFI_ACTION` event: the digest is the SHA-384 of the ASCII text, which is also the data.
    pub fn action(&mut self, text: &str) {
        let digest = Algorithm::Sha384.digest(text.as_bytes());
        self.extend(
            EventType::EV_EFI_ACTION,
            digest,
            format!("{text:?}"),
            Some(text.as_bytes()),
        );
    }

    /// An `EV_SEPARATOR` event with the data `00000000`.
    pub fn separator(&mut self) {
        let data = [0u8; 4];
        let digest = Algorithm::Sha384.digest(&data);
        self.extend(
            EventType::EV_SEPARATOR,
            digest,
            "separator 0x00000000".into(),
            Some(&data),
        );
    }

    /// An `EV_EVENT_TAG` event of the Linux EFI stub: `digest` over the tagged data, the event data being the
    /// tag, the description's length and the NUL-terminated description.
    pub fn tagged(&mut self, tag: u32, text: &str, digest: Digest) {
        let mut data = Vec::with_capacity(8 + text.len() + 1);
        data.extend_from_slice(&tag.to_le_bytes());
        data.extend_from_slice(&((text.len() + 1) as u32).to_le_bytes());
        data.extend_from_slice(text.as_bytes());
        data.push(0);
        self.extend(
            EventType::EV_EVENT_TAG,
            digest,
            format!("tag {tag:#010x} ({text})"),
            Some(&data),
        );
    }

    /// The register's value.
    pub fn value(&self) -> Digest {
        self.value
    }

    /// The events, in order.
    pub fn events(&self) -> &[PredictedEvent] {
        &self.events
    }

    /// The events, taken.
    pub fn into_events(self) -> Vec<PredictedEvent> {
        self.events
    }
}

/// The command line as OVMF passes it in `LoadOptions` and the Linux stub measures it: UTF-16LE with a
/// terminating NUL.
pub fn load_options_utf16(cmdline: &str) -> Vec<u8> {
    cmdline
        .encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_matches_hand_extension() {
        let mut r = Rtmr::new(1);
        r.action(CALLING_EFI_APPLICATION);
        r.separator();
        let a = Algorithm::Sha384.digest(CALLING_EFI_APPLICATION.as_bytes());
        let s = Algorithm::Sha384.digest(&[0, 0, 0, 0]);
        let mut want = vec![0u8; 48];
        want.extend_from_slice(&a);
        let v1 = Algorithm::Sha384.digest(&want);
        let mut want = v1.to_vec();
        want.extend_from_slice(&s);
        assert_eq!(r.value(), Algorithm::Sha384.digest(&want));
        assert_eq!(r.events()[1].pcr, 2);
        assert_eq!(r.events()[0].event_type, "EV_EFI_ACTION");
    }

    /// The tagged-event data layout, as in a real CCEL (trustee's CCEL_data_ovmf, event 17).
    #[test]
    fn tagged_event_data() {
        let mut r = Rtmr::new(2);
        r.tagged(
            TAG_LOAD_OPTIONS,
            "LOADED_IMAGE::LoadOptions",
            Algorithm::Sha384.zero(),
        );
        assert_eq!(
            r.events()[0].data.as_deref(),
            Some("ed223b8f1a0000004c4f414445445f494d4147453a3a4c6f61644f7074696f6e7300")
        );
    }

    #[test]
    fn utf16() {
        assert_eq!(load_options_utf16("a\u{e9}"), vec![0x61, 0, 0xe9, 0, 0, 0]);
    }
}
