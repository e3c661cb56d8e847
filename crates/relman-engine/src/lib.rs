//! relman's engine: configuration, git, planning and the release stages.
//!
//! Data flow (see ARCHITECTURE.md): [`settings`] resolves options once; [`plan`] decides the
//! version and every artifact and writes `dist/<version>/manifest.json`; [`build`],
//! [`package`] and [`release::publish`] each read the manifest, do their part, skip what is
//! already done and record what they did; [`release::promote`] checks gates at a destination
//! and moves `latest`. Destinations live behind the [`provider::Provider`] trait.
//!
//! The engine never prints: progress goes through [`report::Reporter`], results are returned.

pub mod build;
pub mod config;
pub mod fsutil;
pub mod git;
pub mod init;
pub mod package;
pub mod pgzip;
pub mod plan;
pub mod provider;
pub mod release;
pub mod report;
pub mod settings;
pub mod sign;
pub mod version;
pub mod conventional;
pub mod history;
pub mod notes;
pub mod changelog;
pub mod textdiff;
pub mod jsonspan;
pub mod version_files;
pub mod lockstep;
pub mod bump;
pub mod sbom;
pub mod provenance;

pub use relman_manifest::{ErrorClass, Failure};
