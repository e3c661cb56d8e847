//! relman's engine: configuration, git, planning and the release stages.
//!
//! Data flow (see ARCHITECTURE.md): [`settings`] resolves options once; [`plan`] decides the
//! version and every artifact and writes `dist/<version>/manifest.json`; [`build`],
//! [`package`] and [`release::publish`] each read the manifest, do their part, skip what is
//! already done and record what they did; [`release::promote_all`] checks every gate at every
//! destination, then moves the pointers. Destinations live behind the
//! [`provider::Destination`] trait.
//!
//! The engine never prints: progress goes through [`report::Reporter`], results are returned.

pub mod advisory;
pub mod archive;
pub mod build;
pub mod bump;
pub mod changelog;
pub mod chart;
pub mod ci;
pub mod config;
pub mod containers;
pub mod conventional;
pub mod destination;
pub mod docs;
pub mod forge;
pub mod fsutil;
pub mod gates;
pub mod git;
pub mod gotmpl;
pub mod history;
pub mod hooks;
pub mod image;
pub mod init;
pub mod installer;
pub mod jsonspan;
pub mod keyless;
pub mod lockstep;
pub mod notes;
pub mod oci;
pub mod package;
pub mod page;
pub mod part;
pub mod pgzip;
pub mod plan;
pub mod planned;
pub mod problem;
pub mod provenance;
pub mod provider;
pub mod record;
pub mod release;
pub mod remote;
pub mod report;
pub mod s3;
pub mod sbom;
pub mod settings;
pub mod sign;
pub mod smoke;
pub mod summary;
pub mod textdiff;
pub mod version;
pub mod version_files;
pub mod vuln;

pub use relman_manifest::{ErrorClass, Failure};
