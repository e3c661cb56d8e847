//! `channels.json` at the root of a directory or object-store destination: which version each
//! channel points at. Written by `promote`, read by `upgrade`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const CHANNELS_FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Channels {
    pub format_version: u32,
    pub name: String,
    /// The newest stable release: what `latest` points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable: Option<ChannelEntry>,
    /// Grows by one at every promote that writes this file (as TUF's timestamp version): a
    /// client that has seen a higher one refuses this one (a rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<u64>,
    /// RFC 3339 UTC time after which this file is stale (a frozen mirror): clients warn, or
    /// refuse with `--require-fresh`. Renewed by every promote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// The signed form of `channels.json`, beside it: a Sigstore bundle holding a DSSE envelope
/// whose payload is exactly `channels.json`'s bytes, signed by the release's key or identity.
pub const CHANNELS_SIGNED_FILE: &str = "channels.sigstore.json";
/// The DSSE payload type of [`CHANNELS_SIGNED_FILE`].
pub const CHANNELS_PAYLOAD_TYPE: &str = "application/vnd.relman.channels+json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelEntry {
    pub version: String,
    /// Path of that version's `index.json`, relative to `channels.json`.
    pub index: String,
}

impl Channels {
    pub fn from_json(text: &str) -> Result<Channels, String> {
        let c: Channels = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if c.format_version > CHANNELS_FORMAT_VERSION {
            return Err(format!(
                "format_version {} is newer than this relman reads ({CHANNELS_FORMAT_VERSION}); upgrade relman",
                c.format_version
            ));
        }
        Ok(c)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("channels serialize") + "\n"
    }
}
