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
}

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
